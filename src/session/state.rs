//! The state of one MQTT session, independent of any connection (emqttd_session's state):
//! subscriptions, the outgoing inflight window, incoming QoS 2 ids and the delivery inbox.
//! It moves from one session actor to the next on takeover; when it is dropped for good its
//! routes are removed, even if its actor died in a panic.

use crate::broker::BrokerCore;
use crate::mqtt::packet::PacketId;
use crate::router::SessionKey;
use crate::session::awaiting_rel::AwaitingRel;
use crate::session::inbox::{Delivery, Inbox};
use crate::session::inflight::InflightWindow;
use crate::session::packet_id::PacketIdAllocator;
use crate::session::subscriptions::Subscriptions;
use bytestring::ByteString;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

pub struct SessionState {
    /// The key of this session's routes; kept across takeover.
    pub key: SessionKey,
    pub client_id: ByteString,
    pub clean_session: bool,
    /// Topic filter → granted QoS.
    pub subscriptions: Subscriptions,
    /// Created with the first subscription: until then nothing can be delivered.
    inbox: Option<Arc<Inbox>>,
    /// Whether a connection takes deliveries (kept here while there is no inbox).
    online: bool,
    /// Created on first use: a client that never exchanges QoS 1/2 or retained messages
    /// (most idle devices) does not pay for them.
    windows: Option<Box<Windows>>,
    pub created_at: SystemTime,
    /// The client holding the session, for `session.*` hook events.
    pub(crate) hook_client: Option<Arc<crate::hooks::Client>>,
    /// Why the session ends when it is dropped (`session.terminated`).
    pub(crate) end_reason: &'static str,
    core: Arc<BrokerCore>,
}

/// The message windows of a session.
pub struct Windows {
    pub inflight: InflightWindow<Delivery>,
    pub awaiting_rel: AwaitingRel,
    pub packet_ids: PacketIdAllocator,
    /// Retained messages for new subscriptions, sent before the inbox; not bounded by the
    /// mqueue, so a `#` subscriber receives every retained message.
    pub backlog: VecDeque<Delivery>,
}

impl Windows {
    /// A packet id not used by any message still inflight.
    pub fn next_packet_id(&mut self) -> Option<PacketId> {
        let inflight = &self.inflight;
        self.packet_ids.next(|id| inflight.contains(id))
    }

    /// Free inflight slots (`usize::MAX` when the window is unlimited).
    pub fn free_slots(&self) -> usize {
        match self.inflight.max_inflight() {
            0 => usize::MAX,
            max => max.saturating_sub(self.inflight.len()),
        }
    }
}

impl SessionState {
    pub fn new(core: Arc<BrokerCore>, client_id: ByteString, clean_session: bool) -> SessionState {
        SessionState {
            key: core.next_id(),
            client_id,
            clean_session,
            subscriptions: Subscriptions::new(),
            inbox: None,
            online: false,
            windows: None,
            created_at: SystemTime::now(),
            hook_client: None,
            end_reason: "normal",
            core,
        }
    }

    /// The delivery inbox the routes of this session push into, created on first use.
    pub fn inbox(&mut self) -> &Arc<Inbox> {
        let mqueue = &self.core.config.mqtt.mqueue;
        let online = self.online;
        self.inbox.get_or_insert_with(|| {
            let inbox = Inbox::new(mqueue.max_length, mqueue.store_qos0);
            inbox.set_online(online);
            inbox
        })
    }

    /// The inbox, if the session ever subscribed.
    pub fn inbox_if_any(&self) -> Option<&Arc<Inbox>> {
        self.inbox.as_ref()
    }

    /// Mark the session connected (deliveries are taken from the inbox) or offline (they
    /// queue, and nobody is woken).
    pub fn set_online(&mut self, online: bool) {
        self.online = online;
        if let Some(inbox) = &self.inbox {
            inbox.set_online(online);
        }
    }

    /// The windows, created on first use.
    pub fn windows(&mut self) -> &mut Windows {
        let session = &self.core.config.mqtt.session;
        self.windows.get_or_insert_with(|| {
            Box::new(Windows {
                inflight: InflightWindow::new(session.max_inflight),
                awaiting_rel: AwaitingRel::new(session.max_awaiting_rel, session.await_rel_timeout),
                packet_ids: PacketIdAllocator::new(),
                backlog: VecDeque::new(),
            })
        })
    }

    /// The windows, if any were ever needed.
    pub fn windows_if_any(&self) -> Option<&Windows> {
        self.windows.as_deref()
    }
}

impl Drop for SessionState {
    fn drop(&mut self) {
        if let Some(client) = self.hook_client.take() {
            let reason = self.end_reason;
            self.core
                .notify(crate::hooks::EventKind::SessionTerminated, || {
                    crate::hooks::HookEvent::SessionTerminated { client, reason }
                });
        }
        if self.subscriptions.is_empty() {
            return;
        }
        let filters = self
            .subscriptions
            .take_filters()
            .into_iter()
            .map(ByteString::from)
            .collect();
        self.core.router.remove_all(filters, self.key);
    }
}
