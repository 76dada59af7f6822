//! Hook points (replaces emqttd_hooks.erl): filter chains run inline by the calling session,
//! and notify points delivered as [`HookEvent`]s to subscribed actors or channels.
//!
//! * Filter chains (`client.connect`, `client.subscribe`, `client.unsubscribe`,
//!   `message.publish`) are ordered by priority (higher first). Each callback may let the
//!   accumulator continue, rewrite it, or stop the chain (emqttd's `ok | {ok, Acc} | stop |
//!   {stop, Acc}`).
//! * Notify points (`client.connected`, `client.disconnected`, `client.connack`,
//!   `session.created`, `session.subscribed`, `session.unsubscribed`, `session.terminated`,
//!   `message.delivered`, `message.acked`, `message.dropped`) are events. A subscriber names
//!   the kinds it wants; delivery uses `try_send` and never blocks the caller. What a full or
//!   closed subscriber cannot take is counted in `$SYS/.../metrics/hooks/events/dropped`.
//! * With nobody registered, a hook point costs one atomic load.
//!
//! Every registration returns a [`HookId`]; [`Hooks::remove`] undoes any of them at run time.

use crate::broker::{BrokerCore, Message};
use crate::sys::metrics::Metric;
use actix::prelude::*;
use bytes::Bytes;
use bytestring::ByteString;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub use emqttd_plugin_api::hooks::{
    ConnectAction, ConnectCallback, DropReason, EventKind, Flow, HookEvent, PublishAction,
    PublishCallback, SubscribeCallback, TopicEntry, UnsubscribeCallback,
};
pub use emqttd_plugin_api::Client;

/// Where a subscriber receives events.
pub enum EventSink {
    /// An actor's mailbox (bounded by its mailbox capacity).
    Actor(Recipient<HookEvent>),
    /// A bounded channel.
    Channel(tokio::sync::mpsc::Sender<HookEvent>),
}

impl EventSink {
    /// Hand over without waiting; `Err(closed)` when not taken.
    fn offer(&self, event: HookEvent) -> Result<(), bool> {
        match self {
            EventSink::Actor(recipient) => recipient
                .try_send(event)
                .map_err(|e| matches!(e, SendError::Closed(_))),
            EventSink::Channel(sender) => sender
                .try_send(event)
                .map_err(|e| matches!(e, tokio::sync::mpsc::error::TrySendError::Closed(_))),
        }
    }
}

/// Identifies a registered callback or subscriber, to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId(u64);

struct Entry<F: ?Sized> {
    id: HookId,
    priority: i32,
    callback: Arc<F>,
}

/// One filter chain, sorted by priority (higher first; equal priorities keep their
/// registration order).
struct Chain<F: ?Sized> {
    entries: RwLock<Vec<Entry<F>>>,
    any: AtomicBool,
}

impl<F: ?Sized> Default for Chain<F> {
    fn default() -> Self {
        Chain {
            entries: RwLock::new(Vec::new()),
            any: AtomicBool::new(false),
        }
    }
}

impl<F: ?Sized> Chain<F> {
    fn add(&self, id: HookId, priority: i32, callback: Arc<F>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.push(Entry {
            id,
            priority,
            callback,
        });
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.priority));
        self.any.store(true, Ordering::Release);
    }

    fn remove(&self, id: HookId) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let before = entries.len();
        entries.retain(|entry| entry.id != id);
        self.any.store(!entries.is_empty(), Ordering::Release);
        entries.len() != before
    }

    /// The callbacks in order, or `None` when the chain is empty (the fast path). Copied out
    /// so that a callback may register or remove hooks without deadlocking.
    fn callbacks(&self) -> Option<Vec<Arc<F>>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        Some(entries.iter().map(|e| e.callback.clone()).collect())
    }

    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Called once an event subscriber is found gone (its actor stopped, its channel dropped).
pub type OnClosed = Arc<dyn Fn() + Send + Sync>;

struct Subscriber {
    id: HookId,
    kinds: u32,
    sink: EventSink,
    on_closed: Option<OnClosed>,
}

/// The broker's hook registry.
#[derive(Default)]
pub struct Hooks {
    message_publish: Chain<PublishCallback>,
    client_connect: Chain<ConnectCallback>,
    client_subscribe: Chain<SubscribeCallback>,
    client_unsubscribe: Chain<UnsubscribeCallback>,
    subscribers: RwLock<Vec<Subscriber>>,
    /// The union of the kinds subscribers want: the fast path of every notify point.
    wanted: AtomicU32,
    next_id: AtomicU64,
    dropped: AtomicU64,
}

