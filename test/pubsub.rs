//! Subscribe and publish: wildcards, `$` topics, overlapping subscriptions, SUBACK codes,
//! UNSUBSCRIBE, delivery QoS, and invalid topics that close only the offending connection.

use crate::common::wire;
use crate::common::{start_broker, Client, QoS, RawClient, Recv, SYS_PREFIX, WAIT};
use emqttd::mqtt::packet::{Packet, SubscribeReturnCode};
use rumqttc::SubscribeReasonCode;
use std::time::Duration;

#[tokio::test]
async fn subscriber_receives_what_is_published() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "sub").await;
    sub.subscribe_ok("greet/world", QoS::AtMostOnce).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("greet/world", QoS::AtMostOnce, false, "hello")
        .await;
    let p = sub.expect_message("greet/world", "hello").await;
    assert_eq!(p.qos, QoS::AtMostOnce);
    assert!(!p.retain && !p.dup);
    // A topic nobody subscribed to is not delivered.
    publisher
        .publish("greet/other", QoS::AtMostOnce, false, "nobody")
        .await;
    sub.expect_no_publish().await;
}

#[tokio::test]
async fn single_level_wildcard_matches_exactly_one_level() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "plus").await;
    sub.subscribe_ok("a/+/c", QoS::AtLeastOnce).await;
    sub.subscribe_ok("+", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(addr, "pub").await;
    for topic in ["a/c", "a/b/c/d", "a/b/d", "x/b/c", "a/b", "/top"] {
        publisher
            .publish(topic, QoS::AtLeastOnce, false, "no")
            .await;
    }
    for topic in ["a/b/c", "a//c", "top"] {
        publisher
            .publish(topic, QoS::AtLeastOnce, false, "yes")
            .await;
    }
    // Deliveries keep the publish order, so the non-matching ones would have come first.
    for topic in ["a/b/c", "a//c", "top"] {
        sub.expect_message(topic, "yes").await;
    }
    sub.expect_no_publish().await;
}

#[tokio::test]
async fn multi_level_wildcard_matches_the_parent_and_all_children() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "hash").await;
    sub.subscribe_ok("a/#", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(addr, "pub").await;
    for topic in ["b/a", "ab", "b"] {
        publisher
            .publish(topic, QoS::AtLeastOnce, false, "no")
            .await;
    }
    for topic in ["a", "a/b", "a/b/c/d", "a/"] {
        publisher
            .publish(topic, QoS::AtLeastOnce, false, "yes")
            .await;
    }
    for topic in ["a", "a/b", "a/b/c/d", "a/"] {
        sub.expect_message(topic, "yes").await;
    }
    sub.expect_no_publish().await;

    let mut all = Client::connect(addr, "all").await;
    all.subscribe_ok("#", QoS::AtLeastOnce).await;
    publisher
        .publish("any/thing", QoS::AtLeastOnce, false, "all")
        .await;
    all.expect_message("any/thing", "all").await;
}

#[tokio::test]
async fn dollar_topics_are_not_matched_by_leading_wildcards() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut hash = Client::connect(addr, "hash").await;
    hash.subscribe_ok("#", QoS::AtLeastOnce).await;
    let mut plus = Client::connect(addr, "plus").await;
    plus.subscribe_ok("+/bar", QoS::AtLeastOnce).await;
    let mut dollar = Client::connect(addr, "dollar").await;
    dollar.subscribe_ok("$foo/#", QoS::AtLeastOnce).await;
    dollar.subscribe_ok("$foo/+", QoS::AtLeastOnce).await;

    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("$foo/bar", QoS::AtLeastOnce, false, "dollar")
        .await;
    dollar.expect_message("$foo/bar", "dollar").await;
    // Delivered once even though both `$foo/#` and `$foo/+` match.
    dollar.expect_no_publish().await;
    hash.expect_no_publish().await;
    plus.expect_no_publish().await;

    // Control: the same subscribers do get an ordinary topic.
    publisher
        .publish("foo/bar", QoS::AtLeastOnce, false, "plain")
        .await;
    hash.expect_message("foo/bar", "plain").await;
    plus.expect_message("foo/bar", "plain").await;
}

