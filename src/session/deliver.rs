//! Delivery to the client (emqttd_session's dispatch/deliver): from the retained backlog and
//! the inbox into the inflight window and onto the wire, retries with DUP, and the re-send of
//! everything unacknowledged when a session resumes.

use crate::mqtt::packet::{Packet, Publish, QoS};
use crate::session::actor::{Phase, SessionActor};
use crate::session::inbox::Delivery;
use crate::session::inflight::InflightState;
use crate::sys::metrics::Metric;
use actix::prelude::*;
use std::time::Instant;

impl SessionActor {
    /// Send what the inflight window allows: the retained backlog first, then the inbox.
    pub(crate) fn drain(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Connected {
            return;
        }
        let mut ready = Vec::new();
        let session = self.session_mut();
        let mut free = session.free_slots();
        while let Some(front) = session.backlog.front() {
            if front.qos != QoS::AtMostOnce {
                if free == 0 {
                    break;
                }
                free -= 1;
            }
            ready.extend(session.backlog.pop_front());
        }
        if session.backlog.is_empty() {
            session.inbox.take(free, &mut ready);
        }
        for delivery in ready {
            self.send_delivery(delivery);
        }
        self.ensure_timer(ctx);
    }

    fn send_delivery(&mut self, delivery: Delivery) {
        let packet_id = if delivery.qos == QoS::AtMostOnce {
            None
        } else {
            let session = self.session_mut();
            let Some(id) = session.next_packet_id() else {
                // 65,535 messages inflight: only possible with an unlimited window.
                self.core.metrics.inc(Metric::MessagesDropped);
                return;
            };
            let state = if delivery.qos == QoS::AtLeastOnce {
                InflightState::AwaitPubAck(delivery.clone())
            } else {
                InflightState::AwaitPubRec(delivery.clone())
            };
            session.inflight.insert(id, state, Instant::now());
            Some(id)
        };
        self.send(Packet::Publish(publish_of(&delivery, packet_id, false)));
    }

    /// Re-send every unacknowledged message, DUP=1, on resume (MQTT-4.4.0-1).
    pub(crate) fn resend_inflight(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let session = self.session_mut();
        let ids: Vec<_> = session.inflight.iter().map(|(id, _)| id).collect();
        for id in ids {
            self.retransmit(id, now);
        }
        self.ensure_timer(ctx);
    }

    fn retransmit(&mut self, id: crate::mqtt::packet::PacketId, now: Instant) {
        let session = self.session_mut();
        let packet = match session.inflight.get(id).map(|entry| &entry.state) {
            Some(InflightState::AwaitPubAck(delivery) | InflightState::AwaitPubRec(delivery)) => {
                Packet::Publish(publish_of(delivery, Some(id), true))
            }
            Some(InflightState::AwaitPubComp) => Packet::PubRel(id),
            None => return,
        };
        session.inflight.touch(id, now);
        self.send(packet);
    }

    /// Keep one timer armed while messages await acks (retry) or PUBREL (expiry).
    pub(crate) fn ensure_timer(&mut self, ctx: &mut Context<Self>) {
        if self.retry_timer.is_some() {
            return;
        }
        let retry_interval = self.core.config.mqtt.session.retry_interval;
        let Some(session) = &self.session else { return };
        let next_retry = if self.phase == Phase::Connected && !retry_interval.is_zero() {
            session.inflight.next_retry_at(retry_interval)
        } else {
            None // offline: everything is re-sent on resume instead
        };
        let next_expiry = session.awaiting_rel.next_expiry();
        let due = match (next_retry, next_expiry) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return,
        };
        let after = due.saturating_duration_since(Instant::now());
        self.retry_timer = Some(ctx.run_later(after, |act, ctx| {
            act.retry_timer = None;
            act.on_timer();
            act.ensure_timer(ctx);
        }));
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        let retry_interval = self.core.config.mqtt.session.retry_interval;
        let who = self.who();
        let session = self.session_mut();
        let expired = session.awaiting_rel.expire(now);
        if expired > 0 {
            log::info!("{}: {} QoS 2 ids expired awaiting PUBREL", who, expired);
        }
        if self.phase != Phase::Connected || retry_interval.is_zero() {
            return;
        }
        for id in self
            .session_mut()
            .inflight
            .due_for_retry(now, retry_interval)
        {
            self.retransmit(id, now);
        }
    }
}

/// The PUBLISH packet of a delivery.
fn publish_of(
    delivery: &Delivery,
    packet_id: Option<crate::mqtt::packet::PacketId>,
    dup: bool,
) -> Publish {
    Publish {
        dup,
        qos: delivery.qos,
        retain: delivery.retain,
        topic: delivery.message.topic.clone(),
        packet_id,
        payload: delivery.message.payload.clone(),
    }
}
