//! Topic names and topic filters: validation and matching (replaces emqttd_topic.erl).
//!
//! Everything here follows MQTT 3.1.1 §4.7. A topic is a sequence of levels separated by
//! `/`; empty levels are levels too, so `/finance` has two levels (`""` and `finance`).
//! Filters may use `+` (exactly one level) and `#` (this level and every level below it,
//! including none: `sport/#` matches `sport`). Topic names starting with `$` are not
//! matched by filters whose first level is a wildcard (MQTT-4.7.2-1).

use std::fmt;

/// The longest topic name or filter the wire format can carry (a 2-byte length prefix).
pub const MAX_TOPIC_LEN: usize = 65_535;

/// Why a topic name or filter is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicError {
    /// Zero-length names and filters are not allowed (MQTT-4.7.3-1).
    Empty,
    /// More than 65535 bytes of UTF-8 (MQTT-4.7.3-3).
    TooLong,
    /// A topic name contains `+` or `#` (MQTT-3.3.2-2).
    WildcardInName,
    /// `#` not alone as the last level, or `+` not alone in its level (MQTT-4.7.1-2, -3).
    MisplacedWildcard,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopicError::Empty => "empty topic",
            TopicError::TooLong => "topic longer than 65535 bytes",
            TopicError::WildcardInName => "wildcard in a topic name",
            TopicError::MisplacedWildcard => "misplaced wildcard in a topic filter",
        })
    }
}

impl std::error::Error for TopicError {}

/// The levels of a topic name or filter, split on `/` (empty levels included).
pub fn levels(topic: &str) -> std::str::Split<'_, char> {
    topic.split('/')
}

/// Check the topic name of a PUBLISH: non-empty, at most 65535 bytes, no wildcards.
pub fn validate_name(topic: &str) -> Result<(), TopicError> {
    check_length(topic)?;
    if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Check a SUBSCRIBE / UNSUBSCRIBE filter: `#` only as the whole last level and `+` only
/// as a whole level.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    check_length(filter)?;
    let mut rest = levels(filter).peekable();
    while let Some(level) = rest.next() {
        let last = rest.peek().is_none();
        if !level_is_valid(level, last) {
            return Err(TopicError::MisplacedWildcard);
        }
    }
    Ok(())
}

fn check_length(topic: &str) -> Result<(), TopicError> {
    match topic.len() {
        0 => Err(TopicError::Empty),
        n if n > MAX_TOPIC_LEN => Err(TopicError::TooLong),
        _ => Ok(()),
    }
}

fn level_is_valid(level: &str, last: bool) -> bool {
    match level {
        "+" => true,
        "#" => last,
        _ => !level.bytes().any(|b| b == b'+' || b == b'#'),
    }
}

/// True if `filter` contains a wildcard level (`+` or `#`).
pub fn is_wildcard(filter: &str) -> bool {
    levels(filter).any(|level| level == "+" || level == "#")
}

