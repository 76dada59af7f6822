//! The autosub module (replaces emqttd_mod_subscription): on `client.connected` with CONNACK 0
//! it makes the client's session subscribe itself to the configured topics, `%c` and `%u`
//! levels replaced by the client id and username. The session runs them through its own
//! SUBSCRIBE path (routes, retained messages, `session.subscribed`), without a SUBACK.

use crate::broker::BrokerCore;
use crate::config::AutosubConfig;
use crate::hooks::{EventKind, HookEvent, HookId};
use crate::modules::{feed_var, Module};
use crate::mqtt::packet::QoS;
use crate::session::SubscribeOnBehalf;
use actix::prelude::*;
use bytestring::ByteString;
use std::sync::Arc;

const MAILBOX: usize = 65_536;

/// The configured topics for one client: `%c` → client id, `%u` → username. A topic with a
/// `%u` level is skipped for a client without a username.
pub fn expand(
    topics: &[(String, QoS)],
    client_id: &str,
    username: Option<&str>,
) -> Vec<(ByteString, QoS)> {
    topics
        .iter()
        .filter_map(|(topic, qos)| {
            let topic = feed_var(topic, "%c", client_id);
            let has_u = crate::mqtt::topic::levels(&topic).any(|level| level == "%u");
            let topic = match (has_u, username) {
                (false, _) => topic,
                (true, Some(username)) => feed_var(&topic, "%u", username),
                (true, None) => return None,
            };
            Some((ByteString::from(topic), *qos))
        })
        .collect()
}

pub struct Autosub {
    topics: Arc<Vec<(String, QoS)>>,
    loaded: Option<(HookId, Addr<AutosubActor>)>,
}

impl Autosub {
    pub fn new(config: &AutosubConfig) -> Autosub {
        let topics = config
            .topics
            .iter()
            .map(|t| {
                let qos = QoS::from_u8(t.qos).unwrap_or(QoS::AtMostOnce);
                (t.topic.clone(), qos)
            })
            .collect();
        Autosub {
            topics: Arc::new(topics),
            loaded: None,
        }
    }
}

impl Module for Autosub {
    fn name(&self) -> &'static str {
        "autosub"
    }

    fn load(&mut self, core: &Arc<BrokerCore>) -> Result<(), String> {
        let addr = AutosubActor {
            core: core.clone(),
            topics: self.topics.clone(),
        }
        .start();
        let id = core
            .hooks
            .subscribe_actor(&[EventKind::ClientConnected], addr.clone().recipient());
        self.loaded = Some((id, addr));
        Ok(())
    }

    fn unload(&mut self, core: &BrokerCore) {
        if let Some((id, _addr)) = self.loaded.take() {
            core.hooks.remove(id);
        }
    }
}

pub struct AutosubActor {
    core: Arc<BrokerCore>,
    topics: Arc<Vec<(String, QoS)>>,
}

impl Actor for AutosubActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX);
    }
}

impl Handler<HookEvent> for AutosubActor {
    type Result = ();

    fn handle(&mut self, event: HookEvent, _: &mut Self::Context) {
        let HookEvent::ClientConnected {
            client, connack: 0, ..
        } = event
        else {
            return;
        };
        let topics = expand(&self.topics, &client.client_id, client.username.as_deref());
        if topics.is_empty() {
            return;
        }
        let Some(session) = self.core.sessions.lookup(&client.client_id) else {
            return; // gone already
        };
        if session.try_send(SubscribeOnBehalf { topics }).is_err() {
            log::warn!(
                "autosub: session of {} did not take its subscriptions (mailbox full or closed)",
                client.client_id
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_expanded_per_client() {
        let topics = vec![
            ("$client/%c".to_string(), QoS::AtLeastOnce),
            ("users/%u/inbox".to_string(), QoS::ExactlyOnce),
            ("all".to_string(), QoS::AtMostOnce),
        ];
        let with_user = expand(&topics, "dev1", Some("bob"));
        assert_eq!(
            with_user,
            vec![
                ("$client/dev1".into(), QoS::AtLeastOnce),
                ("users/bob/inbox".into(), QoS::ExactlyOnce),
                ("all".into(), QoS::AtMostOnce),
            ]
        );
        let anonymous = expand(&topics, "dev2", None);
        assert_eq!(
            anonymous,
            vec![
                ("$client/dev2".into(), QoS::AtLeastOnce),
                ("all".into(), QoS::AtMostOnce),
            ]
        );
    }
}
