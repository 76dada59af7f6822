//! End to end with third-party clients: Debian's `mosquitto_pub`/`mosquitto_sub` and Python's
//! `paho-mqtt` (scripts in test/clients/) against an in-process broker on an ephemeral port.
//! A missing client tool fails the test with an install hint; .ci/run installs them.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Deadline for any one client process (the scripts have their own, shorter ones).
const DEADLINE: Duration = Duration::from_secs(60);

/// An in-process broker with its TCP listener on 127.0.0.1:0; returns it and its port.
fn start() -> (emqttd::app::Broker, u16) {
    let broker = crate::common::start_broker(&[]);
    let port = broker.tcp_addr().port();
    assert_ne!(port, 0);
    (broker, port)
}

/// A client process whose stdout and stderr lines go to one channel (and are kept for failure
/// messages). Dropping it kills and reaps the process.
struct Spawned {
    name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Spawned {
    fn new(program: &str, args: &[&str], install_hint: &str) -> Spawned {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("`{program}` is not installed: {install_hint} (.ci/run installs it)")
            }
            Err(e) => panic!("cannot run `{program}`: {e}"),
        };
        let (tx, rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        fn pump<R: Read + Send + 'static>(
            r: R,
            tx: mpsc::Sender<String>,
            seen: Arc<Mutex<Vec<String>>>,
        ) {
            thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    seen.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        pump(child.stdout.take().unwrap(), tx.clone(), seen.clone());
        pump(child.stderr.take().unwrap(), tx, seen.clone());
        Spawned {
            name: format!("{program} {}", args.join(" ")),
            child,
            lines: rx,
            seen,
        }
    }

    fn output(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }

    /// Waits for a line satisfying `pred`; panics at the deadline or if the process ends first.
    fn wait_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        let end = Instant::now() + DEADLINE;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if pred(&line) => return,
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "`{}` ended before printing {what}; output:\n{}",
                    self.name,
                    self.output()
                ),
            }
            assert!(
                Instant::now() < end,
                "`{}` printed no {what} within {DEADLINE:?}; output:\n{}",
                self.name,
                self.output()
            );
        }
    }

    /// Waits (deadline) for the process to exit and its output to be read in full.
    fn wait_exit(&mut self) -> ExitStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                while self.lines.recv_timeout(Duration::from_secs(5)).is_ok() {}
                return st;
            }
            assert!(
                Instant::now() < end,
                "`{}` did not finish within {DEADLINE:?}; output:\n{}",
                self.name,
                self.output()
            );
            let _ = self.lines.recv_timeout(Duration::from_millis(50));
        }
    }

    /// Waits for exit and asserts success; returns the output lines.
    fn expect_success(&mut self) -> Vec<String> {
        let st = self.wait_exit();
        assert!(
            st.success(),
            "`{}` failed ({st}); output:\n{}",
            self.name,
            self.output()
        );
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

const MOSQUITTO_HINT: &str = "apt-get install mosquitto-clients";

/// Panics with an install hint unless `program` is an executable on `PATH`.
fn require_tool(program: &str, install_hint: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program))
            .map(|m| m.is_file())
            .unwrap_or(false)
    });
    assert!(
        found,
        "`{program}` is not installed: {install_hint} (.ci/run installs it)"
    );
}

