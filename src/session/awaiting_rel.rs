//! Incoming QoS 2: ids of PUBLISHes received from the client, answered PUBREC and awaiting PUBREL (replaces the `awaiting_rel` map of emqttd_session.erl).
//!
//! Exactly-once by method B of MQTT 3.1.1 section 4.3.3: the message is delivered on first
//! receipt and only its packet id is stored; a re-sent PUBLISH with a stored id is answered
//! PUBREC but not delivered again; PUBREL frees the id and is answered PUBCOMP whether or not
//! the id was known (MQTT-4.3.3-2 ff.).
//!
//! Bounded by `max` (0 = unlimited): when full, a new id is refused ([`ReceiveOutcome::Full`]).
//! Ids older than `timeout` are removed by [`AwaitingRel::expire`], which the session calls from
//! a periodic timer (armed with [`AwaitingRel::next_expiry`]).

use crate::mqtt::packet::PacketId;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What to do with an incoming QoS 2 PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveOutcome {
    /// First receipt: deliver (route) the message and answer PUBREC.
    New,
    /// The id is already awaiting PUBREL (a re-sent PUBLISH): answer PUBREC, do not deliver.
    Duplicate,
    /// Too many ids awaiting PUBREL: drop the message, count it (`messages/qos2/dropped`) and,
    /// as emqttd 2.x did, send nothing back: no PUBREC, so the client keeps the message and
    /// re-sends it later, when room may have been freed. Nothing was stored.
    Full,
}

/// The ids of incoming QoS 2 messages awaiting PUBREL, oldest first.
#[derive(Debug, Clone)]
pub struct AwaitingRel {
    max: usize,
    timeout: Duration,
    /// Live ids: when received, and the sequence number of their slot in `by_age`.
    ids: HashMap<PacketId, (Instant, u64)>,
    /// Ids by receipt time, oldest first; a slot is stale once its sequence number no longer
    /// matches `ids` (released, or expired and received again).
    by_age: VecDeque<(Instant, PacketId, u64)>,
    next_seq: u64,
}

/// A `by_age` longer than twice the live ids plus this is compacted.
const COMPACT_SLACK: usize = 32;

