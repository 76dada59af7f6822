//! CONNECT / CONNACK: return codes, generated client ids, keepalive, idle sockets, a second
//! CONNECT, packets before CONNECT, PINGREQ, and takeover by the same client id.

use crate::common::wire::{self, RawConnect};
use crate::common::{start_broker, Client, QoS, RawClient, Recv, WAIT};
use emqttd::mqtt::packet::{ConnectReturnCode, Packet};
use std::time::{Duration, Instant};

#[tokio::test]
async fn mqtt_311_client_is_accepted() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    // A real client library...
    let (_client, session_present) =
        Client::connect_opts(crate::common::options(addr, "c311")).await;
    assert!(
        !session_present,
        "a clean session never has a session present"
    );
    // ...and the raw bytes.
    let (mut raw, ack) = RawClient::handshake(addr, &RawConnect::v311("raw311")).await;
    assert_eq!(ack.return_code, ConnectReturnCode::Accepted);
    assert!(!ack.session_present);
    raw.ping().await;
}

#[tokio::test]
async fn mqtt_31_mqisdp_client_is_accepted() {
    let broker = start_broker(&[]);
    let connect = RawConnect {
        protocol_name: "MQIsdp",
        protocol_level: 3,
        ..RawConnect::v311("client31")
    };
    let (mut raw, ack) = RawClient::handshake(broker.tcp_addr(), &connect).await;
    assert_eq!(ack.return_code, ConnectReturnCode::Accepted);
    assert!(!ack.session_present);
    // An MQTT 3.1 client can subscribe and receive like any other.
    raw.subscribe(1, &[("v31/t", 1)]).await;
    raw.publish("v31/t", 1, 2, false, b"hello 3.1").await;
    let p = raw.expect_publish(WAIT).await;
    assert_eq!((&p.topic[..], &p.payload[..]), ("v31/t", &b"hello 3.1"[..]));
}

/// Sends a CONNECT that must be refused with `code`, then the broker must close the socket.
async fn assert_refused(
    addr: std::net::SocketAddr,
    connect: &RawConnect<'_>,
    code: ConnectReturnCode,
) {
    let (mut raw, ack) = RawClient::handshake(addr, connect).await;
    assert_eq!(ack.return_code, code, "CONNACK return code");
    assert!(
        !ack.session_present,
        "a refused CONNACK has session present 0"
    );
    raw.expect_closed_silently(WAIT).await;
}

#[tokio::test]
async fn protocol_level_5_is_refused_with_0x01() {
    let broker = start_broker(&[]);
    let connect = RawConnect {
        protocol_level: 5,
        ..RawConnect::v311("v5")
    };
    assert_refused(
        broker.tcp_addr(),
        &connect,
        ConnectReturnCode::UnacceptableProtocolVersion,
    )
    .await;
}

#[tokio::test]
async fn protocol_name_mqtt_with_level_3_is_refused_with_0x01() {
    let broker = start_broker(&[]);
    let connect = RawConnect {
        protocol_level: 3,
        ..RawConnect::v311("mqtt-level3")
    };
    assert_refused(
        broker.tcp_addr(),
        &connect,
        ConnectReturnCode::UnacceptableProtocolVersion,
    )
    .await;
}

#[tokio::test]
async fn empty_client_id_with_persistent_session_is_refused_with_0x02() {
    let broker = start_broker(&[]);
    let connect = RawConnect {
        clean_session: false,
        ..RawConnect::v311("")
    };
    assert_refused(
        broker.tcp_addr(),
        &connect,
        ConnectReturnCode::IdentifierRejected,
    )
    .await;
}

#[tokio::test]
async fn client_id_longer_than_max_clientid_len_is_refused_with_0x02() {
    let broker = start_broker(&[("EMQTTD_MQTT__MAX_CLIENTID_LEN", "10")]);
    let addr = broker.tcp_addr();
    assert_refused(
        addr,
        &RawConnect::v311("abcdefghijk"),
        ConnectReturnCode::IdentifierRejected,
    )
    .await;
    // Exactly at the limit is fine.
    RawClient::connected(addr, "abcdefghij").await.ping().await;
}

#[tokio::test]
async fn empty_client_id_with_clean_session_gets_a_generated_id() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let (mut first, present) = RawClient::connected_with(addr, &RawConnect::v311("")).await;
    assert!(!present);
    // A second anonymous client gets a different id: it does not take the first one over.
    let (mut second, _) = RawClient::connected_with(addr, &RawConnect::v311("")).await;
    first.subscribe(1, &[("gen/id", 0)]).await;
    second.subscribe(1, &[("gen/id", 0)]).await;
    second.publish("gen/id", 0, 0, false, b"both").await;
    for client in [&mut first, &mut second] {
        let p = client.expect_publish(WAIT).await;
        assert_eq!(&p.payload[..], b"both");
    }
}

