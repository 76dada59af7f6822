//! Sessions: clean session discards state; a persistent session keeps subscriptions, queues
//! messages while away (bounded by the mqueue), re-sends in-flight messages on resume, and
//! expires after `expiry_interval`.

use crate::common::wire::RawConnect;
use crate::common::{options, start_broker, Client, QoS, RawClient, WAIT};
use emqttd::mqtt::packet::Packet;

fn persistent(client_id: &str) -> RawConnect<'_> {
    RawConnect {
        clean_session: false,
        ..RawConnect::v311(client_id)
    }
}

#[tokio::test]
async fn clean_session_discards_subscriptions_on_reconnect() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let (mut c, present) = Client::connect_persistent(addr, "cs").await;
    assert!(!present);
    c.subscribe_ok("cs/t", QoS::AtLeastOnce).await;
    c.disconnect().await;

    // clean session 1 throws the stored session away...
    let (mut c, present) = Client::connect_opts(options(addr, "cs")).await;
    assert!(!present, "clean session 1: session present must be 0");
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("cs/t", QoS::AtLeastOnce, false, "gone")
        .await;
    c.expect_no_publish().await;
    c.disconnect().await;

    // ...and nothing of it survives to the next persistent connection either.
    let (mut c, present) = Client::connect_persistent(addr, "cs").await;
    assert!(!present, "the clean session left no session behind");
    publisher
        .publish("cs/t", QoS::AtLeastOnce, false, "still gone")
        .await;
    c.expect_no_publish().await;
}

#[tokio::test]
async fn clean_session_client_subscriptions_end_with_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut c = Client::connect(addr, "transient").await;
    c.subscribe_ok("tr/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("tr/t", QoS::AtLeastOnce, false, "while away")
        .await;
    let mut c = Client::connect(addr, "transient").await;
    c.expect_no_publish().await;
}

#[tokio::test]
async fn persistent_session_keeps_subscriptions_and_queues_qos1_and_qos2() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let (mut c, _) = Client::connect_persistent(addr, "keeper").await;
    c.subscribe_ok("keep/#", QoS::ExactlyOnce).await;
    c.disconnect().await;

    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("keep/1", QoS::AtLeastOnce, false, "q1 while away")
        .await;
    publisher
        .publish("keep/2", QoS::ExactlyOnce, false, "q2 while away")
        .await;

    let (mut c, present) = Client::connect_persistent(addr, "keeper").await;
    assert!(
        present,
        "clean session 0 resumes: session present must be 1"
    );
    let p1 = c.expect_message("keep/1", "q1 while away").await;
    assert_eq!(p1.qos, QoS::AtLeastOnce);
    let p2 = c.expect_message("keep/2", "q2 while away").await;
    assert_eq!(p2.qos, QoS::ExactlyOnce);
    c.expect_no_publish().await;

    // The subscription itself survived: live messages still arrive.
    publisher
        .publish("keep/3", QoS::AtLeastOnce, false, "live")
        .await;
    c.expect_message("keep/3", "live").await;
}

#[tokio::test]
async fn persistent_session_resumes_after_an_abrupt_drop() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let (mut raw, _) = RawClient::connected_with(addr, &persistent("dropper")).await;
    raw.subscribe(1, &[("drop/t", 1)]).await;
    drop(raw);

    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("drop/t", QoS::AtLeastOnce, false, "queued")
        .await;
    let (mut c, present) = Client::connect_persistent(addr, "dropper").await;
    assert!(present);
    c.expect_message("drop/t", "queued").await;
}

