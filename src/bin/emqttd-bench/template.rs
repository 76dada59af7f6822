//! Topic templates: `%i` client sequence number, `%c` client id, `%j` filter index,
//! `%n` message sequence number, `%%` a percent sign (emqtt-bench's `%i`/`%c`, extended).

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Seq,
    ClientId,
    Filter,
    Message,
}

/// A parsed topic template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// The values a template is rendered with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vars<'a> {
    pub seq: usize,
    pub client_id: &'a str,
    pub filter: usize,
    pub message: u64,
}

impl Template {
    /// Parses `text`; an unknown `%x` stays as it is.
    pub fn parse(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let var = match (c, chars.peek()) {
                ('%', Some('i')) => Some(Part::Seq),
                ('%', Some('c')) => Some(Part::ClientId),
                ('%', Some('j')) => Some(Part::Filter),
                ('%', Some('n')) => Some(Part::Message),
                ('%', Some('%')) => {
                    chars.next();
                    literal.push('%');
                    continue;
                }
                _ => None,
            };
            match var {
                Some(part) => {
                    chars.next();
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                }
                None => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Template {
            source: text.to_string(),
            parts,
        }
    }

    #[cfg(test)]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the rendering changes from one message to the next (`%n`).
    pub fn per_message(&self) -> bool {
        self.parts.contains(&Part::Message)
    }

    pub fn render(&self, vars: &Vars<'_>) -> String {
        let mut out = String::with_capacity(self.source.len() + 16);
        for part in &self.parts {
            // Writing into a String cannot fail.
            let _ = match part {
                Part::Text(text) => {
                    out.push_str(text);
                    Ok(())
                }
                Part::Seq => write!(out, "{}", vars.seq),
                Part::ClientId => {
                    out.push_str(vars.client_id);
                    Ok(())
                }
                Part::Filter => write!(out, "{}", vars.filter),
                Part::Message => write!(out, "{}", vars.message),
            };
        }
        out
    }
}

/// The filters one subscriber subscribes: `count` renderings of `template` with `%j` = 0..count,
/// every `wildcard_every`-th of them (index n-1, 2n-1, ...) with `/+` appended.
pub fn filters(
    template: &Template,
    seq: usize,
    client_id: &str,
    count: usize,
    wildcard_every: usize,
) -> Vec<String> {
    (0..count)
        .map(|j| {
            let mut filter = template.render(&Vars {
                seq,
                client_id,
                filter: j,
                message: 0,
            });
            if wildcard_every > 0 && j % wildcard_every == wildcard_every - 1 {
                filter.push_str("/+");
            }
            filter
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars<'static> {
        Vars {
            seq: 7,
            client_id: "bench_pub_1_7",
            filter: 3,
            message: 42,
        }
    }

    #[test]
    fn renders_every_variable() {
        let t = Template::parse("t/%i/%c/%j/%n");
        assert_eq!(t.render(&vars()), "t/7/bench_pub_1_7/3/42");
        assert!(t.per_message());
    }

    #[test]
    fn plain_text_and_percent_escapes() {
        assert_eq!(Template::parse("a/b").render(&vars()), "a/b");
        assert_eq!(Template::parse("100%%/x").render(&vars()), "100%/x");
        assert_eq!(Template::parse("%q/%").render(&vars()), "%q/%");
        assert_eq!(Template::parse("%i%i").render(&vars()), "77");
        assert!(!Template::parse("a/%i").per_message());
    }

    #[test]
    fn multi_byte_text_survives() {
        assert_eq!(Template::parse("é/%i/ü").render(&vars()), "é/7/ü");
    }

    #[test]
    fn filters_with_a_tenth_wildcards() {
        let t = Template::parse("s/%i/%j");
        let list = filters(&t, 5, "c", 20, 10);
        assert_eq!(list.len(), 20);
        assert_eq!(list[0], "s/5/0");
        assert_eq!(list[9], "s/5/9/+");
        assert_eq!(list[19], "s/5/19/+");
        assert_eq!(list.iter().filter(|f| f.ends_with("/+")).count(), 2);
        let plain = filters(&t, 5, "c", 3, 0);
        assert_eq!(plain, vec!["s/5/0", "s/5/1", "s/5/2"]);
    }
}