/// True if the topic name `name` matches the topic filter `filter` (MQTT 3.1.1 §4.7).
///
/// Both are assumed valid (see [`validate_name`] and [`validate_filter`]); a wildcard
/// character that is not a whole level is compared literally.
pub fn matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && matches!(levels(filter).next(), Some("+" | "#")) {
        return false;
    }
    let mut filter_levels = levels(filter);
    let mut name_levels = levels(name);
    loop {
        match (filter_levels.next(), name_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(n)) if f == n => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_keep_empty_levels() {
        assert_eq!(levels("/finance").collect::<Vec<_>>(), vec!["", "finance"]);
        assert_eq!(levels("a//b/").collect::<Vec<_>>(), vec!["a", "", "b", ""]);
        assert_eq!(levels("/").count(), 2);
        assert_eq!(levels("sport").count(), 1);
    }

    #[test]
    fn valid_names() {
        for name in [
            "a",
            "/",
            "/finance",
            "sport/tennis/player1",
            "$SYS/broker",
            " ",
            "a//b",
        ] {
            assert_eq!(validate_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn invalid_names() {
        assert_eq!(validate_name(""), Err(TopicError::Empty));
        assert_eq!(validate_name("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a/#"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a+b"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("#"), Err(TopicError::WildcardInName));
    }

    #[test]
    fn length_limit_is_in_bytes() {
        assert_eq!(validate_name(&"a".repeat(MAX_TOPIC_LEN)), Ok(()));
        assert_eq!(
            validate_name(&"a".repeat(MAX_TOPIC_LEN + 1)),
            Err(TopicError::TooLong)
        );
        assert_eq!(
            validate_filter(&"a".repeat(MAX_TOPIC_LEN + 1)),
            Err(TopicError::TooLong)
        );
        // 'é' is two bytes in UTF-8
        assert_eq!(validate_name(&"é".repeat(32_768)), Err(TopicError::TooLong));
    }

    #[test]
    fn valid_filters_from_the_spec() {
        let filters = [
            "sport/tennis/player1/#",
            "sport/#",
            "#",
            "+",
            "+/tennis/#",
            "sport/+/player1",
            "+/+",
            "/+",
            "sport/+",
            "/",
            "$SYS/#",
            "a//+/",
        ];
        for filter in filters {
            assert_eq!(validate_filter(filter), Ok(()), "{filter}");
        }
    }

    #[test]
    fn invalid_filters_from_the_spec() {
        assert_eq!(validate_filter(""), Err(TopicError::Empty));
        for filter in [
            "sport/tennis#",
            "sport/tennis/#/ranking",
            "sport+",
            "#/a",
            "a/#/",
            "++",
            "a/b#c",
        ] {
            assert_eq!(
                validate_filter(filter),
                Err(TopicError::MisplacedWildcard),
                "{filter}"
            );
        }
    }

    #[test]
    fn is_wildcard_looks_for_whole_wildcard_levels() {
        assert!(is_wildcard("#"));
        assert!(is_wildcard("a/+/b"));
        assert!(is_wildcard("a/#"));
        assert!(!is_wildcard("a/b"));
        assert!(!is_wildcard("/"));
    }

    #[test]
    fn multi_level_wildcard_4_7_1_2() {
        for name in [
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
            "sport/tennis/player1/score/wimbledon",
        ] {
            assert!(matches("sport/tennis/player1/#", name), "{name}");
        }
        assert!(matches("sport/#", "sport"));
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(!matches("sport/tennis/player1/#", "sport/tennis"));
        assert!(!matches("sport/tennis/player1/#", "sport/tennis/player2"));
        assert!(matches("#", "sport/tennis"));
        assert!(matches("#", "/"));
        assert!(matches("#", "a"));
    }

    #[test]
    fn single_level_wildcard_4_7_1_3() {
        assert!(matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(matches("sport/tennis/+", "sport/tennis/player2"));
        assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+", "sport"));
        assert!(!matches("+", "/finance"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(matches("+/tennis/#", "sport/tennis"));
        assert!(matches("+/tennis/#", "sport/tennis/player1"));
        assert!(!matches("+/tennis/#", "sport/golf"));
        assert!(matches("+/#", "a"));
        assert!(matches("+", ""));
    }

    #[test]
    fn dollar_topics_4_7_2() {
        assert!(!matches("#", "$SYS/broker/uptime"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(!matches("+", "$SYS"));
        assert!(!matches("+/#", "$SYS/a"));
        assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS"));
        // only the first level counts
        assert!(matches("a/+", "a/$b"));
        assert!(matches("a/#", "a/$b/c"));
        // a filter merely starting with '+' or '#' characters is literal
        assert!(!matches("+a", "$a"));
    }

    #[test]
    fn literal_levels_match_exactly() {
        assert!(matches("sport/tennis", "sport/tennis"));
        assert!(!matches("sport/tennis", "sport/tennis/"));
        assert!(!matches("sport/tennis", "sport"));
        assert!(!matches("Sport", "sport"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "//"));
        assert!(matches("a//b", "a//b"));
        assert!(matches("a/+/b", "a//b"));
        assert!(!matches("/finance", "finance"));
    }

    #[test]
    fn errors_display() {
        assert_eq!(TopicError::Empty.to_string(), "empty topic");
        let boxed: Box<dyn std::error::Error> = Box::new(TopicError::MisplacedWildcard);
        assert!(boxed.to_string().contains("wildcard"));
    }
}
