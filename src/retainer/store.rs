//! The retained-message store interface and its in-memory implementation. A durable store
//! (retained messages surviving a restart in `node.data_dir`) implements the same trait.

use crate::broker::Message;
use crate::retainer::index::RetainedIndex;
use std::sync::{Arc, RwLock};

/// Where retained messages live. Implementations are shared by every session thread.
pub trait RetainStore: Send + Sync {
    /// Store `message` as the retained message of its topic, replacing any older one.
    fn put(&self, message: Arc<Message>);
    /// Remove the retained message of `topic`; true if there was one.
    fn delete(&self, topic: &str) -> bool;
    /// The retained message of exactly `topic`.
    fn get(&self, topic: &str) -> Option<Arc<Message>>;
    /// True if `topic` has a retained message (replacing it does not grow the store).
    fn contains(&self, topic: &str) -> bool {
        self.get(topic).is_some()
    }
    /// Every retained message whose topic matches `filter`.
    fn matching(&self, filter: &str) -> Vec<Arc<Message>>;
    fn len(&self) -> usize;
    /// Every retained message, `$SYS` ones included, in no particular order (for listing).
    fn all(&self) -> Vec<Arc<Message>> {
        let mut all = self.matching("#");
        all.extend(self.matching("$SYS/#"));
        all
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Retained messages in a topic-level tree, so wildcard lookups walk matching branches only.
#[derive(Default)]
pub struct MemoryRetainStore {
    index: RwLock<RetainedIndex<Arc<Message>>>,
}

impl MemoryRetainStore {
    pub fn new() -> MemoryRetainStore {
        MemoryRetainStore::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RetainedIndex<Arc<Message>>> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RetainedIndex<Arc<Message>>> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl RetainStore for MemoryRetainStore {
    fn put(&self, message: Arc<Message>) {
        let topic = message.topic.clone();
        self.write().insert(&topic, message);
    }

    fn delete(&self, topic: &str) -> bool {
        self.write().remove(topic).is_some()
    }

    fn get(&self, topic: &str) -> Option<Arc<Message>> {
        self.read().get(topic).cloned()
    }

    fn matching(&self, filter: &str) -> Vec<Arc<Message>> {
        let mut found = Vec::new();
        self.read()
            .for_each_match(filter, |_, message| found.push(message.clone()));
        found
    }

    fn len(&self) -> usize {
        self.read().len()
    }

    fn all(&self) -> Vec<Arc<Message>> {
        let mut all = Vec::new();
        self.read().for_each(|_, message| all.push(message.clone()));
        all
    }
}