/// `mosquitto_sub` prints its `-d` debug lines with stdio buffering, which a pipe makes
/// block-buffered; `stdbuf -oL` makes them arrive as they happen (SUBACK before we publish).
fn mosquitto_sub(port: u16, args: &[&str]) -> Spawned {
    require_tool("mosquitto_sub", MOSQUITTO_HINT);
    let port = port.to_string();
    let mut all = vec!["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    Spawned::new("stdbuf", &all, "coreutils")
}

fn mosquitto_pub(port: u16, args: &[&str]) -> Spawned {
    let port = port.to_string();
    let mut all = vec!["-h", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    Spawned::new("mosquitto_pub", &all, MOSQUITTO_HINT)
}

/// `mosquitto_sub -d` prints "Client ... received SUBACK" once subscribed.
fn wait_subscribed(sub: &mut Spawned) {
    sub.wait_line("'received SUBACK'", |l| l.contains("received SUBACK"));
}

fn assert_has_line(lines: &[String], want: &str, who: &str) {
    assert!(
        lines.iter().any(|l| l == want),
        "{who} did not print the line {want:?}; output:\n{}",
        lines.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// mosquitto_pub / mosquitto_sub
// ---------------------------------------------------------------------------------------------

/// The issue's "done when": `mosquitto_sub -t 'a/#' -v` receives `mosquitto_pub -t a/b -m hi -q 2`.
/// (Both tools connect with an empty client id and clean session: the broker assigns ids.)
#[test]
fn mosquitto_sub_receives_mosquitto_pub_qos2() {
    let (broker, port) = start();
    let mut sub = mosquitto_sub(port, &["-t", "a/#", "-v", "-d", "-C", "1", "-W", "20"]);
    wait_subscribed(&mut sub);
    mosquitto_pub(port, &["-t", "a/b", "-m", "hi", "-q", "2", "-d"]).expect_success();
    let lines = sub.expect_success();
    assert_has_line(&lines, "a/b hi", "mosquitto_sub");
    broker.stop();
}

/// QoS 2 in both directions: the subscriber asks for QoS 2 and gets the message at QoS 2.
#[test]
fn mosquitto_qos2_subscription_gets_qos2() {
    let (broker, port) = start();
    let mut sub = mosquitto_sub(
        port,
        &[
            "-t", "q2/#", "-q", "2", "-F", "%q %t %p", "-d", "-C", "2", "-W", "20",
        ],
    );
    wait_subscribed(&mut sub);
    mosquitto_pub(port, &["-t", "q2/x", "-m", "two", "-q", "2"]).expect_success();
    mosquitto_pub(port, &["-t", "q2/y", "-m", "one", "-q", "1"]).expect_success();
    let lines = sub.expect_success();
    assert_has_line(&lines, "2 q2/x two", "mosquitto_sub");
    assert_has_line(&lines, "1 q2/y one", "mosquitto_sub");
    broker.stop();
}

/// `mosquitto_pub -r` stores a retained message; a later `mosquitto_sub` on a wildcard gets it
/// with the retain flag; an empty retained publish clears it.
#[test]
fn mosquitto_retained_message_reaches_later_subscriber() {
    let (broker, port) = start();
    mosquitto_pub(port, &["-t", "r/x", "-m", "kept", "-q", "1", "-r"]).expect_success();
    let lines = mosquitto_sub(
        port,
        &[
            "-t",
            "r/#",
            "-q",
            "1",
            "-F",
            "%r %q %t %p",
            "-C",
            "1",
            "-W",
            "20",
        ],
    )
    .expect_success();
    assert_has_line(&lines, "1 1 r/x kept", "mosquitto_sub (retained)");

    // Clear it, then prove it is gone: a live message reaches a new subscriber first.
    mosquitto_pub(port, &["-t", "r/x", "-n", "-q", "1", "-r"]).expect_success();
    let mut sub = mosquitto_sub(
        port,
        &["-t", "r/#", "-F", "%r %t %p", "-d", "-C", "1", "-W", "20"],
    );
    wait_subscribed(&mut sub);
    mosquitto_pub(port, &["-t", "r/live", "-m", "now", "-q", "1"]).expect_success();
    let lines = sub.expect_success();
    assert_has_line(&lines, "0 r/live now", "mosquitto_sub (after clearing)");
    broker.stop();
}

// ---------------------------------------------------------------------------------------------
// paho-mqtt (Python)
// ---------------------------------------------------------------------------------------------

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("test/clients")
        .join(name)
}

/// Runs `python3 test/clients/<name> <port>` against a fresh broker; it must exit 0.
fn run_paho(name: &str) {
    let (broker, port) = start();
    let path = script(name);
    let port = port.to_string();
    let lines = Spawned::new(
        "python3",
        &[path.to_str().unwrap(), &port],
        "install Python 3 and `pip install paho-mqtt`",
    )
    .expect_success();
    let ok = format!("OK {}", name.trim_end_matches(".py"));
    assert_has_line(&lines, &ok, name);
    broker.stop();
}

#[test]
fn paho_qos_0_1_2_round_trip() {
    run_paho("paho_qos.py");
}

#[test]
fn paho_mqtt31_connect_and_publish() {
    run_paho("paho_mqtt31.py");
}

#[test]
fn paho_will_on_abnormal_disconnect() {
    run_paho("paho_will.py");
}

#[test]
fn paho_persistent_session_resume() {
    run_paho("paho_session.py");
}
