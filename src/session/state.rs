//! The state of one MQTT session, independent of any connection (emqttd_session's state):
//! subscriptions, the outgoing inflight window, incoming QoS 2 ids and the delivery inbox.
//! It moves from one session actor to the next on takeover; when it is dropped for good its
//! routes are removed, even if its actor died in a panic.

use crate::broker::BrokerCore;
use crate::mqtt::packet::{PacketId, QoS};
use crate::router::SessionKey;
use crate::session::awaiting_rel::AwaitingRel;
use crate::session::inbox::{Delivery, Inbox};
use crate::session::inflight::InflightWindow;
use crate::session::packet_id::PacketIdAllocator;
use bytestring::ByteString;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

pub struct SessionState {
    /// The key of this session's routes; kept across takeover.
    pub key: SessionKey,
    pub client_id: ByteString,
    pub clean_session: bool,
    /// Topic filter → granted QoS.
    pub subscriptions: HashMap<ByteString, QoS>,
    pub inbox: Arc<Inbox>,
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
        let mqueue = &core.config.mqtt.mqueue;
        SessionState {
            key: core.next_id(),
            client_id,
            clean_session,
            subscriptions: HashMap::new(),
            inbox: Inbox::new(mqueue.max_length, mqueue.store_qos0),
            windows: None,
            created_at: SystemTime::now(),
            hook_client: None,
            end_reason: "normal",
            core,
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
            .drain()
            .map(|(filter, _)| filter)
            .collect();
        self.core.router.remove_all(filters, self.key);
    }
}
