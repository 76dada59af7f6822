//! Router shard actors: the only writers of their shard of the route index (the
//! emqttd_router/emqttd_pubsub gen_servers picked by topic hash). Subscribe and unsubscribe are
//! serialised per shard here; publishers never send to these actors.

use crate::router::index::{Route, RouteIndex, SessionKey};
use actix::prelude::*;
use bytestring::ByteString;
use std::sync::Arc;

/// The actor owning writes to one shard.
pub struct RouterShard {
    index: Arc<RouteIndex>,
    shard: usize,
}

impl RouterShard {
    pub fn new(index: Arc<RouteIndex>, shard: usize) -> RouterShard {
        RouterShard { index, shard }
    }
}

impl Actor for RouterShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Subscription bursts (a client restoring thousands of filters) queue here.
        ctx.set_mailbox_capacity(1024);
    }
}

/// Add or replace the route of `key` for `filter`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddRoute {
    pub filter: ByteString,
    pub key: SessionKey,
    pub route: Route,
}

/// Remove the routes of `key` for each of `filters`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoveRoutes {
    pub filters: Vec<ByteString>,
    pub key: SessionKey,
}

impl Handler<AddRoute> for RouterShard {
    type Result = ();

    fn handle(&mut self, msg: AddRoute, _: &mut Self::Context) {
        self.index
            .write(self.shard)
            .insert(&msg.filter, msg.key, msg.route);
    }
}

impl Handler<RemoveRoutes> for RouterShard {
    type Result = ();

    fn handle(&mut self, msg: RemoveRoutes, _: &mut Self::Context) {
        let mut trie = self.index.write(self.shard);
        for filter in &msg.filters {
            trie.remove(filter, &msg.key);
        }
    }
}