#[tokio::test]
async fn sys_topics_are_not_matched_by_hash() {
    let broker = start_broker(&[("EMQTTD_SYS__INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let mut hash = Client::connect(addr, "hash").await;
    hash.subscribe_ok("#", QoS::AtMostOnce).await;
    let mut sys = Client::connect(addr, "sys").await;
    sys.subscribe_ok("$SYS/#", QoS::AtMostOnce).await;
    // $SYS publishes at least every second; wait for two to be sure several went by.
    let first = sys.expect_publish().await;
    assert!(first.topic.starts_with(SYS_PREFIX) || first.topic == "$SYS/brokers");
    sys.expect_publish_within(Duration::from_secs(3)).await;
    hash.expect_no_publish().await;
}

#[tokio::test]
async fn overlapping_subscriptions_are_delivered_once_at_the_highest_qos() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "overlap").await;
    sub.subscribe_ok("a/#", QoS::AtMostOnce).await;
    sub.subscribe_ok("a/+", QoS::ExactlyOnce).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("a/b", QoS::ExactlyOnce, false, "once")
        .await;
    let p = sub.expect_message("a/b", "once").await;
    assert_eq!(
        p.qos,
        QoS::ExactlyOnce,
        "the highest matching subscription QoS wins"
    );
    sub.expect_no_publish().await;
    // Where only one of them matches, it is delivered at that one's QoS.
    publisher
        .publish("a/b/c", QoS::ExactlyOnce, false, "deep")
        .await;
    let p = sub.expect_message("a/b/c", "deep").await;
    assert_eq!(p.qos, QoS::AtMostOnce);
    sub.expect_no_publish().await;
}

#[tokio::test]
async fn suback_grants_qos_per_filter_and_0x80_for_invalid_filters() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "suback").await;
    let ack = raw
        .subscribe(
            10,
            &[
                ("s/zero", 0),
                ("a/#/b", 1),
                ("s/one/+", 1),
                ("a+", 2),
                ("s/two/#", 2),
                ("#/x", 0),
                ("s/+x", 1),
            ],
        )
        .await;
    use SubscribeReturnCode::{Failure, Success};
    assert_eq!(
        ack.return_codes,
        vec![
            Success(wire::qos(0)),
            Failure,
            Success(wire::qos(1)),
            Failure,
            Success(wire::qos(2)),
            Failure,
            Failure,
        ],
        "one return code per filter, in order"
    );
    // The valid filters of that SUBSCRIBE are in force, and the connection is still open.
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("s/two/x", QoS::AtLeastOnce, false, "valid")
        .await;
    let p = raw.expect_publish(WAIT).await;
    assert_eq!((&p.topic[..], &p.payload[..]), ("s/two/x", &b"valid"[..]));
    raw.send(&Packet::PubAck(p.packet_id.expect("QoS 1 has an id")))
        .await;
    raw.ping().await;
}

#[tokio::test]
async fn rumqttc_sees_granted_qos_in_suback() {
    let broker = start_broker(&[]);
    let mut sub = Client::connect(broker.tcp_addr(), "granted").await;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let code = sub.subscribe("granted/t", qos).await;
        assert_eq!(code, SubscribeReasonCode::Success(qos));
    }
}

#[tokio::test]
async fn unsubscribe_stops_delivery_and_gets_unsuback() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut raw = RawClient::connected(addr, "unsub").await;
    raw.subscribe(1, &[("u/t", 0), ("u/other", 0)]).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher
        .publish("u/t", QoS::AtMostOnce, false, "before")
        .await;
    assert_eq!(&raw.expect_publish(WAIT).await.payload[..], b"before");

    raw.send(&wire::unsubscribe(77, &["u/t"])).await;
    assert_eq!(raw.expect(WAIT).await, Packet::UnsubAck(wire::pid(77)));
    publisher
        .publish("u/t", QoS::AtMostOnce, false, "after")
        .await;
    publisher
        .publish("u/other", QoS::AtMostOnce, false, "other")
        .await;
    // Only the still-subscribed topic arrives.
    let p = raw.expect_publish(WAIT).await;
    assert_eq!((&p.topic[..], &p.payload[..]), ("u/other", &b"other"[..]));
    raw.expect_silence(crate::common::QUIET).await;

    // Unsubscribing from something never subscribed is acknowledged too.
    raw.send(&wire::unsubscribe(78, &["never/subscribed"]))
        .await;
    assert_eq!(raw.expect(WAIT).await, Packet::UnsubAck(wire::pid(78)));
}

#[tokio::test]
async fn rumqttc_unsubscribe_stops_delivery() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "unsub").await;
    sub.subscribe_ok("u/#", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(addr, "pub").await;
    publisher.publish("u/1", QoS::AtLeastOnce, false, "1").await;
    sub.expect_message("u/1", "1").await;
    sub.unsubscribe("u/#").await;
    publisher.publish("u/2", QoS::AtLeastOnce, false, "2").await;
    sub.expect_no_publish().await;
}

