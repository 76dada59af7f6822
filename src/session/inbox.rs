//! A session's delivery inbox: the bounded message queue that publishers fill and the session
//! actor drains (the mqueue of emqttd_session.erl, made shareable across worker threads).
//!
//! Publishers never talk to the session actor on the delivery path: they push into this queue
//! under a short lock and wake the actor's connection driver through the waker it left here
//! when it found the queue empty. A slow or offline subscriber fills its own queue (bounded by
//! `mqtt.mqueue.max_length`, oldest dropped first), never the broker's memory.

use crate::broker::Message;
use crate::mqtt::packet::QoS;
use crate::session::mqueue::{MessageQueue, PushOutcome};
use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

thread_local! {
    /// Sessions woken by deliveries pushed from this thread, ever (wraps).
    static WAKES: Cell<u64> = const { Cell::new(0) };
}

/// How many sessions deliveries pushed from this thread have woken so far: a connection
/// driver compares it before and after handling input to learn whether it woke subscribers.
pub(crate) fn wakes_from_this_thread() -> u64 {
    WAKES.with(Cell::get)
}

/// One message on its way to one subscriber, at the QoS it is delivered with.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message: Arc<Message>,
    pub qos: QoS,
    /// True when sent because of a new subscription (a retained message): RETAIN=1 on the wire.
    pub retain: bool,
}

/// What became of a delivery pushed into an inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliverOutcome {
    Queued,
    /// Queued, and the oldest queued message (this one) was dropped to make room.
    QueuedDroppedOldest(Arc<Message>),
    /// Not queued (QoS 0 for an offline client with `store_qos0 = false`).
    Dropped,
}

struct InboxState {
    queue: MessageQueue<Delivery>,
    online: bool,
    /// The connection driver to wake on the next delivery, left by `take`.
    waker: Option<Waker>,
}

/// The shared end of a session's queue. Cloned as `Arc<Inbox>` into every route of the session.
pub struct Inbox {
    state: Mutex<InboxState>,
}

impl Inbox {
    pub fn new(max_length: usize, store_qos0: bool) -> Arc<Inbox> {
        Arc::new(Inbox {
            state: Mutex::new(InboxState {
                queue: MessageQueue::new(max_length, store_qos0),
                online: false,
                waker: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, InboxState> {
        // A panic while holding this lock cannot leave the queue half-updated (each operation
        // is a single VecDeque call), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Push a delivery and wake the session's connection if it waits for one.
    pub fn deliver(&self, delivery: Delivery) -> DeliverOutcome {
        let qos = delivery.qos;
        let (outcome, waker) = {
            let mut state = self.lock();
            let online = state.online;
            let outcome = match state.queue.push(delivery, qos, online) {
                PushOutcome::Queued => DeliverOutcome::Queued,
                PushOutcome::QueuedDroppedOldest(oldest) => {
                    DeliverOutcome::QueuedDroppedOldest(oldest.message)
                }
                PushOutcome::Rejected(_) => DeliverOutcome::Dropped,
            };
            (outcome, state.waker.take())
        };
        if let Some(waker) = waker {
            WAKES.with(|wakes| wakes.set(wakes.get().wrapping_add(1)));
            waker.wake();
        }
        outcome
    }

    /// Take up to `max` deliveries, oldest first, of which at most `max_qos12` QoS 1/2 ones
    /// (pass the free inflight slots: QoS 0 needs none). Stops at the first QoS 1/2 delivery
    /// that has no slot, to keep the order. When this empties the queue, `waker` is kept to
    /// be woken by the next delivery.
    pub fn take(
        &self,
        mut max_qos12: usize,
        max: usize,
        out: &mut Vec<Delivery>,
        waker: Option<&Waker>,
    ) {
        let mut state = self.lock();
        let mut taken = 0;
        while let Some(front) = state.queue.peek() {
            if taken == max {
                break;
            }
            if front.qos != QoS::AtMostOnce {
                if max_qos12 == 0 {
                    break;
                }
                max_qos12 -= 1;
            }
            taken += 1;
            match state.queue.pop() {
                Some(delivery) => out.push(delivery),
                None => break,
            }
        }
        if state.queue.is_empty() && state.online {
            if let Some(waker) = waker {
                if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    state.waker = Some(waker.clone());
                }
            }
        }
    }

    /// Mark the session connected (deliveries are taken by `take`) or offline (they queue,
    /// and nobody is woken).
    pub fn set_online(&self, online: bool) {
        let mut state = self.lock();
        state.online = online;
        if !online {
            state.waker = None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn delivery(qos: QoS) -> Delivery {
        let message = Message::new("p".into(), "t".into(), bytes::Bytes::new(), qos, false);
        Delivery {
            message: Arc::new(message),
            qos,
            retain: false,
        }
    }

    #[test]
    fn a_drained_inbox_wakes_its_connection_once_on_the_next_delivery() {
        let inbox = Inbox::new(10, true);
        inbox.set_online(true);
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut out = Vec::new();
        inbox.take(10, 10, &mut out, Some(&waker));
        inbox.deliver(delivery(QoS::AtMostOnce));
        inbox.deliver(delivery(QoS::AtMostOnce));
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        inbox.take(10, 10, &mut out, Some(&waker));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn qos1_waits_for_a_free_slot_and_keeps_the_order() {
        let inbox = Inbox::new(10, true);
        inbox.set_online(true);
        inbox.deliver(delivery(QoS::AtLeastOnce));
        inbox.deliver(delivery(QoS::AtMostOnce));
        let mut out = Vec::new();
        inbox.take(0, 10, &mut out, None);
        assert!(out.is_empty());
        inbox.take(1, 10, &mut out, None);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn offline_inboxes_queue_without_waking() {
        let inbox = Inbox::new(2, false);
        assert_eq!(
            inbox.deliver(delivery(QoS::AtMostOnce)),
            DeliverOutcome::Dropped
        );
        inbox.deliver(delivery(QoS::AtLeastOnce));
        inbox.deliver(delivery(QoS::AtLeastOnce));
        assert!(matches!(
            inbox.deliver(delivery(QoS::AtLeastOnce)),
            DeliverOutcome::QueuedDroppedOldest(_)
        ));
        assert_eq!(inbox.len(), 2);
        assert_eq!(inbox.dropped(), 1);
    }
}
