//! `$SYS/brokers/<node>/...`: version, uptime, datetime, sysdescr, stats and metrics, published
//! every `sys.interval`, with values that follow what clients do.

use crate::common::{start_broker, Client, QoS, NODE, SYS_PREFIX};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Collects `$SYS` publishes until every suffix in `wanted` has been seen (latest value kept).
async fn collect(sub: &mut Client, wanted: &[&str], within: Duration) -> HashMap<String, String> {
    let deadline = Instant::now() + within;
    let mut seen = HashMap::new();
    while !wanted.iter().all(|w| seen.contains_key(*w)) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let missing: Vec<_> = wanted.iter().filter(|w| !seen.contains_key(**w)).collect();
            panic!("no $SYS publish within {within:?} for {missing:?}; saw {seen:?}");
        }
        let p = sub.expect_publish_within(left).await;
        let suffix = p
            .topic
            .strip_prefix(SYS_PREFIX)
            .unwrap_or_else(|| panic!("$SYS topic outside {SYS_PREFIX}: {}", p.topic))
            .to_string();
        seen.insert(suffix, String::from_utf8_lossy(&p.payload).into_owned());
    }
    seen
}

/// Waits until `suffix` is published with a value satisfying `pred`; returns it.
async fn wait_value(
    sub: &mut Client,
    suffix: &str,
    within: Duration,
    pred: impl Fn(u64) -> bool,
) -> u64 {
    let topic = format!("{SYS_PREFIX}{suffix}");
    let deadline = Instant::now() + within;
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            panic!("{topic}: no value satisfying the check within {within:?}; last {last:?}");
        }
        let p = sub.expect_publish_within(left).await;
        if p.topic != topic {
            continue;
        }
        let text = String::from_utf8_lossy(&p.payload).into_owned();
        let value: u64 = text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{topic}: not a number: {text:?}"));
        if pred(value) {
            return value;
        }
        last = Some(value);
    }
}

fn number(values: &HashMap<String, String>, suffix: &str) -> u64 {
    let text = &values[suffix];
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{SYS_PREFIX}{suffix}: not a number: {text:?}"))
}

