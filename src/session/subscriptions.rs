//! A session's subscriptions (emqttd_session's `subscriptions` map): topic filter → granted
//! QoS, kept compact because a client may hold thousands of them.
//!
//! Every filter is copied into one byte arena (`[qos][len: u16 LE][bytes]`), so the map pins no
//! SUBSCRIBE packet buffer and costs about 3 bytes plus the filter's length per entry, with a
//! sorted `u32` index of entry offsets for binary search. A session without subscriptions (most
//! idle devices) pays one pointer. Removed entries leave a hole in the arena, reclaimed when holes
//! make up half of it.
//!
//! Pure: no actix.

use crate::mqtt::packet::QoS;

/// Entry header: the QoS byte and the filter's length.
const HEADER: usize = 3;

/// Topic filter → granted QoS.
#[derive(Default)]
pub struct Subscriptions {
    inner: Option<Box<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// Entries, in insertion order, with holes where entries were removed.
    arena: Vec<u8>,
    /// Offsets of the live entries in `arena`, sorted by filter.
    index: Vec<u32>,
    /// Bytes of removed entries still in `arena`.
    holes: usize,
}

fn qos_of(byte: u8) -> QoS {
    match byte {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

impl Inner {
    fn entry(&self, offset: u32) -> (&str, QoS) {
        let at = offset as usize;
        let len = usize::from(u16::from_le_bytes([self.arena[at + 1], self.arena[at + 2]]));
        let bytes = &self.arena[at + HEADER..at + HEADER + len];
        // Only whole `&str`s are copied in, so every entry is valid UTF-8.
        let filter = std::str::from_utf8(bytes).unwrap_or_default();
        (filter, qos_of(self.arena[at]))
    }

    fn search(&self, filter: &str) -> Result<usize, usize> {
        self.index
            .binary_search_by(|&offset| self.entry(offset).0.cmp(filter))
    }

    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.holes);
        for offset in &mut self.index {
            let at = *offset as usize;
            let len = usize::from(u16::from_le_bytes([self.arena[at + 1], self.arena[at + 2]]));
            *offset = arena.len() as u32;
            arena.extend_from_slice(&self.arena[at..at + HEADER + len]);
        }
        self.arena = arena;
        self.holes = 0;
    }
}

impl Subscriptions {
    pub fn new() -> Subscriptions {
        Subscriptions::default()
    }

    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.index.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The QoS granted for `filter`, if subscribed.
    pub fn get(&self, filter: &str) -> Option<QoS> {
        let inner = self.inner.as_deref()?;
        let i = inner.search(filter).ok()?;
        Some(inner.entry(inner.index[i]).1)
    }

    pub fn contains_key(&self, filter: &str) -> bool {
        self.get(filter).is_some()
    }

    /// Add or update the subscription to `filter`; returns the QoS it replaces. Filters are
    /// MQTT strings (at most 65,535 bytes), longer ones are not stored.
    pub fn insert(&mut self, filter: &str, qos: QoS) -> Option<QoS> {
        let Ok(len) = u16::try_from(filter.len()) else {
            return None;
        };
        let inner = self.inner.get_or_insert_with(Box::default);
        match inner.search(filter) {
            Ok(i) => {
                let at = inner.index[i] as usize;
                let old = qos_of(inner.arena[at]);
                inner.arena[at] = qos as u8;
                Some(old)
            }
            Err(i) => {
                let Ok(offset) = u32::try_from(inner.arena.len()) else {
                    return None; // 4 GiB of filters in one session
                };
                inner.arena.push(qos as u8);
                inner.arena.extend_from_slice(&len.to_le_bytes());
                inner.arena.extend_from_slice(filter.as_bytes());
                inner.index.insert(i, offset);
                None
            }
        }
    }

    /// Remove the subscription to `filter`; returns its QoS.
    pub fn remove(&mut self, filter: &str) -> Option<QoS> {
        let inner = self.inner.as_deref_mut()?;
        let i = inner.search(filter).ok()?;
        let offset = inner.index.remove(i);
        let qos = inner.entry(offset).1;
        inner.holes += HEADER + filter.len();
        if inner.index.is_empty() {
            self.inner = None;
        } else if inner.holes * 2 >= inner.arena.len() {
            inner.compact();
        }
        Some(qos)
    }

