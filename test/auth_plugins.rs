//! The auth plugins (emqttd_auth_username, emqttd_auth_clientid) loaded at run time through the
//! plugin host, driven by real MQTT clients: CONNACK codes, the `users` command, unloading, and
//! bcrypt logins that must not stall anyone else.

use crate::common::http::{start_http_broker, Api};
use crate::common::wire::{self, RawConnect};
use crate::common::{eventually, start_broker, Healthy, RawClient, TempDir, WAIT};
use bytes::BytesMut;
use emqttd::app::Broker;
use emqttd::mqtt::packet::{ConnectReturnCode, Packet};
use emqttd::sys::metrics::Metric;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use ConnectReturnCode::*;

const USERNAME: &str = "emqttd_auth_username";
const CLIENTID: &str = "emqttd_auth_clientid";

/// A scratch directory holding `etc/plugins/` and the users file, removed on drop.
struct Scratch(TempDir);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = TempDir::new(&format!("auth-plugins-{tag}"));
        std::fs::create_dir_all(dir.path().join("etc/plugins")).unwrap();
        Scratch(dir)
    }

    fn etc_dir(&self) -> String {
        self.0
            .path()
            .join("etc/plugins")
            .to_string_lossy()
            .into_owned()
    }

    fn users_file(&self) -> PathBuf {
        self.0.path().join("data/auth_username.json")
    }

    /// Writes `etc/plugins/<plugin>.toml`.
    fn config(&self, plugin: &str, body: &str) {
        self.0.write(&format!("etc/plugins/{plugin}.toml"), body);
    }

    /// The username plugin's config: `users_file` in this directory, then `body`.
    fn username_config(&self, body: &str) {
        let users_file = format!("users_file = {:?}\n", self.users_file().to_string_lossy());
        self.config(USERNAME, &format!("{users_file}{body}"));
    }

    /// A broker reading plugin configs from here.
    fn broker(&self, allow_anonymous: bool) -> Broker {
        start_broker(&[
            ("EMQTTD_PLUGINS__ETC_DIR", &self.etc_dir()),
            (
                "EMQTTD_MQTT__ALLOW_ANONYMOUS",
                if allow_anonymous { "true" } else { "false" },
            ),
        ])
    }
}

fn load(broker: &Broker, plugin: &str) {
    broker
        .core()
        .plugins
        .load(plugin)
        .unwrap_or_else(|e| panic!("load {plugin}: {e}"));
}

fn unload(broker: &Broker, plugin: &str) {
    broker
        .core()
        .plugins
        .unload(plugin)
        .unwrap_or_else(|e| panic!("unload {plugin}: {e}"));
}

/// `emqttd ctl users <line>` as the ctl command runs it: the text printed, or the error.
fn users(broker: &Broker, line: &str) -> Result<String, String> {
    let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    broker
        .core()
        .plugins
        .run_command("users", &args)
        .map_err(|e| e.to_string())
}

/// The CONNACK code for a CONNECT with these credentials.
async fn connack(
    addr: SocketAddr,
    id: &str,
    username: Option<&str>,
    password: Option<&str>,
) -> ConnectReturnCode {
    let connect = RawConnect {
        username,
        password: password.map(str::as_bytes),
        ..RawConnect::v311(id)
    };
    RawClient::handshake(addr, &connect).await.1.return_code
}

/// The CONNACK code for a CONNECT sent from the local address `from` (any 127.x.y.z works
/// on the loopback interface).
async fn connack_from(
    from: IpAddr,
    addr: SocketAddr,
    connect: &RawConnect<'_>,
) -> ConnectReturnCode {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(&connect.to_bytes()).await.unwrap();
    let mut buf = BytesMut::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(packet) = wire::decode(&mut buf).unwrap() {
            match packet {
                Packet::ConnAck(ack) => return ack.return_code,
                other => panic!("expected CONNACK, got {other:?}"),
            }
        }
        let read = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf))
            .await
            .expect("no CONNACK in time")
            .unwrap();
        assert!(read > 0, "closed before CONNACK");
    }
}

