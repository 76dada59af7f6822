//! Access control end to end: the auth chain and allow_anonymous (CONNACK 4/5), every acl.conf
//! rule form from test/fixtures/acl.conf, nomatch, reload at run time, and a malformed acl.conf
//! stopping the real binary at start-up. Real clients on ephemeral ports.

use crate::common::wire::RawConnect;
use crate::common::{options, start_broker, Client, QoS, RawClient, TempDir};
use emqttd::access::{AuthCheck, AuthDenied, AuthProvider, AuthResult, ClientAuth};
use emqttd::app::Broker;
use emqttd::mqtt::packet::{ConnectReturnCode, SubscribeReturnCode};
use emqttd::sys::metrics::Metric;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test/fixtures/acl.conf");

/// Makes the client "spy" a superuser (it skips the ACL); ignores everybody else.
struct SpyIsSuperuser;

impl AuthProvider for SpyIsSuperuser {
    fn check(&self, client: &ClientAuth<'_>) -> AuthCheck {
        if client.client_id == "spy" {
            AuthResult::Allow { superuser: true }.into()
        } else {
            AuthResult::Ignore.into()
        }
    }
}

fn broker_with(acl_file: &str, nomatch: &str) -> Broker {
    let broker = start_broker(&[
        ("EMQTTD_MQTT__ACL_FILE", acl_file),
        ("EMQTTD_MQTT__ACL_NOMATCH", nomatch),
    ]);
    broker
        .core()
        .access
        .register_auth(Box::new(SpyIsSuperuser), 100);
    broker
}

/// A superuser subscribed to `#`: it sees every (non-$SYS) message the broker routes.
async fn spy(addr: SocketAddr) -> Client {
    let mut spy = Client::connect(addr, "spy").await;
    spy.subscribe_ok("#", QoS::AtLeastOnce).await;
    spy
}

async fn client(addr: SocketAddr, id: &str, user: Option<&str>) -> Client {
    let mut opts = options(addr, id);
    if let Some(user) = user {
        opts.set_credentials(user, "pw");
    }
    Client::connect_opts(opts).await.0
}

/// `publisher` publishes `topic` (QoS 1, acknowledged either way), then `sentinel`; whether
/// the spy received `topic` before the sentinel. No sleeping: the sentinel marks the end.
async fn delivered(spy: &mut Client, publisher: &mut Client, topic: &str) -> bool {
    publisher
        .publish(topic, QoS::AtLeastOnce, false, "acl")
        .await;
    publisher
        .publish("sentinel", QoS::AtLeastOnce, false, "end")
        .await;
    let first = spy.expect_publish().await;
    if first.topic == "sentinel" {
        return false;
    }
    assert_eq!(first.topic, topic);
    assert_eq!(spy.expect_publish().await.topic, "sentinel");
    true
}

/// One SUBSCRIBE with every filter; `true` where granted, `false` where 0x80.
async fn granted(addr: SocketAddr, id: &str, user: Option<&str>, filters: &[&str]) -> Vec<bool> {
    let connect = RawConnect {
        username: user,
        password: user.map(|_| b"pw".as_slice()),
        ..RawConnect::v311(id)
    };
    let (mut raw, _) = RawClient::connected_with(addr, &connect).await;
    let table: Vec<(&str, u8)> = filters.iter().map(|f| (*f, 1)).collect();
    let ack = raw.subscribe(1, &table).await;
    assert_eq!(ack.return_codes.len(), filters.len());
    let codes = ack
        .return_codes
        .iter()
        .map(|code| *code != SubscribeReturnCode::Failure)
        .collect();
    raw.ping().await; // still connected
    codes
}

#[tokio::test]
async fn client_rules_and_denied_publish_is_dropped_and_counted() {
    let broker = broker_with(FIXTURE, "deny");
    let addr = broker.tcp_addr();
    let metrics = &broker.core().metrics;
    let mut spy = spy(addr).await;

    let mut blocked = client(addr, "c-blocked", None).await;
    let (denied, dropped) = (
        metrics.get(Metric::AclDeny),
        metrics.get(Metric::MessagesDropped),
    );
    assert!(!delivered(&mut spy, &mut blocked, "client/x").await);
    assert_eq!(metrics.get(Metric::AclDeny), denied + 1);
    assert_eq!(metrics.get(Metric::MessagesDropped), dropped + 1);
    // QoS 0 and 2 are dropped too, and the publisher stays connected.
    for qos in [QoS::AtMostOnce, QoS::ExactlyOnce] {
        blocked.publish("client/x", qos, false, "again").await;
    }
    blocked
        .publish("sentinel", QoS::AtLeastOnce, false, "end")
        .await;
    assert_eq!(spy.expect_publish().await.topic, "sentinel");
    assert_eq!(metrics.get(Metric::AclDeny), denied + 3);

    let mut other = client(addr, "c-other", None).await;
    assert!(delivered(&mut spy, &mut other, "client/x").await);

    assert_eq!(
        granted(addr, "c-reader", None, &["client/secret"]).await,
        [true]
    );
    assert_eq!(
        granted(addr, "c-other", None, &["client/secret"]).await,
        [false]
    );
}

