//! Packets from a connected client (emqttd_protocol's received/2): PUBLISH and its acks,
//! SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT, and the protocol errors that close a connection.

use crate::access::{Access, AclClient};
use crate::broker::Message;
use crate::mqtt::packet::{
    Packet, Publish, QoS, SubAck, Subscribe, SubscribeReturnCode, Unsubscribe,
};
use crate::mqtt::topic::{validate_filter, validate_name};
use crate::session::actor::{CloseReason, Phase, SessionActor};
use crate::session::awaiting_rel::ReceiveOutcome;
use crate::session::inbox::Delivery;
use crate::session::inflight::PubRecOutcome;
use crate::sys::metrics::Metric;
use actix::prelude::*;
use bytestring::ByteString;
use std::time::Instant;

impl SessionActor {
    pub(crate) fn on_packet(&mut self, packet: Packet, ctx: &mut Context<Self>) {
        match (self.phase, packet) {
            (Phase::AwaitConnect, Packet::Connect(connect)) => self.on_connect(*connect, ctx),
            (Phase::AwaitConnect, other) => {
                let why = format!("{} before CONNECT", other.name());
                self.close(ctx, CloseReason::Abnormal(why))
            }
            (Phase::Connected, packet) => self.on_connected_packet(packet, ctx),
            // Connecting waits in ctx.wait; Offline and Closing have no reader.
            _ => {}
        }
    }

    fn on_connected_packet(&mut self, packet: Packet, ctx: &mut Context<Self>) {
        match packet {
            Packet::Publish(publish) => self.on_publish(publish, ctx),
            Packet::PubAck(id) => match self.session_mut().windows().inflight.puback(id) {
                Some(delivery) => {
                    self.notify_acked(&delivery);
                    self.drain(ctx)
                }
                None => self.core.metrics.inc(Metric::PacketsPubackMissed),
            },
            Packet::PubRec(id) => match self
                .session_mut()
                .windows()
                .inflight
                .pubrec(id, Instant::now())
            {
                PubRecOutcome::Received(delivery) => {
                    self.notify_acked(&delivery);
                    self.send(Packet::PubRel(id))
                }
                PubRecOutcome::AlreadyReleased => self.send(Packet::PubRel(id)),
                PubRecOutcome::Unknown => self.core.metrics.inc(Metric::PacketsPubrecMissed),
            },
            Packet::PubRel(id) => {
                if !self.session_mut().windows().awaiting_rel.release(id) {
                    self.core.metrics.inc(Metric::PacketsPubrelMissed);
                }
                // MQTT-4.3.3: PUBCOMP even for an id we no longer know.
                self.send(Packet::PubComp(id));
            }
            Packet::PubComp(id) => {
                if self.session_mut().windows().inflight.pubcomp(id) {
                    self.drain(ctx);
                } else {
                    self.core.metrics.inc(Metric::PacketsPubcompMissed);
                }
            }
            Packet::Subscribe(subscribe) => self.on_subscribe(subscribe, ctx),
            Packet::Unsubscribe(unsubscribe) => self.on_unsubscribe(unsubscribe, ctx),
            Packet::PingReq => self.send(Packet::PingResp),
            Packet::Disconnect => {
                if let Some(client) = &mut self.client {
                    client.will = None; // MQTT-3.14.4-3
                }
                self.close(ctx, CloseReason::Disconnect);
            }
            Packet::Connect(_) => {
                self.close(ctx, CloseReason::Abnormal("second CONNECT".into())) // MQTT-3.1.0-2
            }
            server_only @ (Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp) => {
                let why = format!("{} is a server-to-client packet", server_only.name());
                self.close(ctx, CloseReason::Abnormal(why));
            }
        }
    }

    pub(crate) fn session_mut(&mut self) -> &mut crate::session::state::SessionState {
        self.session
            .as_mut()
            .expect("a connected session actor always holds its session")
    }

