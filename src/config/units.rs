//! Durations ("500ms", "20s", "5m", "2h", "1d", "1h30m"; a bare integer is seconds) and byte sizes ("64KB", "1MB", "1GB", plain integers), as in emqttd's cuttlefish schema.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// What a duration looks like, for error messages ("expected {DURATION_EXPECTED}").
pub const DURATION_EXPECTED: &str =
    "a duration like \"20s\", \"5m\", \"2h\" (units ms, s, m, h, d, w; a bare integer means seconds)";
/// What a size looks like, for error messages ("expected {SIZE_EXPECTED}").
pub const SIZE_EXPECTED: &str =
    "a size like \"64KB\", \"1MB\", \"1GB\" (binary units: 1KB = 1024 bytes; a bare integer means bytes)";

/// Parses a duration. Components are an integer and a unit (`ms`, `s`, `m`, `h`, `d`, `w`,
/// case-insensitive), optionally repeated (`"1h30m"`, `"1h 30m"`). A bare integer (`"20"`) means
/// seconds. Returns `None` when malformed or out of range.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(secs) = parse_integer(s) {
        return Some(Duration::from_secs(secs));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            i += 1;
        }
        let number = parse_integer(&s[start..i])?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_ms: u64 = match s[unit_start..i].to_ascii_lowercase().as_str() {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(number.checked_mul(unit_ms)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

/// Parses a byte size: an integer optionally followed by `B`, `KB`/`K`/`KiB`, `MB`/`M`/`MiB`,
/// `GB`/`G`/`GiB` (case-insensitive, binary: `1KB` = 1024). Returns `None` when malformed or
/// larger than `usize`.
pub fn parse_size(text: &str) -> Option<usize> {
    let s = text.trim();
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    let number = parse_integer(&s[..digits_end])?;
    let multiplier: u64 = match s[digits_end..].trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    usize::try_from(number.checked_mul(multiplier)?).ok()
}

/// Digits with optional `_` separators (not leading), no sign.
fn parse_integer(s: &str) -> Option<u64> {
    if s.is_empty()
        || !s.as_bytes()[0].is_ascii_digit()
        || !s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    s.bytes().filter(|b| *b != b'_').try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Renders a duration in the largest unit that divides it exactly: `20s`, `5m`, `2h`, `1d`, `500ms`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Renders a size in the largest binary unit that divides it exactly: `1MB`, `64KB`, `100`.
pub fn format_size(n: usize) -> String {
    for (unit, size) in [("GB", 1usize << 30), ("MB", 1 << 20), ("KB", 1 << 10)] {
        if n != 0 && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    n.to_string()
}

/// serde `deserialize_with` adapter: a duration string or a non-negative integer of seconds.
pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(DURATION_EXPECTED)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            parse_duration(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
    }
    d.deserialize_any(V)
}

/// serde `deserialize_with` adapter: a size string or a non-negative integer of bytes.
pub(crate) fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(SIZE_EXPECTED)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
            parse_size(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
            usize::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
            usize::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("20s", Duration::from_secs(20)),
            ("2h", Duration::from_secs(7200)),
            ("1m", Duration::from_secs(60)),
            ("500ms", Duration::from_millis(500)),
            ("1d", Duration::from_secs(86_400)),
            ("1w", Duration::from_secs(7 * 86_400)),
            ("1h30m", Duration::from_secs(5400)),
            ("1h 30m 15s", Duration::from_secs(5415)),
            ("1m500ms", Duration::from_millis(60_500)),
            ("20", Duration::from_secs(20)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            (" 15S ", Duration::from_secs(15)),
            ("1_000ms", Duration::from_secs(1)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Some(want), "{text}");
        }
        for bad in [
            "",
            "s",
            "20 sec",
            "-5s",
            "1.5s",
            "20x",
            "h1",
            "1h30",
            "twenty",
            "99999999999999999999s",
            "_1s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        // overflow of the millisecond total
        assert_eq!(parse_duration("18446744073709551615w"), None);
    }

    #[test]
    fn sizes() {
        let ok = [
            ("1MB", 1 << 20),
            ("64KB", 64 << 10),
            ("1GB", 1 << 30),
            ("1mb", 1 << 20),
            ("64k", 64 << 10),
            ("2G", 2 << 30),
            ("1MiB", 1 << 20),
            ("512B", 512),
            ("512", 512),
            ("1 MB", 1 << 20),
            ("0", 0),
            ("1_048_576", 1 << 20),
        ];
        for (text, want) in ok {
            assert_eq!(parse_size(text), Some(want), "{text}");
        }
        for bad in ["", "MB", "1.5MB", "-1", "1TB", "1 M B", "10 bytes", "1KBB"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for d in [
            Duration::from_secs(20),
            Duration::from_secs(7200),
            Duration::from_millis(1500),
            Duration::ZERO,
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Some(d));
        }
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        for n in [0usize, 1, 1000, 1 << 10, 1 << 20, 3 << 30, 1_048_577] {
            assert_eq!(parse_size(&format_size(n)), Some(n));
        }
        assert_eq!(format_size(1 << 20), "1MB");
        assert_eq!(format_size(64 << 10), "64KB");
    }
}