#[tokio::test]
async fn a_will_to_a_denied_topic_is_not_published() {
    let broker = broker_with(FIXTURE, "deny");
    let addr = broker.tcp_addr();
    let metrics = &broker.core().metrics;
    let mut spy = spy(addr).await;
    let denied = metrics.get(Metric::AclDeny);
    let will = |id: &'static str| RawConnect {
        will: Some(("client/x", id.as_bytes(), 1, false)),
        ..RawConnect::v311(id)
    };
    // c-blocked may not publish to client/x: its will is dropped when its socket drops.
    let (blocked, _) = RawClient::connected_with(addr, &will("c-blocked")).await;
    drop(blocked);
    let core = broker.core();
    crate::common::eventually("c-blocked's session to end", || {
        core.sessions.lookup("c-blocked").is_none()
    })
    .await;
    assert_eq!(metrics.get(Metric::AclDeny), denied + 1);
    // c-other may: its will arrives, and it is the first thing the spy sees.
    let (other, _) = RawClient::connected_with(addr, &will("c-other")).await;
    drop(other);
    spy.expect_message("client/x", "c-other").await;
}

#[tokio::test]
async fn user_rules_including_user_all() {
    let broker = broker_with(FIXTURE, "deny");
    let addr = broker.tcp_addr();
    let mut spy = spy(addr).await;
    let mut alice = client(addr, "a1", Some("alice")).await;
    let mut bob = client(addr, "b1", Some("bob")).await;
    let mut anonymous = client(addr, "n1", None).await;
    assert!(delivered(&mut spy, &mut alice, "user/alice/x").await);
    assert!(!delivered(&mut spy, &mut bob, "user/alice/x").await);
    assert!(!delivered(&mut spy, &mut anonymous, "user/alice/x").await);
    // {user, all} matches every client, with or without a username (as in emqttd).
    assert!(!delivered(&mut spy, &mut alice, "anyuser/x").await);
    assert!(!delivered(&mut spy, &mut anonymous, "anyuser/x").await);
}

#[tokio::test]
async fn denied_subscribe_filters_get_0x80_each() {
    let broker = broker_with(FIXTURE, "deny");
    let addr = broker.tcp_addr();
    let filters = [
        "ip/local",         // {ipaddr, "127.0.0.0/8"}: allowed
        "ip/remote",        // {ipaddr, "10.0.0.0/8"} does not match 127.0.0.1: deny
        "eq/a",             // allowed by "eq/#"
        "eq/#",             // {eq, "eq/#"}: deny
        "eq/+",             // "+" is literal on the subscription side; "eq/#" allows it
        "test/nosubscribe", // the Paho interop rule
        "anyclient/x",      // {client, all}
        "free/#",           // nothing matches: acl_nomatch = deny
    ];
    let want = [true, false, true, false, true, false, true, false];
    assert_eq!(granted(addr, "s1", None, &filters).await, want);
    // Superusers skip the ACL.
    let mut spy = Client::connect(addr, "spy").await;
    spy.subscribe_ok("test/nosubscribe", QoS::AtMostOnce).await;
    spy.subscribe_ok("free/#", QoS::AtMostOnce).await;
}

#[tokio::test]
async fn and_or_rules() {
    let broker = broker_with(FIXTURE, "deny");
    let addr = broker.tcp_addr();
    let mut spy = spy(addr).await;
    let mut bob1 = client(addr, "bob-1", Some("bob")).await;
    let mut bob2 = client(addr, "bob-2", Some("bob")).await;
    assert!(delivered(&mut spy, &mut bob1, "and/x").await);
    assert!(!delivered(&mut spy, &mut bob2, "and/x").await);
    let mut carol = client(addr, "zz-1", Some("carol")).await;
    let mut by_id = client(addr, "carol-1", None).await;
    let mut dave = client(addr, "dave-1", Some("dave")).await;
    assert!(delivered(&mut spy, &mut carol, "or/x").await);
    assert!(delivered(&mut spy, &mut by_id, "or/x").await);
    assert!(!delivered(&mut spy, &mut dave, "or/x").await);
}