    fn on_publish(&mut self, publish: Publish, ctx: &mut Context<Self>) {
        if let Err(error) = validate_name(&publish.topic) {
            let why = format!("PUBLISH to invalid topic {:?}: {}", publish.topic, error);
            return self.close(ctx, CloseReason::Abnormal(why));
        }
        // ACL (emqttd_protocol): a denied PUBLISH is dropped, logged and counted; it is still
        // acknowledged so the client's window moves on (emqttd 2.3 sent no ack).
        let allowed = self.acl_allows(Access::Publish, &publish.topic);
        if !allowed {
            self.core.metrics.inc(Metric::MessagesDropped);
        }
        let Some(client) = &self.client else { return };
        let message = Message::new(
            client.client_id.clone(),
            publish.topic,
            publish.payload,
            publish.qos,
            publish.retain,
        );
        let key = self.session_mut().key;
        match (publish.qos, publish.packet_id) {
            (QoS::AtMostOnce, _) => {
                if allowed {
                    self.core.publish(message, Some(key));
                }
            }
            (QoS::AtLeastOnce, Some(id)) => {
                if allowed {
                    self.core.publish(message, Some(key));
                }
                self.send(Packet::PubAck(id));
            }
            (QoS::ExactlyOnce, Some(id)) => {
                match self
                    .session_mut()
                    .windows()
                    .awaiting_rel
                    .receive(id, Instant::now())
                {
                    ReceiveOutcome::New => {
                        if allowed {
                            self.core.publish(message, Some(key));
                        }
                        self.send(Packet::PubRec(id));
                        self.ensure_timer(ctx);
                    }
                    ReceiveOutcome::Duplicate => self.send(Packet::PubRec(id)),
                    ReceiveOutcome::Full => {
                        self.core.metrics.inc(Metric::MessagesQos2Dropped);
                        log::warn!(
                            "{}: QoS 2 message on {} dropped: mqtt.session.max_awaiting_rel reached",
                            self.who(),
                            message.topic
                        );
                    }
                }
            }
            // The decoder guarantees a packet id for QoS 1 and 2.
            (_, None) => {}
        }
    }

    /// The ACL decision for this client (superusers skip it); a denial is logged and counted
    /// in `acl/deny`.
    pub(crate) fn acl_allows(&mut self, access: Access, topic: &str) -> bool {
        let Some(crate::session::actor::ClientInfo {
            info,
            access: client_access,
            ..
        }) = &mut self.client
        else {
            return false;
        };
        let who = AclClient {
            client_id: &info.client_id,
            username: info.username.as_deref(),
            ip: Some(self.peer.ip()),
        };
        if client_access.allowed(&self.core.access, &who, access, topic) {
            return true;
        }
        self.core.metrics.inc(Metric::AclDeny);
        let verb = match access {
            Access::Publish => "PUBLISH to",
            _ => "SUBSCRIBE to",
        };
        log::info!("{}: {} {:?} denied by the ACL", self.who(), verb, topic);
        false
    }

    fn on_subscribe(&mut self, mut subscribe: Subscribe, ctx: &mut Context<Self>) {
        // client.subscribe may rewrite the table or refuse entries (0x80) first.
        let hook_refused = self.run_client_subscribe(&mut subscribe.topic_filters);
        // ACL per filter: a denied filter gets 0x80, the others are granted (MQTT-correct;
        // emqttd 2.3 answered 0x80 for every filter when one was denied).
        let acl_allowed: Vec<bool> = subscribe
            .topic_filters
            .iter()
            .zip(hook_refused)
            .map(|((filter, _), refused)| {
                !refused
                    && (validate_filter(filter).is_err()
                        || self.acl_allows(Access::Subscribe, filter))
            })
            .collect();
        self.subscribe_filters(
            Some(subscribe.packet_id),
            subscribe.topic_filters,
            acl_allowed,
            ctx,
        );
    }

