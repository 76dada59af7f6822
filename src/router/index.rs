//! The shared, read-mostly route index (the ETS route tables of emqttd_router): one
//! subscription trie per shard behind a `RwLock`. Publishers read it inline on every PUBLISH;
//! only the router shard actors write to it.

use crate::mqtt::packet::QoS;
use crate::router::trie::SubscriptionTrie;
use crate::session::inbox::Inbox;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Identifies a session in the route index (stable across takeover of the session).
pub type SessionKey = u64;

/// One subscription as the publish path needs it: the granted QoS and where to deliver.
#[derive(Clone)]
pub struct Route {
    pub qos: QoS,
    pub inbox: Arc<Inbox>,
}

type Shard = RwLock<SubscriptionTrie<SessionKey, Route>>;

/// The sharded index. Shard 0 holds filters whose first level is a wildcard (`#`, `+/...`);
/// every other filter lives in the shard its first level hashes to, so a publish reads at
/// most two shards.
pub struct RouteIndex {
    shards: Vec<Shard>,
}

impl RouteIndex {
    /// An index with `hashed` shards for concrete first levels plus the wildcard shard.
    pub fn new(hashed: usize) -> RouteIndex {
        let shards = (0..=hashed.max(1)).map(|_| RwLock::default()).collect();
        RouteIndex { shards }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard that owns `filter` (or, for a topic name, the non-wildcard shard to read).
    pub fn shard_of(&self, filter: &str) -> usize {
        let first = filter.split('/').next().unwrap_or("");
        if first == "#" || first == "+" {
            return 0;
        }
        let mut hasher = DefaultHasher::new();
        first.hash(&mut hasher);
        1 + (hasher.finish() as usize) % (self.shards.len() - 1)
    }

    pub(crate) fn read(
        &self,
        shard: usize,
    ) -> RwLockReadGuard<'_, SubscriptionTrie<SessionKey, Route>> {
        self.shards[shard]
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn write(
        &self,
        shard: usize,
    ) -> RwLockWriteGuard<'_, SubscriptionTrie<SessionKey, Route>> {
        self.shards[shard]
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Visit every route matching the topic name `topic`.
    pub fn for_each_match<F: FnMut(SessionKey, &Route)>(&self, topic: &str, mut visit: F) {
        let own = self.shard_of(topic);
        for shard in [own, 0] {
            self.read(shard)
                .for_each_match(topic, |key, route| visit(*key, route));
        }
    }

    /// Distinct filters with at least one subscriber (emqttd's topics/routes count).
    pub fn filter_count(&self) -> usize {
        (0..self.shards.len())
            .map(|s| self.read(s).filter_count())
            .sum()
    }

    /// Every distinct filter with at least one subscriber, sorted (for listing; not hot).
    pub fn filters(&self) -> Vec<String> {
        let mut all: Vec<String> = (0..self.shards.len())
            .flat_map(|s| self.read(s).filters())
            .collect();
        all.sort();
        all
    }

    /// All (filter, session) pairs.
    pub fn subscription_count(&self) -> usize {
        (0..self.shards.len())
            .map(|s| self.read(s).subscription_count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_first_levels_live_in_shard_zero() {
        let index = RouteIndex::new(4);
        assert_eq!(index.shard_count(), 5);
        assert_eq!(index.shard_of("#"), 0);
        assert_eq!(index.shard_of("+/a"), 0);
        assert_ne!(index.shard_of("a/+"), 0);
        assert_eq!(index.shard_of("a/+"), index.shard_of("a/b/c"));
        assert_eq!(index.shard_of("$SYS/#"), index.shard_of("$SYS/brokers"));
    }

    #[test]
    fn a_publish_sees_routes_from_both_shards() {
        let index = RouteIndex::new(2);
        let inbox = Inbox::new(10, true);
        for (key, filter) in [(1, "a/b"), (2, "#"), (3, "+/b"), (4, "c/#")] {
            let route = Route {
                qos: QoS::AtLeastOnce,
                inbox: inbox.clone(),
            };
            index
                .write(index.shard_of(filter))
                .insert(filter, key, route);
        }
        let mut seen = Vec::new();
        index.for_each_match("a/b", |key, _| seen.push(key));
        seen.sort();
        assert_eq!(seen, vec![1, 2, 3]);
        assert_eq!(index.filter_count(), 4);
        assert_eq!(index.subscription_count(), 4);
        assert_eq!(index.filters(), ["#", "+/b", "a/b", "c/#"]);
    }
}