#[tokio::test]
async fn placeholders_pubsub_and_first_match() {
    let broker = broker_with(FIXTURE, "deny");
    let addr = broker.tcp_addr();
    let mut spy = spy(addr).await;
    let mut alice = client(addr, "dev1", Some("alice")).await;
    assert!(delivered(&mut spy, &mut alice, "home/alice/t").await);
    assert!(!delivered(&mut spy, &mut alice, "home/bob/t").await);
    assert!(delivered(&mut spy, &mut alice, "dev/dev1/x").await);
    assert!(!delivered(&mut spy, &mut alice, "dev/dev2/x").await);
    // Without a username %u stays as it is.
    let mut anonymous = client(addr, "anon", None).await;
    assert!(!delivered(&mut spy, &mut anonymous, "home/alice/t").await);
    assert!(delivered(&mut spy, &mut anonymous, "home/%u/t").await);
    // pubsub covers subscribe as well
    assert_eq!(
        granted(
            addr,
            "dev9",
            Some("alice"),
            &["home/alice/#", "home/bob/#", "dev/dev9/+", "dev/dev1/+"]
        )
        .await,
        [true, false, true, false]
    );
    // first match wins
    assert!(delivered(&mut spy, &mut alice, "order/first").await);
    assert!(!delivered(&mut spy, &mut alice, "order/second").await);
}

#[tokio::test]
async fn nomatch_allow_and_deny() {
    let deny = broker_with(FIXTURE, "deny");
    let mut spy_d = spy(deny.tcp_addr()).await;
    let mut c = client(deny.tcp_addr(), "n1", None).await;
    assert!(!delivered(&mut spy_d, &mut c, "free/x").await);

    let allow = broker_with(FIXTURE, "allow");
    let addr = allow.tcp_addr();
    let mut spy_a = spy(addr).await;
    let mut c = client(addr, "n1", None).await;
    assert!(delivered(&mut spy_a, &mut c, "free/x").await);
    assert_eq!(
        granted(addr, "n2", None, &["free/#", "#"]).await,
        [true, true]
    );
}

#[tokio::test]
async fn reload_changes_decisions_for_connected_clients() {
    let dir = TempDir::new("reload");
    let file = dir.write("acl.conf", "{allow, all}.\n");
    let broker = broker_with(file.to_str().unwrap(), "allow");
    let addr = broker.tcp_addr();
    let access = &broker.core().access;
    let mut spy = spy(addr).await;
    let mut c = client(addr, "r1", None).await;
    // Twice: the second decision comes from the session's cache.
    assert!(delivered(&mut spy, &mut c, "reload/x").await);
    assert!(delivered(&mut spy, &mut c, "reload/x").await);

    dir.write(
        "acl.conf",
        "{deny, all, pubsub, [\"reload/#\"]}.\n{allow, all}.\n",
    );
    assert_eq!(access.reload_acl().unwrap(), 2);
    assert!(!delivered(&mut spy, &mut c, "reload/x").await);
    assert_eq!(granted(addr, "r2", None, &["reload/#"]).await, [false]);

    // A malformed file is refused as a whole: the error names the file and line, the old
    // rules stay.
    dir.write(
        "acl.conf",
        "{allow, all, publish, [\"reload/x\"]}.\n\n{allow, al}.\n",
    );
    let error = access.reload_acl().unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("acl.conf") && text.contains("line 3"),
        "{text}"
    );
    assert!(!delivered(&mut spy, &mut c, "reload/x").await);

    dir.write("acl.conf", "{allow, all}.\n");
    access.reload_acl().unwrap();
    assert!(delivered(&mut spy, &mut c, "reload/x").await);
}

#[tokio::test]
async fn reload_without_cache() {
    let dir = TempDir::new("nocache");
    let file = dir.write("acl.conf", "{allow, all}.\n");
    let broker = start_broker(&[
        ("EMQTTD_MQTT__ACL_FILE", file.to_str().unwrap()),
        ("EMQTTD_MQTT__CACHE_ACL", "false"),
    ]);
    broker
        .core()
        .access
        .register_auth(Box::new(SpyIsSuperuser), 100);
    let addr = broker.tcp_addr();
    let mut spy = spy(addr).await;
    let mut c = client(addr, "r1", None).await;
    assert!(delivered(&mut spy, &mut c, "reload/x").await);
    dir.write("acl.conf", "{deny, all, publish, [\"reload/x\"]}.\n");
    broker.core().access.reload_acl().unwrap();
    assert!(!delivered(&mut spy, &mut c, "reload/x").await);
}

