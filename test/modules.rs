//! The built-in modules end to end with real clients: presence payloads with emqttd's field
//! names, autosub with `%c` / `%u`, rewrite of PUBLISH, SUBSCRIBE and UNSUBSCRIBE.

use crate::common::{eventually, options, start_broker, Client, QoS, NODE, QUIET, WAIT};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The next presence message for `client_id`, as (last topic level, JSON).
async fn next_presence(watcher: &mut Client, client_id: &str) -> (String, Value, rumqttc::Publish) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let p = watcher.expect_publish_within(left).await;
        let prefix = format!("$SYS/brokers/{NODE}/clients/{client_id}/");
        if let Some(what) = p.topic.strip_prefix(&prefix) {
            let value: Value = serde_json::from_slice(&p.payload)
                .unwrap_or_else(|e| panic!("presence payload is not JSON: {e}: {:?}", p.payload));
            return (what.to_string(), value, p);
        }
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn test_presence_publishes_emqttd_payloads() {
    let broker = start_broker(&[
        ("EMQTTD_MODULE__PRESENCE__ENABLE", "true"),
        ("EMQTTD_MODULE__PRESENCE__QOS", "1"),
    ]);
    let addr = broker.tcp_addr();
    let mut watcher = Client::connect(addr, "presence-watcher").await;
    watcher
        .subscribe_ok("$SYS/brokers/+/clients/#", QoS::AtLeastOnce)
        .await;

    let mut opts = options(addr, "dev1");
    opts.set_credentials("bob", "pw");
    opts.set_clean_session(false);
    let (dev, _) = Client::connect_opts(opts).await;
    let (what, value, p) = next_presence(&mut watcher, "dev1").await;
    assert_eq!(what, "connected");
    assert_eq!(p.qos, QoS::AtLeastOnce);
    assert!(!p.retain);
    assert_eq!(
        keys(&value),
        set(&[
            "clientid",
            "username",
            "ipaddress",
            "session",
            "protocol",
            "connack",
            "ts"
        ])
    );
    assert_eq!(value["clientid"], json!("dev1"));
    assert_eq!(value["username"], json!("bob"));
    assert_eq!(value["ipaddress"], json!("127.0.0.1"));
    assert_eq!(value["session"], json!(true), "clean_session=false");
    assert_eq!(value["protocol"], json!(4));
    assert_eq!(value["connack"], json!(0));
    let ts = value["ts"].as_i64().expect("ts is an integer");
    assert!((ts - now_secs()).abs() <= 5, "ts {ts} is not now");
    // Field order as emqttd writes them.
    let text = String::from_utf8(p.payload.to_vec()).unwrap();
    let order: Vec<usize> = [
        "clientid",
        "username",
        "ipaddress",
        "session",
        "protocol",
        "connack",
        "ts",
    ]
    .iter()
    .map(|k| text.find(&format!("\"{k}\"")).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");

    dev.disconnect().await;
    let (what, value, _) = next_presence(&mut watcher, "dev1").await;
    assert_eq!(what, "disconnected");
    assert_eq!(keys(&value), set(&["clientid", "reason", "ts"]));
    assert_eq!(value["clientid"], json!("dev1"));
    assert_eq!(value["reason"], json!("normal"));

    // A lost connection (socket closed without DISCONNECT).
    let lost = Client::connect(addr, "dev2").await;
    let (what, value, _) = next_presence(&mut watcher, "dev2").await;
    assert_eq!(
        (what.as_str(), &value["session"]),
        ("connected", &json!(false))
    );
    assert_eq!(value["username"], Value::Null);
    drop(lost);
    let (what, value, _) = next_presence(&mut watcher, "dev2").await;
    assert_eq!(what, "disconnected");
    assert_eq!(value["reason"], json!("closed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn test_autosub_subscribes_on_connect_with_placeholders() {
    let broker = start_broker(&[
        ("EMQTTD_MODULE__AUTOSUB__ENABLE", "true"),
        (
            "EMQTTD_MODULE__AUTOSUB__TOPICS",
            r#"[{topic = "$client/%c", qos = 1}, {topic = "users/%u/inbox", qos = 0}]"#,
        ),
    ]);
    let addr = broker.tcp_addr();
    let core = broker.core().clone();
    let mut publisher = Client::connect(addr, "autosub-pub").await;
    publisher
        .publish("$client/dev9", QoS::AtLeastOnce, true, "retained")
        .await;

    let mut opts = options(addr, "dev9");
    opts.set_credentials("carol", "pw");
    let (mut dev, _) = Client::connect_opts(opts).await;
    // The retained message on the auto-subscribed topic arrives as after a SUBSCRIBE.
    let p = dev.expect_message("$client/dev9", "retained").await;
    assert!(p.retain);
    assert_eq!(p.qos, QoS::AtLeastOnce);
    // The publisher's own session holds "$client/autosub-pub" (no username: no users/%u).
    eventually("the autosub routes", || {
        core.router.index().subscription_count() >= 3
    })
    .await;
    publisher
        .publish("$client/dev9", QoS::AtLeastOnce, false, "direct")
        .await;
    dev.expect_message("$client/dev9", "direct").await;
    publisher
        .publish("users/carol/inbox", QoS::AtLeastOnce, false, "by username")
        .await;
    let p = dev.expect_message("users/carol/inbox", "by username").await;
    assert_eq!(p.qos, QoS::AtMostOnce, "the autosub topic's QoS 0");
    // Nobody else gets dev9's messages.
    publisher.expect_no_publish_for(QUIET).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn test_rewrite_applies_to_publish_subscribe_and_unsubscribe() {
    let broker = start_broker(&[
        ("EMQTTD_MODULE__REWRITE__ENABLE", "true"),
        (
            "EMQTTD_MODULE__REWRITE__RULES",
            r#"[{filter = "x/#", rewrites = [{regex = "^x/y/(.+)$", dest = "z/y/$1"}, {regex = "^x/(.+)$", dest = "y/$1"}]}]"#,
        ),
    ]);
    let addr = broker.tcp_addr();

    // PUBLISH: x/y/1 -> z/y/1, x/a -> y/a (first matching regex of the rule).
    let mut sub = Client::connect(addr, "rw-sub").await;
    sub.subscribe_ok("z/#", QoS::AtLeastOnce).await;
    sub.subscribe_ok("y/#", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(addr, "rw-pub").await;
    publisher
        .publish("x/y/1", QoS::AtLeastOnce, false, "one")
        .await;
    sub.expect_message("z/y/1", "one").await;
    publisher
        .publish("x/a", QoS::AtLeastOnce, false, "two")
        .await;
    sub.expect_message("y/a", "two").await;

    // SUBSCRIBE x/y/+ is z/y/+ ...
    let mut other = Client::connect(addr, "rw-other").await;
    other.subscribe_ok("x/y/+", QoS::AtLeastOnce).await;
    publisher
        .publish("z/y/2", QoS::AtLeastOnce, false, "three")
        .await;
    other.expect_message("z/y/2", "three").await;
    // ... and so is UNSUBSCRIBE x/y/+.
    other.unsubscribe("x/y/+").await;
    publisher
        .publish("z/y/3", QoS::AtLeastOnce, false, "four")
        .await;
    other.expect_no_publish_for(QUIET).await;
    sub.expect_message("z/y/2", "three").await;
    sub.expect_message("z/y/3", "four").await;
}
