//! Tests of `Config` loading end to end: defaults, the shipped etc/emqttd.toml, env overrides, and that every error names its file or variable and key.

use super::*;

const SHIPPED: &str = include_str!("../../etc/emqttd.toml");
const FILE: &str = "etc/emqttd.toml";

fn env(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn from_file(text: &str) -> Result<Config, ConfigError> {
    Config::from_sources(Some((FILE, text)), &[])
}

fn file_err(text: &str) -> String {
    from_file(text).unwrap_err().to_string()
}

fn env_err(pairs: &[(&str, &str)]) -> ConfigError {
    Config::from_env_pairs(pairs).unwrap_err()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = Config::default();
    assert_eq!(c.node.name, "emqttd@127.0.0.1");
    assert_eq!(c.node.data_dir, PathBuf::from("data"));
    assert_eq!(c.log.level, LevelFilter::Info);
    assert_eq!(c.listener.tcp.len(), 1);
    let ext = &c.listener.tcp["external"];
    assert!(ext.enable);
    assert_eq!(ext.bind, addr("0.0.0.0:1883"));
    assert_eq!(ext.max_connections, 1_024_000);
    assert_eq!(ext.backlog, 1024);
    assert_eq!(c.mqtt.max_packet_size, 1_048_576);
    assert_eq!(c.mqtt.max_clientid_len, 1024);
    assert_eq!(c.mqtt.idle_timeout, Duration::from_secs(15));
    assert!(c.mqtt.allow_anonymous);
    assert_eq!(c.mqtt.keepalive_backoff, 0.75);
    let s = &c.mqtt.session;
    assert_eq!(s.max_inflight, 32);
    assert_eq!(s.retry_interval, Duration::from_secs(20));
    assert_eq!(s.max_awaiting_rel, 100);
    assert_eq!(s.await_rel_timeout, Duration::from_secs(300));
    assert_eq!(s.expiry_interval, Duration::from_secs(7200));
    assert!(!s.upgrade_qos);
    assert_eq!(s.max_subscriptions, 0);
    assert!(!s.ignore_loop_deliver);
    assert_eq!(c.mqtt.mqueue.max_length, 1000);
    assert!(c.mqtt.mqueue.store_qos0);
    assert_eq!(c.retainer.max_message_num, 1_000_000);
    assert_eq!(c.retainer.max_payload_size, 1_048_576);
    assert_eq!(c.sys.interval, Duration::from_secs(60));
    c.validate().unwrap();
}

#[test]
fn no_file_no_env_is_the_defaults() {
    assert_eq!(Config::from_sources(None, &[]).unwrap(), Config::default());
    assert_eq!(Config::from_env_pairs(&[]).unwrap(), Config::default());
    assert_eq!(from_file("").unwrap(), Config::default());
}

#[test]
fn shipped_file_equals_defaults() {
    assert_eq!(
        Config::from_sources(Some((FILE, SHIPPED)), &[]).unwrap(),
        Config::default()
    );
}

/// Every section of `Config` appears in the shipped file with all its keys: adding a probe key to
/// each table makes serde list the keys that table may have, which must be exactly those present.
#[test]
fn shipped_file_lists_every_key() {
    let shipped: Table = toml::from_str(SHIPPED).unwrap();
    let mut probed = Vec::new();
    probe_tables(&shipped, &shipped, "", &mut probed);
    for section in [
        "",
        "node",
        "log",
        "listener",
        "listener.tcp.external",
        "listener.ssl.external",
        "listener.ws.external",
        "listener.wss.external",
        "mqtt",
        "mqtt.session",
        "mqtt.mqueue",
        "retainer",
        "sys",
        "http",
        "module",
        "module.presence",
        "module.autosub",
        "module.rewrite",
        "plugins",
    ] {
        assert!(
            probed.iter().any(|p| p == section),
            "section '{section}' not checked; probed {probed:?}"
        );
    }
}

fn probe_tables(root: &Table, table: &Table, path: &str, probed: &mut Vec<String>) {
    let mut tree = root.clone();
    let mut target = &mut tree;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        target = target.get_mut(seg).and_then(Value::as_table_mut).unwrap();
    }
    target.insert("zz_probe".into(), Value::Integer(1));
    let value = Value::Table(tree);
    let raw = Default::default();
    let probe_key = de::join_key(path, "zz_probe");
    match de::from_value::<Config>(&value, &raw) {
        Err(de::DeError {
            path: Some(p),
            kind: de::DeErrorKind::UnknownKey { expected },
        }) if p == probe_key => {
            let mut want: Vec<&str> = expected.to_vec();
            let mut have: Vec<&str> = table.keys().map(String::as_str).collect();
            want.sort_unstable();
            have.sort_unstable();
            assert_eq!(have, want, "keys of [{path}] in etc/emqttd.toml");
            probed.push(path.to_string());
        }
        // A map of named entries (listener.tcp): any key is allowed there.
        Err(_) => {}
        Ok(_) => panic!("probe key accepted in [{path}]"),
    }
    for (k, v) in table {
        if let Value::Table(sub) = v {
            probe_tables(root, sub, &de::join_key(path, k), probed);
        }
    }
}