    /// The SUBSCRIBE path after hooks and ACL (`allowed` per filter): SUBACK when `packet_id`
    /// is given (not for [`crate::session::SubscribeOnBehalf`]), then retained messages.
    pub(crate) fn subscribe_filters(
        &mut self,
        packet_id: Option<crate::mqtt::packet::PacketId>,
        topic_filters: Vec<(ByteString, QoS)>,
        allowed: Vec<bool>,
        ctx: &mut Context<Self>,
    ) {
        let core = self.core.clone();
        let max_subscriptions = core.config.mqtt.session.max_subscriptions;
        let who = self.who();
        let session = self.session_mut();
        let mut return_codes = Vec::with_capacity(topic_filters.len());
        let mut granted: Vec<(ByteString, QoS)> = Vec::new();
        for ((filter, qos), acl_allowed) in topic_filters.into_iter().zip(allowed) {
            let full = max_subscriptions > 0
                && session.subscriptions.len() >= max_subscriptions
                && !session.subscriptions.contains_key(&filter);
            if let Err(error) = validate_filter(&filter) {
                log::info!(
                    "{}: SUBSCRIBE to invalid filter {:?}: {}",
                    who,
                    filter,
                    error
                );
                return_codes.push(SubscribeReturnCode::Failure);
            } else if !acl_allowed {
                return_codes.push(SubscribeReturnCode::Failure);
            } else if full {
                log::info!(
                    "{}: SUBSCRIBE to {:?} refused: mqtt.session.max_subscriptions",
                    who,
                    filter
                );
                return_codes.push(SubscribeReturnCode::Failure);
            } else {
                session.subscriptions.insert(&filter, qos);
                return_codes.push(SubscribeReturnCode::Success(qos));
                granted.push((filter, qos));
            }
        }
        let key = session.key;
        let inbox = session.inbox().clone();
        let adds: Vec<_> = granted
            .iter()
            .map(|(filter, qos)| {
                core.router
                    .subscribe(filter.clone(), key, *qos, inbox.clone())
            })
            .collect();
        let routed = futures_util::future::join_all(adds);
        ctx.wait(routed.into_actor(self).map(move |_, act, ctx| {
            if let Some(packet_id) = packet_id {
                act.send(Packet::SubAck(SubAck {
                    packet_id,
                    return_codes,
                }));
            }
            act.notify_subscribed(&granted);
            act.queue_retained(&granted);
            act.drain(ctx);
        }));
    }

    /// MQTT-3.3.1-6: a new subscription receives the matching retained messages, RETAIN=1.
    fn queue_retained(&mut self, granted: &[(ByteString, QoS)]) {
        let upgrade = self.core.config.mqtt.session.upgrade_qos;
        for (filter, granted_qos) in granted {
            for message in self.core.retainer.matching(filter) {
                let qos = if upgrade {
                    *granted_qos
                } else {
                    message.qos.min(*granted_qos)
                };
                let delivery = Delivery {
                    message,
                    qos,
                    retain: true,
                };
                self.session_mut().windows().backlog.push_back(delivery);
            }
        }
    }

    fn on_unsubscribe(&mut self, mut unsubscribe: Unsubscribe, ctx: &mut Context<Self>) {
        self.run_client_unsubscribe(&mut unsubscribe.topic_filters);
        let session = self.session_mut();
        let filters: Vec<ByteString> = unsubscribe
            .topic_filters
            .into_iter()
            .filter(|filter| session.subscriptions.remove(filter).is_some())
            .collect();
        let key = session.key;
        self.notify_unsubscribed(&filters);
        let removed = futures_util::future::join_all(self.core.router.unsubscribe(filters, key));
        let packet_id = unsubscribe.packet_id;
        ctx.wait(removed.into_actor(self).map(move |_, act, _| {
            act.send(Packet::UnsubAck(packet_id));
        }));
    }
}
