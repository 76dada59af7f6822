//! Rules a well-typed `Config` must still satisfy (ranges, node name form, unique listener binds), checked once after loading; the part of emqttd's cuttlefish schema that was validators.

use std::time::Duration;

use super::de::join_key;
use super::units::format_duration;
use super::Config;

/// Largest MQTT packet: the Remaining Length field tops out at 268,435,455 bytes (256MB - 1).
pub const MQTT_MAX_PACKET_SIZE: usize = 268_435_455;

/// A broken rule: the dotted key it concerns and "expected ..., found ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub key: String,
    pub message: String,
}

fn fail(key: impl Into<String>, message: impl Into<String>) -> Result<(), Violation> {
    Err(Violation {
        key: key.into(),
        message: message.into(),
    })
}

fn positive_duration(key: &str, d: Duration) -> Result<(), Violation> {
    if d.is_zero() {
        return fail(
            key,
            format!(
                "expected a duration above zero like \"20s\", found {}",
                format_duration(d)
            ),
        );
    }
    Ok(())
}

/// Checks every rule, reporting the first one broken (in file order).
pub(crate) fn check(c: &Config) -> Result<(), Violation> {
    // node
    let name = &c.node.name;
    let valid_name = match name.split_once('@') {
        Some((n, host)) => {
            !n.is_empty()
                && !host.is_empty()
                && !host.contains('@')
                && !name.contains(char::is_whitespace)
        }
        None => false,
    };
    if !valid_name {
        return fail(
            "node.name",
            format!("expected a node name like \"emqttd@127.0.0.1\" (name@host), found {name:?}"),
        );
    }
    if c.node.data_dir.as_os_str().is_empty() {
        return fail(
            "node.data_dir",
            "expected a directory path like \"data\", found an empty string",
        );
    }

    // listeners
    let mut enabled: Vec<(&str, std::net::SocketAddr)> = Vec::new();
    for (lname, l) in &c.listener.tcp {
        let base = join_key("listener.tcp", lname);
        let valid = !lname.is_empty()
            && !lname.contains("__")
            && lname
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return fail(
                base,
                format!(
                    "expected a listener name of lower-case letters, digits, '_' or '-' (no \"__\"), so that EMQTTD_LISTENER__TCP__<NAME>__* can reach it, found {lname:?}"
                ),
            );
        }
        if !l.enable {
            continue;
        }
        if l.max_connections == 0 {
            return fail(
                format!("{base}.max_connections"),
                "expected at least 1 (to turn the listener off set enable = false), found 0",
            );
        }
        if l.backlog == 0 {
            return fail(format!("{base}.backlog"), "expected at least 1, found 0");
        }
        // Port 0 asks the OS for a free port: never a clash. A wildcard address clashes with
        // every address on its port (Linux binds [::] dual-stack).
        if l.bind.port() != 0 {
            let clash = enabled.iter().find(|(_, other)| {
                other.port() == l.bind.port()
                    && (other.ip() == l.bind.ip()
                        || other.ip().is_unspecified()
                        || l.bind.ip().is_unspecified())
            });
            if let Some((other_name, other)) = clash {
                return fail(
                    format!("{base}.bind"),
                    format!(
                        "expected an address not already bound by listener '{other_name}' ({other}), found {}",
                        l.bind
                    ),
                );
            }
        }
        enabled.push((lname, l.bind));
    }

    // mqtt
    let m = &c.mqtt;
    if !(2..=MQTT_MAX_PACKET_SIZE).contains(&m.max_packet_size) {
        return fail(
            "mqtt.max_packet_size",
            format!(
                "expected a size between 2 bytes and {MQTT_MAX_PACKET_SIZE} bytes (the MQTT maximum, 256MB - 1), found {} bytes",
                m.max_packet_size
            ),
        );
    }
    if !(1..=65_535).contains(&m.max_clientid_len) {
        return fail(
            "mqtt.max_clientid_len",
            format!(
                "expected a length between 1 and 65535, found {}",
                m.max_clientid_len
            ),
        );
    }
    positive_duration("mqtt.idle_timeout", m.idle_timeout)?;
    if !(m.keepalive_backoff.is_finite() && m.keepalive_backoff > 0.0) {
        return fail(
            "mqtt.keepalive_backoff",
            format!(
                "expected a number above 0 like 0.75, found {}",
                m.keepalive_backoff
            ),
        );
    }
    let s = &m.session;
    if s.max_inflight > 65_535 {
        return fail(
            "mqtt.session.max_inflight",
            format!(
                "expected at most 65535 (the packet identifier space; 0 = unlimited), found {}",
                s.max_inflight
            ),
        );
    }
    positive_duration("mqtt.session.retry_interval", s.retry_interval)?;
    positive_duration("mqtt.session.await_rel_timeout", s.await_rel_timeout)?;

    // sys
    positive_duration("sys.interval", c.sys.interval)?;
    Ok(())
}