/// Each key and each section header in the shipped file sits right under a comment.
#[test]
fn shipped_file_comments_every_key() {
    let lines: Vec<&str> = SHIPPED.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let prev = if i == 0 { "" } else { lines[i - 1].trim() };
        assert!(
            prev.starts_with('#'),
            "line {} of etc/emqttd.toml has no comment above it: {t}",
            i + 1
        );
        if !t.starts_with('[') {
            // the comment block above a key states its default
            let block: Vec<&str> = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim().starts_with('#'))
                .copied()
                .collect();
            assert!(
                block.iter().any(|l| l.contains("Default:")),
                "no 'Default:' above line {}: {t}",
                i + 1
            );
        }
    }
}

#[test]
fn file_values_and_units() {
    let c = from_file(
        r#"
[node]
name = "a@b"
[log]
level = "DEBUG"
[listener.tcp.external]
bind = 21883
[listener.tcp.internal]
bind = "127.0.0.1:11883"
max_connections = 10
[mqtt]
max_packet_size = "64KB"
idle_timeout = 30
keepalive_backoff = 1
[mqtt.session]
retry_interval = "1h30m"
expiry_interval = 0
await_rel_timeout = "500ms"
[retainer]
max_payload_size = 4096
"#,
    )
    .unwrap();
    assert_eq!(c.node.name, "a@b");
    assert_eq!(c.log.level, LevelFilter::Debug);
    assert_eq!(c.listener.tcp.len(), 2);
    assert_eq!(c.listener.tcp["external"].bind, addr("0.0.0.0:21883"));
    assert_eq!(c.listener.tcp["internal"].bind, addr("127.0.0.1:11883"));
    assert_eq!(c.listener.tcp["internal"].max_connections, 10);
    assert_eq!(c.listener.tcp["internal"].backlog, 1024);
    assert_eq!(c.mqtt.max_packet_size, 65_536);
    assert_eq!(c.mqtt.idle_timeout, Duration::from_secs(30));
    assert_eq!(c.mqtt.keepalive_backoff, 1.0);
    assert_eq!(c.mqtt.session.retry_interval, Duration::from_secs(5400));
    assert_eq!(c.mqtt.session.expiry_interval, Duration::ZERO);
    assert_eq!(c.mqtt.session.await_rel_timeout, Duration::from_millis(500));
    assert_eq!(c.mqtt.session.max_inflight, 32);
    assert_eq!(c.retainer.max_payload_size, 4096);
}

#[test]
fn listeners_in_the_file_replace_the_default_set() {
    let c = from_file("[listener.tcp.internal]\nbind = \"127.0.0.1:11883\"").unwrap();
    assert_eq!(c.listener.tcp.keys().collect::<Vec<_>>(), ["internal"]);
    let c = from_file("[listener]\ntcp = {}").unwrap();
    assert!(c.listener.tcp.is_empty());
    let c = from_file("[mqtt]\nmax_inflight_typo_free = 1\n")
        .map(|_| ())
        .unwrap_err();
    assert_eq!(c.key(), Some("mqtt.max_inflight_typo_free"));
}

