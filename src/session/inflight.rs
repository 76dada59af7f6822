//! The outgoing inflight window: QoS 1/2 messages sent to the client and not yet acknowledged (replaces emqttd_inflight.erl).
//!
//! Entries are kept in send order (for re-sending everything on resume, MQTT-4.4.0-1 and
//! MQTT-4.6.0-1) and, separately, in order of their last transmission (for the retry sweep).
//! Both orders are `VecDeque`s of `(packet id, sequence number)` beside a `HashMap` of the live
//! entries: an ack removes the entry from the map and leaves a stale slot in each deque, which
//! is popped when it reaches the front, or swept out by a compaction once stale slots outnumber
//! live ones. Every operation is O(1) amortised (plus the entries returned, for the sweeps).

use crate::mqtt::packet::PacketId;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Where an outgoing QoS 1/2 message is in its acknowledgement flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflightState<M> {
    /// QoS 1 PUBLISH sent, waiting for PUBACK.
    AwaitPubAck(M),
    /// QoS 2 PUBLISH sent, waiting for PUBREC.
    AwaitPubRec(M),
    /// QoS 2 PUBREC received and PUBREL sent, waiting for PUBCOMP. The message is no longer
    /// needed: only the PUBREL is ever re-sent from here.
    AwaitPubComp,
}

/// An inflight message and when it (or its PUBREL) was last sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InflightEntry<M> {
    pub state: InflightState<M>,
    pub sent_at: Instant,
}

/// What a PUBREC did to the window; in the first two cases the caller answers PUBREL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubRecOutcome<M> {
    /// First PUBREC for a QoS 2 message: the entry is now [`InflightState::AwaitPubComp`] and
    /// the message, no longer needed, is handed back (for metrics and hooks).
    Received(M),
    /// The id is already awaiting PUBCOMP (a re-sent PUBREC): answer PUBREL again
    /// (MQTT-4.3.3); its `sent_at` has been refreshed.
    AlreadyReleased,
    /// No QoS 2 message with that id is inflight (unknown id, or a QoS 1 message awaiting
    /// PUBACK, which is left untouched): a protocol error to log; nothing changed.
    Unknown,
}

/// A live entry and the sequence numbers of its slots in the two orders.
#[derive(Debug)]
struct Slot<M> {
    entry: InflightEntry<M>,
    /// Its slot in `send_order`.
    send_seq: u64,
    /// Its slot in `retry_order`.
    retry_seq: u64,
}

/// The outgoing inflight window of a session, bounded by `max_inflight` (0 = unlimited).
#[derive(Debug)]
pub struct InflightWindow<M> {
    max_inflight: usize,
    entries: HashMap<PacketId, Slot<M>>,
    /// Ids in the order first sent; stale once their sequence number no longer matches.
    send_order: VecDeque<(PacketId, u64)>,
    /// Ids ordered by `sent_at` (last transmission), oldest first; stale likewise.
    retry_order: VecDeque<(Instant, PacketId, u64)>,
    next_seq: u64,
}

/// Compaction threshold: a deque is rebuilt once it holds more than twice the live entries
/// plus this many slots.
const COMPACT_SLACK: usize = 32;

