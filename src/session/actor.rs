//! The session actor: one per client, holding the connection and the session (EMQX's channel;
//! emqttd_client + emqttd_session in one). With `clean_session = 0` it outlives its socket,
//! queueing messages, until the client returns or the session expires.
//!
//! This file owns the actor's life: start, the connection's I/O, timers and closing. The
//! CONNECT exchange is in `connect.rs`, the other packets in `handlers.rs`, delivery in
//! `deliver.rs`, and the socket I/O in `io.rs`.

use crate::broker::{BrokerCore, Message};
use crate::listener::ConnectionSlot;
use crate::mqtt::encode::encode_packet;
use crate::mqtt::packet::{LastWill, Packet, ProtocolLevel};
use crate::session::io::ConnectionIo;
use crate::session::state::SessionState;
use crate::session::timer::ConnTimer;
use actix::prelude::*;
use bytes::BytesMut;
use bytestring::ByteString;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};

/// The byte stream of one client connection, whatever the transport (TCP, TLS, WebSocket).
/// The stream is kept whole, not split into halves: a split costs a shared allocation and
/// two boxes per connection.
pub struct Transport<IO> {
    pub io: IO,
    pub peer: SocketAddr,
    /// The listener's name, e.g. `tcp:external`, for logs and stats.
    pub listener: Arc<str>,
    /// The listener's connection slot, freed when the connection ends.
    pub slot: Option<ConnectionSlot>,
    /// A username the transport established (the TLS client certificate's CN with
    /// `peer_cert_as_username = "cn"`); it replaces the CONNECT username.
    pub username: Option<ByteString>,
}

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Socket open, no CONNECT yet.
    AwaitConnect,
    /// CONNECT accepted, taking the session over from its previous holder.
    Connecting,
    Connected,
    /// No connection; a persistent session waiting for its client or its expiry.
    Offline,
    /// Flushing the last bytes before the actor stops.
    Closing,
}

/// Why a connection ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT: no will.
    Disconnect,
    /// Anything else the client did or suffered: the will is published.
    Abnormal(String),
    /// Another connection took the client id over: the will is published, the session moves.
    Takeover,
    /// The broker is stopping: no will, the actor ends.
    Shutdown,
}

impl CloseReason {
    /// emqttd's reason atom for hooks and presence: `normal` (DISCONNECT), `takeover`,
    /// `shutdown`, `keepalive_timeout`, `closed` (socket lost), `frame_error` (malformed
    /// packet) or `protocol_error`.
    pub fn as_reason(&self) -> &'static str {
        match self {
            CloseReason::Disconnect => "normal",
            CloseReason::Takeover => "takeover",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Abnormal(why) if why.starts_with("keepalive timeout") => {
                "keepalive_timeout"
            }
            CloseReason::Abnormal(why)
                if why.starts_with("connection closed")
                    || why.starts_with("read error")
                    || why.starts_with("write error") =>
            {
                "closed"
            }
            CloseReason::Abnormal(why) if why.starts_with("malformed packet") => "frame_error",
            CloseReason::Abnormal(why) if why.starts_with("kicked") => "kicked",
            CloseReason::Abnormal(_) => "protocol_error",
        }
    }
}

/// What the client told us in its accepted CONNECT. The client id, username and keepalive are
/// read through the shared client record hooks, the registry and the REST API see
/// (`Deref<Target = hooks::Client>`), so a connection keeps one copy of each.
pub(crate) struct ClientInfo {
    pub info: Arc<crate::hooks::Client>,
    pub protocol: ProtocolLevel,
    pub will: Option<Box<LastWill>>,
    /// Superuser flag and ACL cache (`crate::access`).
    pub access: crate::access::ClientAccess,
}

impl std::ops::Deref for ClientInfo {
    type Target = crate::hooks::Client;

    fn deref(&self) -> &crate::hooks::Client {
        &self.info
    }
}

pub struct SessionActor {
    pub(crate) core: Arc<BrokerCore>,
    pub(crate) conn_id: u64,
    pub(crate) listener: Arc<str>,
    pub(crate) peer: SocketAddr,
    pub(crate) phase: Phase,
    /// Encoded packets waiting to be written by the connection driver.
    pub(crate) out: BytesMut,
    /// Wakes the connection driver when output is queued.
    pub(crate) io_waker: Option<Waker>,
    /// True while a connection driver runs.
    connected_io: bool,
    /// Delivery paused because `out` reached the high-water mark.
    pub(crate) drain_blocked: bool,
    /// When the connection timer (CONNECT deadline, then keepalive) fires next.
    timer_due: Option<Instant>,
    /// That timer, on the worker's wheel.
    pub(crate) timer: ConnTimer,
    slot: Option<ConnectionSlot>,
    /// See [`Transport::username`].
    pub(crate) transport_username: Option<ByteString>,
    pub(crate) client: Option<ClientInfo>,
    /// The accepted client as hooks see it (set at CONNECT).
    pub(crate) hook_client: Option<Arc<crate::hooks::Client>>,
    pub(crate) session: Option<SessionState>,
    /// True while this actor's connection id is the registry entry of its client id.
    pub(crate) registered: bool,
    pub(crate) last_activity: Instant,
    pub(crate) retry_timer: Option<SpawnHandle>,
    expiry_timer: Option<SpawnHandle>,
}

