//! Retained messages: the limits of `[retainer]` in front of a `RetainStore`
//! (replaces emqttd_retainer / emq_retainer).

pub mod index;
pub mod store;

use crate::broker::Message;
use crate::config::RetainerConfig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
pub use store::{MemoryRetainStore, RetainStore};

/// What the retainer did with a retained publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainOutcome {
    Stored,
    /// An empty payload removed the topic's retained message (MQTT-3.3.1-10).
    Cleared,
    /// Over `max_payload_size` or `max_message_num`: delivered live but not retained.
    Refused,
}

pub struct Retainer {
    store: Box<dyn RetainStore>,
    /// Retained `$SYS` topics: the broker's own, not counted against `max_message_num`.
    sys_topics: AtomicUsize,
    max_message_num: usize,
    max_payload_size: usize,
}

impl Retainer {
    pub fn new(config: &RetainerConfig, store: Box<dyn RetainStore>) -> Retainer {
        Retainer {
            store,
            sys_topics: AtomicUsize::new(0),
            max_message_num: config.max_message_num,
            max_payload_size: config.max_payload_size,
        }
    }

    /// Store, replace or clear the retained message of `message.topic`.
    pub fn retain(&self, message: &Arc<Message>) -> RetainOutcome {
        if message.sys {
            if !self.store.contains(&message.topic) {
                self.sys_topics.fetch_add(1, Ordering::Relaxed);
            }
            self.store.put(message.clone());
            return RetainOutcome::Stored;
        }
        if message.payload.is_empty() {
            self.store.delete(&message.topic);
            return RetainOutcome::Cleared;
        }
        if self.max_payload_size > 0 && message.payload.len() > self.max_payload_size {
            return RetainOutcome::Refused;
        }
        if self.max_message_num > 0
            && self.store.len() >= self.max_message_num + self.sys_topics.load(Ordering::Relaxed)
            && !self.store.contains(&message.topic)
        {
            return RetainOutcome::Refused;
        }
        self.store.put(message.clone());
        RetainOutcome::Stored
    }

    /// The retained messages a new subscription to `filter` receives.
    pub fn matching(&self, filter: &str) -> Vec<Arc<Message>> {
        self.store.matching(filter)
    }

    /// The retained message of exactly `topic`.
    pub fn get(&self, topic: &str) -> Option<Arc<Message>> {
        self.store.get(topic)
    }

    /// Every retained message (`$SYS` ones included), sorted by topic.
    pub fn all(&self) -> Vec<Arc<Message>> {
        let mut all = self.store.all();
        all.sort_by(|a, b| a.topic.cmp(&b.topic));
        all
    }

    /// Remove the retained message of `topic` (the REST API's delete); true if there was one.
    pub fn delete(&self, topic: &str) -> bool {
        let Some(message) = self.store.get(topic) else {
            return false;
        };
        let deleted = self.store.delete(topic);
        if deleted && message.sys {
            let _ = self
                .sys_topics
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
        deleted
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}