/// Runs mosquitto_pub to publish once with these extra arguments; its exit code is the
/// CONNACK code when the connection is refused.
fn mosquitto_pub(addr: SocketAddr, args: &[&str]) -> i32 {
    let output = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &addr.port().to_string()])
        .args(["-t", "auth/plugins", "-m", "hello", "-q", "1"])
        .args(args)
        .output()
        .expect("mosquitto_pub is installed");
    output.status.code().unwrap_or_else(|| {
        panic!(
            "mosquitto_pub {args:?} was killed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test]
async fn username_passwords_and_the_anonymous_fallback() {
    let dir = Scratch::new("username");
    dir.username_config(
        r#"
        password_hash = "sha256"
        [[user]]
        username = "admin"
        password = "public"
        [[user]]
        username = "gateway"
        algorithm = "pbkdf2"
        iterations = 4096
        salt = "gw-salt"
        hash = "fdec80862da7eeb562cec11b078bce96cf62f5d423fa9b362fb6b94426ed35ad"
        "#,
    );
    let broker = dir.broker(false);
    let addr = broker.tcp_addr();
    load(&broker, USERNAME);

    assert_eq!(
        connack(addr, "u1", Some("admin"), Some("public")).await,
        Accepted
    );
    assert_eq!(
        connack(addr, "u2", Some("admin"), Some("publik")).await,
        BadUsernameOrPassword
    );
    assert_eq!(
        connack(addr, "u3", Some("admin"), None).await,
        BadUsernameOrPassword
    );
    assert_eq!(
        connack(addr, "u4", Some("gateway"), Some("gateway-pw")).await,
        Accepted
    );
    assert_eq!(
        connack(addr, "u5", Some("gateway"), Some("gateway-px")).await,
        BadUsernameOrPassword
    );
    // Unknown to the plugin: allow_anonymous = false decides.
    assert_eq!(
        connack(addr, "u6", Some("eve"), Some("public")).await,
        BadUsernameOrPassword
    );
    assert_eq!(connack(addr, "u7", None, None).await, NotAuthorized);

    // A stock client sees the same.
    assert_eq!(
        mosquitto_pub(addr, &["-i", "m1", "-u", "admin", "-P", "public"]),
        0
    );
    assert_eq!(
        mosquitto_pub(addr, &["-i", "m2", "-u", "admin", "-P", "wrong"]),
        4
    );
    assert_eq!(
        mosquitto_pub(addr, &["-i", "m3", "-u", "eve", "-P", "public"]),
        4
    );
}

#[tokio::test]
async fn users_added_and_deleted_at_run_time() {
    let dir = Scratch::new("users");
    dir.username_config("password_hash = \"pbkdf2\"\npbkdf2_iterations = 1000\n");
    let broker = dir.broker(false);
    let addr = broker.tcp_addr();
    load(&broker, USERNAME);

    assert_eq!(
        connack(addr, "r1", Some("bob"), Some("b0b")).await,
        BadUsernameOrPassword
    );
    assert_eq!(users(&broker, "add bob b0b").unwrap(), "ok");
    assert_eq!(users(&broker, "add carol c4rol").unwrap(), "ok");
    assert!(users(&broker, "add bob again")
        .unwrap_err()
        .contains("already exists"));
    assert_eq!(users(&broker, "list").unwrap(), "bob\ncarol");
    assert_eq!(
        connack(addr, "r2", Some("bob"), Some("b0b")).await,
        Accepted
    );
    assert_eq!(
        connack(addr, "r3", Some("bob"), Some("bob")).await,
        BadUsernameOrPassword
    );

    assert_eq!(users(&broker, "passwd carol n3w").unwrap(), "ok");
    assert_eq!(users(&broker, "del bob").unwrap(), "ok");
    assert!(users(&broker, "del bob").unwrap_err().contains("not found"));
    assert_eq!(
        connack(addr, "r4", Some("bob"), Some("b0b")).await,
        BadUsernameOrPassword
    );

    // The users file keeps them across an unload and a load.
    assert!(std::fs::read_to_string(dir.users_file())
        .unwrap()
        .contains("\"carol\""));
    unload(&broker, USERNAME);
    assert!(
        users(&broker, "list").is_err(),
        "the command goes with the plugin"
    );
    load(&broker, USERNAME);
    assert_eq!(users(&broker, "list").unwrap(), "carol");
    assert_eq!(
        connack(addr, "r5", Some("carol"), Some("n3w")).await,
        Accepted
    );
    assert_eq!(
        connack(addr, "r6", Some("carol"), Some("c4rol")).await,
        BadUsernameOrPassword
    );
}

/// Without `users_file`, users added at run time are kept in the node's data directory, not in
/// the broker's working directory.
#[tokio::test]
async fn the_users_file_defaults_to_the_node_data_dir() {
    let dir = Scratch::new("default-file");
    dir.config(USERNAME, "");
    let broker = dir.broker(true);
    load(&broker, USERNAME);
    assert_eq!(users(&broker, "add dora d0ra").unwrap(), "ok");
    let file = broker
        .core()
        .config
        .node
        .data_dir
        .join("auth_username.json");
    let stored = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(stored.contains("\"dora\""), "{file:?}: {stored:?}");
    assert_eq!(
        connack(broker.tcp_addr(), "d1", Some("dora"), Some("d0ra")).await,
        Accepted
    );
}

/// The operator's path: load the plugin and run `users add` / `users del` through the REST
/// API that `emqttd ctl` talks to.
#[tokio::test]
async fn users_managed_through_the_http_api() {
    let dir = Scratch::new("http");
    dir.username_config("");
    let etc_dir = dir.etc_dir();
    let (broker, http) = start_http_broker(&[
        ("EMQTTD_PLUGINS__ETC_DIR", etc_dir.as_str()),
        ("EMQTTD_MQTT__ALLOW_ANONYMOUS", "false"),
    ]);
    let api = Api { addr: http };
    let addr = broker.tcp_addr();
    api.send(
        "PUT",
        "/api/v2/plugins/emqttd_auth_username",
        r#"{"active":true}"#,
    )
    .await
    .result();
    let run = |args: &'static str| api.send("POST", "/api/v2/commands/users", args);
    let added = run(r#"{"args":["add","dave","d4ve"]}"#).await.result();
    assert_eq!(added["output"], "ok");
    assert_eq!(
        connack(addr, "h1", Some("dave"), Some("d4ve")).await,
        Accepted
    );
    run(r#"{"args":["add","dave","x"]}"#)
        .await
        .assert_error(400, "already exists");

    let deleted = run(r#"{"args":["del","dave"]}"#).await.result();
    assert_eq!(deleted["output"], "ok");
    assert_eq!(
        connack(addr, "h2", Some("dave"), Some("d4ve")).await,
        BadUsernameOrPassword
    );
    api.send(
        "PUT",
        "/api/v2/plugins/emqttd_auth_username",
        r#"{"active":false}"#,
    )
    .await
    .result();
    run(r#"{"args":["list"]}"#).await.assert_error(404, "users");
}

#[tokio::test]
async fn unloading_brings_back_the_anonymous_rules() {
    let dir = Scratch::new("unload");
    dir.username_config("[[user]]\nusername = \"admin\"\npassword = \"public\"\n");

    // allow_anonymous = false: once unloaded, nobody can verify admin any more.
    let closed = dir.broker(false);
    load(&closed, USERNAME);
    let addr = closed.tcp_addr();
    assert_eq!(
        connack(addr, "a1", Some("admin"), Some("public")).await,
        Accepted
    );
    unload(&closed, USERNAME);
    assert_eq!(
        connack(addr, "a2", Some("admin"), Some("public")).await,
        BadUsernameOrPassword
    );

    // allow_anonymous = true: a wrong password is refused only while the plugin is loaded.
    let open = dir.broker(true);
    load(&open, USERNAME);
    let addr = open.tcp_addr();
    assert_eq!(
        connack(addr, "a3", Some("admin"), Some("wrong")).await,
        BadUsernameOrPassword
    );
    unload(&open, USERNAME);
    assert_eq!(
        connack(addr, "a4", Some("admin"), Some("wrong")).await,
        Accepted
    );
}

#[tokio::test]
async fn client_ids_bound_to_addresses_and_passwords() {
    let dir = Scratch::new("clientid");
    dir.config(
        CLIENTID,
        r#"
        [[client]]
        clientid = "anywhere"

        [[client]]
        clientid = "local-only"
        ipaddr = "127.0.0.1"

        [[client]]
        clientid = "small-net"
        ipaddr = "127.0.0.0/31"

        [[client]]
        clientid = "wide-net"
        ipaddr = "127.0.0.0/30"

        [[client]]
        clientid = "with-password"
        password = "s3cret"
        ipaddr = "127.0.0.0/8"
        "#,
    );
    let broker = dir.broker(false);
    let addr = broker.tcp_addr();
    load(&broker, CLIENTID);

    let one: IpAddr = "127.0.0.1".parse().unwrap();
    let two: IpAddr = "127.0.0.2".parse().unwrap();
    let v311 = RawConnect::v311;
    assert_eq!(connack_from(two, addr, &v311("anywhere")).await, Accepted);
    assert_eq!(connack_from(one, addr, &v311("local-only")).await, Accepted);
    assert_eq!(
        connack_from(two, addr, &v311("local-only")).await,
        NotAuthorized
    );
    assert_eq!(connack_from(one, addr, &v311("small-net")).await, Accepted);
    assert_eq!(
        connack_from(two, addr, &v311("small-net")).await,
        NotAuthorized
    );
    assert_eq!(connack_from(two, addr, &v311("wide-net")).await, Accepted);

    let password = |pw: &'static str| RawConnect {
        username: Some("any"),
        password: Some(pw.as_bytes()),
        ..RawConnect::v311("with-password")
    };
    assert_eq!(connack_from(two, addr, &password("s3cret")).await, Accepted);
    assert_eq!(
        connack_from(two, addr, &password("secret")).await,
        BadUsernameOrPassword
    );
    assert_eq!(
        connack_from(two, addr, &v311("with-password")).await,
        BadUsernameOrPassword
    );
    // Unknown client ids: allow_anonymous = false decides.
    assert_eq!(
        connack_from(one, addr, &v311("stranger")).await,
        NotAuthorized
    );

    // mosquitto_pub bound to another loopback address is refused for the wrong network.
    assert_eq!(
        mosquitto_pub(addr, &["-i", "local-only", "-A", "127.0.0.1"]),
        0
    );
    assert_eq!(
        mosquitto_pub(addr, &["-i", "local-only", "-A", "127.0.0.2"]),
        5
    );
}

#[tokio::test]
async fn both_plugins_chain_username_first() {
    let dir = Scratch::new("chain");
    dir.username_config("[[user]]\nusername = \"admin\"\npassword = \"public\"\n");
    dir.config(CLIENTID, "[[client]]\nclientid = \"sensor-1\"\n");
    let broker = dir.broker(false);
    let addr = broker.tcp_addr();
    load(&broker, USERNAME);
    load(&broker, CLIENTID);
    // username decides first; the client id plugin admits the clients it ignores
    assert_eq!(
        connack(addr, "sensor-1", Some("admin"), Some("wrong")).await,
        BadUsernameOrPassword
    );
    assert_eq!(connack(addr, "sensor-1", Some("eve"), None).await, Accepted);
    assert_eq!(connack(addr, "sensor-1", None, None).await, Accepted);
    assert_eq!(connack(addr, "other", None, None).await, NotAuthorized);
    assert_eq!(
        connack(addr, "other", Some("admin"), Some("public")).await,
        Accepted
    );
}

/// While several bcrypt logins (cost 12) are being verified, an already connected client's
/// publish/subscribe round trip completes: the hashing runs on the blocking pool, not on the
/// session threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bcrypt_logins_do_not_stall_connected_clients() {
    const LOGINS: usize = 6;
    let dir = Scratch::new("bcrypt");
    dir.username_config(
        "password_hash = \"bcrypt\"\nbcrypt_cost = 12\n[[user]]\nusername = \"slow\"\npassword = \"pw\"\n",
    );
    // The healthy clients are anonymous.
    let broker = dir.broker(true);
    let addr = broker.tcp_addr();
    load(&broker, USERNAME);
    let mut healthy = Healthy::start(addr).await;

    let metrics = &broker.core().metrics;
    let connects_before = metrics.get(Metric::PacketsConnect);
    let (events, mut order) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..LOGINS {
        let events = events.clone();
        let id = format!("bcrypt-{i}");
        let password: &'static [u8] = if i == 0 { b"wrong" } else { b"pw" };
        let mut client = RawClient::connect(addr).await;
        let connect = RawConnect {
            username: Some("slow"),
            password: Some(password),
            ..RawConnect::v311(&id)
        };
        client.send_bytes(&connect.to_bytes()).await;
        tokio::spawn(async move {
            let packet = client.expect(Duration::from_secs(60)).await;
            let _ = events.send(format!("connack {packet:?}"));
        });
    }
    // Every CONNECT has reached its session, which is now waiting for bcrypt.
    eventually("the bcrypt CONNECTs to arrive", || {
        metrics.get(Metric::PacketsConnect) >= connects_before + LOGINS as u64
    })
    .await;
    healthy.check().await;
    events.send("round trip".to_string()).unwrap();
    drop(events);

    let mut seen = Vec::new();
    while let Some(event) = order.recv().await {
        seen.push(event);
    }
    assert_eq!(seen.len(), LOGINS + 1, "{seen:?}");
    assert_eq!(seen[0], "round trip", "{seen:#?}");
    let refused = seen
        .iter()
        .filter(|e| e.contains("BadUsernameOrPassword"))
        .count();
    let accepted = seen.iter().filter(|e| e.contains("Accepted")).count();
    assert_eq!((accepted, refused), (LOGINS - 1, 1), "{seen:#?}");
}

#[tokio::test]
async fn a_bad_plugin_config_fails_the_load_naming_file_and_key() {
    let dir = Scratch::new("bad-config");
    dir.username_config("bcrypt_cost = 99\n");
    dir.config(
        CLIENTID,
        "[[client]]\nclientid = \"x\"\nipaddr = \"10.0.0.0/99\"\n",
    );
    let broker = dir.broker(true);
    let error = broker
        .core()
        .plugins
        .load(USERNAME)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("emqttd_auth_username.toml: key bcrypt_cost"),
        "{error}"
    );
    let error = broker
        .core()
        .plugins
        .load(CLIENTID)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("emqttd_auth_clientid.toml: key client[1].ipaddr"),
        "{error}"
    );
    assert!(!broker.core().plugins.is_loaded(USERNAME));
    // Nothing was registered: anonymous clients still get in.
    assert_eq!(connack(broker.tcp_addr(), "b1", None, None).await, Accepted);
}