#[tokio::test]
async fn sys_topics_describe_the_broker() {
    let broker = start_broker(&[("EMQTTD_SYS__INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "sys-watcher").await;
    sub.subscribe_ok(&format!("{SYS_PREFIX}#"), QoS::AtMostOnce)
        .await;
    // Some traffic for the counters.
    let mut publisher = Client::connect(addr, "sys-pub").await;
    publisher
        .publish("sys/test", QoS::AtLeastOnce, false, "count me")
        .await;

    let wanted = [
        "version",
        "uptime",
        "datetime",
        "sysdescr",
        "stats/clients/count",
        "stats/clients/max",
        "stats/sessions/count",
        "stats/topics/count",
        "stats/subscriptions/count",
        "stats/retained/count",
        "metrics/bytes/received",
        "metrics/bytes/sent",
        "metrics/packets/received",
        "metrics/packets/sent",
        "metrics/packets/connect",
        "metrics/packets/publish/received",
        "metrics/messages/received",
        "metrics/messages/sent",
        "metrics/messages/qos1/received",
    ];
    let values = collect(&mut sub, &wanted, Duration::from_secs(5)).await;

    let version = &values["version"];
    assert!(
        version.chars().any(|c| c.is_ascii_digit()),
        "version should be a version number, got {version:?}"
    );
    assert!(!values["sysdescr"].trim().is_empty(), "sysdescr is empty");
    let uptime = &values["uptime"];
    assert!(
        uptime.chars().any(|c| c.is_ascii_digit()),
        "uptime should say how long the broker runs, got {uptime:?}"
    );
    let datetime = &values["datetime"];
    assert!(
        datetime.len() >= 10 && datetime.chars().filter(|c| c.is_ascii_digit()).count() >= 8,
        "datetime should be a date and time, got {datetime:?}"
    );

    // Two clients are connected (the watcher and the publisher).
    let clients = number(&values, "stats/clients/count");
    assert!(
        (2..=3).contains(&clients),
        "stats/clients/count = {clients} with 2 clients connected"
    );
    assert!(number(&values, "stats/clients/max") >= clients);
    assert!(number(&values, "stats/sessions/count") >= 2);
    assert!(number(&values, "stats/subscriptions/count") >= 1);
    assert!(number(&values, "stats/topics/count") >= 1);
    number(&values, "stats/retained/count");

    for counter in [
        "metrics/packets/received",
        "metrics/packets/sent",
        "metrics/bytes/received",
        "metrics/bytes/sent",
    ] {
        assert!(
            number(&values, counter) >= 4,
            "{counter} after 2 connects, a subscribe and a publish"
        );
    }
    assert!(number(&values, "metrics/packets/connect") >= 2);
    assert!(number(&values, "metrics/packets/publish/received") >= 1);
    assert!(number(&values, "metrics/messages/received") >= 1);
    assert!(number(&values, "metrics/messages/qos1/received") >= 1);
    assert!(
        number(&values, "metrics/bytes/received") > number(&values, "metrics/packets/received"),
        "every packet is at least 2 bytes"
    );

    // A retained message shows in the retained count.
    publisher
        .publish("sys/kept", QoS::AtLeastOnce, true, "kept")
        .await;
    let before = number(&values, "stats/retained/count");
    wait_value(
        &mut sub,
        "stats/retained/count",
        Duration::from_secs(5),
        |v| v > before,
    )
    .await;
}

#[tokio::test]
async fn sys_brokers_lists_the_node() {
    let broker = start_broker(&[("EMQTTD_SYS__INTERVAL", "1s")]);
    let mut sub = Client::connect(broker.tcp_addr(), "nodes").await;
    sub.subscribe_ok("$SYS/brokers", QoS::AtMostOnce).await;
    let p = sub.expect_publish_within(Duration::from_secs(3)).await;
    assert_eq!(p.topic, "$SYS/brokers");
    assert!(
        String::from_utf8_lossy(&p.payload).contains(NODE),
        "$SYS/brokers should name {NODE}: {:?}",
        p.payload
    );
}

#[tokio::test]
async fn client_count_follows_connects_and_disconnects() {
    let broker = start_broker(&[("EMQTTD_SYS__INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "counter").await;
    sub.subscribe_ok(&format!("{SYS_PREFIX}stats/clients/count"), QoS::AtMostOnce)
        .await;
    let mut others = Vec::new();
    for n in 0..3 {
        others.push(Client::connect(addr, &format!("extra{n}")).await);
    }
    wait_value(
        &mut sub,
        "stats/clients/count",
        Duration::from_secs(5),
        |v| v == 4,
    )
    .await;
    for c in others.drain(..2) {
        c.disconnect().await;
    }
    wait_value(
        &mut sub,
        "stats/clients/count",
        Duration::from_secs(5),
        |v| v == 2,
    )
    .await;
}

#[tokio::test]
async fn connections_are_counted_per_listener() {
    let broker = start_broker(&[("EMQTTD_SYS__INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let suffix = "stats/listeners/tcp:external/count";
    let mut sub = Client::connect(addr, "listener-watch").await;
    sub.subscribe_ok(&format!("{SYS_PREFIX}{suffix}"), QoS::AtMostOnce)
        .await;
    let other = Client::connect(addr, "listener-other").await;
    wait_value(&mut sub, suffix, Duration::from_secs(5), |v| v == 2).await;
    other.disconnect().await;
    wait_value(&mut sub, suffix, Duration::from_secs(5), |v| v == 1).await;
}

#[tokio::test]
async fn message_metrics_count_publishes() {
    let broker = start_broker(&[("EMQTTD_SYS__INTERVAL", "1s")]);
    let addr = broker.tcp_addr();
    let mut sub = Client::connect(addr, "metrics").await;
    sub.subscribe_ok(&format!("{SYS_PREFIX}metrics/messages/#"), QoS::AtMostOnce)
        .await;
    let mut publisher = Client::connect(addr, "pub").await;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        for _ in 0..2 {
            publisher.publish("m/t", qos, false, "x").await;
        }
    }
    // With no subscriber to m/t these count as received (and dropped), not sent.
    wait_value(
        &mut sub,
        "metrics/messages/received",
        Duration::from_secs(5),
        |v| v >= 6,
    )
    .await;
    wait_value(
        &mut sub,
        "metrics/messages/qos2/received",
        Duration::from_secs(5),
        |v| v >= 2,
    )
    .await;
    wait_value(
        &mut sub,
        "metrics/messages/dropped",
        Duration::from_secs(5),
        |v| v >= 6,
    )
    .await;

    publisher
        .publish("m/kept", QoS::AtLeastOnce, true, "r")
        .await;
    wait_value(
        &mut sub,
        "metrics/messages/retained",
        Duration::from_secs(5),
        |v| v >= 1,
    )
    .await;
}