impl Hooks {
    fn next_id(&self) -> HookId {
        HookId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Register a `message.publish` callback; higher priorities run first.
    pub fn add_message_publish<F>(&self, priority: i32, callback: F) -> HookId
    where
        F: Fn(&Message) -> PublishAction + Send + Sync + 'static,
    {
        let id = self.next_id();
        self.message_publish.add(id, priority, Arc::new(callback));
        id
    }

    /// Register a `client.connect` callback (authentication, refusing clients); higher
    /// priorities run first. It sees the client and its CONNECT password.
    pub fn add_client_connect<F>(&self, priority: i32, callback: F) -> HookId
    where
        F: Fn(&Client, Option<&Bytes>) -> ConnectAction + Send + Sync + 'static,
    {
        let id = self.next_id();
        self.client_connect.add(id, priority, Arc::new(callback));
        id
    }

    /// Register a `client.subscribe` callback: it may rewrite filters and QoS in the topic
    /// table of a SUBSCRIBE, or refuse entries (SUBACK 0x80), before anything is subscribed.
    pub fn add_client_subscribe<F>(&self, priority: i32, callback: F) -> HookId
    where
        F: Fn(&Client, &mut [TopicEntry]) -> Flow + Send + Sync + 'static,
    {
        let id = self.next_id();
        self.client_subscribe.add(id, priority, Arc::new(callback));
        id
    }

    /// Register a `client.unsubscribe` callback: it may rewrite or remove the filters of an
    /// UNSUBSCRIBE before they are unsubscribed.
    pub fn add_client_unsubscribe<F>(&self, priority: i32, callback: F) -> HookId
    where
        F: Fn(&Client, &mut Vec<ByteString>) -> Flow + Send + Sync + 'static,
    {
        let id = self.next_id();
        self.client_unsubscribe
            .add(id, priority, Arc::new(callback));
        id
    }

    /// Subscribe `sink` to the event kinds in `kinds` (see [`EventKind::set`]).
    pub fn subscribe(&self, kinds: u32, sink: EventSink) -> HookId {
        self.subscribe_watched(kinds, sink, None)
    }

    /// [`Hooks::subscribe`], with `on_closed` called when an event finds the subscriber gone
    /// (it is removed then, and not called again).
    pub fn subscribe_watched(
        &self,
        kinds: u32,
        sink: EventSink,
        on_closed: Option<OnClosed>,
    ) -> HookId {
        let id = self.next_id();
        let mut subscribers = self.subscribers.write().unwrap_or_else(|p| p.into_inner());
        subscribers.push(Subscriber {
            id,
            kinds,
            sink,
            on_closed,
        });
        self.wanted.fetch_or(kinds, Ordering::Release);
        id
    }

    /// Subscribe an actor to the event kinds in `kinds`.
    pub fn subscribe_actor(&self, kinds: &[EventKind], recipient: Recipient<HookEvent>) -> HookId {
        self.subscribe(EventKind::set(kinds), EventSink::Actor(recipient))
    }

    /// Subscribe a new bounded channel of `capacity` to the event kinds in `kinds`.
    pub fn subscribe_channel(
        &self,
        kinds: &[EventKind],
        capacity: usize,
    ) -> (HookId, tokio::sync::mpsc::Receiver<HookEvent>) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
        let id = self.subscribe(EventKind::set(kinds), EventSink::Channel(tx));
        (id, rx)
    }

    /// Remove a callback or subscriber, whatever it was registered with. False if unknown.
    pub fn remove(&self, id: HookId) -> bool {
        self.message_publish.remove(id)
            || self.client_connect.remove(id)
            || self.client_subscribe.remove(id)
            || self.client_unsubscribe.remove(id)
            || self.remove_subscribers(|s| s.id == id)
    }

    fn remove_subscribers(&self, which: impl Fn(&Subscriber) -> bool) -> bool {
        let mut subscribers = self.subscribers.write().unwrap_or_else(|p| p.into_inner());
        let before = subscribers.len();
        subscribers.retain(|s| !which(s));
        let wanted = subscribers.iter().fold(0, |set, s| set | s.kinds);
        self.wanted.store(wanted, Ordering::Release);
        subscribers.len() != before
    }