#[test]
fn env_overrides_nested_keys_and_wins_over_file() {
    let file = "[mqtt.session]\nmax_inflight = 16\n[log]\nlevel = \"warn\"";
    let c = Config::from_sources(
        Some((FILE, file)),
        &env(&[
            ("EMQTTD_MQTT__SESSION__MAX_INFLIGHT", "64"),
            ("EMQTTD_LOG__LEVEL", "debug"),
            ("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:21883"),
            ("EMQTTD_LISTENER__TCP__EXTERNAL__ENABLE", "false"),
            ("EMQTTD_MQTT__MAX_PACKET_SIZE", "64KB"),
            ("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "5s"),
            ("EMQTTD_MQTT__KEEPALIVE_BACKOFF", "0.5"),
            ("EMQTTD_NODE__NAME", "emqttd@10.0.0.1"),
            ("HOME", "/root"),
            ("EMQTT_IGNORED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.mqtt.session.max_inflight, 64);
    assert_eq!(c.log.level, LevelFilter::Debug);
    let ext = &c.listener.tcp["external"];
    assert_eq!(ext.bind, addr("127.0.0.1:21883"));
    assert!(!ext.enable);
    assert_eq!(c.mqtt.max_packet_size, 65_536);
    assert_eq!(c.mqtt.session.retry_interval, Duration::from_secs(5));
    assert_eq!(c.mqtt.keepalive_backoff, 0.5);
    assert_eq!(c.node.name, "emqttd@10.0.0.1");
}

#[test]
fn env_creates_a_new_listener_with_defaults() {
    let c = Config::from_env_pairs(&[
        ("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0"),
        ("EMQTTD_LISTENER__TCP__INTERNAL__BIND", "127.0.0.1:11883"),
    ])
    .unwrap();
    assert_eq!(c.listener.tcp.len(), 2);
    assert_eq!(c.listener.tcp["external"].bind, addr("127.0.0.1:0"));
    let internal = &c.listener.tcp["internal"];
    assert_eq!(internal.bind, addr("127.0.0.1:11883"));
    assert_eq!(
        internal,
        &TcpListenerConfig {
            bind: addr("127.0.0.1:11883"),
            ..TcpListenerConfig::default()
        }
    );

    // Also on top of a file that names its own listeners.
    let c = Config::from_sources(
        Some((FILE, "[listener.tcp.main]\nbind = 1884")),
        &env(&[("EMQTTD_LISTENER__TCP__LOCAL__BIND", "1885")]),
    )
    .unwrap();
    assert_eq!(c.listener.tcp.keys().collect::<Vec<_>>(), ["local", "main"]);
    assert_eq!(c.listener.tcp["local"].bind, addr("0.0.0.0:1885"));
}

#[test]
fn later_pairs_win() {
    let c = Config::from_env_pairs(&[
        ("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0"),
        ("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:1999"),
    ])
    .unwrap();
    assert_eq!(c.listener.tcp["external"].bind, addr("127.0.0.1:1999"));
}

#[test]
fn env_text_for_string_keys() {
    // "1234@5" is not TOML; "42" is, but node.data_dir is a path: the raw text is used.
    let c = Config::from_env_pairs(&[
        ("EMQTTD_NODE__DATA_DIR", "42"),
        ("EMQTTD_NODE__NAME", "1234@5"),
    ])
    .unwrap();
    assert_eq!(c.node.data_dir, PathBuf::from("42"));
    assert_eq!(c.node.name, "1234@5");
}

#[test]
fn unknown_keys_name_file_and_full_key() {
    assert_eq!(
        file_err("[mqtt.sesion]\nmax_inflight = 1"),
        "etc/emqttd.toml: unknown key 'mqtt.sesion' (did you mean 'mqtt.session'?)"
    );
    assert_eq!(
        file_err("[mqtt.session]\nmax_inflights = 1"),
        "etc/emqttd.toml: unknown key 'mqtt.session.max_inflights' (did you mean 'mqtt.session.max_inflight'?)"
    );
    let e = file_err("[listener.tcp.external]\nacceptors = 16");
    assert_eq!(
        e,
        "etc/emqttd.toml: unknown key 'listener.tcp.external.acceptors' (known keys here: enable, bind, max_connections, backlog)"
    );
    let e = from_file("[listener.quic.external]\nbind = 14567").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownKey);
    assert_eq!(e.key(), Some("listener.quic"));
    assert_eq!(e.origin(), &Origin::File(FILE.into()));
    let e = from_file("cluster = 1").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("etc/emqttd.toml: unknown key 'cluster'"),
        "{e}"
    );
}

#[test]
fn unknown_env_key_names_the_variable() {
    let e = env_err(&[("EMQTTD_MQTT__SESION__MAX_INFLIGHT", "64")]);
    assert_eq!(e.kind(), ErrorKind::UnknownKey);
    assert_eq!(
        e.origin(),
        &Origin::Env("EMQTTD_MQTT__SESION__MAX_INFLIGHT".into())
    );
    assert_eq!(
        e.to_string(),
        "environment variable EMQTTD_MQTT__SESION__MAX_INFLIGHT: unknown key 'mqtt.sesion' (did you mean 'mqtt.session'?)"
    );
    let e = env_err(&[("EMQTTD_LOG_LEVEL", "debug")]);
    assert_eq!(e.origin(), &Origin::Env("EMQTTD_LOG_LEVEL".into()));
    assert_eq!(e.key(), Some("log_level"));
    // With a file too, the variable is still the one named.
    let e = Config::from_sources(
        Some((FILE, SHIPPED)),
        &env(&[("EMQTTD_SYS__INTERVALS", "1m")]),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("environment variable EMQTTD_SYS__INTERVALS: unknown key 'sys.intervals'"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_key_expected_and_found() {
    assert_eq!(
        file_err("[mqtt.session]\nmax_inflight = \"many\""),
        "etc/emqttd.toml: key 'mqtt.session.max_inflight': expected a non-negative integer, found string \"many\""
    );
    assert_eq!(
        file_err("[mqtt]\nallow_anonymous = \"yes\""),
        "etc/emqttd.toml: key 'mqtt.allow_anonymous': expected a boolean, found string \"yes\""
    );
    assert_eq!(
        file_err("[listener.tcp.external]\nbacklog = -1"),
        "etc/emqttd.toml: key 'listener.tcp.external.backlog': expected a non-negative integer up to 4294967295, found integer -1"
    );
    assert_eq!(
        file_err("mqtt = 3"),
        "etc/emqttd.toml: key 'mqtt': expected a table, found integer 3"
    );
    assert_eq!(
        file_err("[log]\nlevel = \"loud\""),
        "etc/emqttd.toml: key 'log.level': expected one of \"off\", \"error\", \"warn\", \"info\", \"debug\", \"trace\", found string \"loud\""
    );
    assert_eq!(
        file_err("[mqtt]\nkeepalive_backoff = \"fast\""),
        "etc/emqttd.toml: key 'mqtt.keepalive_backoff': expected a number, found string \"fast\""
    );
    let e = env_err(&[("EMQTTD_MQTT__SESSION__UPGRADE_QOS", "sometimes")]);
    assert_eq!(
        e.to_string(),
        "environment variable EMQTTD_MQTT__SESSION__UPGRADE_QOS: key 'mqtt.session.upgrade_qos': expected a boolean, found string \"sometimes\""
    );
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
}

#[test]
fn bad_durations_sizes_and_addresses_show_the_expected_form() {
    let e = file_err("[mqtt.session]\nretry_interval = \"20 sec\"");
    assert!(
        e.starts_with("etc/emqttd.toml: key 'mqtt.session.retry_interval': expected a duration like \"20s\", \"5m\", \"2h\""),
        "{e}"
    );
    assert!(e.ends_with("found string \"20 sec\""), "{e}");
    let e = file_err("[sys]\ninterval = -5");
    assert!(
        e.contains("key 'sys.interval': expected a duration like"),
        "{e}"
    );
    let e = file_err("[sys]\ninterval = true");
    assert!(
        e.contains("key 'sys.interval': expected a duration like")
            && e.ends_with("found boolean true"),
        "{e}"
    );

    let e = file_err("[mqtt]\nmax_packet_size = \"1 megabyte\"");
    assert!(
        e.starts_with("etc/emqttd.toml: key 'mqtt.max_packet_size': expected a size like \"64KB\", \"1MB\", \"1GB\""),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_RETAINER__MAX_PAYLOAD_SIZE", "1.5MB")]).to_string();
    assert!(
        e.starts_with("environment variable EMQTTD_RETAINER__MAX_PAYLOAD_SIZE: key 'retainer.max_payload_size': expected a size like"),
        "{e}"
    );

    let e = env_err(&[("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "localhost:1883")]).to_string();
    assert_eq!(
        e,
        "environment variable EMQTTD_LISTENER__TCP__EXTERNAL__BIND: key 'listener.tcp.external.bind': expected an address like \"0.0.0.0:1883\", \"[::]:1883\" or a bare port like 1883, found string \"localhost:1883\""
    );
    let e = file_err("[listener.tcp.external]\nbind = 70000");
    assert!(
        e.contains("key 'listener.tcp.external.bind': expected an address like")
            && e.ends_with("found integer 70000"),
        "{e}"
    );
}

#[test]
fn toml_syntax_errors_name_file_and_line() {
    let e = from_file("[mqtt]\nmax_inflight = 1\nretry_interval = = 3\n").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.line().map(|(l, _)| l), Some(3));
    let s = e.to_string();
    assert!(s.starts_with("etc/emqttd.toml: line 3, column "), "{s}");
    assert!(s.contains("invalid TOML: "), "{s}");
    assert!(!s.contains('\n'), "{s}");

    let e = from_file("[node]\nname = \"a@b\"\nname = \"c@d\"\n").unwrap_err();
    assert_eq!(e.line().map(|(l, _)| l), Some(3), "{e}");
    let e = from_file("[mqtt\n").unwrap_err();
    assert_eq!(e.line().map(|(l, _)| l), Some(1), "{e}");
}

#[test]
fn validation_errors_name_origin_and_key() {
    assert_eq!(
        file_err("[node]\nname = \"emqttd\""),
        "etc/emqttd.toml: key 'node.name': expected a node name like \"emqttd@127.0.0.1\" (name@host), found \"emqttd\""
    );
    let e = env_err(&[("EMQTTD_NODE__NAME", "emqttd@")]);
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert_eq!(e.origin(), &Origin::Env("EMQTTD_NODE__NAME".into()));
    assert_eq!(e.key(), Some("node.name"));

    assert_eq!(
        file_err("[mqtt]\nkeepalive_backoff = 0"),
        "etc/emqttd.toml: key 'mqtt.keepalive_backoff': expected a number above 0 like 0.75, found 0"
    );
    let e = env_err(&[("EMQTTD_MQTT__KEEPALIVE_BACKOFF", "-0.5")]).to_string();
    assert_eq!(
        e,
        "environment variable EMQTTD_MQTT__KEEPALIVE_BACKOFF: key 'mqtt.keepalive_backoff': expected a number above 0 like 0.75, found -0.5"
    );
    let e = env_err(&[("EMQTTD_MQTT__KEEPALIVE_BACKOFF", "nan")]);
    assert_eq!(e.key(), Some("mqtt.keepalive_backoff"));

    let e = file_err("[mqtt]\nmax_packet_size = 1");
    assert!(e.starts_with("etc/emqttd.toml: key 'mqtt.max_packet_size': expected a size between 2 bytes and 268435455 bytes"), "{e}");
    assert!(e.ends_with("found 1 bytes"), "{e}");
    from_file("[mqtt]\nmax_packet_size = 268435455").unwrap();
    from_file("[mqtt]\nmax_packet_size = 2").unwrap();
    let e = from_file("[mqtt]\nmax_packet_size = \"256MB\"").unwrap_err();
    assert_eq!(e.key(), Some("mqtt.max_packet_size"));

    let e = file_err("[mqtt]\nmax_clientid_len = 0");
    assert!(e.contains("key 'mqtt.max_clientid_len'"), "{e}");
    let e = file_err("[mqtt.session]\nmax_inflight = 70000");
    assert!(
        e.contains("key 'mqtt.session.max_inflight': expected at most 65535"),
        "{e}"
    );
    for key in [
        "mqtt.idle_timeout",
        "mqtt.session.retry_interval",
        "mqtt.session.await_rel_timeout",
        "sys.interval",
    ] {
        let var = env_var_for(key);
        let e = env_err(&[(&var, "0s")]);
        assert_eq!(e.key(), Some(key));
        assert_eq!(e.origin(), &Origin::Env(var.clone()));
        assert!(
            e.to_string()
                .ends_with("expected a duration above zero like \"20s\", found 0s"),
            "{e}"
        );
    }
    // 0 is allowed where it means "unlimited" / "never".
    Config::from_env_pairs(&[
        ("EMQTTD_MQTT__SESSION__MAX_INFLIGHT", "0"),
        ("EMQTTD_MQTT__SESSION__EXPIRY_INTERVAL", "0"),
        ("EMQTTD_MQTT__MQUEUE__MAX_LENGTH", "0"),
        ("EMQTTD_RETAINER__MAX_MESSAGE_NUM", "0"),
    ])
    .unwrap();

    let e = env_err(&[("EMQTTD_LISTENER__TCP__EXTERNAL__MAX_CONNECTIONS", "0")]);
    assert_eq!(e.key(), Some("listener.tcp.external.max_connections"));
    // ... unless the listener is off
    Config::from_env_pairs(&[
        ("EMQTTD_LISTENER__TCP__EXTERNAL__MAX_CONNECTIONS", "0"),
        ("EMQTTD_LISTENER__TCP__EXTERNAL__ENABLE", "false"),
    ])
    .unwrap();
}

#[test]
fn listener_binds_must_be_unique() {
    let e = env_err(&[("EMQTTD_LISTENER__TCP__INTERNAL__ENABLE", "true")]);
    assert_eq!(
        e.to_string(),
        "environment variable EMQTTD_LISTENER__TCP__INTERNAL__ENABLE: key 'listener.tcp.internal.bind': expected an address not already bound by listener 'external' (0.0.0.0:1883), found 0.0.0.0:1883"
    );
    let e = file_err("[listener.tcp.a]\nbind = \"127.0.0.1:1883\"\n[listener.tcp.b]\nbind = 1883");
    assert!(e.starts_with("etc/emqttd.toml: key 'listener.tcp.b.bind': expected an address not already bound by listener 'a'"), "{e}");
    // different ports, port 0 twice, or a clash with a disabled listener are fine
    from_file(
        "[listener.tcp.a]\nbind = \"127.0.0.1:1883\"\n[listener.tcp.b]\nbind = \"127.0.0.1:1884\"",
    )
    .unwrap();
    from_file("[listener.tcp.a]\nbind = \"127.0.0.1:0\"\n[listener.tcp.b]\nbind = \"127.0.0.1:0\"")
        .unwrap();
    from_file("[listener.tcp.a]\nbind = 1883\n[listener.tcp.b]\nbind = 1883\nenable = false")
        .unwrap();
    from_file(
        "[listener.tcp.a]\nbind = \"127.0.0.1:1883\"\n[listener.tcp.b]\nbind = \"10.0.0.1:1883\"",
    )
    .unwrap();

    let e = file_err("[listener.tcp.External]\nbind = 1");
    assert!(
        e.starts_with("etc/emqttd.toml: key 'listener.tcp.External': expected a listener name"),
        "{e}"
    );
}

#[test]
fn validate_in_code() {
    let mut c = Config::default();
    c.mqtt.keepalive_backoff = 0.0;
    let e = c.validate().unwrap_err();
    assert_eq!(e.origin(), &Origin::Config);
    assert_eq!(
        e.to_string(),
        "configuration: key 'mqtt.keepalive_backoff': expected a number above 0 like 0.75, found 0"
    );
}

#[test]
fn keepalive_timeout_is_one_and_a_half_keepalives() {
    let m = MqttConfig::default();
    assert_eq!(m.keepalive_timeout(60), Some(Duration::from_secs(90)));
    assert_eq!(m.keepalive_timeout(0), None);
}

#[test]
fn load_reads_file_or_falls_back_to_defaults() {
    let dir = std::env::temp_dir().join(format!("emqttd-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.toml");

    let e = Config::load(&missing, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read config file: ", missing.display())),
        "{e}"
    );

    let loaded = Config::load_with_source(&missing, false).unwrap();
    assert_eq!(loaded.source, None);

    let path = dir.join("emqttd.toml");
    std::fs::write(&path, "[mqtt.session]\nmax_inflight = 7\n").unwrap();
    let loaded = Config::load_with_source(&path, true).unwrap();
    assert_eq!(loaded.source.as_deref(), Some(path.as_path()));
    assert_eq!(loaded.config.mqtt.session.max_inflight, 7);

    std::fs::write(&path, "[mqtt.session]\nmax_inflight = true\n").unwrap();
    let e = Config::load(&path, false).unwrap_err();
    assert_eq!(e.origin(), &Origin::File(path.display().to_string()));

    std::fs::write(&path, b"name = \"\xff\"").unwrap();
    assert_eq!(Config::load(&path, true).unwrap_err().kind(), ErrorKind::Io);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn module_defaults_file_and_env_overrides() {
    let c = Config::default();
    assert!(!c.module.presence.enable);
    assert_eq!(c.module.presence.qos, 0);
    assert!(!c.module.autosub.enable);
    assert_eq!(c.module.autosub.topics[0].topic, "$client/%c");
    assert_eq!(c.module.autosub.topics[0].qos, 1);
    assert!(!c.module.rewrite.enable);
    assert_eq!(c.module.rewrite.rules[0].filter, "x/#");
    assert_eq!(c.module.rewrite.rules[0].rewrites[0].dest, "z/y/$1");

    let c = Config::from_env_pairs(&[
        ("EMQTTD_MODULE__PRESENCE__ENABLE", "true"),
        ("EMQTTD_MODULE__PRESENCE__QOS", "1"),
        (
            "EMQTTD_MODULE__AUTOSUB__TOPICS",
            r#"[{topic = "a/%u", qos = 2}, {topic = "b"}]"#,
        ),
        ("EMQTTD_MODULE__REWRITE__ENABLE", "true"),
    ])
    .unwrap();
    assert!(c.module.presence.enable);
    assert_eq!(c.module.presence.qos, 1);
    assert_eq!(c.module.autosub.topics.len(), 2);
    assert_eq!(c.module.autosub.topics[0].topic, "a/%u");
    assert_eq!(c.module.autosub.topics[1].qos, 0);
    assert!(c.module.rewrite.enable);

    let c = from_file(
        r#"
[module.rewrite]
enable = true
rules = [
  { filter = "a/#", rewrites = [{ regex = "^a/(.+)$", dest = "b/$1" }, { regex = "^a$", dest = "b" }] },
]
"#,
    )
    .unwrap();
    assert_eq!(c.module.rewrite.rules[0].rewrites.len(), 2);
}

#[test]
fn module_values_are_validated() {
    let e = env_err(&[("EMQTTD_MODULE__PRESENCE__QOS", "3")]).to_string();
    assert!(e.contains("module.presence.qos"), "{e}");
    assert!(e.contains("expected a QoS of 0, 1 or 2, found 3"), "{e}");
    let e = file_err("[module.autosub]\ntopics = [{ topic = \"a/#/b\", qos = 1 }]\n");
    assert!(e.contains("module.autosub.topics[0].topic"), "{e}");
    let e = file_err(
        "[module.rewrite]\nrules = [{ filter = \"x/#\", rewrites = [{ regex = \"(\", dest = \"y\" }] }]\n",
    );
    assert!(
        e.contains("module.rewrite.rules[0].rewrites[0].regex"),
        "{e}"
    );
    let e = file_err("[module.presence]\nenabled = true\n");
    assert!(e.contains("module.presence.enabled"), "{e}");
}

#[test]
fn acl_keys_default_and_override() {
    let c = Config::default();
    assert_eq!(c.mqtt.acl_file, PathBuf::from(DEFAULT_ACL_FILE));
    assert_eq!(c.mqtt.acl_nomatch, AclNomatch::Allow);
    assert!(c.mqtt.cache_acl);
    let c = Config::from_env_pairs(&[
        ("EMQTTD_MQTT__ACL_FILE", "/tmp/x/acl.conf"),
        ("EMQTTD_MQTT__ACL_NOMATCH", "deny"),
        ("EMQTTD_MQTT__CACHE_ACL", "false"),
    ])
    .unwrap();
    assert_eq!(c.mqtt.acl_file, PathBuf::from("/tmp/x/acl.conf"));
    assert_eq!(c.mqtt.acl_nomatch, AclNomatch::Deny);
    assert!(!c.mqtt.cache_acl);
    let c = from_file("[mqtt]\nacl_file = \"\"\nacl_nomatch = \"Allow\"").unwrap();
    assert!(c.mqtt.acl_file.as_os_str().is_empty());
    assert_eq!(c.mqtt.acl_nomatch, AclNomatch::Allow);
    let e = file_err("[mqtt]\nacl_nomatch = \"maybe\"");
    assert!(
        e.contains("mqtt.acl_nomatch") && e.contains("\"allow\" or \"deny\""),
        "{e}"
    );
    let e = env_err(&[("EMQTTD_MQTT__ACL_NOMATCH", "sometimes")]).to_string();
    assert!(e.contains("EMQTTD_MQTT__ACL_NOMATCH"), "{e}");
}
