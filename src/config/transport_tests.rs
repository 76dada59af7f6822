//! Tests of the TLS, WebSocket and HTTP listener keys: defaults, env overrides, validation.

use super::*;

fn env_err(pairs: &[(&str, &str)]) -> String {
    Config::from_env_pairs(pairs).unwrap_err().to_string()
}

#[test]
fn defaults_of_the_new_listeners() {
    let c = Config::default();
    let ssl = &c.listener.ssl["external"];
    assert_eq!(ssl.bind, "0.0.0.0:8883".parse().unwrap());
    assert_eq!(ssl.certfile, PathBuf::from("etc/certs/cert.pem"));
    assert_eq!(ssl.keyfile, PathBuf::from("etc/certs/key.pem"));
    assert_eq!(ssl.verify, VERIFY_NONE);
    assert_eq!(ssl.tls_versions, ["1.2", "1.3"]);
    assert_eq!(ssl.handshake_timeout, Duration::from_secs(15));
    assert_eq!(ssl.peer_cert_as_username, "off");
    let ws = &c.listener.ws["external"];
    assert_eq!(ws.bind, "0.0.0.0:8083".parse().unwrap());
    assert_eq!((ws.path.as_str(), ws.max_frame_size), ("/mqtt", 1 << 20));
    assert_eq!(ws.proxy_address_header, "");
    assert_eq!(
        c.listener.wss["external"].bind,
        "0.0.0.0:8084".parse().unwrap()
    );
    assert_eq!(c.http.bind, "0.0.0.0:18083".parse().unwrap());
    assert_eq!(
        c.http.users.get("admin").map(String::as_str),
        Some("public")
    );
}

#[test]
fn env_overrides_reach_the_new_keys() {
    let c = Config::from_env_pairs(&[
        (
            "EMQTTD_LISTENER__SSL__EXTERNAL__CERTFILE",
            "/etc/le/fullchain.pem",
        ),
        ("EMQTTD_LISTENER__SSL__EXTERNAL__TLS_VERSIONS", "[\"1.3\"]"),
        ("EMQTTD_LISTENER__SSL__EXTERNAL__HANDSHAKE_TIMEOUT", "3s"),
        (
            "EMQTTD_LISTENER__WS__EXTERNAL__PROXY_ADDRESS_HEADER",
            "X-Forwarded-For",
        ),
        ("EMQTTD_LISTENER__WS__INTERNAL__BIND", "127.0.0.1:18083"),
        ("EMQTTD_HTTP__BIND", "127.0.0.1:28083"),
        ("EMQTTD_HTTP__USERS__OPS", "secret"),
    ])
    .unwrap();
    let ssl = &c.listener.ssl["external"];
    assert_eq!(ssl.certfile, PathBuf::from("/etc/le/fullchain.pem"));
    assert_eq!(ssl.tls_versions, ["1.3"]);
    assert_eq!(ssl.handshake_timeout, Duration::from_secs(3));
    assert_eq!(
        c.listener.ws["external"].proxy_address_header,
        "X-Forwarded-For"
    );
    assert_eq!(c.listener.ws.len(), 2, "a new ws listener is added");
    assert_eq!(c.http.users.len(), 2, "the default admin stays");
    assert_eq!(c.http.users["ops"], "secret");
}

#[test]
fn a_file_naming_users_replaces_the_default_one() {
    let c = Config::from_sources(Some(("f.toml", "[http.users]\nops = \"x\"")), &[]).unwrap();
    assert_eq!(c.http.users.keys().collect::<Vec<_>>(), ["ops"]);
}

#[test]
fn tls_and_ws_keys_are_validated() {
    let e = env_err(&[("EMQTTD_LISTENER__SSL__EXTERNAL__VERIFY", "always")]);
    assert!(
        e.contains(
            "key 'listener.ssl.external.verify': expected \"verify_peer\" or \"verify_none\""
        ),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_LISTENER__WSS__EXTERNAL__TLS_VERSIONS", "[\"1.1\"]")]);
    assert!(
        e.contains("key 'listener.wss.external.tls_versions'"),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_LISTENER__SSL__EXTERNAL__TLS_VERSIONS", "[]")]);
    assert!(
        e.contains("key 'listener.ssl.external.tls_versions'"),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_LISTENER__SSL__EXTERNAL__HANDSHAKE_TIMEOUT", "0")]);
    assert!(
        e.contains("key 'listener.ssl.external.handshake_timeout'"),
        "{e}"
    );
    let e = env_err(&[(
        "EMQTTD_LISTENER__SSL__EXTERNAL__PEER_CERT_AS_USERNAME",
        "dn",
    )]);
    assert!(
        e.contains("key 'listener.ssl.external.peer_cert_as_username'"),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_LISTENER__WS__EXTERNAL__PATH", "mqtt")]);
    assert!(
        e.contains("key 'listener.ws.external.path': expected a URL path"),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_LISTENER__WS__EXTERNAL__MAX_CONNECTIONS", "0")]);
    assert!(
        e.contains("key 'listener.ws.external.max_connections'"),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_LISTENER__WSS__EXTERNAL__NO_SUCH", "1")]);
    assert!(
        e.contains("unknown key 'listener.wss.external.no_such'"),
        "{e}"
    );
    let e = Config::from_sources(Some(("f.toml", "[http.users]\nadmin = 1")), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("key 'http.users.admin'"), "{e}");
    // An off listener is not checked.
    Config::from_env_pairs(&[
        ("EMQTTD_LISTENER__SSL__EXTERNAL__VERIFY", "always"),
        ("EMQTTD_LISTENER__SSL__EXTERNAL__ENABLE", "false"),
    ])
    .unwrap();
}

#[test]
fn binds_are_unique_across_protocols() {
    let e = env_err(&[("EMQTTD_LISTENER__WS__EXTERNAL__BIND", "1883")]);
    assert!(
        e.contains("key 'listener.ws.external.bind': expected an address not already bound by listener 'external' (0.0.0.0:1883)"),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_HTTP__BIND", "127.0.0.1:8083")]);
    assert!(
        e.contains(
            "key 'http.bind': expected an address not already bound by listener 'ws:external'"
        ),
        "{e}"
    );
    Config::from_env_pairs(&[
        ("EMQTTD_HTTP__BIND", "127.0.0.1:8083"),
        ("EMQTTD_LISTENER__WS__EXTERNAL__ENABLE", "false"),
    ])
    .unwrap();
}
