//! Malformed and hostile input on raw sockets. Each case must close the offending connection
//! and nothing else: a healthy subscriber/publisher pair on the same broker keeps working.

use crate::common::wire::{self, frame, RawConnect};
use crate::common::{start_broker, Healthy, RawClient, WAIT};
use emqttd::mqtt::packet::{ConnectReturnCode, Packet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Connects (CONNECT accepted), sends `bytes`, asserts the broker closes the socket without
/// answering, then proves the broker still serves the healthy pair.
async fn after_connect_closes(addr: SocketAddr, healthy: &mut Healthy, what: &str, bytes: &[u8]) {
    let mut bad = RawClient::connected(addr, "bad").await;
    bad.send_bytes_lossy(bytes).await;
    let sent = bad.expect_closed_after(what, WAIT).await;
    assert!(
        sent.is_empty(),
        "{what}: broker answered {sent:?} instead of closing"
    );
    healthy.check().await;
}

/// Same, but `bytes` are the very first thing on the socket (no CONNECT).
async fn before_connect_closes(addr: SocketAddr, healthy: &mut Healthy, what: &str, bytes: &[u8]) {
    let mut bad = RawClient::connect(addr).await;
    bad.send_bytes_lossy(bytes).await;
    let sent = bad.expect_closed_after(what, WAIT).await;
    assert!(
        sent.is_empty(),
        "{what}: broker answered {sent:?} instead of closing"
    );
    healthy.check().await;
}

#[tokio::test]
async fn wrong_reserved_flags_close_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;
    let sub_body = &wire::subscribe_bytes(0x82, 1, &[(b"x/y", 0)])[2..];
    let unsub_body = [0x00, 0x01, 0x00, 0x01, b'x'];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("SUBSCRIBE with flags 0", frame(0x80, sub_body)),
        ("SUBSCRIBE with flags 3", frame(0x83, sub_body)),
        ("UNSUBSCRIBE with flags 0", frame(0xA0, &unsub_body)),
        ("PUBREL with flags 0", frame(0x60, &[0x00, 0x01])),
        ("PUBACK with flags 2", frame(0x42, &[0x00, 0x01])),
        ("PINGREQ with flags 1", vec![0xC1, 0x00]),
        ("DISCONNECT with flags 4", vec![0xE4, 0x00]),
        (
            "PUBLISH with QoS 3",
            wire::publish_bytes(b"x/y", 3, Some(1), false, false, b"q3"),
        ),
    ];
    for (what, bytes) in cases {
        after_connect_closes(addr, &mut healthy, what, &bytes).await;
    }
}

#[tokio::test]
async fn malformed_connect_closes_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;
    let reserved_flag = RawConnect {
        extra_flags: 0x01,
        ..RawConnect::v311("reserved")
    };
    let will_qos3 = RawConnect {
        will: Some(("w", b"w", 3, false)),
        ..RawConnect::v311("willqos3")
    };
    let password_without_username = RawConnect {
        password: Some(b"secret"),
        ..RawConnect::v311("pw")
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "CONNECT with the reserved flag set",
            reserved_flag.to_bytes(),
        ),
        ("CONNECT with will QoS 3", will_qos3.to_bytes()),
        ("CONNECT with flags 1 in the fixed header", {
            let mut b = RawConnect::v311("hdr").to_bytes();
            b[0] = 0x11;
            b
        }),
    ];
    for (what, bytes) in cases {
        before_connect_closes(addr, &mut healthy, what, &bytes).await;
    }
    // Protocol violations a broker may also answer with a refusing CONNACK before closing.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "CONNECT with a password but no user name",
            password_without_username.to_bytes(),
        ),
        ("CONNECT with a foreign protocol name", {
            let c = RawConnect {
                protocol_name: "HTTP",
                ..RawConnect::v311("http")
            };
            c.to_bytes()
        }),
    ];
    for (what, bytes) in cases {
        let mut bad = RawClient::connect(addr).await;
        bad.send_bytes_lossy(&bytes).await;
        let sent = bad.expect_closed_after(what, WAIT).await;
        assert!(
            sent.iter().all(|p| matches!(
                p,
                Packet::ConnAck(a) if a.return_code != ConnectReturnCode::Accepted
            )),
            "{what}: expected a close (optionally after a refusing CONNACK), got {sent:?}"
        );
        healthy.check().await;
    }
}

#[tokio::test]
async fn bad_remaining_length_closes_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;
    // Five length bytes, the first four with the continuation bit set.
    let five = [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
    after_connect_closes(addr, &mut healthy, "5-byte remaining length", &five).await;
    before_connect_closes(addr, &mut healthy, "5-byte remaining length first", &five).await;
    // A remaining length shorter than the packet's own fields.
    after_connect_closes(
        addr,
        &mut healthy,
        "PUBLISH QoS 1 with a topic longer than the packet",
        &[0x32, 0x03, 0x00, 0x10, b'a'],
    )
    .await;
    after_connect_closes(
        addr,
        &mut healthy,
        "SUBSCRIBE without any topic filter",
        &[0x82, 0x02, 0x00, 0x01],
    )
    .await;
    after_connect_closes(
        addr,
        &mut healthy,
        "SUBSCRIBE requesting QoS 3",
        &wire::subscribe_bytes(0x82, 1, &[(b"x", 3)]),
    )
    .await;
    after_connect_closes(
        addr,
        &mut healthy,
        "UNSUBSCRIBE without any topic filter",
        &[0xA2, 0x02, 0x00, 0x01],
    )
    .await;
    after_connect_closes(
        addr,
        &mut healthy,
        "PUBACK with packet id 0",
        &[0x40, 0x02, 0x00, 0x00],
    )
    .await;
}

