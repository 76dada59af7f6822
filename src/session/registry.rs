//! The client id → session registry (replaces emqttd_sm's session table): who holds a client
//! id right now, so a new connection can take the session over.

use crate::hooks::Client;
use crate::session::actor::SessionActor;
use actix::Addr;
use bytestring::ByteString;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

/// The session actor registered under a client id, with the connection id that registered it
/// and the client as it connected (what the REST API and `ctl clients` list).
#[derive(Clone)]
pub struct Registration {
    pub conn_id: u64,
    pub addr: Addr<SessionActor>,
    pub client: Arc<Client>,
    /// False while a persistent session waits offline for its client.
    pub online: bool,
}

/// Sharded so that connects on different workers rarely contend.
pub struct SessionRegistry {
    shards: Vec<Mutex<HashMap<ByteString, Registration>>>,
}

impl Default for SessionRegistry {
    fn default() -> Self {
        SessionRegistry {
            shards: (0..16).map(|_| Mutex::default()).collect(),
        }
    }
}

impl SessionRegistry {
    fn shard(&self, client_id: &str) -> MutexGuard<'_, HashMap<ByteString, Registration>> {
        let mut hasher = DefaultHasher::new();
        client_id.hash(&mut hasher);
        let shard = (hasher.finish() as usize) % self.shards.len();
        self.shards[shard].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register `registration` under `client_id`; returns the one it replaces (to take over).
    pub fn register(
        &self,
        client_id: ByteString,
        registration: Registration,
    ) -> Option<Registration> {
        self.shard(&client_id).insert(client_id, registration)
    }

    /// Remove the entry of `client_id` if it still belongs to connection `conn_id`.
    pub fn unregister(&self, client_id: &str, conn_id: u64) {
        let mut shard = self.shard(client_id);
        if shard.get(client_id).map(|r| r.conn_id) == Some(conn_id) {
            shard.remove(client_id);
        }
    }

    /// Mark the session of `client_id` offline (its connection closed, the session stays) if
    /// it still belongs to connection `conn_id`.
    pub fn set_offline(&self, client_id: &str, conn_id: u64) {
        if let Some(entry) = self.shard(client_id).get_mut(client_id) {
            if entry.conn_id == conn_id {
                entry.online = false;
            }
        }
    }

    /// The registration of `client_id`.
    pub fn get(&self, client_id: &str) -> Option<Registration> {
        self.shard(client_id).get(client_id).cloned()
    }

    /// A copy of every registration (for listing; the shards are locked one at a time).
    pub fn snapshot(&self) -> Vec<Registration> {
        self.shards
            .iter()
            .flat_map(|s| {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn lookup(&self, client_id: &str) -> Option<Addr<SessionActor>> {
        self.shard(client_id).get(client_id).map(|r| r.addr.clone())
    }

    /// Number of sessions (connected or persistent and offline).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every registered session actor, e.g. to disconnect all clients at shutdown.
    pub fn all(&self) -> Vec<Addr<SessionActor>> {
        self.shards
            .iter()
            .flat_map(|s| {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .map(|r| r.addr.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}
