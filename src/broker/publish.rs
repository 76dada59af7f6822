//! The publish path (emqttd_pubsub:publish/dispatch), run inline by the publishing session:
//! hooks, retain, route lookup in the shared index, and a push into each subscriber's inbox.
//! No actor round trip, no copy of the payload.

use crate::broker::{BrokerCore, Message};
use crate::hooks::{DropReason, EventKind, HookEvent};
use crate::retainer::RetainOutcome;
use crate::router::{Route, SessionKey};
use crate::session::inbox::{DeliverOutcome, Delivery};
use crate::sys::metrics::Metric;
use std::cell::RefCell;
use std::sync::Arc;

/// How many subscribers a publish reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishOutcome {
    pub delivered: usize,
}

thread_local! {
    static MATCHED: RefCell<Vec<(SessionKey, Route)>> = const { RefCell::new(Vec::new()) };
}

impl BrokerCore {
    /// Publish `message` from session `origin` (None for the broker itself).
    pub fn publish(&self, message: Message, origin: Option<SessionKey>) -> PublishOutcome {
        // A copy to report a hook's drop with, only when somebody listens.
        let original = self
            .hooks
            .wants(EventKind::MessageDropped)
            .then(|| message.clone());
        let Some(message) = self.hooks.run_message_publish(message) else {
            self.metrics.inc(Metric::MessagesDropped);
            if let Some(original) = original {
                self.notify(EventKind::MessageDropped, || HookEvent::MessageDropped {
                    message: Arc::new(original),
                    reason: DropReason::Hook,
                });
            }
            return PublishOutcome { delivered: 0 };
        };
        let message = Arc::new(message);
        if message.retain {
            match self.retainer.retain(&message) {
                RetainOutcome::Refused => {
                    log::warn!(
                        "retained message on {} not stored: over the retainer limits",
                        message.topic
                    );
                }
                RetainOutcome::Stored | RetainOutcome::Cleared => {}
            }
            self.metrics
                .set(Metric::MessagesRetained, self.retainer.len() as u64);
        }
        let delivered = self.dispatch(&message, origin);
        if delivered == 0 {
            self.metrics.inc(Metric::MessagesDropped);
            self.notify(EventKind::MessageDropped, || HookEvent::MessageDropped {
                message: message.clone(),
                reason: DropReason::NoSubscribers,
            });
        }
        PublishOutcome { delivered }
    }

    fn dispatch(&self, message: &Arc<Message>, origin: Option<SessionKey>) -> usize {
        let skip = if self.config.mqtt.session.ignore_loop_deliver {
            origin
        } else {
            None
        };
        // A per-thread buffer: no allocation per publish once it has grown.
        let mut matched = MATCHED.with(|buffer| std::mem::take(&mut *buffer.borrow_mut()));
        self.router
            .index()
            .for_each_match(&message.topic, |key, route| {
                if Some(key) != skip {
                    matched.push((key, route.clone()));
                }
            });
        // Overlapping subscriptions of one session get one copy at the highest granted QoS.
        if matched.len() > 1 {
            matched.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.qos.cmp(&a.1.qos)));
            matched.dedup_by_key(|(key, _)| *key);
        }
        let upgrade = self.config.mqtt.session.upgrade_qos;
        for (_, route) in &matched {
            let qos = if upgrade {
                route.qos
            } else {
                route.qos.min(message.qos)
            };
            let delivery = Delivery {
                message: message.clone(),
                qos,
                retain: false,
            };
            match route.inbox.deliver(delivery) {
                DeliverOutcome::Queued => {}
                DeliverOutcome::QueuedDroppedOldest(dropped) => self.queue_drop(dropped),
                DeliverOutcome::Dropped => self.queue_drop(message.clone()),
            }
        }
        let delivered = matched.len();
        matched.clear();
        MATCHED.with(|buffer| *buffer.borrow_mut() = matched);
        delivered
    }

    /// A session's queue dropped `message` (full, or QoS 0 for an offline client).
    fn queue_drop(&self, message: Arc<Message>) {
        self.metrics.inc(Metric::MessagesDropped);
        self.notify(EventKind::MessageDropped, || HookEvent::MessageDropped {
            message,
            reason: DropReason::QueueFull,
        });
    }
}