    /// Registered callbacks and subscribers, all points together.
    pub fn len(&self) -> usize {
        self.message_publish.len()
            + self.client_connect.len()
            + self.client_subscribe.len()
            + self.client_unsubscribe.len()
            + self
                .subscribers
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run the `message.publish` chain; `None` when a callback dropped the message.
    pub fn run_message_publish(&self, message: Message) -> Option<Message> {
        let Some(callbacks) = self.message_publish.callbacks() else {
            return Some(message);
        };
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

    /// Run the `client.connect` chain: `Continue` when every callback passed.
    pub fn run_client_connect(&self, client: &Client, password: Option<&Bytes>) -> ConnectAction {
        let Some(callbacks) = self.client_connect.callbacks() else {
            return ConnectAction::Continue;
        };
        for callback in callbacks {
            match callback(client, password) {
                ConnectAction::Continue => {}
                decided => return decided,
            }
        }
        ConnectAction::Continue
    }

    /// Run the `client.subscribe` chain over `table`, in place.
    pub fn run_client_subscribe(&self, client: &Client, table: &mut [TopicEntry]) {
        let Some(callbacks) = self.client_subscribe.callbacks() else {
            return;
        };
        for callback in callbacks {
            if callback(client, table) == Flow::Stop {
                break;
            }
        }
    }

    /// Run the `client.unsubscribe` chain over `filters`, in place.
    pub fn run_client_unsubscribe(&self, client: &Client, filters: &mut Vec<ByteString>) {
        let Some(callbacks) = self.client_unsubscribe.callbacks() else {
            return;
        };
        for callback in callbacks {
            if callback(client, filters) == Flow::Stop {
                break;
            }
        }
    }

    /// True when some subscriber wants events of `kind`: check it before building an event.
    #[inline]
    pub fn wants(&self, kind: EventKind) -> bool {
        self.wanted.load(Ordering::Acquire) & kind.bit() != 0
    }

    /// Offer `event` to every subscriber of its kind without waiting; returns how many could
    /// not take it (full or closed). Closed subscribers are removed.
    pub fn emit(&self, event: HookEvent) -> u64 {
        let bit = event.kind().bit();
        if self.wanted.load(Ordering::Acquire) & bit == 0 {
            return 0;
        }
        let mut dropped = 0;
        let mut closed = Vec::new();
        {
            let subscribers = self.subscribers.read().unwrap_or_else(|p| p.into_inner());
            for subscriber in subscribers.iter().filter(|s| s.kinds & bit != 0) {
                if let Err(is_closed) = subscriber.sink.offer(event.clone()) {
                    dropped += 1;
                    if is_closed {
                        closed.push((subscriber.id, subscriber.on_closed.clone()));
                    }
                }
            }
        }
        if !closed.is_empty() {
            // Outside the lock: a callback may remove registrations itself.
            if self.remove_subscribers(|s| closed.iter().any(|(id, _)| *id == s.id)) {
                for on_closed in closed.into_iter().filter_map(|(_, f)| f) {
                    on_closed();
                }
            }
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        dropped
    }

    /// Events not delivered so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl BrokerCore {
    /// Emit the event `build` makes, if anybody listens to `kind`; drops are counted in the
    /// `hooks/events/dropped` metric.
    #[inline]
    pub fn notify(&self, kind: EventKind, build: impl FnOnce() -> HookEvent) {
        if !self.hooks.wants(kind) {
            return;
        }
        let dropped = self.hooks.emit(build());
        if dropped > 0 {
            self.metrics.add(Metric::HooksEventsDropped, dropped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::packet::{ConnectReturnCode, QoS};

    fn message(topic: &str) -> Message {
        Message::new(
            "c".into(),
            topic.into(),
            bytes::Bytes::new(),
            QoS::AtMostOnce,
            false,
        )
    }

    fn client() -> Client {
        Client {
            client_id: "c1".into(),
            username: Some("u1".into()),
            peer: "127.0.0.1:1".parse().unwrap(),
            protocol: 4,
            clean_session: true,
            keep_alive: 60,
            listener: "mqtt:tcp:test".into(),
            connected_at: std::time::SystemTime::now(),
        }
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
        assert!(hooks.remove(rewrite));
        assert_eq!(hooks.run_message_publish(message("x")).unwrap().topic, "x");
    }

    #[test]
    fn connect_chain_stops_at_the_first_decision() {
        let hooks = Hooks::default();
        assert_eq!(
            hooks.run_client_connect(&client(), None),
            ConnectAction::Continue
        );
        hooks.add_client_connect(0, |_, _| {
            ConnectAction::Refuse(ConnectReturnCode::NotAuthorized)
        });
        let accept = hooks.add_client_connect(5, |c, password| {
            if c.username.as_deref() == Some("u1") && password.map(|p| &p[..]) == Some(&b"pw"[..]) {
                ConnectAction::Accept
            } else {
                ConnectAction::Continue
            }
        });
        let pw = Bytes::from_static(b"pw");
        assert_eq!(
            hooks.run_client_connect(&client(), Some(&pw)),
            ConnectAction::Accept
        );
        assert_eq!(
            hooks.run_client_connect(&client(), None),
            ConnectAction::Refuse(ConnectReturnCode::NotAuthorized)
        );
        hooks.remove(accept);
        assert_eq!(
            hooks.run_client_connect(&client(), Some(&pw)),
            ConnectAction::Refuse(ConnectReturnCode::NotAuthorized)
        );
    }

    #[test]
    fn subscribe_chain_rewrites_in_place_and_stop_skips_the_rest() {
        let hooks = Hooks::default();
        hooks.add_client_subscribe(1, |_, table| {
            for entry in table.iter_mut() {
                entry.filter = format!("never/{}", entry.filter).into();
            }
            Flow::Continue
        });
        hooks.add_client_subscribe(2, |c, table| {
            for entry in table.iter_mut() {
                entry.filter = format!("{}/{}", c.client_id, entry.filter).into();
                entry.refused = entry.filter.ends_with("/deny");
            }
            Flow::Stop
        });
        let mut table = vec![
            TopicEntry {
                filter: "a".into(),
                qos: QoS::AtLeastOnce,
                refused: false,
            },
            TopicEntry {
                filter: "deny".into(),
                qos: QoS::AtMostOnce,
                refused: false,
            },
        ];
        hooks.run_client_subscribe(&client(), &mut table);
        assert_eq!(table[0].filter, "c1/a");
        assert!(!table[0].refused);
        assert!(table[1].refused);

        hooks.add_client_unsubscribe(0, |_, filters| {
            filters.retain(|f| f != "b");
            Flow::Continue
        });
        let mut filters: Vec<ByteString> = vec!["a".into(), "b".into()];
        hooks.run_client_unsubscribe(&client(), &mut filters);
        assert_eq!(filters, vec![ByteString::from("a")]);
    }

    #[test]
    fn events_reach_only_subscribers_of_their_kind_and_full_channels_count_drops() {
        let hooks = Hooks::default();
        assert!(!hooks.wants(EventKind::SessionCreated));
        let (id, mut rx) = hooks.subscribe_channel(&[EventKind::SessionCreated], 1);
        assert!(hooks.wants(EventKind::SessionCreated));
        assert!(!hooks.wants(EventKind::MessageAcked));
        let event = HookEvent::SessionCreated {
            client: Arc::new(client()),
        };
        assert_eq!(hooks.emit(event.clone()), 0);
        assert_eq!(
            hooks.emit(event.clone()),
            1,
            "capacity 1: the second is dropped"
        );
        assert_eq!(hooks.dropped(), 1);
        assert!(matches!(
            rx.try_recv(),
            Ok(HookEvent::SessionCreated { .. })
        ));
        assert!(hooks.remove(id));
        assert!(!hooks.wants(EventKind::SessionCreated));
        assert!(hooks.is_empty());
    }

    #[test]
    fn a_closed_channel_is_unsubscribed() {
        let hooks = Hooks::default();
        let (_, rx) = hooks.subscribe_channel(&[EventKind::SessionCreated], 4);
        drop(rx);
        let event = HookEvent::SessionCreated {
            client: Arc::new(client()),
        };
        assert_eq!(hooks.emit(event), 1);
        assert!(!hooks.wants(EventKind::SessionCreated));
    }

    #[test]
    fn a_watched_subscriber_found_gone_is_reported_once() {
        use std::sync::atomic::AtomicUsize;
        let hooks = Hooks::default();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let reports = Arc::new(AtomicUsize::new(0));
        let seen = reports.clone();
        hooks.subscribe_watched(
            EventKind::set(&[EventKind::SessionCreated]),
            EventSink::Channel(tx),
            Some(Arc::new(move || {
                seen.fetch_add(1, Ordering::Relaxed);
            })),
        );
        let event = || HookEvent::SessionCreated {
            client: Arc::new(client()),
        };
        assert_eq!(hooks.emit(event()), 0);
        assert_eq!(reports.load(Ordering::Relaxed), 0, "alive: not reported");
        drop(rx);
        assert_eq!(hooks.emit(event()), 1);
        assert_eq!(hooks.emit(event()), 0, "removed after the first miss");
        assert_eq!(reports.load(Ordering::Relaxed), 1);
    }
}