#[tokio::test]
async fn keepalive_is_enforced_at_one_and_a_half_times() {
    let broker = start_broker(&[]);
    let connect = RawConnect {
        keep_alive: 1,
        ..RawConnect::v311("ka")
    };
    let (mut raw, _) = RawClient::connected_with(broker.tcp_addr(), &connect).await;
    let start = Instant::now();
    // Not before 1.5 s (a little tolerance for timer granularity)...
    match raw.recv_event(Duration::from_millis(1400)).await {
        Recv::Timeout => {}
        other => panic!(
            "keepalive 1 s: expected nothing before 1.4 s, got {other:?} after {:?}",
            start.elapsed()
        ),
    }
    // ...but soon after.
    raw.expect_closed_silently(Duration::from_millis(1200))
        .await;
    let elapsed = start.elapsed();
    assert!(
        elapsed <= Duration::from_millis(2600),
        "closed after {elapsed:?}, expected about 1.5 s"
    );
}

#[tokio::test]
async fn keepalive_is_satisfied_by_pings() {
    let broker = start_broker(&[]);
    let connect = RawConnect {
        keep_alive: 1,
        ..RawConnect::v311("ka-ping")
    };
    let (mut raw, _) = RawClient::connected_with(broker.tcp_addr(), &connect).await;
    // 3 s of traffic every 0.5 s: twice the 1.5 s limit, the connection must stay open.
    for _ in 0..6 {
        raw.ping().await;
        raw.expect_silence(Duration::from_millis(500)).await;
    }
    raw.ping().await;
}

#[tokio::test]
async fn socket_that_never_sends_connect_is_closed_after_idle_timeout() {
    let broker = start_broker(&[("EMQTTD_MQTT__IDLE_TIMEOUT", "1s")]);
    let mut raw = RawClient::connect(broker.tcp_addr()).await;
    let start = Instant::now();
    raw.expect_closed_silently(Duration::from_secs(4)).await;
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(800),
        "closed after {elapsed:?}, before the 1 s idle timeout"
    );
}

#[tokio::test]
async fn second_connect_closes_the_connection() {
    let broker = start_broker(&[]);
    let mut raw = RawClient::connected(broker.tcp_addr(), "twice").await;
    raw.send_bytes(&RawConnect::v311("twice").to_bytes()).await;
    raw.expect_closed_silently(WAIT).await;
}

#[tokio::test]
async fn packets_before_connect_close_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let first_packets = [
        wire::publish("early/t", 0, None, false, b"x"),
        wire::subscribe(1, &[("early/#", 0)]),
        Packet::PingReq,
    ];
    for packet in &first_packets {
        let mut raw = RawClient::connect(addr).await;
        raw.send(packet).await;
        let sent = raw.expect_closed(WAIT).await;
        assert!(
            sent.is_empty(),
            "{} before CONNECT: broker answered {sent:?} instead of closing",
            packet.name()
        );
    }
}

#[tokio::test]
async fn pingreq_gets_pingresp() {
    let broker = start_broker(&[]);
    let mut raw = RawClient::connected(broker.tcp_addr(), "pinger").await;
    for _ in 0..3 {
        raw.send(&Packet::PingReq).await;
        assert_eq!(raw.expect(WAIT).await, Packet::PingResp);
    }
}

#[tokio::test]
async fn takeover_closes_the_first_connection_and_resumes_the_session() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let (mut first, present) = Client::connect_persistent(addr, "same-id").await;
    assert!(!present);
    first.subscribe_ok("take/over", QoS::AtLeastOnce).await;

    let (mut second, present) = Client::connect_persistent(addr, "same-id").await;
    first.expect_disconnected(WAIT).await;
    assert!(
        present,
        "the second connection takes the persistent session over"
    );

    // The subscription moved with the session: the new connection receives, the old does not.
    let mut publisher = Client::connect(addr, "takeover-pub").await;
    publisher
        .publish("take/over", QoS::AtLeastOnce, false, "after takeover")
        .await;
    second.expect_message("take/over", "after takeover").await;
}

#[tokio::test]
async fn takeover_with_clean_session_starts_fresh() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let (mut first, _) = Client::connect_persistent(addr, "same-clean").await;
    first.subscribe_ok("take/clean", QoS::AtLeastOnce).await;

    let (mut second, present) =
        Client::connect_opts(crate::common::options(addr, "same-clean")).await;
    first.expect_disconnected(WAIT).await;
    assert!(!present, "clean session 1 never resumes a session");

    let mut publisher = Client::connect(addr, "takeover-clean-pub").await;
    publisher
        .publish("take/clean", QoS::AtLeastOnce, false, "nobody")
        .await;
    second.expect_no_publish().await;
}

#[tokio::test]
async fn takeover_of_a_raw_connection_closes_its_socket() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut first = RawClient::connected(addr, "raw-same").await;
    let mut second = RawClient::connected(addr, "raw-same").await;
    first.expect_closed_silently(WAIT).await;
    second.ping().await;
}
