//! The presence module (replaces emqttd_mod_presence): on `client.connected` and
//! `client.disconnected` it publishes `$SYS/brokers/<node>/clients/<clientid>/connected` and
//! `.../disconnected` with emqttd's JSON payloads, with the sys flag and not retained.

use crate::broker::{BrokerCore, Message};
use crate::config::PresenceConfig;
use crate::hooks::{Client, EventKind, HookEvent, HookId};
use crate::modules::{now_secs, Module};
use crate::mqtt::packet::QoS;
use actix::prelude::*;
use bytes::Bytes;
use serde::Serialize;
use std::sync::Arc;

/// Events the presence actor may hold before new ones are dropped (and counted).
const MAILBOX: usize = 65_536;

/// `connected` payload, fields in emqttd's order and with its names.
#[derive(Debug, Serialize)]
struct Connected<'a> {
    clientid: &'a str,
    username: Option<&'a str>,
    ipaddress: String,
    /// True for a persistent session (clean_session = false).
    session: bool,
    protocol: u8,
    connack: u8,
    ts: u64,
}

/// `disconnected` payload.
#[derive(Debug, Serialize)]
struct Disconnected<'a> {
    clientid: &'a str,
    reason: &'a str,
    ts: u64,
}

/// The JSON of `.../connected`.
pub fn connected_payload(client: &Client, connack: u8, ts: u64) -> String {
    let payload = Connected {
        clientid: &client.client_id,
        username: client.username.as_deref(),
        ipaddress: client.peer.ip().to_string(),
        session: !client.clean_session,
        protocol: client.protocol,
        connack,
        ts,
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

/// The JSON of `.../disconnected`.
pub fn disconnected_payload(client_id: &str, reason: &str, ts: u64) -> String {
    let payload = Disconnected {
        clientid: client_id,
        reason,
        ts,
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

/// `$SYS/brokers/<node>/clients/<clientid>/<what>`.
pub fn topic(node: &str, client_id: &str, what: &str) -> String {
    format!("$SYS/brokers/{node}/clients/{client_id}/{what}")
}

pub struct Presence {
    qos: QoS,
    loaded: Option<(HookId, Addr<PresenceActor>)>,
}

impl Presence {
    pub fn new(config: &PresenceConfig) -> Presence {
        Presence {
            qos: QoS::from_u8(config.qos).unwrap_or(QoS::AtMostOnce),
            loaded: None,
        }
    }
}

impl Module for Presence {
    fn name(&self) -> &'static str {
        "presence"
    }

    fn load(&mut self, core: &Arc<BrokerCore>) -> Result<(), String> {
        let actor = PresenceActor {
            core: core.clone(),
            qos: self.qos,
        };
        let addr = actor.start();
        let id = core.hooks.subscribe_actor(
            &[EventKind::ClientConnected, EventKind::ClientDisconnected],
            addr.clone().recipient(),
        );
        self.loaded = Some((id, addr));
        Ok(())
    }

    fn unload(&mut self, core: &BrokerCore) {
        if let Some((id, _addr)) = self.loaded.take() {
            core.hooks.remove(id);
            // Dropping the last address stops the actor once its mailbox is empty.
        }
    }
}

/// Publishes presence messages off the sessions' threads.
pub struct PresenceActor {
    core: Arc<BrokerCore>,
    qos: QoS,
}

impl PresenceActor {
    fn publish(&self, client_id: &str, what: &str, payload: String) {
        let topic = topic(&self.core.node, client_id, what);
        let mut message = Message::new(
            self.core.node.clone(),
            topic.into(),
            Bytes::from(payload),
            self.qos,
            false,
        );
        message.sys = true;
        self.core.publish(message, None);
    }
}

impl Actor for PresenceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX);
    }
}

impl Handler<HookEvent> for PresenceActor {
    type Result = ();

    fn handle(&mut self, event: HookEvent, _: &mut Self::Context) {
        match event {
            HookEvent::ClientConnected {
                client, connack, ..
            } => {
                let payload = connected_payload(&client, connack, now_secs());
                self.publish(&client.client_id, "connected", payload);
            }
            HookEvent::ClientDisconnected { client, reason } => {
                let payload = disconnected_payload(&client.client_id, reason, now_secs());
                self.publish(&client.client_id, "disconnected", payload);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn client(username: Option<&str>, clean_session: bool) -> Client {
        Client {
            client_id: "dev1".into(),
            username: username.map(Into::into),
            peer: "192.168.1.7:51234".parse().unwrap(),
            protocol: 4,
            clean_session,
            keep_alive: 60,
            listener: "mqtt:tcp:external".into(),
            connected_at: std::time::SystemTime::now(),
        }
    }

    #[test]
    fn connected_payload_has_emqttd_fields_in_order() {
        let text = connected_payload(&client(Some("bob"), false), 0, 1_500_000_000);
        assert_eq!(
            text,
            r#"{"clientid":"dev1","username":"bob","ipaddress":"192.168.1.7","session":true,"protocol":4,"connack":0,"ts":1500000000}"#
        );
        let value: Value =
            serde_json::from_str(&connected_payload(&client(None, true), 0, 1)).unwrap();
        assert_eq!(value["username"], Value::Null);
        assert_eq!(value["session"], json!(false));
    }

    #[test]
    fn disconnected_payload_and_topics() {
        assert_eq!(
            disconnected_payload("dev1", "keepalive_timeout", 7),
            r#"{"clientid":"dev1","reason":"keepalive_timeout","ts":7}"#
        );
        assert_eq!(
            topic("emqttd@127.0.0.1", "dev1", "connected"),
            "$SYS/brokers/emqttd@127.0.0.1/clients/dev1/connected"
        );
    }
}
