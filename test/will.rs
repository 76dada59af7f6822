//! Last will: published on every abnormal close (keepalive timeout, socket drop, protocol
//! error, takeover), never after DISCONNECT; will retain and will QoS honoured.

use crate::common::wire::RawConnect;
use crate::common::{start_broker, Client, QoS, RawClient, WAIT};
use std::net::SocketAddr;
use std::time::Duration;

fn with_will<'a>(client_id: &'a str, topic: &'a str, message: &'a [u8]) -> RawConnect<'a> {
    RawConnect {
        will: Some((topic, message, 1, false)),
        ..RawConnect::v311(client_id)
    }
}

/// A subscriber to `will/#` at QoS 2.
async fn will_watcher(addr: SocketAddr) -> Client {
    let mut watcher = Client::connect(addr, "watcher").await;
    watcher.subscribe_ok("will/#", QoS::ExactlyOnce).await;
    watcher
}

#[tokio::test]
async fn will_is_published_on_keepalive_timeout() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    let connect = RawConnect {
        keep_alive: 1,
        ..with_will("sleepy", "will/sleepy", b"timed out")
    };
    let (mut raw, _) = RawClient::connected_with(addr, &connect).await;
    // Silent client: closed after 1.5 s, will published.
    raw.expect_closed_silently(Duration::from_secs(4)).await;
    watcher.expect_message("will/sleepy", "timed out").await;
}

#[tokio::test]
async fn will_is_published_when_the_socket_drops_without_disconnect() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    let (raw, _) =
        RawClient::connected_with(addr, &with_will("dropper", "will/drop", b"dropped")).await;
    drop(raw);
    watcher.expect_message("will/drop", "dropped").await;
}

#[tokio::test]
async fn will_is_published_when_a_rumqttc_client_vanishes() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    let opts = crate::common::options_with_will(
        addr,
        "vanisher",
        "will/vanish",
        "vanished",
        QoS::AtLeastOnce,
        false,
    );
    let (client, _) = Client::connect_opts(opts).await;
    drop(client);
    watcher.expect_message("will/vanish", "vanished").await;
}

#[tokio::test]
async fn will_is_published_on_a_protocol_error() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    let (mut raw, _) =
        RawClient::connected_with(addr, &with_will("broken", "will/broken", b"malformed")).await;
    // Packet type 0 is reserved: a malformed packet.
    raw.send_bytes(&[0x00, 0x00]).await;
    raw.expect_closed_silently(WAIT).await;
    watcher.expect_message("will/broken", "malformed").await;
}

#[tokio::test]
async fn will_is_published_on_takeover() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    let (mut first, _) =
        RawClient::connected_with(addr, &with_will("twin", "will/twin", b"taken over")).await;
    let mut second = RawClient::connected(addr, "twin").await;
    first.expect_closed_silently(WAIT).await;
    watcher.expect_message("will/twin", "taken over").await;
    second.ping().await;
}

#[tokio::test]
async fn will_is_not_published_after_disconnect() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    let (polite, _) = RawClient::connected_with(
        addr,
        &with_will("polite", "will/polite", b"must not appear"),
    )
    .await;
    polite.disconnect().await;
    // A second client drops abruptly afterwards: its will must be the first thing the watcher
    // sees, which proves the polite client's will was discarded rather than merely late.
    let (rude, _) = RawClient::connected_with(addr, &with_will("rude", "will/rude", b"rude")).await;
    drop(rude);
    watcher.expect_message("will/rude", "rude").await;
    watcher.expect_no_publish().await;
}

#[tokio::test]
async fn will_retain_is_honoured() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    let connect = RawConnect {
        will: Some(("will/kept", b"retained will", 1, true)),
        ..RawConnect::v311("keeper")
    };
    let (raw, _) = RawClient::connected_with(addr, &connect).await;
    drop(raw);
    // A live subscriber gets it with retain=0 (MQTT-3.3.1-9)...
    let live = watcher.expect_message("will/kept", "retained will").await;
    assert!(!live.retain);
    // ...and a later subscriber gets it as a retained message.
    let mut late = Client::connect(addr, "late").await;
    late.subscribe_ok("will/kept", QoS::AtLeastOnce).await;
    let p = late.expect_message("will/kept", "retained will").await;
    assert!(p.retain, "a will with retain=1 is retained");
}

#[tokio::test]
async fn will_qos_is_honoured() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = will_watcher(addr).await;
    for (qos, want) in [
        (0u8, QoS::AtMostOnce),
        (1, QoS::AtLeastOnce),
        (2, QoS::ExactlyOnce),
    ] {
        let id = format!("qos{qos}");
        let topic = format!("will/{id}");
        let connect = RawConnect {
            will: Some((&topic, b"q", qos, false)),
            ..RawConnect::v311(&id)
        };
        let (raw, _) = RawClient::connected_with(addr, &connect).await;
        drop(raw);
        let p = watcher.expect_message(&topic, "q").await;
        assert_eq!(p.qos, want, "will QoS {qos} to a QoS 2 subscriber");
    }
}
