//! The real `emqttd` binary as an operator runs it: command line, config files, env overrides,
//! start-up errors and graceful stop on signals. Every wait has a deadline; every child is killed
//! when a test fails (see `Proc`'s `Drop`).

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::TempDir;
use rumqttc::{Client, Connection, Event, MqttOptions, Packet, QoS};

const BIN: &str = env!("CARGO_BIN_EXE_emqttd");
/// How long the broker may take to start listening, or to exit after a signal or a bad config.
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A valid config: one TCP listener on `bind`, data under the temp dir.
fn config_with_bind(dir: &TempDir, bind: &str) -> String {
    format!(
        r#"# written by test/broker_process.rs
[node]
name = "emqttd@127.0.0.1"
data_dir = "{data}"

[listener.tcp.external]
bind = "{bind}"

[mqtt.session]
retry_interval = "20s"

[sys]
interval = "1m"
"#,
        data = dir.path().join("data").display(),
        bind = bind
    )
}

/// A running `emqttd` child. Its stdout and stderr are read line by line by two threads into one
/// channel (and kept for failure messages). Dropping it kills and reaps the child.
struct Proc {
    child: Child,
    lines: Receiver<String>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Spawns the binary with `args` in `cwd`, with `env` added and every inherited
    /// `EMQTTD_*` / `RUST_LOG` variable removed so the test sees only its own settings.
    fn spawn(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("EMQTTD_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        // The listening line is logged at info; make sure it is not filtered out.
        cmd.env("RUST_LOG", "info");
        // The other listeners on free ports, so that parallel brokers do not collide.
        for var in [
            "EMQTTD_LISTENER__SSL__EXTERNAL__BIND",
            "EMQTTD_LISTENER__WS__EXTERNAL__BIND",
            "EMQTTD_LISTENER__WSS__EXTERNAL__BIND",
            "EMQTTD_HTTP__BIND",
        ] {
            cmd.env(var, "127.0.0.1:0");
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {BIN}: {e}"));
        let (tx, rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        fn pump<R: Read + Send + 'static>(
            r: R,
            tag: &'static str,
            tx: mpsc::Sender<String>,
            seen: Arc<Mutex<Vec<String>>>,
        ) {
            thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    seen.lock().unwrap().push(format!("[{tag}] {line}"));
                    if tx.send(line).is_err() {
                        // Nobody listens any more; keep draining so the child never blocks.
                        continue;
                    }
                }
            });
        }
        pump(
            child.stdout.take().unwrap(),
            "stdout",
            tx.clone(),
            seen.clone(),
        );
        pump(child.stderr.take().unwrap(), "stderr", tx, seen.clone());
        Proc {
            child,
            lines: rx,
            seen,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the child printed so far, for failure messages.
    fn output(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }

    /// Waits for a line satisfying `pred`; panics (with the output so far) at the deadline or
    /// when the child exits first.
    fn wait_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(line) if pred(&line) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    if let Ok(Some(st)) = self.child.try_wait() {
                        // Drain what is left, then give up.
                        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                            if pred(&line) {
                                return line;
                            }
                        }
                        panic!(
                            "emqttd exited ({st}) before printing {what}; output:\n{}",
                            self.output()
                        );
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let st = self.wait_exit();
                    panic!(
                        "emqttd closed its output ({st}) before printing {what}; output:\n{}",
                        self.output()
                    );
                }
            }
            if Instant::now() >= end {
                panic!(
                    "no {what} within {DEADLINE:?}; output so far:\n{}",
                    self.output()
                );
            }
        }
    }

    /// Waits for the `listener tcp:external listening on IP:PORT` line and returns the address.
    fn wait_listening(&mut self) -> SocketAddr {
        let line = self.wait_line("'listener tcp:external listening on <addr>'", |l| {
            l.contains("tcp:external") && l.contains("listening on ")
        });
        parse_listening(&line)
            .unwrap_or_else(|| panic!("cannot parse an address from the line {line:?}"))
    }

    /// Waits for the child to exit (deadline `DEADLINE`), then for its output to be drained.
    fn wait_exit(&mut self) -> ExitStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) => {
                    // The pump threads end at EOF; wait for them so output() is complete.
                    while self.lines.recv_timeout(Duration::from_secs(5)).is_ok() {}
                    return st;
                }
                Ok(None) if Instant::now() < end => {
                    // Bounded poll of the exit status; the deadline is what matters.
                    let _ = self.lines.recv_timeout(Duration::from_millis(50));
                }
                Ok(None) => panic!(
                    "emqttd (pid {}) did not exit within {DEADLINE:?}; output:\n{}",
                    self.pid(),
                    self.output()
                ),
                Err(e) => panic!("waiting for emqttd: {e}"),
            }
        }
    }

    /// Sends a signal with the `kill` command (no libc dependency).
    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -{sig} {} failed: {st}", self.pid());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `... listening on 127.0.0.1:41234 ...` -> the address after "listening on ".
fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let tok = rest
        .split(|c: char| c.is_whitespace() || c == ',' || c == ')')
        .next()?;
    tok.trim_matches(|c| c == '"' || c == '\'').parse().ok()
}

/// Runs the binary to completion and returns (status, stdout, stderr).
fn run_to_exit(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut p = Proc::spawn(args, cwd, env);
    let st = p.wait_exit();
    let seen = p.seen.lock().unwrap().clone();
    let pick = |tag: &str| {
        seen.iter()
            .filter_map(|l| l.strip_prefix(tag))
            .collect::<Vec<_>>()
            .join("\n")
    };
    (st, pick("[stdout] "), pick("[stderr] "))
}

/// A connected rumqttc client (CONNACK received).
fn connect(addr: SocketAddr, id: &str) -> (Client, Connection) {
    let mut opts = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut conn) = Client::new(opts, 10);
    let end = Instant::now() + DEADLINE;
    loop {
        match conn.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                assert_eq!(ack.code, rumqttc::ConnectReturnCode::Success);
                return (client, conn);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("client {id} could not connect to {addr}: {e}"),
            Err(e) => panic!("client {id}: no CONNACK from {addr}: {e:?}"),
        }
        assert!(Instant::now() < end, "client {id}: no CONNACK from {addr}");
    }
}

/// Publishes to our own subscription and waits for it to come back: the broker really works.
fn round_trip(client: &Client, conn: &mut Connection, topic: &str) {
    client.subscribe(topic, QoS::AtLeastOnce).unwrap();
    let end = Instant::now() + DEADLINE;
    let mut published = false;
    loop {
        match conn.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) if !published => {
                client
                    .publish(topic, QoS::AtLeastOnce, false, b"ping".to_vec())
                    .unwrap();
                published = true;
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                assert_eq!(p.topic, topic);
                assert_eq!(&p.payload[..], b"ping");
                return;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("connection error during round trip: {e}"),
            Err(e) => panic!("round trip on {topic}: {e:?}"),
        }
        assert!(Instant::now() < end, "round trip on {topic} timed out");
    }
}

/// After the broker stops, the client's next event must be a connection error (not silence).
fn expect_closed(conn: &mut Connection) {
    let end = Instant::now() + DEADLINE;
    loop {
        match conn.recv_timeout(Duration::from_secs(2)) {
            Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(rumqttc::RecvTimeoutError::Disconnected) => return,
            Err(rumqttc::RecvTimeoutError::Timeout) => {}
        }
        assert!(
            Instant::now() < end,
            "the client still sees an open connection {DEADLINE:?} after the broker stopped"
        );
    }
}

/// Starts the broker from a config binding 127.0.0.1:0, connects a client, sends `sig`, and
/// checks: exit code 0 within the deadline, and the client sees its connection closed.
fn graceful_stop_on(sig: &str) {
    let dir = TempDir::new(&sig.to_lowercase());
    let cfg = dir.write("emqttd.toml", &config_with_bind(&dir, "127.0.0.1:0"));
    let mut p = Proc::spawn(
        &["start", "--config", cfg.to_str().unwrap()],
        dir.path(),
        &[],
    );
    let addr = p.wait_listening();
    assert_ne!(addr.port(), 0, "the log must show the bound port, not 0");
    let (client, mut conn) = connect(addr, &format!("proc-{}", sig.to_lowercase()));
    round_trip(&client, &mut conn, "proc/stop");

    let sent = Instant::now();
    p.signal(sig);
    let st = p.wait_exit();
    assert_eq!(
        st.code(),
        Some(0),
        "SIG{sig} must stop emqttd with exit code 0, got {st}; output:\n{}",
        p.output()
    );
    eprintln!("SIG{sig}: emqttd exited in {:?}", sent.elapsed());
    expect_closed(&mut conn);
    // Nothing listens on the port any more.
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "{addr} still accepts connections after emqttd exited"
    );
}

/// Asserts that starting with `body` as the config file fails with a non-zero exit and an error
/// on stderr that names the file and every string in `names`, without a panic.
/// The broker is given `EMQTTD_LISTENER__TCP__EXTERNAL__BIND=127.0.0.1:0`, so that a broker
/// that wrongly accepts the file does not take port 1883.
fn bad_config(tag: &str, body: &str, names: &[&str]) {
    bad_config_env(
        tag,
        body,
        &[("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0")],
        names,
    )
}

