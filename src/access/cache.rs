//! Per-session ACL cache (emqttd 2.x caches ACL results per connection with
//! `mqtt.cache_acl = true`): the last decisions by (access, topic), bounded, and emptied when
//! the rules change (a generation number set by the access control on every reload or
//! registration).
//!
//! Pure: no actix.

use super::acl_rule::Access;
use std::collections::{HashMap, VecDeque};

/// Most decisions kept per session (EMQX's `acl_cache_max_size` default).
pub const MAX_ENTRIES: usize = 32;

/// Allocated on the first decision: a session that never publishes or subscribes (an idle
/// device) keeps a pointer, not the maps.
#[derive(Debug, Default)]
pub struct AclCache {
    inner: Option<Box<Decisions>>,
}

#[derive(Debug, Default)]
struct Decisions {
    generation: u64,
    /// Topic → (publish decision, subscribe decision).
    decisions: HashMap<Box<str>, [Option<bool>; 2]>,
    /// Insertion order, for evicting the oldest topic when full.
    order: VecDeque<Box<str>>,
}

fn slot(access: Access) -> usize {
    match access {
        Access::Publish => 0,
        Access::Subscribe | Access::PubSub => 1,
    }
}

impl AclCache {
    pub fn new() -> AclCache {
        AclCache::default()
    }

    /// The cached decision for `access` on `topic`, if it was made under `generation`.
    pub fn get(&mut self, generation: u64, access: Access, topic: &str) -> Option<bool> {
        let inner = self.inner.as_deref_mut()?;
        if generation != inner.generation {
            inner.clear();
            inner.generation = generation;
            return None;
        }
        inner.decisions.get(topic).and_then(|d| d[slot(access)])
    }

    /// Remember a decision made under `generation`.
    pub fn put(&mut self, generation: u64, access: Access, topic: &str, allowed: bool) {
        let inner = self.inner.get_or_insert_with(|| {
            Box::new(Decisions {
                generation,
                ..Decisions::default()
            })
        });
        if generation != inner.generation {
            inner.clear();
            inner.generation = generation;
        }
        if let Some(entry) = inner.decisions.get_mut(topic) {
            entry[slot(access)] = Some(allowed);
            return;
        }
        if inner.order.len() >= MAX_ENTRIES {
            if let Some(oldest) = inner.order.pop_front() {
                inner.decisions.remove(&oldest);
            }
        }
        let mut entry = [None; 2];
        entry[slot(access)] = Some(allowed);
        inner.order.push_back(Box::from(topic));
        inner.decisions.insert(Box::from(topic), entry);
    }

    pub fn clear(&mut self) {
        if let Some(inner) = self.inner.as_deref_mut() {
            inner.clear();
        }
    }

    /// Topics with a cached decision.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.decisions.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Decisions {
    fn clear(&mut self) {
        self.decisions.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_a_generation() {
        let mut cache = AclCache::new();
        assert_eq!(cache.get(1, Access::Publish, "a"), None);
        cache.put(1, Access::Publish, "a", false);
        assert_eq!(cache.get(1, Access::Publish, "a"), Some(false));
        assert_eq!(cache.get(1, Access::Subscribe, "a"), None);
        // a new generation (a reload) empties it
        assert_eq!(cache.get(2, Access::Publish, "a"), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn is_bounded_and_evicts_the_oldest() {
        let mut cache = AclCache::new();
        for i in 0..MAX_ENTRIES + 5 {
            cache.put(0, Access::Publish, &format!("t/{i}"), true);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert_eq!(cache.get(0, Access::Publish, "t/0"), None);
        assert_eq!(
            cache.get(0, Access::Publish, &format!("t/{}", MAX_ENTRIES + 4)),
            Some(true)
        );
    }
}
