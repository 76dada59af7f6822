//! The session's side of the hook points (emqttd_protocol / emqttd_session's `run_hooks`
//! calls): the `client.subscribe` / `client.unsubscribe` chains, `session.subscribed` /
//! `session.unsubscribed` events, and [`SubscribeOnBehalf`], the internal "subscribe this
//! session" request the autosub module (and plugins) use (emqttd_client:subscribe/2).

use crate::hooks::{EventKind, HookEvent, TopicEntry};
use crate::mqtt::packet::QoS;
use crate::session::actor::{Phase, SessionActor};
use crate::session::inbox::Delivery;
use actix::prelude::*;
use bytestring::ByteString;

/// Subscribe a connected session to `topics` through its SUBSCRIBE path (validation,
/// `max_subscriptions`, routes, retained messages, `session.subscribed`) without a SUBACK,
/// and without the `client.subscribe` chain and ACL, which apply to the client's own packets.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscribeOnBehalf {
    pub topics: Vec<(ByteString, QoS)>,
}

impl Handler<SubscribeOnBehalf> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: SubscribeOnBehalf, ctx: &mut Self::Context) {
        if self.phase != Phase::Connected {
            return;
        }
        let allowed = vec![true; msg.topics.len()];
        self.subscribe_filters(None, msg.topics, allowed, ctx);
    }
}

impl SessionActor {
    /// Run `client.subscribe` over a SUBSCRIBE's topic table, in place; true for each entry a
    /// callback refused.
    pub(crate) fn run_client_subscribe(&self, filters: &mut [(ByteString, QoS)]) -> Vec<bool> {
        let Some(client) = &self.hook_client else {
            return vec![false; filters.len()];
        };
        let mut table: Vec<TopicEntry> = filters
            .iter()
            .map(|(filter, qos)| TopicEntry {
                filter: filter.clone(),
                qos: *qos,
                refused: false,
            })
            .collect();
        self.core.hooks.run_client_subscribe(client, &mut table);
        table
            .into_iter()
            .zip(filters.iter_mut())
            .map(|(entry, slot)| {
                *slot = (entry.filter, entry.qos);
                entry.refused
            })
            .collect()
    }

    /// Run `client.unsubscribe` over an UNSUBSCRIBE's filters, in place.
    pub(crate) fn run_client_unsubscribe(&self, filters: &mut Vec<ByteString>) {
        if let Some(client) = &self.hook_client {
            self.core.hooks.run_client_unsubscribe(client, filters);
        }
    }

    /// `session.subscribed` for each granted filter.
    pub(crate) fn notify_subscribed(&self, granted: &[(ByteString, QoS)]) {
        let Some(client) = &self.hook_client else {
            return;
        };
        for (filter, qos) in granted {
            self.core.notify(EventKind::SessionSubscribed, || {
                HookEvent::SessionSubscribed {
                    client: client.clone(),
                    filter: filter.clone(),
                    qos: *qos,
                }
            });
        }
    }

    /// A CONNECT was accepted and CONNACK 0 queued: the session takes this client,
    /// then `session.created` (a new session), `client.connack` and `client.connected`.
    pub(crate) fn notify_accepted(&mut self, session_present: bool) {
        let Some(client) = self.hook_client.clone() else {
            return;
        };
        if let Some(session) = &mut self.session {
            session.hook_client = Some(client.clone());
        }
        if !session_present {
            self.core
                .notify(EventKind::SessionCreated, || HookEvent::SessionCreated {
                    client: client.clone(),
                });
        }
        self.core
            .notify(EventKind::ClientConnack, || HookEvent::ClientConnack {
                client: client.clone(),
                connack: 0,
            });
        self.core
            .notify(EventKind::ClientConnected, || HookEvent::ClientConnected {
                client: client.clone(),
                connack: 0,
                session_present,
            });
    }

    /// `message.acked`: the client acknowledged `delivery` (PUBACK, or PUBREC for QoS 2).
    pub(crate) fn notify_acked(&self, delivery: &Delivery) {
        if let Some(client) = &self.hook_client {
            self.core
                .notify(EventKind::MessageAcked, || HookEvent::MessageAcked {
                    client: client.clone(),
                    message: delivery.message.clone(),
                });
        }
    }

    /// `message.delivered`: `delivery` is about to be written to the client.
    pub(crate) fn notify_delivered(&self, delivery: &Delivery) {
        if let Some(client) = &self.hook_client {
            self.core.notify(EventKind::MessageDelivered, || {
                HookEvent::MessageDelivered {
                    client: client.clone(),
                    message: delivery.message.clone(),
                }
            });
        }
    }

    /// `session.unsubscribed` for each removed filter.
    pub(crate) fn notify_unsubscribed(&self, removed: &[ByteString]) {
        let Some(client) = &self.hook_client else {
            return;
        };
        for filter in removed {
            self.core.notify(EventKind::SessionUnsubscribed, || {
                HookEvent::SessionUnsubscribed {
                    client: client.clone(),
                    filter: filter.clone(),
                }
            });
        }
    }
}
