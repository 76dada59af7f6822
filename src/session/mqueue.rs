//! The session's message queue: messages waiting for room in the inflight window or for an offline client to come back (replaces emqttd_mqueue.erl, simple type).
//!
//! A FIFO bounded by `max_length` (0 = unlimited). As in emqttd, a push onto a full queue drops
//! the OLDEST message to make room for the new one, and counts it in [`MessageQueue::dropped`].
//!
//! QoS 0: a QoS 0 message for an offline client is refused unless `store_qos0` is set
//! (MQTT-3.1.2-5 makes storing them optional). While the client is online the session is
//! expected to send QoS 0 messages straight out, as emqttd does, since they never occupy the
//! inflight window; if it pushes one anyway (say, to keep it behind queued messages) it is
//! queued whatever `store_qos0` says.

use crate::mqtt::packet::QoS;
use std::collections::VecDeque;

/// What [`MessageQueue::push`] did with a message. Any message handed back is the caller's to
/// account for (`message.dropped` hook, metrics).
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome<M> {
    /// Queued at the back.
    Queued,
    /// Queued at the back; the queue was full, so this, the oldest message, was dropped (and
    /// counted in [`MessageQueue::dropped`]).
    QueuedDroppedOldest(M),
    /// Not queued: a QoS 0 message for an offline client while `store_qos0` is false. Not
    /// counted in [`MessageQueue::dropped`], which counts overflow only (as emqttd).
    Rejected(M),
}

/// A session's FIFO of messages waiting to be sent.
#[derive(Debug, Clone)]
pub struct MessageQueue<M> {
    queue: VecDeque<M>,
    max_length: usize,
    store_qos0: bool,
    dropped: u64,
}

impl<M> MessageQueue<M> {
    /// An empty queue of at most `max_length` messages (0 = unlimited); `store_qos0` says
    /// whether QoS 0 messages are kept for an offline client.
    pub fn new(max_length: usize, store_qos0: bool) -> Self {
        MessageQueue {
            queue: VecDeque::new(),
            max_length,
            store_qos0,
            dropped: 0,
        }
    }

    /// Appends `msg` (published at `qos`, after any subscription downgrade) for a client that
    /// is connected (`online`) or not. See [`PushOutcome`].
    pub fn push(&mut self, msg: M, qos: QoS, online: bool) -> PushOutcome<M> {
        if qos == QoS::AtMostOnce && !online && !self.store_qos0 {
            return PushOutcome::Rejected(msg);
        }
        let dropped = if self.max_length != 0 && self.queue.len() >= self.max_length {
            self.queue.pop_front()
        } else {
            None
        };
        self.queue.push_back(msg);
        match dropped {
            Some(old) => {
                self.dropped += 1;
                PushOutcome::QueuedDroppedOldest(old)
            }
            None => PushOutcome::Queued,
        }
    }

    /// Takes the oldest message.
    pub fn pop(&mut self) -> Option<M> {
        self.queue.pop_front()
    }

    /// The oldest message, without taking it.
    pub fn peek(&self) -> Option<&M> {
        self.queue.front()
    }

    /// The queued messages, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &M> + '_ {
        self.queue.iter()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The bound (0 = unlimited).
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn store_qos0(&self) -> bool {
        self.store_qos0
    }

    /// How many messages were dropped so far to make room (for `sessions show` and `$SYS`).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<M>(q: &mut MessageQueue<M>) -> Vec<M> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn new_queue_is_empty() {
        let mut q: MessageQueue<u32> = MessageQueue::new(3, true);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
        assert_eq!(q.max_length(), 3);
        assert!(q.store_qos0());
        assert_eq!(q.dropped(), 0);
        assert_eq!(q.pop(), None);
        assert_eq!(q.peek(), None);
    }

    #[test]
    fn fifo_order() {
        let mut q = MessageQueue::new(0, false);
        for n in 1..=5 {
            assert_eq!(q.push(n, QoS::AtLeastOnce, false), PushOutcome::Queued);
        }
        assert_eq!(q.len(), 5);
        assert_eq!(q.peek(), Some(&1));
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        assert_eq!(drain(&mut q), vec![1, 2, 3, 4, 5]);
        assert!(q.is_empty());
    }

    #[test]
    fn full_queue_drops_oldest() {
        let mut q = MessageQueue::new(3, false);
        for n in 1..=3 {
            assert_eq!(q.push(n, QoS::ExactlyOnce, false), PushOutcome::Queued);
        }
        assert_eq!(
            q.push(4, QoS::AtLeastOnce, false),
            PushOutcome::QueuedDroppedOldest(1)
        );
        assert_eq!(
            q.push(5, QoS::AtLeastOnce, true),
            PushOutcome::QueuedDroppedOldest(2)
        );
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        assert_eq!(drain(&mut q), vec![3, 4, 5]);
        // Room again after popping.
        assert_eq!(q.push(6, QoS::AtLeastOnce, false), PushOutcome::Queued);
        assert_eq!(q.dropped(), 2);
    }

    #[test]
    fn max_length_one() {
        let mut q = MessageQueue::new(1, true);
        assert_eq!(q.push("a", QoS::AtLeastOnce, false), PushOutcome::Queued);
        assert_eq!(
            q.push("b", QoS::AtMostOnce, false),
            PushOutcome::QueuedDroppedOldest("a")
        );
        assert_eq!(drain(&mut q), vec!["b"]);
        assert_eq!(q.dropped(), 1);
    }

    #[test]
    fn unlimited_never_drops() {
        let mut q = MessageQueue::new(0, true);
        for n in 0..100_000u32 {
            assert_eq!(q.push(n, QoS::AtLeastOnce, false), PushOutcome::Queued);
        }
        assert_eq!(q.len(), 100_000);
        assert_eq!(q.dropped(), 0);
        assert_eq!(q.pop(), Some(0));
    }

    #[test]
    fn qos0_offline_rejected_without_store_qos0() {
        let mut q = MessageQueue::new(10, false);
        assert_eq!(
            q.push("q0", QoS::AtMostOnce, false),
            PushOutcome::Rejected("q0")
        );
        assert!(q.is_empty());
        assert_eq!(q.dropped(), 0);
        // QoS 1/2 are queued for an offline client regardless.
        assert_eq!(q.push("q1", QoS::AtLeastOnce, false), PushOutcome::Queued);
        assert_eq!(q.push("q2", QoS::ExactlyOnce, false), PushOutcome::Queued);
        assert_eq!(drain(&mut q), vec!["q1", "q2"]);
    }

    #[test]
    fn qos0_offline_queued_with_store_qos0() {
        let mut q = MessageQueue::new(10, true);
        assert_eq!(q.push("q0", QoS::AtMostOnce, false), PushOutcome::Queued);
        assert_eq!(drain(&mut q), vec!["q0"]);
    }

    #[test]
    fn qos0_online_is_queued_either_way() {
        for store in [false, true] {
            let mut q = MessageQueue::new(10, store);
            assert_eq!(q.push("q0", QoS::AtMostOnce, true), PushOutcome::Queued);
            assert_eq!(q.len(), 1);
        }
    }

    #[test]
    fn rejection_on_a_full_queue_drops_nothing() {
        let mut q = MessageQueue::new(1, false);
        assert_eq!(q.push(1, QoS::AtLeastOnce, false), PushOutcome::Queued);
        assert_eq!(q.push(2, QoS::AtMostOnce, false), PushOutcome::Rejected(2));
        assert_eq!(q.dropped(), 0);
        assert_eq!(drain(&mut q), vec![1]);
    }
}
