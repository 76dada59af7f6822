//! Hook chains run inline by the publishing session (replaces emqttd_hooks.erl). This first
//! cut has the `message.publish` chain; every callback sees the message and may let it
//! continue, rewrite it, or stop it (drop it).

use crate::broker::Message;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// What a `message.publish` callback decides.
pub enum PublishAction {
    /// Pass the message on unchanged.
    Continue,
    /// Pass this rewritten message on.
    Rewrite(Message),
    /// Drop the message: no later callback runs and nothing is routed.
    Drop,
}

/// Identifies a registered callback, to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookId(u64);

type PublishCallback = Arc<dyn Fn(&Message) -> PublishAction + Send + Sync>;

struct Entry {
    id: HookId,
    priority: i32,
    callback: PublishCallback,
}

/// The broker's hook registry.
#[derive(Default)]
pub struct Hooks {
    message_publish: RwLock<Vec<Entry>>,
    any_publish: AtomicBool,
    next_id: AtomicU64,
}

impl Hooks {
    /// Register a `message.publish` callback; higher priorities run first.
    pub fn add_message_publish<F>(&self, priority: i32, callback: F) -> HookId
    where
        F: Fn(&Message) -> PublishAction + Send + Sync + 'static,
    {
        let id = HookId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut chain = self
            .message_publish
            .write()
            .unwrap_or_else(|p| p.into_inner());
        chain.push(Entry {
            id,
            priority,
            callback: Arc::new(callback),
        });
        chain.sort_by_key(|entry| std::cmp::Reverse(entry.priority));
        self.any_publish.store(true, Ordering::Release);
        id
    }

    /// Remove a callback registered by `add_message_publish`.
    pub fn remove(&self, id: HookId) {
        let mut chain = self
            .message_publish
            .write()
            .unwrap_or_else(|p| p.into_inner());
        chain.retain(|entry| entry.id != id);
        self.any_publish.store(!chain.is_empty(), Ordering::Release);
    }

    /// Run the `message.publish` chain; `None` when a callback dropped the message.
    pub fn run_message_publish(&self, message: Message) -> Option<Message> {
        if !self.any_publish.load(Ordering::Acquire) {
            return Some(message);
        }
        let callbacks: Vec<PublishCallback> = self
            .message_publish
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|entry| entry.callback.clone())
            .collect();
        let mut message = message;
        for callback in callbacks {
            match callback(&message) {
                PublishAction::Continue => {}
                PublishAction::Rewrite(rewritten) => message = rewritten,
                PublishAction::Drop => return None,
            }
        }
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::packet::QoS;

    fn message(topic: &str) -> Message {
        Message::new(
            "c".into(),
            topic.into(),
            bytes::Bytes::new(),
            QoS::AtMostOnce,
            false,
        )
    }

    #[test]
    fn callbacks_run_by_priority_and_can_rewrite_or_drop() {
        let hooks = Hooks::default();
        hooks.add_message_publish(0, |m| {
            if m.topic == "y" {
                PublishAction::Drop
            } else {
                PublishAction::Continue
            }
        });
        let rewrite = hooks.add_message_publish(10, |m| {
            let mut m = m.clone();
            m.topic = "y".into();
            PublishAction::Rewrite(m)
        });
        assert!(hooks.run_message_publish(message("x")).is_none());
        hooks.remove(rewrite);
        assert_eq!(hooks.run_message_publish(message("x")).unwrap().topic, "x");
    }
}
