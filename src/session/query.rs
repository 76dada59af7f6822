//! Requests the REST API and `ctl` send to one session actor: its counters
//! ([`SessionInfo`]), its subscriptions ([`Subscriptions`]), kicking its client ([`Kick`]),
//! clearing its ACL cache ([`CleanAclCache`]) and unsubscribing on its behalf
//! ([`UnsubscribeOnBehalf`]).

use crate::mqtt::packet::QoS;
use crate::session::actor::{CloseReason, Phase, SessionActor};
use actix::prelude::*;
use bytestring::ByteString;
use std::time::SystemTime;

/// A session's counters, as the REST API's `Session` object shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub client_id: ByteString,
    pub clean_session: bool,
    /// The client is connected right now.
    pub connected: bool,
    pub max_inflight: usize,
    pub inflight_len: usize,
    pub mqueue_len: usize,
    pub mqueue_dropped: u64,
    pub awaiting_rel_len: usize,
    pub subscriptions: usize,
    pub created_at: SystemTime,
}

/// The session's counters; `None` while the actor holds no session (before CONNECT).
#[derive(Message)]
#[rtype(result = "Option<SessionSummary>")]
pub struct SessionInfo;

impl Handler<SessionInfo> for SessionActor {
    type Result = Option<SessionSummary>;

    fn handle(&mut self, _: SessionInfo, _: &mut Self::Context) -> Self::Result {
        let connected = self.phase == Phase::Connected;
        let max_inflight = self.core.config.mqtt.session.max_inflight;
        let session = self.session.as_ref()?;
        let windows = session.windows_if_any();
        Some(SessionSummary {
            client_id: session.client_id.clone(),
            clean_session: session.clean_session,
            connected,
            max_inflight,
            inflight_len: windows.map_or(0, |w| w.inflight.len()),
            mqueue_len: session.inbox_if_any().map_or(0, |inbox| inbox.len()),
            mqueue_dropped: session.inbox_if_any().map_or(0, |inbox| inbox.dropped()),
            awaiting_rel_len: windows.map_or(0, |w| w.awaiting_rel.len()),
            subscriptions: session.subscriptions.len(),
            created_at: session.created_at,
        })
    }
}

/// The session's subscriptions (filter, granted QoS), sorted by filter.
#[derive(Message)]
#[rtype(result = "Vec<(ByteString, QoS)>")]
pub struct Subscriptions;

impl Handler<Subscriptions> for SessionActor {
    type Result = MessageResult<Subscriptions>;

    fn handle(&mut self, _: Subscriptions, _: &mut Self::Context) -> Self::Result {
        let mut list: Vec<(ByteString, QoS)> = self
            .session
            .as_ref()
            .map(|s| {
                s.subscriptions
                    .iter()
                    .map(|(f, q)| (ByteString::from(f), q))
                    .collect()
            })
            .unwrap_or_default();
        list.sort();
        MessageResult(list)
    }
}

/// Close the client's connection (emqttd's `clients kick`): its will is published and a
/// persistent session stays, offline. False when the client is not connected.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Kick;

impl Handler<Kick> for SessionActor {
    type Result = bool;

    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) -> bool {
        if self.phase != Phase::Connected {
            return false;
        }
        self.close(
            ctx,
            CloseReason::Abnormal("kicked by an administrator".into()),
        );
        true
    }
}

/// Forget the session's cached ACL decisions. False when no client holds the session.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct CleanAclCache;

impl Handler<CleanAclCache> for SessionActor {
    type Result = bool;

    fn handle(&mut self, _: CleanAclCache, _: &mut Self::Context) -> bool {
        match &mut self.client {
            Some(client) => {
                client.access.cache.clear();
                true
            }
            None => false,
        }
    }
}

/// Remove the session's subscriptions to `filters` and their routes (no UNSUBACK, no
/// `client.unsubscribe` chain); answers the filters that were subscribed, once the routes are
/// gone.
#[derive(Message)]
#[rtype(result = "Vec<ByteString>")]
pub struct UnsubscribeOnBehalf {
    pub filters: Vec<ByteString>,
}

impl Handler<UnsubscribeOnBehalf> for SessionActor {
    type Result = ResponseActFuture<Self, Vec<ByteString>>;

    fn handle(&mut self, msg: UnsubscribeOnBehalf, _: &mut Self::Context) -> Self::Result {
        let Some(session) = self.session.as_mut() else {
            return Box::pin(fut::ready(Vec::new()));
        };
        let removed: Vec<ByteString> = msg
            .filters
            .into_iter()
            .filter(|filter| session.subscriptions.remove(filter).is_some())
            .collect();
        let key = session.key;
        self.notify_unsubscribed(&removed);
        let routes = self.core.router.unsubscribe(removed.clone(), key);
        Box::pin(
            futures_util::future::join_all(routes)
                .into_actor(self)
                .map(move |_, _, _| removed),
        )
    }
}
