//! Rules a well-typed `Config` must still satisfy (ranges, node name form, unique listener binds), checked once after loading; the part of emqttd's cuttlefish schema that was validators.

use std::net::SocketAddr;
use std::time::Duration;

use super::de::join_key;
use super::units::format_duration;
use super::{Config, PEER_CERT_AS_USERNAME, TLS_VERSIONS, VERIFY_NONE, VERIFY_PEER};

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
    let mut enabled: Vec<(String, std::net::SocketAddr)> = Vec::new();
    for l in listener_list(c) {
        let base = join_key(&format!("listener.{}", l.proto), l.name);
        let lname = l.name;
        let valid = !lname.is_empty()
            && !lname.contains("__")
            && lname
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            let upper = l.proto.to_ascii_uppercase();
            return fail(
                base,
                format!(
                    "expected a listener name of lower-case letters, digits, '_' or '-' (no \"__\"), so that EMQTTD_LISTENER__{upper}__<NAME>__* can reach it, found {lname:?}"
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
        if let Some(path) = l.ws_path {
            if !path.starts_with('/') {
                return fail(
                    format!("{base}.path"),
                    format!("expected a URL path starting with '/' like \"/mqtt\", found {path:?}"),
                );
            }
        }
        if let Some(tls) = &l.tls {
            check_tls(&base, tls)?;
        }
        // TCP listeners are named by their bare name (they were first); the others proto:name.
        let shown = if l.proto == "tcp" {
            lname.to_string()
        } else {
            format!("{}:{lname}", l.proto)
        };
        check_bind(&format!("{base}.bind"), &shown, l.bind, &mut enabled)?;
    }
    if c.http.enable {
        check_bind("http.bind", "http", c.http.bind, &mut enabled)?;
    }
    if c.http.users.keys().any(|u| u.is_empty() || u.contains(':')) {
        return fail(
            "http.users",
            "expected user names that are not empty and contain no ':'",
        );
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

    // module
    super::modules::check(&c.module)?;
    Ok(())
}

/// One listener of any protocol, seen through the keys every protocol has.
struct ListenerView<'a> {
    proto: &'static str,
    name: &'a str,
    enable: bool,
    bind: SocketAddr,
    max_connections: usize,
    backlog: u32,
    ws_path: Option<&'a str>,
    tls: Option<TlsKeys<'a>>,
}

/// The raw TLS keys, checked before [`super::TlsOptions`] reads them.
struct TlsKeys<'a> {
    verify: &'a str,
    tls_versions: &'a [String],
    handshake_timeout: Duration,
    peer_cert_as_username: &'a str,
}

fn listener_list(c: &Config) -> Vec<ListenerView<'_>> {
    let l = &c.listener;
    let mut out = Vec::new();
    for (name, t) in &l.tcp {
        out.push(ListenerView {
            proto: "tcp",
            name,
            enable: t.enable,
            bind: t.bind,
            max_connections: t.max_connections,
            backlog: t.backlog,
            ws_path: None,
            tls: None,
        });
    }
    for (name, t) in &l.ssl {
        out.push(ListenerView {
            proto: "ssl",
            name,
            enable: t.enable,
            bind: t.bind,
            max_connections: t.max_connections,
            backlog: t.backlog,
            ws_path: None,
            tls: Some(TlsKeys {
                verify: &t.verify,
                tls_versions: &t.tls_versions,
                handshake_timeout: t.handshake_timeout,
                peer_cert_as_username: &t.peer_cert_as_username,
            }),
        });
    }
    for (name, t) in &l.ws {
        out.push(ListenerView {
            proto: "ws",
            name,
            enable: t.enable,
            bind: t.bind,
            max_connections: t.max_connections,
            backlog: t.backlog,
            ws_path: Some(&t.path),
            tls: None,
        });
    }
    for (name, t) in &l.wss {
        out.push(ListenerView {
            proto: "wss",
            name,
            enable: t.enable,
            bind: t.bind,
            max_connections: t.max_connections,
            backlog: t.backlog,
            ws_path: Some(&t.path),
            tls: Some(TlsKeys {
                verify: &t.verify,
                tls_versions: &t.tls_versions,
                handshake_timeout: t.handshake_timeout,
                peer_cert_as_username: &t.peer_cert_as_username,
            }),
        });
    }
    out
}

fn check_tls(base: &str, tls: &TlsKeys<'_>) -> Result<(), Violation> {
    if tls.verify != VERIFY_PEER && tls.verify != VERIFY_NONE {
        return fail(
            format!("{base}.verify"),
            format!(
                "expected \"{VERIFY_PEER}\" or \"{VERIFY_NONE}\", found {:?}",
                tls.verify
            ),
        );
    }
    let known = |v: &String| TLS_VERSIONS.contains(&v.as_str());
    if tls.tls_versions.is_empty() || !tls.tls_versions.iter().all(known) {
        return fail(
            format!("{base}.tls_versions"),
            format!(
                "expected a non-empty list of \"1.2\" and \"1.3\", found {:?}",
                tls.tls_versions
            ),
        );
    }
    positive_duration(&format!("{base}.handshake_timeout"), tls.handshake_timeout)?;
    if !PEER_CERT_AS_USERNAME.contains(&tls.peer_cert_as_username) {
        return fail(
            format!("{base}.peer_cert_as_username"),
            format!(
                "expected \"off\" or \"cn\", found {:?}",
                tls.peer_cert_as_username
            ),
        );
    }
    Ok(())
}

/// Port 0 asks the OS for a free port: never a clash. A wildcard address clashes with every
/// address on its port (Linux binds [::] dual-stack).
fn check_bind(
    key: &str,
    shown: &str,
    bind: SocketAddr,
    enabled: &mut Vec<(String, SocketAddr)>,
) -> Result<(), Violation> {
    if bind.port() != 0 {
        let clash = enabled.iter().find(|(_, other)| {
            other.port() == bind.port()
                && (other.ip() == bind.ip()
                    || other.ip().is_unspecified()
                    || bind.ip().is_unspecified())
        });
        if let Some((other_name, other)) = clash {
            return fail(
                key,
                format!(
                    "expected an address not already bound by listener '{other_name}' ({other}), found {bind}"
                ),
            );
        }
    }
    enabled.push((shown.to_string(), bind));
    Ok(())
}
