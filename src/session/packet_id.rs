//! Packet identifier allocation for a session's outgoing QoS 1/2 publishes (replaces the `next_msg_id` counter of emqttd_session.erl).

use crate::mqtt::packet::PacketId;

/// Hands out packet ids in the cycle 1, 2, …, 65535, 1, … skipping ids still in use.
///
/// The allocator only remembers the last id it issued; which ids are still in use (the inflight
/// window, and anything else the caller tracks) is asked through the `in_use` predicate, so an id
/// freed by an ack is reusable without telling the allocator.
#[derive(Debug, Clone)]
pub struct PacketIdAllocator {
    /// The last id returned; `None` before the first allocation, so the first id is 1.
    last: Option<PacketId>,
}

impl Default for PacketIdAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl PacketIdAllocator {
    /// A fresh allocator: its first id is 1.
    pub fn new() -> Self {
        PacketIdAllocator { last: None }
    }

    /// The next id after the last one issued (wrapping 65535 → 1) for which `in_use` is false.
    ///
    /// Returns `None` only if all 65535 ids are in use; the allocator's position is then unchanged.
    /// Costs one `in_use` call per id skipped, so it is O(1) while few ids are taken.
    pub fn next(&mut self, in_use: impl Fn(PacketId) -> bool) -> Option<PacketId> {
        let mut candidate = self.last.map_or(1, |id| id.get());
        if self.last.is_some() {
            candidate = successor(candidate);
        }
        for _ in 0..u16::MAX {
            let id = PacketId::new(candidate).expect("candidate is never zero");
            if !in_use(id) {
                self.last = Some(id);
                return Some(id);
            }
            candidate = successor(candidate);
        }
        None
    }

    /// The last id issued, if any.
    pub fn last(&self) -> Option<PacketId> {
        self.last
    }
}

/// The id after `id` in the cycle 1..=65535.
fn successor(id: u16) -> u16 {
    if id == u16::MAX {
        1
    } else {
        id + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn pid(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn starts_at_one_and_counts_up() {
        let mut a = PacketIdAllocator::new();
        assert_eq!(a.last(), None);
        assert_eq!(a.next(|_| false), Some(pid(1)));
        assert_eq!(a.next(|_| false), Some(pid(2)));
        assert_eq!(a.next(|_| false), Some(pid(3)));
        assert_eq!(a.last(), Some(pid(3)));
    }

    #[test]
    fn default_is_new() {
        let mut a = PacketIdAllocator::default();
        assert_eq!(a.next(|_| false), Some(pid(1)));
    }

    #[test]
    fn wraps_from_65535_to_1_never_zero() {
        let mut a = PacketIdAllocator::new();
        let mut last = None;
        for _ in 0..65535 {
            last = a.next(|_| false);
        }
        assert_eq!(last, Some(pid(65535)));
        assert_eq!(a.next(|_| false), Some(pid(1)));
        assert_eq!(a.next(|_| false), Some(pid(2)));
    }

    #[test]
    fn skips_ids_in_use() {
        let mut a = PacketIdAllocator::new();
        let used: HashSet<u16> = [1, 2, 4].into_iter().collect();
        assert_eq!(a.next(|id| used.contains(&id.get())), Some(pid(3)));
        assert_eq!(a.next(|id| used.contains(&id.get())), Some(pid(5)));
    }

    #[test]
    fn skips_in_use_ids_across_the_wrap() {
        let mut a = PacketIdAllocator::new();
        for _ in 0..65534 {
            a.next(|_| false);
        }
        assert_eq!(a.last(), Some(pid(65534)));
        let used: HashSet<u16> = [65535, 1, 2].into_iter().collect();
        assert_eq!(a.next(|id| used.contains(&id.get())), Some(pid(3)));
    }

    #[test]
    fn reuses_an_id_once_freed() {
        let mut a = PacketIdAllocator::new();
        // Only id 7 is free: it is found whatever the position.
        assert_eq!(a.next(|id| id.get() != 7), Some(pid(7)));
        assert_eq!(a.next(|id| id.get() != 7), Some(pid(7)));
    }

    #[test]
    fn none_when_all_in_use_and_position_kept() {
        let mut a = PacketIdAllocator::new();
        a.next(|_| false);
        a.next(|_| false);
        assert_eq!(a.next(|_| true), None);
        assert_eq!(a.last(), Some(pid(2)));
        assert_eq!(a.next(|_| false), Some(pid(3)));
    }

    #[test]
    fn none_on_first_call_when_all_in_use() {
        let mut a = PacketIdAllocator::new();
        assert_eq!(a.next(|_| true), None);
        assert_eq!(a.next(|_| false), Some(pid(1)));
    }

    #[test]
    fn the_one_free_id_is_the_last_one_issued() {
        let mut a = PacketIdAllocator::new();
        for _ in 0..10 {
            a.next(|_| false);
        }
        // Everything but 10 (the last issued) is taken: a full cycle comes back to it.
        assert_eq!(a.next(|id| id.get() != 10), Some(pid(10)));
    }
}