impl AwaitingRel {
    /// At most `max` ids (0 = unlimited), each kept at most `timeout` (`Duration::ZERO` = kept
    /// until released: ids never expire).
    pub fn new(max: usize, timeout: Duration) -> Self {
        AwaitingRel {
            max,
            timeout,
            ids: HashMap::new(),
            by_age: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// A QoS 2 PUBLISH with `id` arrived at `now`. See [`ReceiveOutcome`]. A duplicate keeps its
    /// original receipt time, so a client re-sending forever cannot keep an id alive.
    pub fn receive(&mut self, id: PacketId, now: Instant) -> ReceiveOutcome {
        if self.ids.contains_key(&id) {
            return ReceiveOutcome::Duplicate;
        }
        if self.max != 0 && self.ids.len() >= self.max {
            return ReceiveOutcome::Full;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.ids.insert(id, (now, seq));
        match self.by_age.back() {
            Some(&(last, _, _)) if last > now => {
                let at = self.by_age.partition_point(|&(t, _, _)| t <= now);
                self.by_age.insert(at, (now, id, seq));
            }
            _ => self.by_age.push_back((now, id, seq)),
        }
        ReceiveOutcome::New
    }

    /// PUBREL: frees `id`; true if it was awaiting. Answer PUBCOMP either way.
    pub fn release(&mut self, id: PacketId) -> bool {
        let found = self.ids.remove(&id).is_some();
        if found {
            self.tidy();
        }
        found
    }

    /// Removes the ids received at or before `now - timeout`; returns how many.
    /// Never removes anything when the timeout is zero (disabled).
    pub fn expire(&mut self, now: Instant) -> usize {
        if self.timeout.is_zero() {
            return 0;
        }
        let mut expired = 0;
        while let Some(&(received, id, seq)) = self.by_age.front() {
            if self.is_live(id, seq) {
                if !is_expired(received, self.timeout, now) {
                    break;
                }
                self.ids.remove(&id);
                expired += 1;
            }
            self.by_age.pop_front();
        }
        self.tidy();
        expired
    }

    /// When the oldest id expires, to arm the sweep timer; `None` if empty or expiry disabled.
    pub fn next_expiry(&self) -> Option<Instant> {
        if self.timeout.is_zero() {
            return None;
        }
        self.by_age
            .iter()
            .find(|&&(_, id, seq)| self.is_live(id, seq))
            .and_then(|&(received, _, _)| received.checked_add(self.timeout))
    }

    pub fn contains(&self, id: PacketId) -> bool {
        self.ids.contains_key(&id)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The bound (0 = unlimited).
    pub fn max(&self) -> usize {
        self.max
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn is_live(&self, id: PacketId, seq: u64) -> bool {
        self.ids.get(&id).is_some_and(|&(_, s)| s == seq)
    }

    /// Keeps `by_age` starting with a live slot and at most twice the live ids plus slack long.
    fn tidy(&mut self) {
        while let Some(&(_, id, seq)) = self.by_age.front() {
            if self.is_live(id, seq) {
                break;
            }
            self.by_age.pop_front();
        }
        if self.by_age.len() > 2 * self.ids.len() + COMPACT_SLACK {
            let ids = &self.ids;
            self.by_age
                .retain(|&(_, id, seq)| ids.get(&id).is_some_and(|&(_, s)| s == seq));
        }
    }
}

fn is_expired(received: Instant, timeout: Duration, now: Instant) -> bool {
    match received.checked_add(timeout) {
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

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn new_is_empty() {
        let a = AwaitingRel::new(5, 20 * SEC);
        assert!(a.is_empty());
        assert_eq!(a.len(), 0);
        assert_eq!(a.max(), 5);
        assert_eq!(a.timeout(), 20 * SEC);
        assert_eq!(a.next_expiry(), None);
        assert!(!a.contains(pid(1)));
    }

    #[test]
    fn receive_new_then_duplicate() {
        let t = Instant::now();
        let mut a = AwaitingRel::new(0, 20 * SEC);
        assert_eq!(a.receive(pid(1), t), ReceiveOutcome::New);
        assert_eq!(a.receive(pid(1), t + SEC), ReceiveOutcome::Duplicate);
        assert_eq!(a.receive(pid(2), t), ReceiveOutcome::New);
        assert_eq!(a.len(), 2);
        assert!(a.contains(pid(1)) && a.contains(pid(2)));
    }

    #[test]
    fn release_frees_the_id() {
        let t = Instant::now();
        let mut a = AwaitingRel::new(0, 20 * SEC);
        a.receive(pid(1), t);
        assert!(a.release(pid(1)));
        assert!(!a.contains(pid(1)));
        assert!(a.is_empty());
        // Unknown or already released: false (the caller still answers PUBCOMP).
        assert!(!a.release(pid(1)));
        assert!(!a.release(pid(9)));
        // The id is new again after release.
        assert_eq!(a.receive(pid(1), t), ReceiveOutcome::New);
    }

    #[test]
    fn out_of_order_releases() {
        let t = Instant::now();
        let mut a = AwaitingRel::new(0, 20 * SEC);
        for n in 1..=5 {
            a.receive(pid(n), t);
        }
        assert!(a.release(pid(3)));
        assert!(a.release(pid(1)));
        assert!(a.release(pid(5)));
        assert_eq!(a.len(), 2);
        assert!(a.contains(pid(2)) && a.contains(pid(4)));
    }

    #[test]
    fn full_refuses_new_ids_but_not_duplicates() {
        let t = Instant::now();
        let mut a = AwaitingRel::new(2, 20 * SEC);
        assert_eq!(a.receive(pid(1), t), ReceiveOutcome::New);
        assert_eq!(a.receive(pid(2), t), ReceiveOutcome::New);
        assert_eq!(a.receive(pid(3), t), ReceiveOutcome::Full);
        assert!(!a.contains(pid(3)));
        assert_eq!(a.len(), 2);
        assert_eq!(a.receive(pid(2), t), ReceiveOutcome::Duplicate);
        a.release(pid(1));
        assert_eq!(a.receive(pid(3), t), ReceiveOutcome::New);
    }

    #[test]
    fn unlimited_takes_every_id() {
        let t = Instant::now();
        let mut a = AwaitingRel::new(0, 20 * SEC);
        for n in 1..=u16::MAX {
            assert_eq!(a.receive(pid(n), t), ReceiveOutcome::New);
        }
        assert_eq!(a.len(), 65535);
        assert_eq!(a.receive(pid(7), t), ReceiveOutcome::Duplicate);
    }

    #[test]
    fn expire_removes_only_timed_out_ids_oldest_first() {
        let t0 = Instant::now();
        let mut a = AwaitingRel::new(0, 10 * SEC);
        a.receive(pid(1), t0);
        a.receive(pid(2), t0 + SEC);
        a.receive(pid(3), t0 + 2 * SEC);
        assert_eq!(a.next_expiry(), Some(t0 + 10 * SEC));
        assert_eq!(a.expire(t0 + 9 * SEC), 0);
        assert_eq!(a.expire(t0 + 11 * SEC), 2);
        assert!(!a.contains(pid(1)) && !a.contains(pid(2)));
        assert!(a.contains(pid(3)));
        assert_eq!(a.next_expiry(), Some(t0 + 12 * SEC));
        assert_eq!(a.expire(t0 + 12 * SEC), 1);
        assert!(a.is_empty());
        assert_eq!(a.next_expiry(), None);
        assert_eq!(a.expire(t0 + 100 * SEC), 0);
    }

    #[test]
    fn duplicate_does_not_extend_the_deadline() {
        let t0 = Instant::now();
        let mut a = AwaitingRel::new(0, 10 * SEC);
        a.receive(pid(1), t0);
        assert_eq!(a.receive(pid(1), t0 + 9 * SEC), ReceiveOutcome::Duplicate);
        assert_eq!(a.expire(t0 + 10 * SEC), 1);
    }

    #[test]
    fn released_ids_are_not_counted_as_expired() {
        let t0 = Instant::now();
        let mut a = AwaitingRel::new(0, 10 * SEC);
        a.receive(pid(1), t0);
        a.receive(pid(2), t0);
        a.release(pid(1));
        assert_eq!(a.next_expiry(), Some(t0 + 10 * SEC));
        assert_eq!(a.expire(t0 + 10 * SEC), 1);
    }

    #[test]
    fn reused_id_after_release_keeps_its_new_time() {
        let t0 = Instant::now();
        let mut a = AwaitingRel::new(0, 10 * SEC);
        a.receive(pid(1), t0);
        a.receive(pid(2), t0);
        a.release(pid(1));
        a.receive(pid(1), t0 + 5 * SEC);
        assert_eq!(a.expire(t0 + 10 * SEC), 1);
        assert!(a.contains(pid(1)));
        assert_eq!(a.expire(t0 + 15 * SEC), 1);
        assert!(a.is_empty());
    }

    #[test]
    fn zero_timeout_never_expires() {
        let t0 = Instant::now();
        let mut a = AwaitingRel::new(0, Duration::ZERO);
        a.receive(pid(1), t0);
        assert_eq!(a.expire(t0 + 1_000_000 * SEC), 0);
        assert_eq!(a.next_expiry(), None);
        assert!(a.contains(pid(1)));
    }

    #[test]
    fn expiry_frees_room_when_full() {
        let t0 = Instant::now();
        let mut a = AwaitingRel::new(1, 10 * SEC);
        a.receive(pid(1), t0);
        assert_eq!(a.receive(pid(2), t0), ReceiveOutcome::Full);
        assert_eq!(a.expire(t0 + 10 * SEC), 1);
        assert_eq!(a.receive(pid(2), t0 + 10 * SEC), ReceiveOutcome::New);
    }

    #[test]
    fn non_monotonic_receive_times_expire_correctly() {
        let t0 = Instant::now() + 100 * SEC;
        let mut a = AwaitingRel::new(0, 10 * SEC);
        a.receive(pid(1), t0 + 5 * SEC);
        a.receive(pid(2), t0);
        assert_eq!(a.next_expiry(), Some(t0 + 10 * SEC));
        assert_eq!(a.expire(t0 + 10 * SEC), 1);
        assert!(a.contains(pid(1)));
    }

    #[test]
    fn stale_slots_do_not_pile_up() {
        let t0 = Instant::now();
        let mut a = AwaitingRel::new(0, 10 * SEC);
        a.receive(pid(1), t0); // never released
        for i in 0..100_000u32 {
            let id = pid(2 + (i % 500) as u16);
            assert_eq!(a.receive(id, t0), ReceiveOutcome::New);
            assert!(a.release(id));
        }
        assert_eq!(a.len(), 1);
        assert!(a.by_age.len() <= 2 + COMPACT_SLACK + 1);
        assert_eq!(a.expire(t0 + 10 * SEC), 1);
        assert!(a.by_age.is_empty());
    }
}
