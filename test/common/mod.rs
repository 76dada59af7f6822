//! Shared test helpers: a broker per test on an ephemeral port, a rumqttc client with
//! deadline-bounded waits ([`client`]), a raw TCP client ([`raw`]) and an independent wire
//! encoder/decoder ([`wire`]).
#![allow(dead_code)]

pub mod client;
pub mod http;
pub mod raw;
pub mod temp;
pub mod wire;

pub use client::{options, options_with_will, Client};
pub use raw::{RawClient, Recv};
pub use rumqttc::QoS;
pub use temp::{fresh_dir, TempDir};

use emqttd::app::Broker;
use emqttd::config::Config;
use std::time::Duration;

/// How long to wait for something that must happen.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for something that must not happen.
pub const QUIET: Duration = Duration::from_millis(300);

/// The node name the broker uses by default.
pub const NODE: &str = "emqttd@127.0.0.1";
/// `$SYS/brokers/<node>/`.
pub const SYS_PREFIX: &str = "$SYS/brokers/emqttd@127.0.0.1/";

/// Starts a broker with its TCP listener on 127.0.0.1:0, a private data dir, and the given
/// `EMQTTD_*` overrides (later pairs win). Blocks until the listener is bound.
pub fn start_broker(overrides: &[(&str, &str)]) -> Broker {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = fresh_dir("test");
    let dir = dir.to_string_lossy().into_owned();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0"),
        ("EMQTTD_NODE__DATA_DIR", dir.as_str()),
        // The TLS, WebSocket and HTTP listeners are off unless a test turns them on.
        ("EMQTTD_LISTENER__SSL__EXTERNAL__ENABLE", "false"),
        ("EMQTTD_LISTENER__WS__EXTERNAL__ENABLE", "false"),
        ("EMQTTD_LISTENER__WSS__EXTERNAL__ENABLE", "false"),
        ("EMQTTD_HTTP__ENABLE", "false"),
    ];
    pairs.extend_from_slice(overrides);
    let config = Config::from_env_pairs(&pairs)
        .unwrap_or_else(|e| panic!("test config {overrides:?} rejected: {e}"));
    Broker::start(config).unwrap_or_else(|e| panic!("broker failed to start: {e}"))
}

/// Waits until `check` holds, or fails naming `what` after [`WAIT`]. For broker state that
/// has no event a client could wait on (routes, registry entries, counters).
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A subscriber and a publisher on `health/#` connected before a misbehaving client acts;
/// [`Healthy::check`] proves the broker still routes messages between them.
pub struct Healthy {
    subscriber: Client,
    publisher: Client,
    round: u32,
}

impl Healthy {
    pub async fn start(addr: std::net::SocketAddr) -> Healthy {
        let mut subscriber = Client::connect(addr, "healthy-sub").await;
        subscriber.subscribe_ok("health/#", QoS::AtLeastOnce).await;
        let publisher = Client::connect(addr, "healthy-pub").await;
        let mut healthy = Healthy {
            subscriber,
            publisher,
            round: 0,
        };
        healthy.check().await;
        healthy
    }

    /// One publish/receive round trip through the broker, QoS 1.
    pub async fn check(&mut self) {
        self.round += 1;
        let payload = format!("ping {}", self.round);
        self.publisher
            .publish("health/check", QoS::AtLeastOnce, false, payload.clone())
            .await;
        self.subscriber
            .expect_message("health/check", &payload)
            .await;
    }
}
