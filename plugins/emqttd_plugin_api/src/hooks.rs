//! Hook points (emqttd_hooks): what filter callbacks decide, and the notify events
//! ([`HookEvent`]) that actors subscribe to.

use crate::types::{Client, ConnectReturnCode, Message, QoS};
use actix::Message as ActixMessage;
use bytestring::ByteString;
use std::sync::Arc;

/// What a `message.publish` callback decides.
pub enum PublishAction {
    /// Pass the message on unchanged.
    Continue,
    /// Pass this rewritten message on.
    Rewrite(Message),
    /// Drop the message: no later callback runs and nothing is routed.
    Drop,
}

/// What a `client.connect` callback decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectAction {
    /// No opinion: ask the next callback.
    Continue,
    /// Accept the client; later callbacks are skipped (emqttd's `{stop, ok}`).
    Accept,
    /// Refuse the client with this CONNACK code; later callbacks are skipped.
    Refuse(ConnectReturnCode),
}

/// What a `client.subscribe` / `client.unsubscribe` callback decides after editing the topic
/// table in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Run the next callback.
    Continue,
    /// Skip the later callbacks; the table as it is now is used.
    Stop,
}

/// One entry of a SUBSCRIBE's topic table as seen by `client.subscribe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicEntry {
    pub filter: ByteString,
    pub qos: QoS,
    /// Set by a callback to refuse this filter: the SUBACK says 0x80 for it.
    pub refused: bool,
}

/// Why a message was dropped (`message.dropped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// A `message.publish` callback stopped it.
    Hook,
    /// No subscriber matched its topic.
    NoSubscribers,
    /// A subscriber's queue refused it (full, or QoS 0 for an offline client).
    QueueFull,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Hook => "hook",
            DropReason::NoSubscribers => "no_subscribers",
            DropReason::QueueFull => "queue_full",
        }
    }
}

/// A notify point, as delivered to subscribers. Cheap to clone (shared parts are `Arc`s).
#[derive(Debug, Clone, ActixMessage)]
#[rtype(result = "()")]
pub enum HookEvent {
    /// Every CONNACK sent once the client id is known, accepted or not.
    ClientConnack { client: Arc<Client>, connack: u8 },
    /// A client was accepted (CONNACK 0).
    ClientConnected {
        client: Arc<Client>,
        connack: u8,
        session_present: bool,
    },
    /// A connected client's connection ended; `reason` is emqttd's atom (`normal`,
    /// `keepalive_timeout`, `closed`, `takeover`, `shutdown`, `frame_error`, `protocol_error`).
    ClientDisconnected {
        client: Arc<Client>,
        reason: &'static str,
    },
    /// A new session was created (not resumed).
    SessionCreated { client: Arc<Client> },
    /// A subscription was added to the session and routed.
    SessionSubscribed {
        client: Arc<Client>,
        filter: ByteString,
        qos: QoS,
    },
    /// A subscription was removed.
    SessionUnsubscribed {
        client: Arc<Client>,
        filter: ByteString,
    },
    /// The session ended for good (clean session closed, expired, discarded, broker stop).
    SessionTerminated {
        client: Arc<Client>,
        reason: &'static str,
    },
    /// A message is about to be written to a subscriber.
    MessageDelivered {
        client: Arc<Client>,
        message: Arc<Message>,
    },
    /// A subscriber acknowledged a QoS 1 (PUBACK) or QoS 2 (PUBREC) message.
    MessageAcked {
        client: Arc<Client>,
        message: Arc<Message>,
    },
    /// A message was dropped.
    MessageDropped {
        message: Arc<Message>,
        reason: DropReason,
    },
}

/// The kinds of [`HookEvent`], to subscribe to some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EventKind {
    ClientConnack,
    ClientConnected,
    ClientDisconnected,
    SessionCreated,
    SessionSubscribed,
    SessionUnsubscribed,
    SessionTerminated,
    MessageDelivered,
    MessageAcked,
    MessageDropped,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::ClientConnack,
        EventKind::ClientConnected,
        EventKind::ClientDisconnected,
        EventKind::SessionCreated,
        EventKind::SessionSubscribed,
        EventKind::SessionUnsubscribed,
        EventKind::SessionTerminated,
        EventKind::MessageDelivered,
        EventKind::MessageAcked,
        EventKind::MessageDropped,
    ];

    /// This kind as a bit of a kind set.
    pub fn bit(self) -> u32 {
        1 << self as u8
    }

    /// The emqttd hook name, e.g. `client.connected`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::ClientConnack => "client.connack",
            EventKind::ClientConnected => "client.connected",
            EventKind::ClientDisconnected => "client.disconnected",
            EventKind::SessionCreated => "session.created",
            EventKind::SessionSubscribed => "session.subscribed",
            EventKind::SessionUnsubscribed => "session.unsubscribed",
            EventKind::SessionTerminated => "session.terminated",
            EventKind::MessageDelivered => "message.delivered",
            EventKind::MessageAcked => "message.acked",
            EventKind::MessageDropped => "message.dropped",
        }
    }

    /// A set of kinds, for [`Hooks::subscribe`].
    pub fn set(kinds: &[EventKind]) -> u32 {
        kinds.iter().fold(0, |set, kind| set | kind.bit())
    }
}

impl HookEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            HookEvent::ClientConnack { .. } => EventKind::ClientConnack,
            HookEvent::ClientConnected { .. } => EventKind::ClientConnected,
            HookEvent::ClientDisconnected { .. } => EventKind::ClientDisconnected,
            HookEvent::SessionCreated { .. } => EventKind::SessionCreated,
            HookEvent::SessionSubscribed { .. } => EventKind::SessionSubscribed,
            HookEvent::SessionUnsubscribed { .. } => EventKind::SessionUnsubscribed,
            HookEvent::SessionTerminated { .. } => EventKind::SessionTerminated,
            HookEvent::MessageDelivered { .. } => EventKind::MessageDelivered,
            HookEvent::MessageAcked { .. } => EventKind::MessageAcked,
            HookEvent::MessageDropped { .. } => EventKind::MessageDropped,
        }
    }
}

/// A `message.publish` filter callback.
pub type PublishCallback = dyn Fn(&Message) -> PublishAction + Send + Sync;
/// A `client.connect` filter callback: the client and its CONNECT password.
pub type ConnectCallback = dyn Fn(&Client, Option<&bytes::Bytes>) -> ConnectAction + Send + Sync;
/// A `client.subscribe` filter callback: may edit or refuse entries of the topic table.
pub type SubscribeCallback = dyn Fn(&Client, &mut [TopicEntry]) -> Flow + Send + Sync;
/// A `client.unsubscribe` filter callback: may edit the list of filters.
pub type UnsubscribeCallback = dyn Fn(&Client, &mut Vec<ByteString>) -> Flow + Send + Sync;
