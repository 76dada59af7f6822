//! The web dashboard in a real browser: headless Chromium driven by playwright-core
//! (test/dashboard/dashboard.test.mjs) logs in, watches a client connected here appear on the
//! clients page and kicks it (its socket closes here), loads and unloads a plugin, publishes
//! from the WebSocket page to a subscriber connected here, and saves a screenshot of the
//! overview page to target/dashboard/overview.png.

use crate::common::{start_broker, Client, QoS, RawClient, WAIT};
use crate::tls::clients_dir;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How long the whole browser script may take (Chromium start-up included).
const SCRIPT_DEADLINE: Duration = Duration::from_secs(120);
const CHROMIUM: &str = "/usr/bin/chromium";
const PLUGIN: &str = "emqttd_plugin_template";
const KICKED: &str = "dashboard-kick-me";
/// A client id that is markup: the dashboard must show it as text.
const MARKUP_ID: &str = "<img src=x onerror=window.pwned=1>";
const TOPIC: &str = "dashboard/ws/from-browser";
const PAYLOAD: &str = "héllo ✓ from the dashboard's WebSocket page";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn screenshot_path() -> PathBuf {
    repo().join("target/dashboard/overview.png")
}

/// Runs the browser script; returns (success, stdout + stderr).
async fn run_browser_script(args: &[String]) -> (bool, String) {
    let script = repo().join("test/dashboard/dashboard.test.mjs");
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .args(args)
        .env("CHROMIUM", CHROMIUM)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`node` is not installed (.ci/run installs it)")
        }
        Err(e) => panic!("cannot run node: {e}"),
    };
    let output = tokio::time::timeout(SCRIPT_DEADLINE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} did not finish within {SCRIPT_DEADLINE:?}",
                script.display()
            )
        })
        .expect("wait for node");
    let text = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn dashboard_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)"
    );
    assert!(
        clients_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm install` in test/clients (.ci/run does it)"
    );
    let broker = start_broker(&[
        ("EMQTTD_HTTP__ENABLE", "true"),
        ("EMQTTD_HTTP__BIND", "127.0.0.1:0"),
        ("EMQTTD_LISTENER__WS__EXTERNAL__ENABLE", "true"),
        ("EMQTTD_LISTENER__WS__EXTERNAL__BIND", "127.0.0.1:0"),
    ]);
    let http = broker.listener_addr("http").expect("http listener");
    let ws = broker.listener_addr("ws:external").expect("ws listener");
    let tcp = broker.tcp_addr();

    let mut kicked = RawClient::connected(tcp, KICKED).await;
    let _markup = RawClient::connected(tcp, MARKUP_ID).await;
    let mut subscriber = Client::connect(tcp, "dashboard-rust-sub").await;
    subscriber.subscribe_ok(TOPIC, QoS::AtLeastOnce).await;

    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);
    let args: Vec<String> = vec![
        "--url".into(),
        format!("http://{http}"),
        "--mqtt-port".into(),
        tcp.port().to_string(),
        "--ws-port".into(),
        ws.port().to_string(),
        "--kick-client".into(),
        KICKED.into(),
        "--xss-client".into(),
        MARKUP_ID.into(),
        "--plugin".into(),
        PLUGIN.into(),
        "--topic".into(),
        TOPIC.into(),
        "--payload".into(),
        PAYLOAD.into(),
        "--screenshot".into(),
        screenshot.display().to_string(),
    ];
    let (ok, output) = run_browser_script(&args).await;
    assert!(ok, "the dashboard browser test failed\n{output}");
    println!("{output}");

    // The kick closed the raw client's connection.
    kicked.expect_closed(WAIT).await;
    // The browser's publish (QoS 1 over WebSocket) reached the subscriber here.
    let got = subscriber.expect_message(TOPIC, PAYLOAD).await;
    assert_eq!(got.qos, QoS::AtLeastOnce);

    let png = std::fs::read(&screenshot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", screenshot.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is not a screenshot ({} bytes)",
        screenshot.display(),
        png.len()
    );
}
