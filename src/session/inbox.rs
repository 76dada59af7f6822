//! A session's delivery inbox: the bounded message queue that publishers fill and the session
//! actor drains (the mqueue of emqttd_session.erl, made shareable across worker threads).
//!
//! Publishers never talk to the session actor on the delivery path: they push into this queue
//! under a short lock and wake the actor through a `Notify`. A slow or offline subscriber fills
//! its own queue (bounded by `mqtt.mqueue.max_length`, oldest dropped first), never the broker's
//! memory.

use crate::broker::Message;
use crate::mqtt::packet::QoS;
use crate::session::mqueue::{MessageQueue, PushOutcome};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// One message on its way to one subscriber, at the QoS it is delivered with.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message: Arc<Message>,
    pub qos: QoS,
    /// True when sent because of a new subscription (a retained message): RETAIN=1 on the wire.
    pub retain: bool,
}

/// What became of a delivery pushed into an inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverOutcome {
    Queued,
    /// Queued, and the oldest queued message was dropped to make room.
    QueuedDroppedOldest,
    /// Not queued (QoS 0 for an offline client with `store_qos0 = false`).
    Dropped,
}

struct InboxState {
    queue: MessageQueue<Delivery>,
    online: bool,
}

/// The shared end of a session's queue. Cloned as `Arc<Inbox>` into every route of the session.
pub struct Inbox {
    state: Mutex<InboxState>,
    wake: Notify,
}

impl Inbox {
    pub fn new(max_length: usize, store_qos0: bool) -> Arc<Inbox> {
        Arc::new(Inbox {
            state: Mutex::new(InboxState {
                queue: MessageQueue::new(max_length, store_qos0),
                online: false,
            }),
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, InboxState> {
        // A panic while holding this lock cannot leave the queue half-updated (each operation
        // is a single VecDeque call), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Push a delivery and wake the session if it is connected.
    pub fn deliver(&self, delivery: Delivery) -> DeliverOutcome {
        let qos = delivery.qos;
        let (outcome, online) = {
            let mut state = self.lock();
            let online = state.online;
            let outcome = match state.queue.push(delivery, qos, online) {
                PushOutcome::Queued => DeliverOutcome::Queued,
                PushOutcome::QueuedDroppedOldest(_) => DeliverOutcome::QueuedDroppedOldest,
                PushOutcome::Rejected(_) => DeliverOutcome::Dropped,
            };
            (outcome, online)
        };
        if online && outcome != DeliverOutcome::Dropped {
            self.wake.notify_one();
        }
        outcome
    }

    /// Take up to `max` deliveries, oldest first; QoS 0 deliveries are always taken (they need
    /// no inflight slot), so pass the free inflight slots as `max_qos12`.
    pub fn take(&self, mut max_qos12: usize, out: &mut Vec<Delivery>) {
        let mut state = self.lock();
        while let Some(front) = state.queue.peek() {
            if front.qos != QoS::AtMostOnce {
                if max_qos12 == 0 {
                    break;
                }
                max_qos12 -= 1;
            }
            match state.queue.pop() {
                Some(delivery) => out.push(delivery),
                None => break,
            }
        }
    }

    /// Mark the session connected (deliveries wake it) or offline (they just queue).
    pub fn set_online(&self, online: bool) {
        self.lock().online = online;
        if online {
            self.wake.notify_one();
        }
    }

    /// Wait until a delivery has been pushed since the last call.
    pub async fn notified(&self) {
        self.wake.notified().await
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages dropped by this queue so far.
    pub fn dropped(&self) -> u64 {
        self.lock().queue.dropped()
    }
}
