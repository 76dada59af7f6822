//! Delivery to the client (emqttd_session's dispatch/deliver): from the retained backlog and
//! the inbox into the inflight window and onto the wire, retries with DUP, and the re-send of
//! everything unacknowledged when a session resumes.

use crate::mqtt::packet::{Packet, PacketId, Publish, QoS};
use crate::session::actor::{Phase, SessionActor};
use crate::session::inbox::Delivery;
use crate::session::inflight::InflightState;
use crate::session::io::OUT_HIGH_WATER;
use crate::sys::metrics::Metric;
use actix::prelude::*;
use std::time::Instant;

/// Deliveries taken from the queues per round, between checks of the output buffer.
const DRAIN_BATCH: usize = 64;

thread_local! {
    /// One round's deliveries, kept between rounds by each worker thread.
    static READY: std::cell::RefCell<Vec<Delivery>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl SessionActor {
    /// Send what the inflight window and the output buffer allow: the retained backlog
    /// first, then the inbox. With the output buffer full, wait for the driver to flush;
    /// with the inbox empty, leave the driver's waker in it for the next publisher.
    pub(crate) fn drain(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Connected {
            return;
        }
        let waker = self.io_waker.clone();
        // The worker's batch buffer, reused: no allocation per wake-up.
        let mut ready = READY.with(|ready| std::mem::take(&mut *ready.borrow_mut()));
        loop {
            if self.out.len() >= OUT_HIGH_WATER {
                self.drain_blocked = true;
                break;
            }
            let session = self.session_mut();
            let mut free = session
                .windows_if_any()
                .map_or(usize::MAX, |w| w.free_slots());
            let has_backlog = session
                .windows_if_any()
                .is_some_and(|w| !w.backlog.is_empty());
            if has_backlog {
                let backlog = &mut session.windows().backlog;
                while ready.len() < DRAIN_BATCH {
                    let Some(front) = backlog.front() else { break };
                    if front.qos != QoS::AtMostOnce {
                        if free == 0 {
                            break;
                        }
                        free -= 1;
                    }
                    ready.extend(backlog.pop_front());
                }
            }
            if !has_backlog || session.windows().backlog.is_empty() {
                let room = DRAIN_BATCH - ready.len();
                if let Some(inbox) = session.inbox_if_any() {
                    inbox.take(free, room, &mut ready, waker.as_ref());
                }
            }
            if ready.is_empty() {
                break;
            }
            for delivery in ready.drain(..) {
                self.send_delivery(delivery);
            }
        }
        READY.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.capacity() < ready.capacity() {
                *cell = ready;
            }
        });
        self.ensure_timer(ctx);
    }

    fn send_delivery(&mut self, delivery: Delivery) {
        let packet_id = if delivery.qos == QoS::AtMostOnce {
            None
        } else {
            let windows = self.session_mut().windows();
            let Some(id) = windows.next_packet_id() else {
                // 65,535 messages inflight: only possible with an unlimited window.
                self.core.metrics.inc(Metric::MessagesDropped);
                return;
            };
            let state = if delivery.qos == QoS::AtLeastOnce {
                InflightState::AwaitPubAck(delivery.clone())
            } else {
                InflightState::AwaitPubRec(delivery.clone())
            };
            windows.inflight.insert(id, state, Instant::now());
            Some(id)
        };
        self.notify_delivered(&delivery);
        self.send(Packet::Publish(publish_of(&delivery, packet_id, false)));
    }

    /// Re-send every unacknowledged message, DUP=1, on resume (MQTT-4.4.0-1).
    pub(crate) fn resend_inflight(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let Some(windows) = self.session.as_ref().and_then(|s| s.windows_if_any()) else {
            return;
        };
        let ids: Vec<_> = windows.inflight.iter().map(|(id, _)| id).collect();
        for id in ids {
            self.retransmit(id, now);
        }
        self.ensure_timer(ctx);
    }

    fn retransmit(&mut self, id: PacketId, now: Instant) {
        let windows = self.session_mut().windows();
        let packet = match windows.inflight.get(id).map(|entry| &entry.state) {
            Some(InflightState::AwaitPubAck(delivery) | InflightState::AwaitPubRec(delivery)) => {
                Packet::Publish(publish_of(delivery, Some(id), true))
            }
            Some(InflightState::AwaitPubComp) => Packet::PubRel(id),
            None => return,
        };
        windows.inflight.touch(id, now);
        self.send(packet);
    }

    /// Keep one timer armed while messages await acks (retry) or PUBREL (expiry).
    pub(crate) fn ensure_timer(&mut self, ctx: &mut Context<Self>) {
        if self.retry_timer.is_some() {
            return;
        }
        let retry_interval = self.core.config.mqtt.session.retry_interval;
        let Some(windows) = self.session.as_ref().and_then(|s| s.windows_if_any()) else {
            return;
        };
        let next_retry = if self.phase == Phase::Connected && !retry_interval.is_zero() {
            windows.inflight.next_retry_at(retry_interval)
        } else {
            None // offline: everything is re-sent on resume instead
        };
        let next_expiry = windows.awaiting_rel.next_expiry();
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
        let connected = self.phase == Phase::Connected;
        let windows = self.session_mut().windows();
        let expired = windows.awaiting_rel.expire(now);
        if expired > 0 {
            log::info!("{}: {} QoS 2 ids expired awaiting PUBREL", who, expired);
        }
        if !connected || retry_interval.is_zero() {
            return;
        }
        for id in windows.inflight.due_for_retry(now, retry_interval) {
            self.retransmit(id, now);
        }
    }
}

/// The PUBLISH packet of a delivery.
fn publish_of(delivery: &Delivery, packet_id: Option<PacketId>, dup: bool) -> Publish {
    Publish {
        dup,
        qos: delivery.qos,
        retain: delivery.retain,
        topic: delivery.message.topic.clone(),
        packet_id,
        payload: delivery.message.payload.clone(),
    }
}
