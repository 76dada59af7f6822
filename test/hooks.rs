//! Hook points with real clients: every point fires with the right arguments in order, filter
//! chains stop and rewrite in priority order, and event subscribers never block the broker
//! (what a full subscriber cannot take is counted).

use crate::common::wire::RawConnect;
use crate::common::{eventually, options, start_broker, Client, QoS, RawClient, QUIET, WAIT};
use actix::prelude::*;
use emqttd::hooks::{ConnectAction, EventKind, Flow, HookEvent, PublishAction};
use emqttd::mqtt::packet::ConnectReturnCode;
use emqttd::sys::metrics::Metric;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Receiver;

/// One line per event about `client_id`, e.g. `client.connected 0`.
fn describe(event: &HookEvent, client_id: &str) -> Option<String> {
    let line = match event {
        HookEvent::ClientConnack { client, connack } if client.client_id == client_id => {
            format!("client.connack {connack}")
        }
        HookEvent::ClientConnected {
            client,
            connack,
            session_present,
        } if client.client_id == client_id => {
            format!(
                "client.connected {connack} {session_present} {}",
                client.username.as_deref().unwrap_or("-")
            )
        }
        HookEvent::ClientDisconnected { client, reason } if client.client_id == client_id => {
            format!("client.disconnected {reason}")
        }
        HookEvent::SessionCreated { client } if client.client_id == client_id => {
            "session.created".into()
        }
        HookEvent::SessionSubscribed {
            client,
            filter,
            qos,
        } if client.client_id == client_id => {
            format!("session.subscribed {filter} {}", qos.as_u8())
        }
        HookEvent::SessionUnsubscribed { client, filter } if client.client_id == client_id => {
            format!("session.unsubscribed {filter}")
        }
        HookEvent::SessionTerminated { client, reason } if client.client_id == client_id => {
            format!("session.terminated {reason}")
        }
        HookEvent::MessageDelivered { client, message } if client.client_id == client_id => {
            format!("message.delivered {} {}", message.topic, message.from)
        }
        HookEvent::MessageAcked { client, message } if client.client_id == client_id => {
            format!("message.acked {}", message.topic)
        }
        _ => return None,
    };
    Some(line)
}