fn bad_config_env(tag: &str, body: &str, env: &[(&str, &str)], names: &[&str]) {
    let dir = TempDir::new(tag);
    let file = format!("{tag}.toml");
    let cfg = dir.write(&file, body);
    let (st, out, err) = run_to_exit(
        &["start", "--config", cfg.to_str().unwrap()],
        dir.path(),
        env,
    );
    let all = format!("stdout:\n{out}\nstderr:\n{err}");
    assert!(
        !st.success(),
        "a bad config ({tag}) must fail start-up, got {st}; {all}"
    );
    assert!(
        err.contains(&file),
        "the error must name the config file {file:?}; {all}"
    );
    for n in names {
        assert!(
            err.to_lowercase().contains(&n.to_lowercase()),
            "the error must name {n:?}; {all}"
        );
    }
    assert!(
        !err.contains("panicked at"),
        "a bad config must give an error message, not a panic; {all}"
    );
    assert!(
        !err.contains("listening on"),
        "a bad config must stop start-up before any listener opens; {all}"
    );
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

#[test]
fn version_prints_name_and_version() {
    let dir = TempDir::new("version");
    let (st, out, err) = run_to_exit(&["--version"], dir.path(), &[]);
    assert!(st.success(), "--version: {st}\n{out}\n{err}");
    assert!(
        out.contains("emqttd") && out.contains(env!("CARGO_PKG_VERSION")),
        "--version must print 'emqttd {}' on stdout, got stdout {out:?} stderr {err:?}",
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn help_describes_start_and_config() {
    let dir = TempDir::new("help");
    let (st, out, err) = run_to_exit(&["--help"], dir.path(), &[]);
    assert!(st.success(), "--help: {st}\n{out}\n{err}");
    assert!(
        out.contains("start") && out.contains("--config"),
        "--help must describe `start` and `--config` on stdout, got stdout {out:?} stderr {err:?}"
    );
}

#[test]
fn unknown_command_fails() {
    let dir = TempDir::new("unknowncmd");
    let (st, out, err) = run_to_exit(&["frobnicate"], dir.path(), &[]);
    assert!(
        !st.success(),
        "an unknown command must fail, got {st}\n{out}\n{err}"
    );
    assert!(
        !err.contains("listening on"),
        "an unknown command must not start the broker\n{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Start and stop
// ---------------------------------------------------------------------------------------------

#[test]
fn sigterm_stops_gracefully_with_exit_code_0() {
    graceful_stop_on("TERM");
}

#[test]
fn sigint_stops_gracefully_with_exit_code_0() {
    graceful_stop_on("INT");
}

/// Once the listening line is printed an operator (or systemd) may stop the broker at once:
/// the signal handlers must already be in place, so the stop is still graceful (exit code 0,
/// not death by the signal's default action).
#[test]
fn sigterm_right_after_listening_is_graceful() {
    // A few rounds: the window between the line and the handlers is short.
    for round in 0..5 {
        let dir = TempDir::new("earlyterm");
        let cfg = dir.write("emqttd.toml", &config_with_bind(&dir, "127.0.0.1:0"));
        let mut p = Proc::spawn(
            &["start", "--config", cfg.to_str().unwrap()],
            dir.path(),
            &[],
        );
        p.wait_listening();
        p.signal("TERM");
        let st = p.wait_exit();
        assert_eq!(
            st.code(),
            Some(0),
            "round {round}: SIGTERM just after the listening line must stop emqttd with exit \
             code 0 (install the signal handlers before the listeners open), got {st}; \
             output:\n{}",
            p.output()
        );
    }
}

#[test]
fn env_override_beats_the_config_file() {
    // The file names a port that is taken; the env override moves the listener to port 0.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let dir = TempDir::new("envoverride");
    let cfg = dir.write(
        "emqttd.toml",
        &config_with_bind(&dir, &taken_addr.to_string()),
    );
    let mut p = Proc::spawn(
        &["start", "--config", cfg.to_str().unwrap()],
        dir.path(),
        &[("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0")],
    );
    let addr = p.wait_listening();
    assert_ne!(addr, taken_addr, "the env override must win over the file");
    assert_ne!(addr.port(), 0);
    let (client, mut conn) = connect(addr, "proc-env");
    round_trip(&client, &mut conn, "proc/env");
    p.signal("TERM");
    assert_eq!(p.wait_exit().code(), Some(0), "{}", p.output());
}

#[test]
fn start_without_config_file_uses_embedded_defaults() {
    // An empty working dir: no etc/emqttd.toml, so emqttd runs on its defaults (plus env).
    let dir = TempDir::new("defaults");
    let mut p = Proc::spawn(
        &["start"],
        dir.path(),
        &[("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0")],
    );
    let addr = p.wait_listening();
    let (client, mut conn) = connect(addr, "proc-defaults");
    round_trip(&client, &mut conn, "proc/defaults");
    p.signal("TERM");
    assert_eq!(p.wait_exit().code(), Some(0), "{}", p.output());
}

#[test]
fn shipped_config_file_is_valid() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/emqttd.toml");
    assert!(shipped.exists(), "{} is missing", shipped.display());
    let dir = TempDir::new("shipped");
    let mut p = Proc::spawn(
        &["start", "--config", shipped.to_str().unwrap()],
        dir.path(),
        &[("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0")],
    );
    let addr = p.wait_listening();
    let (client, mut conn) = connect(addr, "proc-shipped");
    round_trip(&client, &mut conn, "proc/shipped");
    p.signal("TERM");
    assert_eq!(p.wait_exit().code(), Some(0), "{}", p.output());
}

// ---------------------------------------------------------------------------------------------
// Start-up errors
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_config_unknown_key() {
    bad_config("unknown-key", "[mqtt]\nno_such_key = 1\n", &["no_such_key"]);
}

#[test]
fn bad_config_unknown_section() {
    bad_config(
        "unknown-section",
        "[no_such_section]\nfoo = 1\n",
        &["no_such_section"],
    );
}

#[test]
fn bad_config_wrong_type() {
    bad_config(
        "wrong-type",
        "[mqtt]\nmax_clientid_len = \"lots\"\n",
        &["max_clientid_len"],
    );
}

#[test]
fn bad_config_bad_duration() {
    bad_config(
        "bad-duration",
        "[mqtt.session]\nretry_interval = \"abc\"\n",
        &["retry_interval", "abc"],
    );
}

#[test]
fn bad_config_bad_size() {
    bad_config(
        "bad-size",
        "[mqtt]\nmax_packet_size = \"1 potato\"\n",
        &["max_packet_size"],
    );
}

#[test]
fn bad_config_bad_bind_address() {
    bad_config_env(
        "bad-bind",
        "[listener.tcp.external]\nbind = \"not-an-address\"\n",
        &[],
        &["bind"],
    );
}

#[test]
fn bad_config_unparsable_file() {
    bad_config("unparsable", "[mqtt\nmax_inflight = = 3\n", &[]);
}

#[test]
fn bad_config_missing_explicit_file() {
    let dir = TempDir::new("missing");
    let (st, out, err) = run_to_exit(
        &["start", "--config", "does-not-exist.toml"],
        dir.path(),
        &[("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0")],
    );
    assert!(
        !st.success(),
        "--config naming a missing file must fail, got {st}\n{out}\n{err}"
    );
    assert!(
        err.contains("does-not-exist.toml"),
        "the error must name the missing file\n{err}"
    );
    assert!(!err.contains("panicked at"), "{err}");
}

#[test]
fn bad_env_override_names_the_variable_or_key() {
    let dir = TempDir::new("badenv");
    let cfg = dir.write("emqttd.toml", &config_with_bind(&dir, "127.0.0.1:0"));
    let (st, out, err) = run_to_exit(
        &["start", "--config", cfg.to_str().unwrap()],
        dir.path(),
        &[("EMQTTD_MQTT__SESSION__MAX_INFLIGHT", "many")],
    );
    assert!(
        !st.success(),
        "a bad env override must fail start-up, got {st}\n{out}\n{err}"
    );
    assert!(
        err.to_lowercase().contains("max_inflight"),
        "the error must name EMQTTD_MQTT__SESSION__MAX_INFLIGHT or mqtt.session.max_inflight\n{err}"
    );
    assert!(!err.contains("panicked at"), "{err}");
}

#[test]
fn port_in_use_fails_and_names_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = TempDir::new("portinuse");
    let cfg = dir.write("emqttd.toml", &config_with_bind(&dir, &addr.to_string()));
    let (st, out, err) = run_to_exit(
        &["start", "--config", cfg.to_str().unwrap()],
        dir.path(),
        &[],
    );
    assert!(
        !st.success(),
        "binding a port in use must fail start-up, got {st}\n{out}\n{err}"
    );
    assert!(
        err.contains(&addr.to_string()),
        "the error must name the address {addr}\n{err}"
    );
    assert!(
        err.contains("external"),
        "the error must name the listener (tcp:external)\n{err}"
    );
    assert!(!err.contains("panicked at"), "{err}");
    drop(taken);
}

#[test]
fn parse_listening_line() {
    assert_eq!(
        parse_listening("[2024 INFO emqttd] listener tcp:external listening on 127.0.0.1:41234"),
        Some("127.0.0.1:41234".parse().unwrap())
    );
    assert_eq!(
        parse_listening("listener tcp:external listening on [::1]:1883 (max 1024)"),
        Some("[::1]:1883".parse().unwrap())
    );
    assert_eq!(parse_listening("listening on nowhere"), None);
}
