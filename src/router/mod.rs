//! Topic routing: the subscription trie, its sharded shared index, and the shard actors that
//! own writes to it (replaces emqttd_router, emqttd_trie and emqttd_pubsub).

pub mod index;
pub mod shard;
pub mod trie;

use crate::mqtt::packet::QoS;
use crate::session::inbox::Inbox;
use actix::prelude::*;
use bytestring::ByteString;
pub use index::{Route, RouteIndex, SessionKey};
use shard::{AddRoute, RemoveRoutes, RouterShard};
use std::collections::HashMap;
use std::sync::Arc;

/// The handle sessions use: reads go straight to the index, writes to the owning shard actor.
#[derive(Clone)]
pub struct Router {
    index: Arc<RouteIndex>,
    writers: Vec<Addr<RouterShard>>,
}

impl Router {
    /// Start one shard actor per shard on the current arbiter.
    pub fn start(hashed_shards: usize) -> Router {
        let index = Arc::new(RouteIndex::new(hashed_shards));
        let writers = (0..index.shard_count())
            .map(|shard| RouterShard::new(index.clone(), shard).start())
            .collect();
        Router { index, writers }
    }

    pub fn index(&self) -> &RouteIndex {
        &self.index
    }

    /// Add the route; resolves once publishers can see it.
    pub fn subscribe(
        &self,
        filter: ByteString,
        key: SessionKey,
        qos: QoS,
        inbox: Arc<Inbox>,
    ) -> Request<RouterShard, AddRoute> {
        let shard = self.index.shard_of(&filter);
        let route = Route { qos, inbox };
        self.writers[shard].send(AddRoute { filter, key, route })
    }

    /// Remove the routes of `key` for `filters`; resolves once publishers no longer see them.
    pub fn unsubscribe(
        &self,
        filters: Vec<ByteString>,
        key: SessionKey,
    ) -> Vec<Request<RouterShard, RemoveRoutes>> {
        self.group_by_shard(filters)
            .into_iter()
            .map(|(shard, filters)| self.writers[shard].send(RemoveRoutes { filters, key }))
            .collect()
    }

    /// Remove routes without waiting: used when a session ends, possibly while unwinding
    /// from a panic, where nothing can be awaited. A rare control message, not the hot path.
    pub fn remove_all(&self, filters: Vec<ByteString>, key: SessionKey) {
        for (shard, filters) in self.group_by_shard(filters) {
            self.writers[shard].do_send(RemoveRoutes { filters, key });
        }
    }

    fn group_by_shard(&self, filters: Vec<ByteString>) -> HashMap<usize, Vec<ByteString>> {
        let mut by_shard: HashMap<usize, Vec<ByteString>> = HashMap::new();
        for filter in filters {
            by_shard
                .entry(self.index.shard_of(&filter))
                .or_default()
                .push(filter);
        }
        by_shard
    }
}
