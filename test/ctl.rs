//! `emqttd ctl` end to end: the real binary, run as an operator runs it, against a broker started
//! in-process with its HTTP listener on an ephemeral port. What is asserted is what the operator
//! sees: the printed lines, the exit code, and the effect on real MQTT clients.

use crate::common::http::start_http_broker;
use crate::common::wire::RawConnect;
use crate::common::{options, Client, RawClient, TempDir, WAIT};
use emqttd::app::Broker;
use emqttd::mqtt::packet::ConnectReturnCode;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_emqttd");
/// How long one ctl run may take.
const CTL_DEADLINE: Duration = Duration::from_secs(30);

/// A broker with its HTTP listener on, and a config file that points ctl at it.
struct Node {
    broker: Broker,
    http: SocketAddr,
    dir: TempDir,
    config: PathBuf,
}

fn start_node(tag: &str, extra: &[(&str, &str)]) -> Node {
    let (broker, http) = start_http_broker(extra);
    let dir = TempDir::new(tag);
    let config = dir.write(
        "emqttd.toml",
        &format!("# written by test/ctl.rs\n[http]\nbind = \"{http}\"\n"),
    );
    Node {
        broker,
        http,
        dir,
        config,
    }
}

/// What one ctl run printed and how it exited.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `emqttd ctl <args>` in `cwd` with `env` set and every other `EMQTTD_*` variable removed.
async fn run_ctl(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Out {
    let mut cmd = Command::new(BIN);
    cmd.arg("ctl")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("EMQTTD_") {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("RUST_LOG");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let what = format!("emqttd ctl {}", args.join(" "));
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: spawn: {e}"));
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = tokio::time::timeout(CTL_DEADLINE, rx)
        .await
        .unwrap_or_else(|_| panic!("{what}: still running after {CTL_DEADLINE:?}"))
        .expect("waiter thread")
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Node {
    /// `emqttd ctl --config <this node's file> <args>`.
    async fn ctl(&self, args: &[&str]) -> Out {
        let config = self.config.to_string_lossy().into_owned();
        let mut all = vec!["--config", config.as_str()];
        all.extend_from_slice(args);
        run_ctl(self.dir.path(), &[], &all).await
    }

    /// Like [`Node::ctl`], asserting exit code 0; returns stdout.
    async fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args).await;
        assert_eq!(out.code, 0, "emqttd ctl {args:?}: {out:?}");
        out.stdout
    }
}

#[tokio::test]
async fn status_names_the_node_and_version() {
    let node = start_node("status", &[]);
    let out = node.ctl_ok(&["status"]).await;
    assert_eq!(
        out,
        format!(
            "Node emqttd@127.0.0.1 is started\nemqttd {} is running\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[tokio::test]
async fn env_override_finds_the_node_without_a_config_file() {
    let node = start_node("env", &[]);
    let bind = node.http.to_string();
    // No etc/emqttd.toml in the working directory: the defaults plus the override.
    let out = run_ctl(
        node.dir.path(),
        &[("EMQTTD_HTTP__BIND", bind.as_str())],
        &["status"],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("Node emqttd@127.0.0.1 is started\n"),
        "{out:?}"
    );

    // Wrong credentials from the environment: the node's refusal, exit 1.
    let out = run_ctl(
        node.dir.path(),
        &[
            ("EMQTTD_HTTP__BIND", bind.as_str()),
            ("EMQTTD_CTL_USER", "admin"),
            ("EMQTTD_CTL_PASSWORD", "wrong"),
        ],
        &["clients", "list"],
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("'admin'") && out.stderr.contains("--user"),
        "{out:?}"
    );
}

#[tokio::test]
async fn clients_list_and_show_a_connected_client() {
    let node = start_node("clients", &[]);
    let mut opts = options(node.broker.tcp_addr(), "ctl dev/1");
    opts.set_credentials("u1", "pw");
    let (_client, _) = Client::connect_opts(opts).await;
    let list = node.ctl_ok(&["clients", "list"]).await;
    let line = list
        .lines()
        .find(|l| l.starts_with("Client(ctl dev/1, "))
        .unwrap_or_else(|| panic!("no client line in {list:?}"));
    assert!(line.contains("username=u1"), "{line}");
    assert!(line.contains("peername=127.0.0.1:"), "{line}");
    assert!(line.contains("clean_sess=true"), "{line}");
    assert!(line.contains("connected_at="), "{line}");
    // The id has a space and a slash: percent-encoded in the path.
    let show = node.ctl_ok(&["clients", "show", "ctl dev/1"]).await;
    assert!(show.starts_with("Client(ctl dev/1, username=u1"), "{show}");
    let json = node.ctl_ok(&["--json", "clients", "list"]).await;
    let value: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(value[0]["client_id"], "ctl dev/1");
    // An unknown client: the node's answer, exit 1.
    let out = node.ctl(&["clients", "show", "nobody"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("Error: "), "{out:?}");
}

#[tokio::test]
async fn clients_kick_closes_the_socket() {
    let node = start_node("kick", &[]);
    let mut raw = RawClient::connected(node.broker.tcp_addr(), "kick-me").await;
    let out = node.ctl_ok(&["clients", "kick", "kick-me"]).await;
    assert_eq!(out, "Client kick-me kicked\n");
    raw.expect_closed(WAIT).await;
}

#[tokio::test]
async fn subscriptions_add_makes_a_client_receive_a_publish() {
    let node = start_node("subs", &[]);
    let mut client = Client::connect(node.broker.tcp_addr(), "sub-by-ctl").await;
    assert_eq!(
        node.ctl_ok(&["subscriptions", "add", "sub-by-ctl", "ctl/+/x", "1"])
            .await,
        "ok\n"
    );
    let show = node.ctl_ok(&["subscriptions", "show", "sub-by-ctl"]).await;
    assert_eq!(show, "sub-by-ctl -> ctl/+/x (qos=1)\n");
    let routes = node.ctl_ok(&["routes", "show", "ctl/+/x"]).await;
    assert_eq!(routes, "ctl/+/x -> emqttd@127.0.0.1\n");
    assert!(node
        .ctl_ok(&["topics", "list"])
        .await
        .lines()
        .any(|l| l == "ctl/+/x"));

    let out = node
        .ctl_ok(&["publish", "ctl/a/x", "hello ctl", "--qos", "1"])
        .await;
    assert_eq!(out, "published to ctl/a/x: delivered to 1 subscriber(s)\n");
    client.expect_message("ctl/a/x", "hello ctl").await;

    assert_eq!(
        node.ctl_ok(&["subscriptions", "del", "sub-by-ctl", "ctl/+/x"])
            .await,
        "ok\n"
    );
    assert_eq!(
        node.ctl_ok(&["subscriptions", "show", "sub-by-ctl"]).await,
        ""
    );
    let bad = node
        .ctl(&["subscriptions", "add", "sub-by-ctl", "a/#/b", "0"])
        .await;
    assert_eq!(bad.code, 1, "{bad:?}");
}

#[tokio::test]
async fn lists_page_through_more_than_one_page() {
    let node = start_node("paging", &[]);
    let mut raw = RawClient::connected(node.broker.tcp_addr(), "many").await;
    let filters: Vec<String> = (0..1005).map(|i| format!("page/{i}")).collect();
    let table: Vec<(&str, u8)> = filters.iter().map(|f| (f.as_str(), 0)).collect();
    raw.subscribe(1, &table).await;
    let list = node.ctl_ok(&["subscriptions", "list"]).await;
    let lines: Vec<&str> = list.lines().filter(|l| l.starts_with("many -> ")).collect();
    assert_eq!(lines.len(), 1005, "{}", &list[..list.len().min(500)]);
}

#[tokio::test]
async fn retained_sessions_and_broker_views() {
    let node = start_node("views", &[]);
    let (_persistent, _) = Client::connect_persistent(node.broker.tcp_addr(), "keeper").await;
    node.ctl_ok(&["publish", "ret/a b", "kept", "--retain"])
        .await;
    let list = node.ctl_ok(&["retained", "list"]).await;
    assert!(list.contains("Retained(ret/a b, qos=0"), "{list}");
    let show = node.ctl_ok(&["retained", "show", "ret/a b"]).await;
    assert!(show.contains("payload=kept)"), "{show}");
    assert_eq!(node.ctl_ok(&["retained", "del", "ret/a b"]).await, "ok\n");
    assert_eq!(node.ctl(&["retained", "show", "ret/a b"]).await.code, 1);

    let persistent = node.ctl_ok(&["sessions", "list", "persistent"]).await;
    assert!(
        persistent.starts_with("Session(keeper, clean_sess=false"),
        "{persistent}"
    );
    assert_eq!(node.ctl_ok(&["sessions", "list", "transient"]).await, "");
    let show = node.ctl_ok(&["sessions", "show", "keeper"]).await;
    assert!(show.contains("connected=true"), "{show}");

    let broker = node.ctl_ok(&["broker"]).await;
    assert!(
        broker.starts_with("sysdescr  : emqttd\nversion   : "),
        "{broker}"
    );
    let stats = node.ctl_ok(&["broker", "stats"]).await;
    let count = stats
        .lines()
        .find(|l| l.starts_with("clients/count "))
        .unwrap_or_else(|| panic!("no clients/count in {stats}"));
    assert!(count.ends_with(": 1"), "{stats}");
    let metrics = node.ctl_ok(&["broker", "metrics"]).await;
    assert!(metrics.contains("packets/received"), "{metrics}");
    let listeners = node.ctl_ok(&["listeners"]).await;
    assert!(listeners.contains("listener on mqtt:tcp:"), "{listeners}");
    let modules = node.ctl_ok(&["modules", "list"]).await;
    assert!(modules.contains("Module(presence, "), "{modules}");
}

#[tokio::test]
async fn acl_reload_reports_a_bad_file_with_its_line() {
    let dir = TempDir::new("acl");
    let acl = dir.write("acl.conf", "{allow, all}.\n");
    let acl_text = acl.to_string_lossy().into_owned();
    let node = start_node("acl", &[("EMQTTD_MQTT__ACL_FILE", acl_text.as_str())]);
    assert_eq!(
        node.ctl_ok(&["acl", "reload"]).await,
        "acl reloaded: 1 rule(s)\n"
    );
    dir.write("acl.conf", "{allow, all}.\n\n{allow, al}.\n");
    let out = node.ctl(&["acl", "reload"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("acl.conf") && out.stderr.contains('3'),
        "{out:?}"
    );
}

#[tokio::test]
async fn node_not_running_exits_3_naming_the_address() {
    let dir = TempDir::new("down");
    let free = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let config = dir.write("emqttd.toml", &format!("[http]\nbind = \"{free}\"\n"));
    let config = config.to_string_lossy().into_owned();
    let out = run_ctl(dir.path(), &[], &["--config", &config, "status"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains(&free.to_string()), "{out:?}");
    assert!(out.stderr.contains("not running"), "{out:?}");
    assert!(out.stderr.contains("emqttd.toml"), "{out:?}");

    let off = dir.write("off.toml", "[http]\nenable = false\n");
    let off = off.to_string_lossy().into_owned();
    let out = run_ctl(dir.path(), &[], &["--config", &off, "status"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("http.enable = false"), "{out:?}");
}

#[tokio::test]
async fn bad_arguments_exit_2_with_usage() {
    let dir = TempDir::new("usage");
    for args in [
        &["clients"][..],
        &["clients", "kick"],
        &["subscriptions", "add", "c", "t", "7"],
        &["status", "--bogus"],
        &[],
    ] {
        let out = run_ctl(dir.path(), &[], args).await;
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("Usage: emqttd ctl"),
            "{args:?}: {out:?}"
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }
    let missing = run_ctl(dir.path(), &[], &["--config", "no-such.toml", "status"]).await;
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("no-such.toml"), "{missing:?}");
}

#[tokio::test]
async fn plugins_load_unload_and_plugin_commands() {
    const TEMPLATE: &str = "emqttd_plugin_template";
    let node = start_node("plugins", &[]);
    let list = node.ctl_ok(&["plugins", "list"]).await;
    assert!(
        list.lines().any(
            |l| l.starts_with(&format!("Plugin({TEMPLATE}, version=0.1.0, "))
                && l.ends_with("active=false)")
        ),
        "{list}"
    );
    assert_eq!(
        node.ctl_ok(&["plugins", "load", TEMPLATE]).await,
        format!("Plugin {TEMPLATE} loaded successfully.\n")
    );
    assert!(node
        .ctl_ok(&["plugins", "list"])
        .await
        .contains("active=true)"));
    // Loading twice: the node's conflict, exit 1.
    let again = node.ctl(&["plugins", "load", TEMPLATE]).await;
    assert_eq!(again.code, 1, "{again:?}");

    // `help` lists the plugin's command; any other word is forwarded to it.
    let help = node.ctl_ok(&["help"]).await;
    assert!(
        help.contains("Plugin commands (from the loaded plugins):"),
        "{help}"
    );
    assert!(help.contains("template reset"), "{help}");
    assert_eq!(node.ctl_ok(&["template", "reset"]).await, "counts reset\n");
    let shown = node.ctl_ok(&["template"]).await;
    assert!(!shown.is_empty());
    let json = node.ctl_ok(&["--json", "template", "reset"]).await;
    let value: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(value["output"], "counts reset\n");
    // The command's own error: exit 1 with its message.
    let bad = node.ctl(&["template", "bogus"]).await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("usage: template"), "{bad:?}");

    assert_eq!(
        node.ctl_ok(&["plugins", "unload", TEMPLATE]).await,
        format!("Plugin {TEMPLATE} unloaded successfully.\n")
    );
    // Its command is gone with it: an unknown command is a usage error.
    let gone = node.ctl(&["template"]).await;
    assert_eq!(gone.code, 2, "{gone:?}");
    assert!(
        gone.stderr.contains("unknown command 'template'"),
        "{gone:?}"
    );
    let unknown = node.ctl(&["plugins", "load", "no_such_plugin"]).await;
    assert_eq!(unknown.code, 1, "{unknown:?}");
}

#[tokio::test]
async fn admins_add_list_passwd_and_del() {
    let node = start_node("admins", &[]);
    assert_eq!(node.ctl_ok(&["admins", "add", "ops", "pw1"]).await, "ok\n");
    let list = node.ctl_ok(&["admins", "list"]).await;
    assert!(
        list.contains("Admin(admin, ") && list.contains("Admin(ops, "),
        "{list}"
    );
    // ops changes its own password, then logs in with the new one.
    let out = node
        .ctl(&["--user", "ops:pw1", "admins", "passwd", "ops", "pw2"])
        .await;
    assert_eq!((out.code, out.stdout.as_str()), (0, "ok\n"), "{out:?}");
    assert_eq!(node.ctl(&["--user", "ops:pw1", "status"]).await.code, 1);
    assert_eq!(node.ctl(&["--user", "ops:pw2", "status"]).await.code, 0);
    // An admin resets another admin's password (emqttd's `admins passwd`).
    assert_eq!(
        node.ctl_ok(&["admins", "passwd", "ops", "pw3"]).await,
        "ok\n"
    );
    assert_eq!(node.ctl(&["--user", "ops:pw2", "status"]).await.code, 1);
    assert_eq!(node.ctl(&["--user", "ops:pw3", "status"]).await.code, 0);
    let nobody = node.ctl(&["admins", "passwd", "nobody", "pw"]).await;
    assert_eq!(nobody.code, 1, "{nobody:?}");
    assert_eq!(node.ctl_ok(&["admins", "del", "ops"]).await, "ok\n");
    assert!(!node.ctl_ok(&["admins", "list"]).await.contains("ops"));
}

#[tokio::test]
async fn users_add_through_the_auth_username_plugin_command() {
    const USERNAME: &str = "emqttd_auth_username";
    let etc = TempDir::new("users-etc");
    let users_file = etc.path().join("auth_username.json");
    etc.write(
        &format!("{USERNAME}.toml"),
        &format!(
            "users_file = {:?}\npassword_hash = \"pbkdf2\"\npbkdf2_iterations = 1000\n",
            users_file.to_string_lossy()
        ),
    );
    let etc_dir = etc.path().to_string_lossy().into_owned();
    let node = start_node(
        "users",
        &[
            ("EMQTTD_PLUGINS__ETC_DIR", etc_dir.as_str()),
            ("EMQTTD_MQTT__ALLOW_ANONYMOUS", "false"),
        ],
    );
    let addr = node.broker.tcp_addr();
    let connack = |user: &'static str, password: &'static str| async move {
        let connect = RawConnect {
            username: Some(user),
            password: Some(password.as_bytes()),
            ..RawConnect::v311("ctl-user")
        };
        RawClient::handshake(addr, &connect).await.1.return_code
    };
    assert_ne!(
        connack("alice", "secret").await,
        ConnectReturnCode::Accepted
    );

    node.ctl_ok(&["plugins", "load", USERNAME]).await;
    assert_eq!(
        node.ctl_ok(&["users", "add", "alice", "secret"]).await,
        "ok\n"
    );
    assert_eq!(node.ctl_ok(&["users", "list"]).await, "alice\n");
    assert_eq!(
        connack("alice", "secret").await,
        ConnectReturnCode::Accepted
    );
    assert_ne!(connack("alice", "wrong").await, ConnectReturnCode::Accepted);
    let dup = node.ctl(&["users", "add", "alice", "again"]).await;
    assert_eq!(dup.code, 1, "{dup:?}");
    assert!(dup.stderr.contains("already exists"), "{dup:?}");
}
