//! QoS 1 and 2 flows in both directions, packet ids, duplicates, retries with DUP, the inflight
//! window and `max_awaiting_rel`, checked packet by packet on raw sockets.

use crate::common::wire::{self, pid};
use crate::common::{start_broker, Client, QoS, RawClient, QUIET, WAIT};
use emqttd::mqtt::packet::{self as pk, Packet};
use std::collections::HashSet;
use std::time::Duration;

/// Next packet must be a PUBLISH with this payload and QoS; returns its packet id (if any).
async fn expect_delivery(raw: &mut RawClient, payload: &str, qos: u8) -> pk::Publish {
    let p = raw.expect_publish(WAIT).await;
    assert_eq!(
        String::from_utf8_lossy(&p.payload),
        payload,
        "delivery order/payload"
    );
    assert_eq!(p.qos, wire::qos(qos), "delivery QoS of {payload:?}");
    assert_eq!(
        p.packet_id.is_some(),
        qos > 0,
        "packet id present exactly when QoS > 0"
    );
    p
}

#[tokio::test]
async fn qos1_publish_is_acknowledged_with_its_packet_id() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "sub").await;
    sub.subscribe_ok("q1/t", QoS::AtLeastOnce).await;
    let mut publisher = RawClient::connected(addr, "raw-pub").await;
    for id in [1u16, 42, 65535] {
        publisher
            .send(&wire::publish("q1/t", 1, Some(id), false, b"q1"))
            .await;
        assert_eq!(publisher.expect(WAIT).await, Packet::PubAck(pid(id)));
        let p = sub.expect_message("q1/t", "q1").await;
        assert_eq!(p.qos, QoS::AtLeastOnce);
    }
}

#[tokio::test]
async fn qos1_delivery_to_a_raw_subscriber_uses_nonzero_packet_ids() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "raw-sub").await;
    raw.subscribe(1, &[("q1/out", 1)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    for n in 0..3 {
        publisher
            .publish("q1/out", QoS::AtLeastOnce, false, format!("m{n}"))
            .await;
        let p = expect_delivery(&mut raw, &format!("m{n}"), 1).await;
        assert!(!p.dup);
        raw.send(&Packet::PubAck(p.packet_id.unwrap())).await;
    }
    // Everything acknowledged: nothing is re-sent.
    raw.expect_silence(QUIET).await;
}

#[tokio::test]
async fn qos2_inbound_flow_is_publish_pubrec_pubrel_pubcomp() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "sub").await;
    sub.subscribe_ok("q2/in", QoS::ExactlyOnce).await;
    let mut publisher = RawClient::connected(addr, "raw-pub").await;
    publisher
        .send(&wire::publish("q2/in", 2, Some(7), false, b"exactly once"))
        .await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubRec(pid(7)));
    publisher.send(&Packet::PubRel(pid(7))).await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubComp(pid(7)));
    let p = sub.expect_message("q2/in", "exactly once").await;
    assert_eq!(p.qos, QoS::ExactlyOnce);
    sub.expect_no_publish().await;
}

#[tokio::test]
async fn qos2_outbound_flow_is_publish_pubrec_pubrel_pubcomp() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "raw-sub").await;
    raw.subscribe(1, &[("q2/out", 2)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("q2/out", QoS::ExactlyOnce, false, "two")
        .await;
    let p = expect_delivery(&mut raw, "two", 2).await;
    let id = p.packet_id.unwrap();
    raw.send(&Packet::PubRec(id)).await;
    assert_eq!(raw.expect(WAIT).await, Packet::PubRel(id));
    raw.send(&Packet::PubComp(id)).await;
    // The flow is complete: nothing is retried, even after the 1 s retry interval.
    raw.expect_silence(Duration::from_millis(1800)).await;
}

#[tokio::test]
async fn qos2_pubrel_is_resent_when_pubcomp_is_missing() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "raw-sub").await;
    raw.subscribe(1, &[("q2/rel", 2)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("q2/rel", QoS::ExactlyOnce, false, "rel")
        .await;
    let id = expect_delivery(&mut raw, "rel", 2).await.packet_id.unwrap();
    raw.send(&Packet::PubRec(id)).await;
    assert_eq!(raw.expect(WAIT).await, Packet::PubRel(id));
    // No PUBCOMP: after the retry interval the PUBREL (not the PUBLISH) comes again.
    assert_eq!(raw.expect(Duration::from_secs(4)).await, Packet::PubRel(id));
    raw.send(&Packet::PubComp(id)).await;
}

#[tokio::test]
async fn qos2_duplicate_publish_before_pubrel_is_delivered_once() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "sub").await;
    sub.subscribe_ok("q2/dup", QoS::ExactlyOnce).await;
    let mut publisher = RawClient::connected(addr, "raw-pub").await;
    publisher
        .send_bytes(&wire::publish_bytes(
            b"q2/dup",
            2,
            Some(9),
            false,
            false,
            b"once",
        ))
        .await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubRec(pid(9)));
    // The client "did not see" the PUBREC and re-sends with DUP=1, same id.
    publisher
        .send_bytes(&wire::publish_bytes(
            b"q2/dup",
            2,
            Some(9),
            true,
            false,
            b"once",
        ))
        .await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubRec(pid(9)));
    publisher.send(&Packet::PubRel(pid(9))).await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubComp(pid(9)));
    // A PUBREL repeated after PUBCOMP is answered again (the id is simply unknown now).
    publisher.send(&Packet::PubRel(pid(9))).await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubComp(pid(9)));

    sub.expect_message("q2/dup", "once").await;
    sub.expect_no_publish_for(Duration::from_millis(500)).await;

    // The id is free again: a new message with the same id is a new message.
    publisher.publish("q2/dup", 2, 9, false, b"again").await;
    sub.expect_message("q2/dup", "again").await;
}