#[tokio::test]
async fn oversized_packet_is_refused_without_waiting_for_its_body() {
    let broker = start_broker(&[("EMQTTD_MQTT__MAX_PACKET_SIZE", "1KB")]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;

    // Only the fixed header of a 2 KB PUBLISH plus a few body bytes: a broker that checks the
    // remaining length before buffering closes at once; one that waits for the body never does.
    let mut bad = RawClient::connected(addr, "huge-header").await;
    let mut header = vec![0x30];
    let mut len = bytes::BytesMut::new();
    wire::put_remaining_length(&mut len, 2048);
    header.extend_from_slice(&len);
    header.extend_from_slice(&[0x00, 0x03, b'b', b'i', b'g']);
    let start = Instant::now();
    bad.send_bytes(&header).await;
    bad.expect_closed_silently(Duration::from_secs(2)).await;
    assert!(start.elapsed() < Duration::from_secs(2));
    healthy.check().await;

    // The whole 2 KB PUBLISH: closed too (the write may fail once the broker has closed).
    let big = wire::publish_bytes(b"big", 0, None, false, false, &[b'x'; 2048]);
    after_connect_closes(addr, &mut healthy, "a whole 2 KB PUBLISH", &big).await;

    // Under the limit is fine.
    let mut ok = RawClient::connected(addr, "small").await;
    ok.publish("health/small", 1, 1, false, &[b'x'; 900]).await;
    ok.ping().await;
}

#[tokio::test]
async fn oversized_connect_is_refused() {
    let broker = start_broker(&[("EMQTTD_MQTT__MAX_PACKET_SIZE", "1KB")]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;
    let long_id = "c".repeat(2000);
    let connect = RawConnect::v311(&long_id).to_bytes();
    let mut bad = RawClient::connect(addr).await;
    bad.send_bytes_lossy(&connect).await;
    // No CONNACK 0 for a packet over the limit.
    let sent = bad.expect_closed(WAIT).await;
    assert!(
        sent.iter().all(|p| !matches!(
            p,
            Packet::ConnAck(a) if a.return_code == ConnectReturnCode::Accepted
        )),
        "an oversized CONNECT was accepted: {sent:?}"
    );
    healthy.check().await;
}

#[tokio::test]
async fn server_only_packets_from_a_client_close_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("CONNACK", vec![0x20, 0x02, 0x00, 0x00]),
        ("SUBACK", vec![0x90, 0x03, 0x00, 0x01, 0x00]),
        ("UNSUBACK", vec![0xB0, 0x02, 0x00, 0x01]),
        ("PINGRESP", vec![0xD0, 0x00]),
    ];
    for (what, bytes) in cases {
        after_connect_closes(addr, &mut healthy, what, &bytes).await;
    }
}

#[tokio::test]
async fn garbage_bytes_close_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;
    before_connect_closes(
        addr,
        &mut healthy,
        "an HTTP request",
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    before_connect_closes(addr, &mut healthy, "reserved type 0", &[0x00, 0x00]).await;
    after_connect_closes(addr, &mut healthy, "reserved type 0", &[0x00, 0x00]).await;
    after_connect_closes(addr, &mut healthy, "reserved type 15", &[0xF0, 0x00]).await;
    // Deterministic pseudo-random junk.
    let mut seed: u32 = 0x2545_F491;
    let junk: Vec<u8> = (0..512)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 24) as u8
        })
        .collect();
    // Make sure it does not start like a valid small packet the broker might wait on.
    let mut junk_after = vec![0xF0];
    junk_after.extend_from_slice(&junk);
    after_connect_closes(addr, &mut healthy, "random junk", &junk_after).await;
}

#[tokio::test]
async fn truncated_packet_then_close_leaves_the_broker_serving() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;

    // Half a CONNECT, then the client goes away.
    let connect = RawConnect::v311("half").to_bytes();
    let mut bad = RawClient::connect(addr).await;
    bad.send_bytes(&connect[..connect.len() / 2]).await;
    bad.shutdown_write().await;
    bad.expect_closed_silently(WAIT).await;
    healthy.check().await;

    // A connected client sends half a PUBLISH to the healthy topic, then goes away: the
    // fragment is never delivered.
    let mut bad = RawClient::connected(addr, "half-pub").await;
    let publish = wire::publish_bytes(b"health/check", 1, Some(1), false, false, b"fragment");
    bad.send_bytes(&publish[..publish.len() - 3]).await;
    bad.shutdown_write().await;
    bad.expect_closed_silently(WAIT).await;
    healthy.check().await;

    // Same, but the socket is simply dropped.
    let mut bad = RawClient::connected(addr, "half-drop").await;
    bad.send_bytes(&publish[..4]).await;
    drop(bad);
    healthy.check().await;
}

#[tokio::test]
async fn many_bad_clients_in_a_row_do_not_disturb_the_broker() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = Healthy::start(addr).await;
    for n in 0..20u8 {
        let mut bad = RawClient::connect(addr).await;
        bad.send_bytes_lossy(&[0x30 | (n & 0x0F), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            .await;
        bad.expect_closed(WAIT).await;
    }
    healthy.check().await;
}
