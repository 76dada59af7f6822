//! Listener bind addresses: "IP:port", "[v6]:port", or a bare port ("1883", ":1883", 1883) meaning 0.0.0.0:port, like emqttd's `listener.tcp.<name> = [IP:]Port`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// What a bind address looks like, for error messages ("expected {BIND_EXPECTED}").
pub const BIND_EXPECTED: &str =
    "an address like \"0.0.0.0:1883\", \"[::]:1883\" or a bare port like 1883";

/// Parses `IP:port`, `[IPv6]:port`, `port` or `:port` (the last two bind every IPv4 interface).
pub fn parse_bind(text: &str) -> Option<SocketAddr> {
    let s = text.trim();
    let port_only = s.strip_prefix(':').unwrap_or(s);
    if !port_only.is_empty() && port_only.bytes().all(|b| b.is_ascii_digit()) {
        return port_only.parse::<u16>().ok().map(any_v4);
    }
    s.parse().ok()
}

fn any_v4(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))
}

/// serde `deserialize_with` adapter for [`parse_bind`], also accepting an integer port.
pub(crate) fn de_bind<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = SocketAddr;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(BIND_EXPECTED)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<SocketAddr, E> {
            parse_bind(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<SocketAddr, E> {
            u16::try_from(v)
                .map(any_v4)
                .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<SocketAddr, E> {
            u16::try_from(v)
                .map(any_v4)
                .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds() {
        let cases = [
            ("0.0.0.0:1883", "0.0.0.0:1883"),
            ("127.0.0.1:0", "127.0.0.1:0"),
            ("1883", "0.0.0.0:1883"),
            (":11883", "0.0.0.0:11883"),
            (" 8883 ", "0.0.0.0:8883"),
            ("[::]:1883", "[::]:1883"),
            ("[::1]:1883", "[::1]:1883"),
        ];
        for (text, want) in cases {
            assert_eq!(parse_bind(text), Some(want.parse().unwrap()), "{text}");
        }
        for bad in [
            "",
            ":",
            "65536",
            "localhost:1883",
            "127.0.0.1",
            "127.0.0.1:",
            "1.2.3.4:99999",
            "::1:1883",
            "-1",
        ] {
            assert_eq!(parse_bind(bad), None, "{bad}");
        }
    }
}
