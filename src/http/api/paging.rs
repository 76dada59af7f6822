//! Paging, search and sort parameters of the REST API's list routes, and paging a `Vec`. Pure.
//!
//! `_page` (1-based, default 1) and `_limit` (default 20, max 1000), with emqttd's `curr_page`
//! and `page_size` as synonyms; `q` a case-insensitive substring; `_sort=<field>` and
//! `_order=asc|desc`. A bad value is an error naming the parameter.

use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 1000;

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

/// The list parameters of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// 1-based.
    pub page: usize,
    pub limit: usize,
    /// Lowercased search text, if any.
    pub q: Option<String>,
    pub sort: Option<String>,
    pub order: Order,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            page: 1,
            limit: DEFAULT_LIMIT,
            q: None,
            sort: None,
            order: Order::Asc,
        }
    }
}

/// A page of a list, as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub objects: Vec<T>,
    pub current_page: usize,
    pub page_size: usize,
    pub total_num: usize,
    pub total_page: usize,
}

impl ListQuery {
    /// Parse the parameters of a query string (`a=1&b=2`, percent-encoded); unknown ones are
    /// ignored. `sortable` lists the fields `_sort` accepts (empty: `_sort` is refused).
    pub fn parse(query: &str, sortable: &[&str]) -> Result<ListQuery, String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| format!("query string: cannot decode: {e}"))?;
        ListQuery::from_pairs(&pairs, sortable)
    }

    pub fn from_pairs(pairs: &[(String, String)], sortable: &[&str]) -> Result<ListQuery, String> {
        let mut out = ListQuery::default();
        for (key, value) in pairs {
            match key.as_str() {
                "_page" | "curr_page" => out.page = number(key, value, 1, usize::MAX)?,
                "_limit" | "page_size" => out.limit = number(key, value, 1, MAX_LIMIT)?,
                "q" => out.q = Some(value.to_lowercase()).filter(|q| !q.is_empty()),
                "_sort" => {
                    if !sortable.contains(&value.as_str()) {
                        return Err(format!(
                            "_sort: cannot sort on {value:?}; expected one of {sortable:?}"
                        ));
                    }
                    out.sort = Some(value.clone());
                }
                "_order" => {
                    out.order = match value.to_ascii_lowercase().as_str() {
                        "asc" => Order::Asc,
                        "desc" => Order::Desc,
                        _ => return Err(format!("_order: expected asc or desc, found {value:?}")),
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// True when `q` is absent or one of `fields` contains it, case-insensitively.
    pub fn matches(&self, fields: &[&str]) -> bool {
        match &self.q {
            None => true,
            Some(q) => fields.iter().any(|f| f.to_lowercase().contains(q.as_str())),
        }
    }

    /// Index of the first item of the page (may be past the end).
    pub fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.limit)
    }

    /// Cut the page out of `all` (already filtered and sorted).
    pub fn page<T>(&self, all: Vec<T>) -> Page<T> {
        let total = all.len();
        let objects = all
            .into_iter()
            .skip(self.offset())
            .take(self.limit)
            .collect();
        self.page_of(objects, total)
    }

    /// A page whose `objects` were cut elsewhere, out of `total` items.
    pub fn page_of<T>(&self, objects: Vec<T>, total: usize) -> Page<T> {
        Page {
            objects,
            current_page: self.page,
            page_size: self.limit,
            total_num: total,
            total_page: total.div_ceil(self.limit),
        }
    }
}

fn number(key: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == usize::MAX => Err(format!(
            "{key}: expected a whole number >= {min}, found {value:?}"
        )),
        _ => Err(format!(
            "{key}: expected a whole number from {min} to {max}, found {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_synonyms() {
        let q = ListQuery::parse("", &[]).unwrap();
        assert_eq!(q, ListQuery::default());
        let q = ListQuery::parse("curr_page=3&page_size=50&q=Abc", &[]).unwrap();
        assert_eq!((q.page, q.limit, q.q.as_deref()), (3, 50, Some("abc")));
        let q = ListQuery::parse(
            "_page=2&_limit=1000&_sort=client_id&_order=DESC",
            &["client_id"],
        )
        .unwrap();
        assert_eq!((q.page, q.limit), (2, 1000));
        assert_eq!(q.sort.as_deref(), Some("client_id"));
        assert_eq!(q.order, Order::Desc);
        assert_eq!(ListQuery::parse("q=", &[]).unwrap().q, None);
        assert_eq!(
            ListQuery::parse("other=x", &[]).unwrap(),
            ListQuery::default()
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let err = |s: &str| ListQuery::parse(s, &["client_id"]).unwrap_err();
        assert!(err("_page=0").starts_with("_page:"));
        assert!(err("_page=x").starts_with("_page:"));
        assert!(err("curr_page=-1").starts_with("curr_page:"));
        assert!(err("_limit=1001").starts_with("_limit:"));
        assert!(err("_limit=0").starts_with("_limit:"));
        assert!(err("page_size=abc").starts_with("page_size:"));
        assert!(err("_order=up").starts_with("_order:"));
        assert!(err("_sort=password").starts_with("_sort:"));
    }

    #[test]
    fn pages_a_vec() {
        let all: Vec<u32> = (1..=45).collect();
        let q = ListQuery::parse("_page=3&_limit=20", &[]).unwrap();
        let page = q.page(all.clone());
        assert_eq!(page.objects, (41..=45).collect::<Vec<_>>());
        assert_eq!(
            (page.total_num, page.total_page, page.current_page),
            (45, 3, 3)
        );
        let page = ListQuery::parse("_page=9", &[]).unwrap().page(all);
        assert!(page.objects.is_empty());
        assert_eq!(page.total_page, 3);
        let empty = ListQuery::default().page(Vec::<u32>::new());
        assert_eq!((empty.total_num, empty.total_page), (0, 0));
    }

    #[test]
    fn search_is_case_insensitive_on_any_field() {
        let q = ListQuery::parse("q=SENS", &[]).unwrap();
        assert!(q.matches(&["sensor-1", ""]));
        assert!(q.matches(&["x", "Sensors"]));
        assert!(!q.matches(&["x", "y"]));
        assert!(ListQuery::default().matches(&[]));
    }
}
