//! The actor that receives every notify event (`client.connected`, `message.delivered`, ...)
//! and logs and counts it. Events arrive with `try_send`: what the mailbox cannot take is
//! dropped by the broker (and counted in `$SYS/.../metrics/hooks/events/dropped`).

use crate::counts::Counts;
use crate::PREFIX;
use emqttd_plugin_api::actix::{Actor, Context, Handler};
use emqttd_plugin_api::HookEvent;
use std::sync::Arc;

/// Events the actor may hold before the broker drops new ones.
pub const MAILBOX: usize = 4096;

pub struct EventLogger {
    pub counts: Arc<Counts>,
}

impl Actor for EventLogger {
    type Context = Context<Self>;
}

impl Handler<HookEvent> for EventLogger {
    type Result = ();

    fn handle(&mut self, event: HookEvent, _: &mut Context<Self>) {
        self.counts.event(event.kind());
        log::info!("{PREFIX} {}: {}", event.kind().name(), describe(&event));
    }
}

/// One line about an event.
fn describe(event: &HookEvent) -> String {
    match event {
        HookEvent::ClientConnack { client, connack } => {
            format!("client {} connack {}", client.client_id, connack)
        }
        HookEvent::ClientConnected {
            client,
            connack,
            session_present,
        } => format!(
            "client {} (username {:?}, {}) connack {} session_present {}",
            client.client_id, client.username, client.peer, connack, session_present
        ),
        HookEvent::ClientDisconnected { client, reason } => {
            format!("client {} reason {}", client.client_id, reason)
        }
        HookEvent::SessionCreated { client } => format!("client {}", client.client_id),
        HookEvent::SessionSubscribed {
            client,
            filter,
            qos,
        } => format!("client {} filter {} qos {}", client.client_id, filter, qos),
        HookEvent::SessionUnsubscribed { client, filter } => {
            format!("client {} filter {}", client.client_id, filter)
        }
        HookEvent::SessionTerminated { client, reason } => {
            format!("client {} reason {}", client.client_id, reason)
        }
        HookEvent::MessageDelivered { client, message } => format!(
            "to {} topic {} from {}",
            client.client_id, message.topic, message.from
        ),
        HookEvent::MessageAcked { client, message } => {
            format!("by {} topic {}", client.client_id, message.topic)
        }
        HookEvent::MessageDropped { message, reason } => format!(
            "topic {} from {} reason {}",
            message.topic,
            message.from,
            reason.as_str()
        ),
    }
}
