//! A session that panics dies alone: its routes and registry entry are cleaned up and every
//! other client carries on.

use crate::common::{eventually, start_broker, Client, Healthy, QoS, QUIET, WAIT};
use emqttd::hooks::PublishAction;

#[tokio::test(flavor = "multi_thread")]
async fn test_panicking_session_dies_alone() {
    let broker = start_broker(&[]);
    let addr = broker.tcp_addr();
    let core = broker.core().clone();
    // A hook that panics inside whichever session publishes to crash/now.
    core.hooks.add_message_publish(0, |message| {
        if message.topic == "crash/now" {
            panic!("injected fault in the message.publish hook");
        }
        PublishAction::Continue
    });
    let mut healthy = Healthy::start(addr).await;

    let (mut doomed, _) = Client::connect_persistent(addr, "doomed").await;
    doomed.subscribe_ok("doomed/inbox", QoS::AtLeastOnce).await;
    let routes_before = core.router.index().subscription_count();
    assert!(core.sessions.lookup("doomed").is_some());

    doomed
        .client
        .publish("crash/now", rumqttc::QoS::AtMostOnce, false, "boom")
        .await
        .unwrap();
    doomed.expect_disconnected(WAIT).await;

    // The registry entry and the routes of the dead session are gone.
    eventually("the registry entry to go", || {
        core.sessions.lookup("doomed").is_none()
    })
    .await;
    eventually("the routes to go", || {
        core.router.index().subscription_count() == routes_before - 1
    })
    .await;

    // Everyone else carries on, and the client id can connect again (a fresh session).
    healthy.check().await;
    let (mut again, session_present) = Client::connect_persistent(addr, "doomed").await;
    assert!(!session_present, "the crashed session must not be resumed");
    again.subscribe_ok("doomed/inbox", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(addr, "publisher").await;
    publisher
        .publish("doomed/inbox", QoS::AtLeastOnce, false, "hello")
        .await;
    again.expect_message("doomed/inbox", "hello").await;
    again.expect_no_publish_for(QUIET).await;
    healthy.check().await;
}