    /// Every subscription, ordered by filter.
    pub fn iter(&self) -> impl Iterator<Item = (&str, QoS)> + '_ {
        self.inner
            .as_deref()
            .into_iter()
            .flat_map(|inner| inner.index.iter().map(|&offset| inner.entry(offset)))
    }

    /// Remove every subscription, returning the filters.
    pub fn take_filters(&mut self) -> Vec<String> {
        let filters = self.iter().map(|(filter, _)| filter.to_owned()).collect();
        self.inner = None;
        filters
    }

    /// Heap bytes held (arena and index capacity), for tests and estimates.
    pub fn heap_bytes(&self) -> usize {
        self.inner.as_deref().map_or(0, |inner| {
            std::mem::size_of::<Inner>() + inner.arena.capacity() + 4 * inner.index.capacity()
        })
    }
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn qos(n: u8) -> QoS {
        qos_of(n % 3)
    }

    #[test]
    fn insert_get_update_remove() {
        let mut subs = Subscriptions::new();
        assert!(subs.is_empty());
        assert_eq!(subs.insert("a/b", QoS::AtLeastOnce), None);
        assert_eq!(subs.insert("a/+", QoS::AtMostOnce), None);
        assert_eq!(subs.insert("a/b", QoS::ExactlyOnce), Some(QoS::AtLeastOnce));
        assert_eq!(subs.len(), 2);
        assert_eq!(subs.get("a/b"), Some(QoS::ExactlyOnce));
        assert!(subs.contains_key("a/+"));
        assert!(!subs.contains_key("a"));
        assert_eq!(subs.remove("a/b"), Some(QoS::ExactlyOnce));
        assert_eq!(subs.remove("a/b"), None);
        assert_eq!(subs.remove("a/+"), Some(QoS::AtMostOnce));
        assert!(subs.is_empty());
        assert_eq!(subs.heap_bytes(), 0, "an emptied map releases its memory");
    }

    #[test]
    fn iterates_in_filter_order_and_takes_everything() {
        let mut subs = Subscriptions::new();
        for filter in ["c", "a/#", "b/+/c", ""] {
            subs.insert(filter, QoS::AtMostOnce);
        }
        let filters: Vec<_> = subs.iter().map(|(f, _)| f).collect();
        assert_eq!(filters, ["", "a/#", "b/+/c", "c"]);
        assert_eq!(subs.take_filters(), ["", "a/#", "b/+/c", "c"]);
        assert!(subs.is_empty());
    }

    #[test]
    fn a_thousand_filters_cost_little_more_than_their_bytes() {
        let mut subs = Subscriptions::new();
        for j in 0..1000 {
            subs.insert(&format!("s/123/{j}"), QoS::AtMostOnce);
        }
        // 3 header + ~9 filter bytes + a 4-byte index slot, with Vec growth slack
        assert!(subs.heap_bytes() < 1000 * 32, "{} bytes", subs.heap_bytes());
    }

    #[test]
    fn too_long_a_filter_is_not_stored() {
        let mut subs = Subscriptions::new();
        let long = "x".repeat(70_000);
        assert_eq!(subs.insert(&long, QoS::AtMostOnce), None);
        assert!(!subs.contains_key(&long));
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_a_btree_map(ops in proptest::collection::vec(
            (0u8..3, 0u8..40, 0u8..3), 0..300)
        ) {
            let mut subs = Subscriptions::new();
            let mut model = BTreeMap::new();
            for (op, key, q) in ops {
                let filter = format!("t/{key}/{}", "x".repeat(usize::from(key % 7)));
                match op {
                    0 | 1 => proptest::prop_assert_eq!(
                        subs.insert(&filter, qos(q)),
                        model.insert(filter.clone(), qos(q))
                    ),
                    _ => proptest::prop_assert_eq!(subs.remove(&filter), model.remove(&filter)),
                }
                proptest::prop_assert_eq!(subs.len(), model.len());
            }
            let ours: Vec<_> = subs.iter().map(|(f, q)| (f.to_owned(), q)).collect();
            let theirs: Vec<_> = model.into_iter().collect();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }
}