/// The next `n` events about `client_id`, within [`WAIT`].
async fn next_events(rx: &mut Receiver<HookEvent>, client_id: &str, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    while seen.len() < n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(event)) => seen.extend(describe(&event, client_id)),
            Ok(None) => panic!("event channel closed; seen {seen:?}"),
            Err(_) => panic!(
                "only {} of {n} events within {WAIT:?}: {seen:?}",
                seen.len()
            ),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn test_every_hook_point_fires_in_order_with_its_arguments() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let hooks = &broker.core().hooks;
    let (_, mut rx) = hooks.subscribe_channel(&EventKind::ALL, 1024);
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = calls.clone();
    hooks.add_client_connect(0, move |client, password| {
        log.lock().unwrap().push(format!(
            "client.connect {} {} {:?} {}",
            client.client_id,
            client.username.as_deref().unwrap_or("-"),
            password.map(|p| String::from_utf8_lossy(p).into_owned()),
            client.protocol
        ));
        ConnectAction::Continue
    });
    let log = calls.clone();
    hooks.add_client_subscribe(0, move |client, table| {
        let filters: Vec<_> = table.iter().map(|e| e.filter.to_string()).collect();
        log.lock().unwrap().push(format!(
            "client.subscribe {} {}",
            client.client_id,
            filters.join(",")
        ));
        Flow::Continue
    });
    let log = calls.clone();
    hooks.add_client_unsubscribe(0, move |client, filters| {
        log.lock().unwrap().push(format!(
            "client.unsubscribe {} {}",
            client.client_id,
            filters.join(",")
        ));
        Flow::Continue
    });
    let log = calls.clone();
    hooks.add_message_publish(0, move |message| {
        log.lock().unwrap().push(format!(
            "message.publish {} {}",
            message.topic, message.from
        ));
        PublishAction::Continue
    });

    let mut opts = options(addr, "alice-dev");
    opts.set_credentials("alice", "secret");
    let (mut alice, _) = Client::connect_opts(opts).await;
    alice.subscribe_ok("t/1", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(addr, "hook-pub").await;
    publisher
        .publish("t/1", QoS::AtLeastOnce, false, "hello")
        .await;
    alice.expect_message("t/1", "hello").await;
    alice.unsubscribe("t/1").await;
    alice.disconnect().await;

    let events = next_events(&mut rx, "alice-dev", 9).await;
    assert_eq!(
        events,
        vec![
            "session.created",
            "client.connack 0",
            "client.connected 0 false alice",
            "session.subscribed t/1 1",
            "message.delivered t/1 hook-pub",
            "message.acked t/1",
            "session.unsubscribed t/1",
            "client.disconnected normal",
            "session.terminated normal",
        ],
        "events of alice-dev"
    );
    let calls = calls.lock().unwrap().clone();
    let mine: Vec<_> = calls
        .iter()
        .filter(|c| c.contains("alice") || c.contains("t/1"))
        .cloned()
        .collect();
    assert_eq!(
        mine,
        vec![
            "client.connect alice-dev alice Some(\"secret\") 4",
            "client.subscribe alice-dev t/1",
            "message.publish t/1 hook-pub",
            "client.unsubscribe alice-dev t/1",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn test_client_connect_hook_refuses_with_its_connack_code() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let hooks = &broker.core().hooks;
    let (_, mut rx) = hooks.subscribe_channel(&[EventKind::ClientConnack], 16);
    let id = hooks.add_client_connect(0, |client, _| {
        if client.client_id.starts_with("banned") {
            ConnectAction::Refuse(ConnectReturnCode::NotAuthorized)
        } else {
            ConnectAction::Continue
        }
    });
    let (mut raw, ack) = RawClient::handshake(addr, &RawConnect::v311("banned-1")).await;
    assert_eq!(ack.return_code, ConnectReturnCode::NotAuthorized);
    raw.expect_closed(WAIT).await;
    assert_eq!(
        next_events(&mut rx, "banned-1", 1).await,
        vec!["client.connack 5"]
    );
    // Removed at run time: the same client id is accepted.
    assert!(hooks.remove(id));
    let ok = Client::connect(addr, "banned-1").await;
    assert_eq!(
        next_events(&mut rx, "banned-1", 1).await,
        vec!["client.connack 0"]
    );
    drop(ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn test_chains_stop_and_rewrite_in_priority_order() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let hooks = &broker.core().hooks;
    let seen_last = Arc::new(Mutex::new(Vec::<String>::new()));
    // Registered lowest priority first: the registry orders them.
    let seen = seen_last.clone();
    hooks.add_message_publish(1, move |message| {
        if !message.sys {
            seen.lock().unwrap().push(message.topic.to_string());
        }
        PublishAction::Continue
    });
    hooks.add_message_publish(5, |message| {
        if message.topic.starts_with("out/secret") {
            PublishAction::Drop
        } else {
            PublishAction::Continue
        }
    });
    hooks.add_message_publish(10, |message| match message.topic.strip_prefix("in/") {
        Some(rest) => {
            let mut message = message.clone();
            message.topic = format!("out/{rest}").into();
            PublishAction::Rewrite(message)
        }
        None => PublishAction::Continue,
    });
    hooks.add_client_subscribe(1, |_, table| {
        for entry in table.iter_mut() {
            entry.refused = entry.filter.starts_with("deny/") || entry.filter == "alias";
        }
        Flow::Continue
    });
    hooks.add_client_subscribe(10, |_, table| {
        let mut rewrote = false;
        for entry in table.iter_mut().filter(|e| e.filter == "alias") {
            entry.filter = "out/#".into();
            rewrote = true;
        }
        if rewrote {
            Flow::Stop // the priority-1 callback, which would refuse "alias", is skipped
        } else {
            Flow::Continue
        }
    });

    let mut sub = Client::connect(addr, "chain-sub").await;
    sub.subscribe_ok("alias", QoS::AtMostOnce).await;
    assert_eq!(
        sub.subscribe("deny/x", QoS::AtMostOnce).await,
        rumqttc::SubscribeReasonCode::Failure
    );
    let mut publisher = Client::connect(addr, "chain-pub").await;
    publisher
        .publish("in/x", QoS::AtLeastOnce, false, "rewritten")
        .await;
    sub.expect_message("out/x", "rewritten").await;
    publisher
        .publish("in/secret", QoS::AtLeastOnce, false, "dropped")
        .await;
    sub.expect_no_publish_for(QUIET).await;
    assert_eq!(*seen_last.lock().unwrap(), vec!["out/x"]);
}

/// A subscriber that takes 50 ms per event with a mailbox of 2.
struct SlowSubscriber {
    handled: Arc<Mutex<usize>>,
}

impl Actor for SlowSubscriber {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(2);
    }
}

impl Handler<HookEvent> for SlowSubscriber {
    type Result = ();
    fn handle(&mut self, _: HookEvent, _: &mut Self::Context) {
        std::thread::sleep(Duration::from_millis(50));
        *self.handled.lock().unwrap() += 1;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn test_a_slow_actor_subscriber_never_blocks_and_drops_are_counted() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let core = broker.core().clone();
    // The subscriber lives in its own actor system, like a plugin's actor would on its arbiter.
    let handled = Arc::new(Mutex::new(0usize));
    let (tx, rx) = std::sync::mpsc::channel();
    let counter = handled.clone();
    std::thread::spawn(move || {
        let system = actix_rt::System::new();
        system.block_on(async move {
            let addr = SlowSubscriber { handled: counter }.start();
            tx.send(addr.recipient::<HookEvent>()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let recipient = rx.recv().unwrap();
    assert_eq!(core.metrics.get(Metric::HooksEventsDropped), 0);
    core.hooks
        .subscribe_actor(&[EventKind::MessageDelivered], recipient);

    let mut sub = Client::connect(addr, "slow-sub").await;
    sub.subscribe_ok("burst", QoS::AtMostOnce).await;
    let mut publisher = Client::connect(addr, "slow-pub").await;
    let started = Instant::now();
    for i in 0..100 {
        publisher
            .publish("burst", QoS::AtMostOnce, false, format!("{i}"))
            .await;
    }
    for i in 0..100 {
        sub.expect_message("burst", &format!("{i}")).await;
    }
    // 100 events at 50 ms each would take 5 s if the broker waited for the subscriber.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "delivery waited for the slow subscriber: {:?}",
        started.elapsed()
    );
    let dropped = core.metrics.get(Metric::HooksEventsDropped);
    assert!(dropped > 0, "a full mailbox must count drops");
    eventually("every event handled or counted as dropped", || {
        *handled.lock().unwrap() as u64 + dropped >= 100
    })
    .await;
    assert_eq!(*handled.lock().unwrap() as u64 + dropped, 100);
    assert_eq!(Metric::HooksEventsDropped.name(), "hooks/events/dropped");
}