/// Accepts user "good" with password "secret", refuses other passwords for it (4), refuses
/// client id "banned" (5), ignores everybody else.
struct Passwords;

impl AuthProvider for Passwords {
    fn check(&self, client: &ClientAuth<'_>) -> AuthCheck {
        match (client.client_id, client.username, client.password) {
            ("banned", _, _) => AuthResult::Deny(AuthDenied::NotAuthorized),
            (_, Some("good"), Some(b"secret")) => AuthResult::Allow { superuser: false },
            (_, Some("good"), _) => AuthResult::Deny(AuthDenied::BadUsernameOrPassword),
            _ => AuthResult::Ignore,
        }
        .into()
    }
}

async fn connack(
    addr: SocketAddr,
    id: &str,
    user: Option<&str>,
    pass: Option<&[u8]>,
) -> ConnectReturnCode {
    let connect = RawConnect {
        username: user,
        password: pass,
        ..RawConnect::v311(id)
    };
    RawClient::handshake(addr, &connect).await.1.return_code
}

#[tokio::test]
async fn auth_chain_and_allow_anonymous() {
    let broker = start_broker(&[("EMQTTD_MQTT__ALLOW_ANONYMOUS", "false")]);
    let addr = broker.tcp_addr();
    use ConnectReturnCode::*;
    // No provider: anonymous clients are not authorized, unverifiable credentials are bad.
    assert_eq!(connack(addr, "a1", None, None).await, NotAuthorized);
    assert_eq!(
        connack(addr, "a2", Some("u"), Some(b"p")).await,
        BadUsernameOrPassword
    );

    broker.core().access.register_auth(Box::new(Passwords), 0);
    assert_eq!(
        connack(addr, "a3", Some("good"), Some(b"secret")).await,
        Accepted
    );
    assert_eq!(
        connack(addr, "a4", Some("good"), Some(b"wrong")).await,
        BadUsernameOrPassword
    );
    assert_eq!(
        connack(addr, "banned", Some("good"), Some(b"secret")).await,
        NotAuthorized
    );
    // Ignored by the provider: allow_anonymous = false decides.
    assert_eq!(connack(addr, "a5", None, None).await, NotAuthorized);

    let open = start_broker(&[]);
    open.core().access.register_auth(Box::new(Passwords), 0);
    assert_eq!(connack(open.tcp_addr(), "a6", None, None).await, Accepted);
    assert_eq!(
        connack(open.tcp_addr(), "a7", Some("good"), Some(b"nope")).await,
        BadUsernameOrPassword
    );
}

/// Runs the real binary with `--config` in `dir`; returns (exit code, stderr) within a deadline.
fn run_binary(dir: &Path, config: &Path) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emqttd"));
    cmd.args(["start", "--config", config.to_str().unwrap()])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("EMQTTD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info");
    let mut child = cmd.spawn().expect("spawn emqttd");
    let mut stderr_pipe = child.stderr.take().unwrap();
    let pid = child.id();
    let (done, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = stderr_pipe.read_to_string(&mut stderr);
        let _ = done.send((child.wait().map(|s| s.code()), stderr));
    });
    match exited.recv_timeout(Duration::from_secs(20)) {
        Ok((status, stderr)) => (status.unwrap(), stderr),
        Err(_) => {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("emqttd did not exit within 20s with a bad acl file");
        }
    }
}

fn config_with_acl(dir: &TempDir, acl: &Path) -> PathBuf {
    let body = format!(
        r#"[node]
data_dir = "{data}"
[listener.tcp.external]
bind = "127.0.0.1:0"
[listener.ssl.external]
enable = false
[listener.ws.external]
enable = false
[listener.wss.external]
enable = false
[http]
enable = false
[mqtt]
acl_file = "{acl}"
"#,
        data = dir.path().join("data").display(),
        acl = acl.display()
    );
    dir.write("emqttd.toml", &body)
}

#[test]
fn malformed_acl_file_stops_start_up_naming_file_and_line() {
    let dir = TempDir::new("malformed");
    let acl = dir.write(
        "bad-acl.conf",
        "%% fine so far\n{allow, all, publish, [\"a\"]}.\n{allow, {user, \"x\"}, pubsub, [\"a/#/b\"]}.\n{allow, all}.\n",
    );
    let config = config_with_acl(&dir, &acl);
    let (code, stderr) = run_binary(dir.path(), &config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("bad-acl.conf"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn explicit_missing_acl_file_stops_start_up() {
    let dir = TempDir::new("missing");
    let acl = dir.path().join("no-such-acl.conf");
    let config = config_with_acl(&dir, &acl);
    let (code, stderr) = run_binary(dir.path(), &config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no-such-acl.conf"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}