#[tokio::test]
async fn delivery_qos_is_the_minimum_of_publish_and_subscription() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut sub1 = Client::connect(addr, "sub-q1").await;
    sub1.subscribe_ok("q/t", QoS::AtLeastOnce).await;
    let mut sub2 = Client::connect(addr, "sub-q2").await;
    sub2.subscribe_ok("q/t", QoS::ExactlyOnce).await;
    let mut publisher = Client::connect(addr, "pub").await;
    let cases = [
        (QoS::AtMostOnce, QoS::AtMostOnce, QoS::AtMostOnce),
        (QoS::AtLeastOnce, QoS::AtLeastOnce, QoS::AtLeastOnce),
        (QoS::ExactlyOnce, QoS::AtLeastOnce, QoS::ExactlyOnce),
    ];
    for (pub_qos, want1, want2) in cases {
        let payload = format!("published at {pub_qos:?}");
        publisher
            .publish("q/t", pub_qos, false, payload.clone())
            .await;
        let got1 = sub1.expect_message("q/t", &payload).await;
        let got2 = sub2.expect_message("q/t", &payload).await;
        assert_eq!(got1.qos, want1, "{payload} to a QoS 1 subscription");
        assert_eq!(got2.qos, want2, "{payload} to a QoS 2 subscription");
    }
}

#[tokio::test]
async fn upgrade_qos_delivers_at_the_subscription_qos() {
    let broker = start_broker(&[("EMQTTD_MQTT__SESSION__UPGRADE_QOS", "true")]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "upgraded").await;
    sub.subscribe_ok("up/t", QoS::ExactlyOnce).await;
    let mut publisher = Client::connect(addr, "pub").await;
    for pub_qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let payload = format!("published at {pub_qos:?}");
        publisher
            .publish("up/t", pub_qos, false, payload.clone())
            .await;
        let got = sub.expect_message("up/t", &payload).await;
        assert_eq!(got.qos, QoS::ExactlyOnce, "{payload} with upgrade_qos");
    }
}

/// A raw client publishes `topic` (raw bytes) and must be closed, while a healthy subscriber
/// on `#` does not get it and keeps receiving afterwards.
async fn invalid_topic_closes_only_the_publisher(topics: &[&[u8]]) {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut watcher = Client::connect(addr, "watcher").await;
    watcher.subscribe_ok("#", QoS::AtLeastOnce).await;
    let mut good = Client::connect(addr, "good").await;
    for topic in topics {
        let mut bad = RawClient::connected(addr, "bad").await;
        bad.send_bytes(&wire::publish_bytes(
            topic,
            1,
            Some(1),
            false,
            false,
            b"bad",
        ))
        .await;
        let sent = bad.expect_closed(WAIT).await;
        assert!(
            sent.is_empty(),
            "PUBLISH to {:?}: broker answered {sent:?} instead of closing",
            String::from_utf8_lossy(topic)
        );
        let label = format!("after {:?}", String::from_utf8_lossy(topic));
        good.publish("still/working", QoS::AtLeastOnce, false, label.clone())
            .await;
        // The invalid publish was not routed: the next delivery is the good one.
        watcher.expect_message("still/working", &label).await;
    }
}

#[tokio::test]
async fn publish_to_a_wildcard_topic_closes_the_connection() {
    invalid_topic_closes_only_the_publisher(&[b"a/+", b"a/#", b"+", b"#", b"a/b+"]).await;
}

#[tokio::test]
async fn invalid_utf8_or_nul_in_a_topic_closes_only_that_connection() {
    invalid_topic_closes_only_the_publisher(&[
        b"bad/\xff\xfe",
        b"bad/\xc3",         // truncated 2-byte sequence
        b"bad/\xed\xa0\x80", // UTF-16 surrogate U+D800 encoded in UTF-8
        b"bad/\x00/nul",     // U+0000
    ])
    .await;
}

#[tokio::test]
async fn empty_publish_topic_closes_the_connection() {
    invalid_topic_closes_only_the_publisher(&[b""]).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_subscribe_filter_closes_the_connection() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let mut healthy = crate::common::Healthy::start(addr).await;
    let mut bad = RawClient::connected(addr, "bad-filter").await;
    bad.send_bytes(&wire::subscribe_bytes(0x82, 1, &[(b"f/\xff", 0)]))
        .await;
    match bad.recv_event(WAIT).await {
        Recv::Closed => {}
        // 3.1.1 allows only closing here; a SUBACK means the filter was accepted or refused
        // without closing, which the issue rules out for invalid UTF-8.
        other => panic!("invalid UTF-8 filter: expected close, got {other:?}"),
    }
    healthy.check().await;
}