#[tokio::test]
async fn pubrel_for_an_unknown_packet_id_gets_pubcomp() {
    let broker = start_broker(&[]);
    let mut raw = RawClient::connected(broker.tcp_addr(), "unknown-rel").await;
    raw.send(&Packet::PubRel(pid(1234))).await;
    assert_eq!(raw.expect(WAIT).await, Packet::PubComp(pid(1234)));
    raw.ping().await;
}

#[tokio::test]
async fn unacknowledged_qos1_is_resent_with_dup_after_retry_interval() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "no-ack").await;
    raw.subscribe(1, &[("retry/t", 1)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("retry/t", QoS::AtLeastOnce, false, "retry me")
        .await;
    let first = expect_delivery(&mut raw, "retry me", 1).await;
    assert!(!first.dup, "first delivery has DUP=0");
    // No PUBACK: the same message, same id, comes again with DUP=1.
    let again = raw.expect_publish(Duration::from_secs(4)).await;
    assert!(again.dup, "a re-delivery has DUP=1: {again:?}");
    assert_eq!(
        again.packet_id, first.packet_id,
        "a re-delivery keeps its id"
    );
    assert_eq!(again.payload, first.payload);
    assert_eq!(again.topic, first.topic);
    raw.send(&Packet::PubAck(first.packet_id.unwrap())).await;
    // Acknowledged: no more retries.
    raw.expect_silence(Duration::from_millis(1800)).await;
}

#[tokio::test]
async fn inflight_window_holds_back_messages_until_acknowledged() {
    let broker = start_broker(&[
        ("EMQTTD_MQTT__SESSION__MAX_INFLIGHT", "2"),
        ("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "60s"),
    ]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "slow").await;
    raw.subscribe(1, &[("win/t", 1)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    for n in 1..=5 {
        publisher
            .publish("win/t", QoS::AtLeastOnce, false, format!("m{n}"))
            .await;
    }
    let m1 = expect_delivery(&mut raw, "m1", 1).await;
    let m2 = expect_delivery(&mut raw, "m2", 1).await;
    assert_ne!(
        m1.packet_id, m2.packet_id,
        "in-flight messages need distinct ids"
    );
    // The window is full.
    raw.expect_silence(QUIET).await;

    raw.send(&Packet::PubAck(m1.packet_id.unwrap())).await;
    let m3 = expect_delivery(&mut raw, "m3", 1).await;
    assert_ne!(
        m3.packet_id, m2.packet_id,
        "in-flight messages need distinct ids"
    );
    raw.expect_silence(QUIET).await;

    raw.send(&Packet::PubAck(m3.packet_id.unwrap())).await;
    let m4 = expect_delivery(&mut raw, "m4", 1).await;
    raw.expect_silence(QUIET).await;

    raw.send(&Packet::PubAck(m2.packet_id.unwrap())).await;
    raw.send(&Packet::PubAck(m4.packet_id.unwrap())).await;
    let m5 = expect_delivery(&mut raw, "m5", 1).await;
    raw.send(&Packet::PubAck(m5.packet_id.unwrap())).await;
    raw.expect_silence(QUIET).await;
}

#[tokio::test]
async fn outbound_packet_ids_are_distinct_while_in_flight() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "60s")]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "ids").await;
    raw.subscribe(1, &[("ids/+", 2)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    let mut ids = HashSet::new();
    for n in 0..10 {
        let qos = if n % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        publisher
            .publish(&format!("ids/{n}"), qos, false, format!("{n}"))
            .await;
        let p = expect_delivery(&mut raw, &format!("{n}"), qos as u8).await;
        let id = p.packet_id.unwrap();
        assert!(
            ids.insert(id),
            "packet id {id} reused while still in flight"
        );
    }
}

#[tokio::test]
async fn max_awaiting_rel_drops_qos2_messages_beyond_the_limit() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__MAX_AWAITING_REL", "2")]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "sub").await;
    sub.subscribe_ok("rel/t", QoS::ExactlyOnce).await;
    let mut publisher = RawClient::connected(addr, "hoarder").await;
    for id in 1..=3u16 {
        publisher
            .send(&wire::publish(
                "rel/t",
                2,
                Some(id),
                false,
                format!("m{id}").as_bytes(),
            ))
            .await;
    }
    // PUBREC for the first two; the third may be refused silently (emqttd sends nothing).
    assert_eq!(publisher.expect(WAIT).await, Packet::PubRec(pid(1)));
    assert_eq!(publisher.expect(WAIT).await, Packet::PubRec(pid(2)));
    for id in 1..=3u16 {
        publisher.send(&Packet::PubRel(pid(id))).await;
    }
    let mut answers = Vec::new();
    while answers.len() < 3 {
        match publisher.recv(WAIT).await {
            Some(Packet::PubRec(id)) if id.get() == 3 => {} // tolerated, see above
            Some(p) => answers.push(p),
            None => panic!("expected a PUBCOMP per PUBREL, got only {answers:?}"),
        }
    }
    assert_eq!(
        answers,
        vec![
            Packet::PubComp(pid(1)),
            Packet::PubComp(pid(2)),
            Packet::PubComp(pid(3)),
        ]
    );
    sub.expect_message("rel/t", "m1").await;
    sub.expect_message("rel/t", "m2").await;
    // m3 was dropped: it is never delivered, even after its PUBREL.
    sub.expect_no_publish_for(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn await_rel_timeout_forgets_an_unreleased_qos2_id() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__AWAIT_REL_TIMEOUT", "1s")]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "sub").await;
    sub.subscribe_ok("stale/t", QoS::ExactlyOnce).await;
    let mut publisher = RawClient::connected(addr, "forgetful").await;
    publisher
        .send(&wire::publish("stale/t", 2, Some(5), false, b"first"))
        .await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubRec(pid(5)));
    // "first" is delivered on receipt, and id 5 is never released.
    sub.expect_message("stale/t", "first").await;
    // While the broker remembers id 5, a PUBLISH with id 5 is a duplicate of "first" and is not
    // delivered; after await_rel_timeout it forgets the id and delivers the PUBLISH as a new
    // message. Each round ends with a QoS 0 marker from the same client, which the subscriber
    // gets after the round's PUBLISH if that was delivered (one session's deliveries keep their
    // order), so every round is decided without waiting for something not to happen; rounds
    // follow each other at the pace of their own round trips.
    let started = tokio::time::Instant::now();
    let mut round = 0;
    let forgotten_after = loop {
        round += 1;
        assert!(
            started.elapsed() < WAIT + Duration::from_secs(1),
            "id 5 never forgotten"
        );
        publisher
            .send(&wire::publish("stale/t", 2, Some(5), false, b"second"))
            .await;
        assert_eq!(publisher.expect(WAIT).await, Packet::PubRec(pid(5)));
        let marker = format!("marker {round}");
        publisher
            .send(&wire::publish("stale/t", 0, None, false, marker.as_bytes()))
            .await;
        let next = sub.expect_publish().await;
        if next.payload == "second" {
            sub.expect_message("stale/t", &marker).await;
            break started.elapsed();
        }
        assert_eq!(next.payload, marker.as_bytes(), "round {round}");
    };
    // Not before the timeout (1 s from the first PUBLISH, on the session's 100 ms timer ticks).
    assert!(
        forgotten_after >= Duration::from_millis(800),
        "id 5 forgotten after {forgotten_after:?}, before await_rel_timeout"
    );
    publisher.send(&Packet::PubRel(pid(5))).await;
    assert_eq!(publisher.expect(WAIT).await, Packet::PubComp(pid(5)));
    sub.expect_no_publish().await;
}