impl SessionActor {
    /// Start a session actor for a new connection on the current arbiter.
    pub fn start<IO>(core: Arc<BrokerCore>, transport: Transport<IO>) -> Addr<SessionActor>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        SessionActor::create(move |ctx| {
            ctx.spawn(ConnectionIo::new(transport.io));
            SessionActor {
                conn_id: core.next_id(),
                core,
                listener: transport.listener,
                peer: transport.peer,
                phase: Phase::AwaitConnect,
                out: BytesMut::new(),
                io_waker: None,
                connected_io: true,
                drain_blocked: false,
                timer_due: None,
                timer: ConnTimer::default(),
                slot: transport.slot,
                transport_username: transport.username,
                client: None,
                hook_client: None,
                session: None,
                registered: false,
                last_activity: Instant::now(),
                retry_timer: None,
                expiry_timer: None,
            }
        })
    }

    /// The client id for logs: the accepted one, or the peer address before CONNECT.
    pub(crate) fn who(&self) -> String {
        match &self.client {
            Some(client) => format!("{}@{}", client.client_id, self.peer),
            None => self.peer.to_string(),
        }
    }

    /// Queue a packet for the client, if connected; the connection driver writes it.
    pub(crate) fn send(&mut self, packet: Packet) {
        if !self.connected_io || !self.writing() {
            return;
        }
        let before = self.out.len();
        if let Err(error) = encode_packet(&packet, &mut self.out) {
            log::error!("{}: cannot encode {}: {}", self.who(), packet.name(), error);
            return;
        }
        self.core
            .metrics
            .packet_sent(&packet, self.out.len() - before);
        if before == 0 {
            if let Some(waker) = &self.io_waker {
                waker.wake_by_ref();
            }
        }
    }

    /// A packet arrived, `size` bytes on the wire.
    pub(crate) fn on_packet_received(
        &mut self,
        packet: Packet,
        size: usize,
        ctx: &mut Context<Self>,
    ) {
        self.last_activity = Instant::now();
        self.core.metrics.packet_received(&packet, size);
        self.on_packet(packet, ctx);
    }

    /// The connection driver wrote everything: resume delivery if it was waiting for room.
    pub(crate) fn on_output_flushed(&mut self, ctx: &mut Context<Self>) {
        if self.drain_blocked {
            self.drain_blocked = false;
            self.drain(ctx);
        }
    }

    /// The connection driver finished: the socket is closed.
    pub(crate) fn on_connection_closed(&mut self, ctx: &mut Context<Self>) {
        self.connected_io = false;
        self.out = BytesMut::new();
        self.timer_due = None;
        self.timer.release();
        if self.phase == Phase::Closing {
            ctx.stop();
        }
    }

    /// End the connection. A persistent session stays behind, offline; otherwise the actor
    /// stops once the last bytes are flushed.
    pub(crate) fn close(&mut self, ctx: &mut Context<Self>, reason: CloseReason) {
        if matches!(self.phase, Phase::Closing | Phase::Offline) {
            return;
        }
        let was_connected = self.phase == Phase::Connected;
        match &reason {
            CloseReason::Abnormal(why) => log::info!(
                "{} on {}: connection closed: {}",
                self.who(),
                self.listener,
                why
            ),
            other => log::debug!(
                "{} on {}: connection closed: {:?}",
                self.who(),
                self.listener,
                other
            ),
        }
        if was_connected {
            self.core.connected.fetch_sub(1, Ordering::Relaxed);
            if let Some(client) = &self.hook_client {
                let reason = reason.as_reason();
                self.core
                    .notify(crate::hooks::EventKind::ClientDisconnected, || {
                        crate::hooks::HookEvent::ClientDisconnected {
                            client: client.clone(),
                            reason,
                        }
                    });
            }
            if matches!(reason, CloseReason::Abnormal(_) | CloseReason::Takeover) {
                self.publish_will();
            }
        }
        // The connection driver sees the new phase, flushes what is queued and shuts down.
        if let Some(waker) = &self.io_waker {
            waker.wake_by_ref();
        }
        if let Some(slot) = self.slot.take() {
            slot.count_shutdown(reason.as_reason());
        }
        if let Some(session) = &mut self.session {
            session.set_online(false);
            session.end_reason = reason.as_reason();
        }
        let keep_session = was_connected
            && matches!(reason, CloseReason::Disconnect | CloseReason::Abnormal(_))
            && self.session.as_ref().is_some_and(|s| !s.clean_session);
        if keep_session {
            self.go_offline(ctx);
        } else {
            self.phase = Phase::Closing;
            if !self.connected_io {
                ctx.stop();
            } else {
                // The driver stops the actor once flushed; don't wait forever on a dead peer.
                ctx.run_later(Duration::from_secs(5), |_, ctx| ctx.stop());
            }
        }
    }

    fn go_offline(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Offline;
        if let Some(client) = &self.client {
            self.core
                .sessions
                .set_offline(&client.client_id, self.conn_id);
        }
        let expiry = self.core.config.mqtt.session.expiry_interval;
        if !expiry.is_zero() {
            self.expiry_timer = Some(ctx.run_later(expiry, |act, ctx| {
                if act.phase == Phase::Offline {
                    log::info!("{}: persistent session expired", act.who());
                    if let Some(session) = &mut act.session {
                        session.end_reason = "expired";
                    }
                    ctx.stop();
                }
            }));
        }
    }

    fn publish_will(&mut self) {
        let Some(client) = &mut self.client else {
            return;
        };
        let Some(will) = client.will.take() else {
            return;
        };
        let will = *will;
        // The will is a PUBLISH the client asked for at CONNECT: the ACL applies to it.
        if !self.acl_allows(crate::access::Access::Publish, &will.topic) {
            log::info!(
                "{}: will message to {:?} not published",
                self.who(),
                will.topic
            );
            return;
        }
        let Some(client) = &self.client else {
            return;
        };
        let message = Message::new(
            client.client_id.clone(),
            will.topic,
            will.message,
            will.qos,
            will.retain,
        );
        let key = self.session.as_ref().map(|s| s.key);
        self.core.publish(message, key);
    }

    /// Arm the keepalive check: a client silent for 1.5 × keepalive (emqttd's
    /// `keepalive_backoff` × 2) is disconnected.
    pub(crate) fn start_keepalive(&mut self, _ctx: &mut Context<Self>) {
        let Some(limit) = self.keepalive_limit() else {
            return;
        };
        let due = Instant::now() + limit;
        // The CONNECT deadline's timer carries on as the keepalive check, unless it fires
        // too late for this client's keepalive.
        if self.timer_due.is_none_or(|armed| armed > due) {
            self.arm_connection_timer(limit);
        }
    }

    fn keepalive_limit(&self) -> Option<Duration> {
        let keep_alive = self.client.as_ref().map_or(0, |c| c.keep_alive);
        (keep_alive > 0).then(|| {
            Duration::from_secs_f64(
                f64::from(keep_alive) * self.core.config.mqtt.keepalive_backoff * 2.0,
            )
        })
    }

    /// One timer per connection, on the worker's wheel (`session::timer`): first the CONNECT
    /// deadline, then the keepalive check. The connection driver sees it fire and calls
    /// [`Self::on_connection_timer`], which looks at the phase and re-arms it.
    fn arm_connection_timer(&mut self, after: Duration) {
        let due = Instant::now() + after;
        self.timer_due = Some(due);
        self.timer.arm(due);
    }

    /// The connection timer fired (called by the connection driver).
    pub(crate) fn on_connection_timer(&mut self, ctx: &mut Context<Self>) {
        self.timer_due = None;
        match self.phase {
            Phase::AwaitConnect => {
                let why = format!("no CONNECT within {:?}", self.core.config.mqtt.idle_timeout);
                self.close(ctx, CloseReason::Abnormal(why));
            }
            Phase::Connected => {
                let Some(limit) = self.keepalive_limit() else {
                    return;
                };
                let idle = self.last_activity.elapsed();
                if idle >= limit {
                    self.close(ctx, CloseReason::Abnormal("keepalive timeout".into()));
                } else {
                    self.arm_connection_timer(limit - idle);
                }
            }
            Phase::Connecting | Phase::Offline | Phase::Closing => {}
        }
    }

    /// Called with the session's new connection (this actor) accepted.
    pub(crate) fn cancel_expiry(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.expiry_timer.take() {
            ctx.cancel_future(timer);
        }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        self.arm_connection_timer(self.core.config.mqtt.idle_timeout);
    }
}

impl Drop for SessionActor {
    fn drop(&mut self) {
        if self.phase == Phase::Connected {
            // Stopped without close(): a panic unwound through the actor.
            self.core.connected.fetch_sub(1, Ordering::Relaxed);
        }
        if self.registered {
            if let Some(client) = &self.client {
                self.core
                    .sessions
                    .unregister(&client.client_id, self.conn_id);
            }
        }
    }
}