impl<M> InflightWindow<M> {
    /// An empty window holding at most `max_inflight` entries (0 = unlimited).
    pub fn new(max_inflight: usize) -> Self {
        InflightWindow {
            max_inflight,
            entries: HashMap::new(),
            send_order: VecDeque::new(),
            retry_order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// The configured bound (0 = unlimited).
    pub fn max_inflight(&self) -> usize {
        self.max_inflight
    }

    /// True when no more messages may be sent: queue them instead. Never true when unlimited.
    pub fn is_full(&self) -> bool {
        self.max_inflight != 0 && self.entries.len() >= self.max_inflight
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, id: PacketId) -> bool {
        self.entries.contains_key(&id)
    }

    pub fn get(&self, id: PacketId) -> Option<&InflightEntry<M>> {
        self.entries.get(&id).map(|slot| &slot.entry)
    }

    /// Records a message just sent under `id`, last in send order.
    ///
    /// The bound is not enforced here: the caller checks [`is_full`](Self::is_full) first.
    /// An existing entry with the same id is replaced (and dropped); the caller should not do
    /// that, since ids come from the allocator, which skips the ids in this window.
    pub fn insert(&mut self, id: PacketId, state: InflightState<M>, now: Instant) {
        let send_seq = self.bump_seq();
        let retry_seq = self.bump_seq();
        self.send_order.push_back((id, send_seq));
        self.push_retry(now, id, retry_seq);
        let slot = Slot {
            entry: InflightEntry {
                state,
                sent_at: now,
            },
            send_seq,
            retry_seq,
        };
        if self.entries.insert(id, slot).is_some() {
            self.tidy();
        }
    }

    /// PUBACK: removes an [`InflightState::AwaitPubAck`] entry and returns its message; `None`
    /// (nothing changed) for an unknown id or an entry of a QoS 2 message.
    pub fn puback(&mut self, id: PacketId) -> Option<M> {
        match self.entries.get(&id)?.entry.state {
            InflightState::AwaitPubAck(_) => {}
            _ => return None,
        }
        let slot = self.entries.remove(&id)?;
        self.tidy();
        match slot.entry.state {
            InflightState::AwaitPubAck(msg) => Some(msg),
            _ => unreachable!("state checked above"),
        }
    }

    /// PUBREC: moves an [`InflightState::AwaitPubRec`] entry to
    /// [`InflightState::AwaitPubComp`] with `sent_at = now` (the caller sends PUBREL now).
    /// See [`PubRecOutcome`] for the three cases.
    pub fn pubrec(&mut self, id: PacketId, now: Instant) -> PubRecOutcome<M> {
        let Some(slot) = self.entries.get_mut(&id) else {
            return PubRecOutcome::Unknown;
        };
        let outcome = match &slot.entry.state {
            InflightState::AwaitPubAck(_) => return PubRecOutcome::Unknown,
            InflightState::AwaitPubComp => PubRecOutcome::AlreadyReleased,
            InflightState::AwaitPubRec(_) => {
                match std::mem::replace(&mut slot.entry.state, InflightState::AwaitPubComp) {
                    InflightState::AwaitPubRec(msg) => PubRecOutcome::Received(msg),
                    _ => unreachable!("state checked above"),
                }
            }
        };
        self.touch(id, now);
        outcome
    }

    /// PUBCOMP: removes an [`InflightState::AwaitPubComp`] entry; true if it was there. An
    /// entry in another state is left untouched (false).
    pub fn pubcomp(&mut self, id: PacketId) -> bool {
        match self.entries.get(&id) {
            Some(slot) if matches!(slot.entry.state, InflightState::AwaitPubComp) => {}
            _ => return false,
        }
        self.entries.remove(&id);
        self.tidy();
        true
    }

    /// Ids of the entries with `sent_at + retry_interval <= now`, oldest `sent_at` first (ties
    /// in the order they were sent or touched). The caller re-sends each (PUBLISH with DUP=1,
    /// or PUBREL for [`InflightState::AwaitPubComp`]) and calls [`touch`](Self::touch).
    /// Costs O(due entries), not O(window).
    pub fn due_for_retry(&self, now: Instant, retry_interval: Duration) -> Vec<PacketId> {
        let mut due = Vec::new();
        for &(sent_at, id, seq) in &self.retry_order {
            if !self.is_live_retry(id, seq) {
                continue;
            }
            if !is_due(sent_at, retry_interval, now) {
                break;
            }
            due.push(id);
        }
        due
    }

    /// When the oldest entry falls due for retry (`sent_at + retry_interval`), to arm the retry
    /// timer; `None` when the window is empty.
    pub fn next_retry_at(&self, retry_interval: Duration) -> Option<Instant> {
        self.retry_order
            .iter()
            .find(|&&(_, id, seq)| self.is_live_retry(id, seq))
            .map(|&(sent_at, _, _)| sent_at.checked_add(retry_interval).unwrap_or(sent_at))
    }

    /// Records that the entry (or its PUBREL) was re-sent at `now`: it moves behind everything
    /// in the retry order, but keeps its place in send order. No-op for an unknown id.
    pub fn touch(&mut self, id: PacketId, now: Instant) {
        if !self.entries.contains_key(&id) {
            return;
        }
        let retry_seq = self.bump_seq();
        self.push_retry(now, id, retry_seq);
        let slot = self.entries.get_mut(&id).expect("checked above");
        slot.entry.sent_at = now;
        slot.retry_seq = retry_seq;
        self.tidy();
    }

    /// All entries in the order they were first sent, for re-sending everything when the
    /// session is resumed (MQTT-4.4.0-1).
    pub fn iter(&self) -> impl Iterator<Item = (PacketId, &InflightEntry<M>)> + '_ {
        self.send_order.iter().filter_map(move |&(id, seq)| {
            self.entries
                .get(&id)
                .filter(|slot| slot.send_seq == seq)
                .map(|slot| (id, &slot.entry))
        })
    }

    fn bump_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    fn is_live_send(&self, id: PacketId, seq: u64) -> bool {
        self.entries.get(&id).is_some_and(|s| s.send_seq == seq)
    }

    fn is_live_retry(&self, id: PacketId, seq: u64) -> bool {
        self.entries.get(&id).is_some_and(|s| s.retry_seq == seq)
    }

    /// Appends to the retry order, keeping it sorted by time even if `now` went backwards.
    fn push_retry(&mut self, now: Instant, id: PacketId, seq: u64) {
        match self.retry_order.back() {
            Some(&(last, _, _)) if last > now => {
                let at = self.retry_order.partition_point(|&(t, _, _)| t <= now);
                self.retry_order.insert(at, (now, id, seq));
            }
            _ => self.retry_order.push_back((now, id, seq)),
        }
    }

    /// Restores the invariants after a removal or a touch: each deque starts with a live slot
    /// (or is empty), and holds at most twice the live entries plus `COMPACT_SLACK` slots.
    fn tidy(&mut self) {
        while let Some(&(id, seq)) = self.send_order.front() {
            if self.is_live_send(id, seq) {
                break;
            }
            self.send_order.pop_front();
        }
        while let Some(&(_, id, seq)) = self.retry_order.front() {
            if self.is_live_retry(id, seq) {
                break;
            }
            self.retry_order.pop_front();
        }
        let limit = 2 * self.entries.len() + COMPACT_SLACK;
        if self.send_order.len() > limit {
            let entries = &self.entries;
            self.send_order
                .retain(|&(id, seq)| entries.get(&id).is_some_and(|s| s.send_seq == seq));
        }
        if self.retry_order.len() > limit {
            let entries = &self.entries;
            self.retry_order
                .retain(|&(_, id, seq)| entries.get(&id).is_some_and(|s| s.retry_seq == seq));
        }
    }
}

fn is_due(sent_at: Instant, retry_interval: Duration, now: Instant) -> bool {
    match sent_at.checked_add(retry_interval) {
        Some(deadline) => deadline <= now,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    fn ids(v: &[u16]) -> Vec<PacketId> {
        v.iter().map(|&n| pid(n)).collect()
    }

    fn order<M>(w: &InflightWindow<M>) -> Vec<u16> {
        w.iter().map(|(id, _)| id.get()).collect()
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn new_window_is_empty() {
        let w: InflightWindow<&str> = InflightWindow::new(2);
        assert!(w.is_empty());
        assert_eq!(w.len(), 0);
        assert!(!w.is_full());
        assert_eq!(w.max_inflight(), 2);
        assert!(!w.contains(pid(1)));
        assert!(w.get(pid(1)).is_none());
        assert_eq!(w.iter().count(), 0);
        assert!(w.due_for_retry(Instant::now(), SEC).is_empty());
        assert_eq!(w.next_retry_at(SEC), None);
    }

    #[test]
    fn insert_fills_and_acks_free() {
        let t = Instant::now();
        let mut w = InflightWindow::new(2);
        w.insert(pid(1), InflightState::AwaitPubAck("a"), t);
        assert!(!w.is_full());
        w.insert(pid(2), InflightState::AwaitPubRec("b"), t);
        assert!(w.is_full());
        assert_eq!(w.len(), 2);
        assert!(w.contains(pid(1)) && w.contains(pid(2)));
        assert_eq!(w.puback(pid(1)), Some("a"));
        assert!(!w.is_full());
        assert!(!w.contains(pid(1)));
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn zero_means_unlimited() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        for n in 1..=1000u16 {
            w.insert(pid(n), InflightState::AwaitPubAck(n), t);
            assert!(!w.is_full());
        }
        assert_eq!(w.len(), 1000);
    }

    #[test]
    fn get_returns_entry() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(9), InflightState::AwaitPubAck(42), t);
        let e = w.get(pid(9)).unwrap();
        assert_eq!(e.state, InflightState::AwaitPubAck(42));
        assert_eq!(e.sent_at, t);
    }

    #[test]
    fn puback_wrong_state_or_unknown_is_none_and_leaves_entry() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubRec("q2"), t);
        assert_eq!(w.puback(pid(1)), None);
        assert_eq!(w.puback(pid(2)), None);
        assert!(w.contains(pid(1)));
        assert_eq!(w.pubrec(pid(1), t), PubRecOutcome::Received("q2"));
        assert_eq!(w.puback(pid(1)), None);
        assert!(w.contains(pid(1)));
    }

    #[test]
    fn puback_twice_second_is_none() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubAck(1), t);
        assert_eq!(w.puback(pid(1)), Some(1));
        assert_eq!(w.puback(pid(1)), None);
    }

    #[test]
    fn qos2_full_flow() {
        let t0 = Instant::now();
        let t1 = t0 + SEC;
        let mut w = InflightWindow::new(0);
        w.insert(pid(5), InflightState::AwaitPubRec("m"), t0);
        assert_eq!(w.pubrec(pid(5), t1), PubRecOutcome::Received("m"));
        let e = w.get(pid(5)).unwrap();
        assert_eq!(e.state, InflightState::AwaitPubComp);
        assert_eq!(e.sent_at, t1);
        assert!(w.pubcomp(pid(5)));
        assert!(w.is_empty());
        assert!(!w.pubcomp(pid(5)));
    }

    #[test]
    fn pubrec_duplicate_unknown_and_qos1() {
        let t0 = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubRec("m"), t0);
        w.insert(pid(2), InflightState::AwaitPubAck("q1"), t0);
        assert_eq!(w.pubrec(pid(1), t0), PubRecOutcome::Received("m"));
        // A re-sent PUBREC: still answered with PUBREL, and sent_at refreshed.
        assert_eq!(
            w.pubrec(pid(1), t0 + 3 * SEC),
            PubRecOutcome::AlreadyReleased
        );
        assert_eq!(w.get(pid(1)).unwrap().sent_at, t0 + 3 * SEC);
        assert_eq!(w.pubrec(pid(3), t0), PubRecOutcome::Unknown);
        // PUBREC for a QoS 1 message: unknown, left alone.
        assert_eq!(w.pubrec(pid(2), t0 + SEC), PubRecOutcome::Unknown);
        let e = w.get(pid(2)).unwrap();
        assert_eq!(e.state, InflightState::AwaitPubAck("q1"));
        assert_eq!(e.sent_at, t0);
    }

    #[test]
    fn pubcomp_wrong_state_is_false_and_leaves_entry() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubRec(1), t);
        w.insert(pid(2), InflightState::AwaitPubAck(2), t);
        assert!(!w.pubcomp(pid(1)));
        assert!(!w.pubcomp(pid(2)));
        assert!(!w.pubcomp(pid(3)));
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn iter_keeps_send_order_with_out_of_order_acks() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        for n in [10u16, 3, 7, 1, 65535] {
            w.insert(pid(n), InflightState::AwaitPubAck(n), t);
        }
        assert_eq!(order(&w), vec![10, 3, 7, 1, 65535]);
        assert_eq!(w.puback(pid(7)), Some(7));
        assert_eq!(w.puback(pid(10)), Some(10));
        assert_eq!(order(&w), vec![3, 1, 65535]);
        w.insert(pid(7), InflightState::AwaitPubAck(70), t);
        assert_eq!(order(&w), vec![3, 1, 65535, 7]);
        let msgs: Vec<_> = w
            .iter()
            .map(|(_, e)| match &e.state {
                InflightState::AwaitPubAck(m) => *m,
                _ => 0,
            })
            .collect();
        assert_eq!(msgs, vec![3, 1, 65535, 70]);
    }

    #[test]
    fn touch_and_pubrec_keep_send_order() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubRec(1), t);
        w.insert(pid(2), InflightState::AwaitPubAck(2), t);
        w.insert(pid(3), InflightState::AwaitPubAck(3), t);
        w.touch(pid(1), t + SEC);
        assert_eq!(w.pubrec(pid(1), t + 2 * SEC), PubRecOutcome::Received(1));
        assert_eq!(order(&w), vec![1, 2, 3]);
    }

    #[test]
    fn retry_due_oldest_first_and_touch_moves_back() {
        let t0 = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubAck("a"), t0);
        w.insert(pid(2), InflightState::AwaitPubRec("b"), t0 + SEC);
        w.insert(pid(3), InflightState::AwaitPubAck("c"), t0 + 2 * SEC);
        let iv = 10 * SEC;
        assert!(w.due_for_retry(t0 + 9 * SEC, iv).is_empty());
        assert_eq!(w.next_retry_at(iv), Some(t0 + iv));
        assert_eq!(w.due_for_retry(t0 + iv, iv), ids(&[1]));
        assert_eq!(w.due_for_retry(t0 + 11 * SEC, iv), ids(&[1, 2]));
        assert_eq!(w.due_for_retry(t0 + 100 * SEC, iv), ids(&[1, 2, 3]));

        // Re-send 1 at t0+11: it is now the newest.
        w.touch(pid(1), t0 + 11 * SEC);
        assert_eq!(w.get(pid(1)).unwrap().sent_at, t0 + 11 * SEC);
        assert_eq!(w.due_for_retry(t0 + 12 * SEC, iv), ids(&[2, 3]));
        assert_eq!(w.due_for_retry(t0 + 100 * SEC, iv), ids(&[2, 3, 1]));
        assert_eq!(w.next_retry_at(iv), Some(t0 + SEC + iv));
        // Send order is unchanged by the retry.
        assert_eq!(order(&w), vec![1, 2, 3]);
    }

    #[test]
    fn pubrec_restarts_the_retry_clock_for_pubrel() {
        let t0 = Instant::now();
        let iv = 5 * SEC;
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubRec("a"), t0);
        w.insert(pid(2), InflightState::AwaitPubAck("b"), t0 + SEC);
        assert_eq!(w.pubrec(pid(1), t0 + 2 * SEC), PubRecOutcome::Received("a"));
        assert_eq!(w.due_for_retry(t0 + 6 * SEC, iv), ids(&[2]));
        assert_eq!(w.due_for_retry(t0 + 7 * SEC, iv), ids(&[2, 1]));
        assert_eq!(w.get(pid(1)).unwrap().state, InflightState::AwaitPubComp);
    }

    #[test]
    fn acked_entries_leave_the_retry_sweep() {
        let t0 = Instant::now();
        let mut w = InflightWindow::new(0);
        for n in 1..=4u16 {
            w.insert(pid(n), InflightState::AwaitPubAck(n), t0);
        }
        w.puback(pid(1));
        w.puback(pid(3));
        assert_eq!(w.due_for_retry(t0 + SEC, SEC), ids(&[2, 4]));
        assert_eq!(w.next_retry_at(SEC), Some(t0 + SEC));
        w.puback(pid(2));
        w.puback(pid(4));
        assert!(w.due_for_retry(t0 + SEC, SEC).is_empty());
        assert_eq!(w.next_retry_at(SEC), None);
    }

    #[test]
    fn zero_retry_interval_makes_everything_due() {
        let t0 = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubAck(()), t0);
        assert_eq!(w.due_for_retry(t0, Duration::ZERO), ids(&[1]));
    }

    #[test]
    fn touch_unknown_is_noop() {
        let t0 = Instant::now();
        let mut w: InflightWindow<()> = InflightWindow::new(0);
        w.touch(pid(1), t0);
        assert!(w.is_empty());
        assert!(w.due_for_retry(t0 + SEC, SEC).is_empty());
    }

    #[test]
    fn non_monotonic_times_still_sorted() {
        let t0 = Instant::now() + 100 * SEC;
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubAck(1), t0 + 5 * SEC);
        w.insert(pid(2), InflightState::AwaitPubAck(2), t0);
        w.insert(pid(3), InflightState::AwaitPubAck(3), t0 + 5 * SEC);
        assert_eq!(w.due_for_retry(t0 + SEC, SEC), ids(&[2]));
        assert_eq!(w.due_for_retry(t0 + 6 * SEC, SEC), ids(&[2, 1, 3]));
        assert_eq!(order(&w), vec![1, 2, 3]);
    }

    #[test]
    fn reinserting_a_live_id_replaces_it() {
        let t0 = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubAck("old"), t0);
        w.insert(pid(2), InflightState::AwaitPubAck("x"), t0);
        w.insert(pid(1), InflightState::AwaitPubAck("new"), t0 + SEC);
        assert_eq!(w.len(), 2);
        assert_eq!(order(&w), vec![2, 1]);
        assert_eq!(w.due_for_retry(t0 + 2 * SEC, SEC), ids(&[2, 1]));
        assert_eq!(w.puback(pid(1)), Some("new"));
    }

    #[test]
    fn stuck_oldest_entry_does_not_grow_the_deques() {
        // id 1 is never acked while others cycle through: stale slots must not pile up.
        let t0 = Instant::now();
        let mut w = InflightWindow::new(32);
        w.insert(pid(1), InflightState::AwaitPubAck(0u32), t0);
        for i in 0..100_000u32 {
            let id = pid(2 + (i % 1000) as u16);
            let now = t0 + Duration::from_millis(u64::from(i));
            w.insert(id, InflightState::AwaitPubAck(i), now);
            if i % 3 == 0 {
                w.touch(id, now);
            }
            assert_eq!(w.puback(id), Some(i));
        }
        assert_eq!(w.len(), 1);
        assert!(w.send_order.len() <= 2 + COMPACT_SLACK + 1);
        assert!(w.retry_order.len() <= 2 + COMPACT_SLACK + 1);
        assert_eq!(order(&w), vec![1]);
        assert_eq!(w.due_for_retry(t0 + SEC, SEC), ids(&[1]));
    }

    #[test]
    fn unlimited_with_100k_entries() {
        let t0 = Instant::now();
        let mut w = InflightWindow::new(0);
        // 100k messages through 65535 ids: keep at most 60k live, acking in a scrambled order.
        let mut live: VecDeque<u16> = VecDeque::new();
        for i in 0..100_000u32 {
            if live.len() == 60_000 {
                // Ack out of order: alternate front and back.
                let id = if i % 2 == 0 {
                    live.pop_front()
                } else {
                    live.pop_back()
                }
                .unwrap();
                assert!(w.puback(pid(id)).is_some());
            }
            let id = (i % 65535 + 1) as u16;
            if w.contains(pid(id)) {
                continue;
            }
            w.insert(pid(id), InflightState::AwaitPubAck(i), t0);
            live.push_back(id);
        }
        assert_eq!(w.len(), live.len());
        assert!(!w.is_full());
        let due = w.due_for_retry(t0 + SEC, SEC);
        assert_eq!(due.len(), live.len());
        let mut sorted_live: Vec<u16> = live.iter().copied().collect();
        sorted_live.sort_unstable();
        let mut in_order = order(&w);
        in_order.sort_unstable();
        assert_eq!(in_order, sorted_live);
        assert!(w.send_order.len() <= 2 * w.len() + COMPACT_SLACK + 1);
        assert!(w.retry_order.len() <= 2 * w.len() + COMPACT_SLACK + 1);
    }

    #[test]
    fn drops_cleanly_with_messages_inside() {
        let t = Instant::now();
        let mut w = InflightWindow::new(0);
        w.insert(pid(1), InflightState::AwaitPubAck(String::from("x")), t);
        w.insert(pid(2), InflightState::AwaitPubRec(String::from("y")), t);
        drop(w);
    }
}