async fn qos0_while_away(store_qos0: &str) -> Vec<String> {
    let broker = start_broker(&[("EMQTTD_MQTT__MQUEUE__STORE_QOS0", store_qos0)]);
    let addr = broker.tcp_addr();
    let (mut c, _) = Client::connect_persistent(addr, "q0").await;
    c.subscribe_ok("q0/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("q0/t", QoS::AtMostOnce, false, "qos0")
        .await;
    // A QoS 1 marker after it: when it arrives, anything queued before it has arrived too.
    publisher
        .publish("q0/t", QoS::AtLeastOnce, false, "marker")
        .await;
    let (mut c, present) = Client::connect_persistent(addr, "q0").await;
    assert!(present);
    let mut got = Vec::new();
    loop {
        let p = c.expect_publish().await;
        let payload = String::from_utf8_lossy(&p.payload).into_owned();
        got.push(payload.clone());
        if payload == "marker" {
            break;
        }
    }
    got
}

#[tokio::test]
async fn qos0_is_queued_while_away_when_store_qos0_is_true() {
    assert_eq!(qos0_while_away("true").await, ["qos0", "marker"]);
}

#[tokio::test]
async fn qos0_is_not_queued_while_away_when_store_qos0_is_false() {
    assert_eq!(qos0_while_away("false").await, ["marker"]);
}

#[tokio::test]
async fn mqueue_max_length_keeps_the_newest_messages() {
    let broker = start_broker(&[("EMQTTD_MQTT__MQUEUE__MAX_LENGTH", "3")]);
    let addr = broker.tcp_addr();
    let (mut c, _) = Client::connect_persistent(addr, "bounded").await;
    c.subscribe_ok("mq/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut publisher = Client::connect(addr, "pub").await;
    for n in 1..=5 {
        publisher
            .publish("mq/t", QoS::AtLeastOnce, false, format!("m{n}"))
            .await;
    }
    let (mut c, present) = Client::connect_persistent(addr, "bounded").await;
    assert!(present);
    for n in 3..=5 {
        c.expect_message("mq/t", &format!("m{n}")).await;
    }
    c.expect_no_publish().await;
}

#[tokio::test]
async fn unacknowledged_qos1_is_resent_with_dup_on_resume() {
    // A long retry interval: the re-send must come from the resume, not from the retry timer.
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "60s")]);
    let addr = broker.tcp_addr();
    let (mut raw, _) = RawClient::connected_with(addr, &persistent("unacked")).await;
    raw.subscribe(1, &[("ua/t", 1)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("ua/t", QoS::AtLeastOnce, false, "ack me")
        .await;
    let first = raw.expect_publish(WAIT).await;
    assert!(!first.dup);
    // Leave without PUBACK.
    raw.disconnect().await;

    let (mut raw, present) = RawClient::connected_with(addr, &persistent("unacked")).await;
    assert!(present);
    let again = raw.expect_publish(WAIT).await;
    assert!(again.dup, "re-sent on resume with DUP=1: {again:?}");
    assert_eq!(
        again.packet_id, first.packet_id,
        "MQTT-4.4.0-1: re-sent with its original packet id"
    );
    assert_eq!((again.topic, again.payload), (first.topic, first.payload));
    raw.send(&Packet::PubAck(again.packet_id.unwrap())).await;
    raw.expect_silence(crate::common::QUIET).await;
}

#[tokio::test]
async fn unacknowledged_pubrel_is_resent_on_resume() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__RETRY_INTERVAL", "60s")]);
    let addr = broker.tcp_addr();
    let (mut raw, _) = RawClient::connected_with(addr, &persistent("half-q2")).await;
    raw.subscribe(1, &[("hq/t", 2)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("hq/t", QoS::ExactlyOnce, false, "two")
        .await;
    let p = raw.expect_publish(WAIT).await;
    let id = p.packet_id.unwrap();
    raw.send(&Packet::PubRec(id)).await;
    assert_eq!(raw.expect(WAIT).await, Packet::PubRel(id));
    // Leave without PUBCOMP.
    raw.disconnect().await;

    let (mut raw, present) = RawClient::connected_with(addr, &persistent("half-q2")).await;
    assert!(present);
    assert_eq!(
        raw.expect(WAIT).await,
        Packet::PubRel(id),
        "the PUBREL (not the PUBLISH) is re-sent on resume"
    );
    raw.send(&Packet::PubComp(id)).await;
    raw.expect_silence(crate::common::QUIET).await;
}

#[tokio::test]
async fn session_expires_after_expiry_interval() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__EXPIRY_INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let (mut c, _) = Client::connect_persistent(addr, "expiring").await;
    c.subscribe_ok("exp/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("exp/t", QoS::AtLeastOnce, false, "lost with the session")
        .await;
    // Expiry is a timer in the broker; reconnecting early would resume the session, so wait
    // until the expired session has left the registry.
    let core = broker.core().clone();
    crate::common::eventually("the offline session to expire", || {
        core.sessions.lookup("expiring").is_none()
    })
    .await;
    let (mut c, present) = Client::connect_persistent(addr, "expiring").await;
    assert!(!present, "the session expired: session present must be 0");
    c.expect_no_publish().await;
    publisher
        .publish("exp/t", QoS::AtLeastOnce, false, "no subscription")
        .await;
    c.expect_no_publish().await;
}

#[tokio::test]
async fn session_within_expiry_interval_is_resumed() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__EXPIRY_INTERVAL", "10s")]);
    let addr = broker.tcp_addr();
    let (mut c, _) = Client::connect_persistent(addr, "fresh").await;
    c.subscribe_ok("fresh/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let (_c, present) = Client::connect_persistent(addr, "fresh").await;
    assert!(present);
}
