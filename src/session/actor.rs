//! The session actor: one per client, holding the connection and the session (EMQX's channel;
//! emqttd_client + emqttd_session in one). With `clean_session = 0` it outlives its socket,
//! queueing messages, until the client returns or the session expires.
//!
//! This file owns the actor's life: start, the connection's I/O, timers and closing. The
//! CONNECT exchange is in `connect.rs`, the other packets in `handlers.rs`, delivery in
//! `deliver.rs`.

use crate::broker::{BrokerCore, Message};
use crate::listener::ConnectionSlot;
use crate::mqtt::codec::MqttCodec;
use crate::mqtt::decode::DecodeError;
use crate::mqtt::encode::encoded_len;
use crate::mqtt::packet::{LastWill, Packet, ProtocolLevel};
use crate::session::state::SessionState;
use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use bytestring::ByteString;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::FramedRead;

/// The byte streams of one client connection, whatever the transport (TCP, TLS, WebSocket).
pub struct Transport {
    pub reader: Box<dyn AsyncRead + Unpin>,
    pub writer: Box<dyn AsyncWrite + Unpin>,
    pub peer: SocketAddr,
    /// The listener's name, e.g. `tcp:external`, for logs and stats.
    pub listener: Arc<str>,
    /// The listener's connection slot, freed when the connection ends.
    pub slot: Option<ConnectionSlot>,
}

pub(crate) type Writer = FramedWrite<Packet, Box<dyn AsyncWrite + Unpin>, MqttCodec>;

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

/// What the client told us in its accepted CONNECT.
pub(crate) struct ClientInfo {
    pub client_id: ByteString,
    pub username: Option<ByteString>,
    pub protocol: ProtocolLevel,
    pub keep_alive: u16,
    pub will: Option<LastWill>,
}

pub struct SessionActor {
    pub(crate) core: Arc<BrokerCore>,
    pub(crate) conn_id: u64,
    pub(crate) listener: Arc<str>,
    pub(crate) peer: SocketAddr,
    pub(crate) phase: Phase,
    pub(crate) writer: Option<Writer>,
    reader: Option<SpawnHandle>,
    slot: Option<ConnectionSlot>,
    pub(crate) client: Option<ClientInfo>,
    pub(crate) session: Option<SessionState>,
    /// True while this actor's connection id is the registry entry of its client id.
    pub(crate) registered: bool,
    pub(crate) last_activity: Instant,
    keepalive_timer: Option<SpawnHandle>,
    pub(crate) retry_timer: Option<SpawnHandle>,
    expiry_timer: Option<SpawnHandle>,
}

impl SessionActor {
    /// Start a session actor for a new connection on the current arbiter.
    pub fn start(core: Arc<BrokerCore>, transport: Transport) -> Addr<SessionActor> {
        SessionActor::create(move |ctx| {
            let codec = MqttCodec::new(core.config.mqtt.max_packet_size);
            let reader = FramedRead::with_capacity(transport.reader, codec.clone(), 512);
            let reader = ctx.add_stream(reader);
            let writer = FramedWrite::new(transport.writer, codec, ctx);
            SessionActor {
                conn_id: core.next_id(),
                core,
                listener: transport.listener,
                peer: transport.peer,
                phase: Phase::AwaitConnect,
                writer: Some(writer),
                reader: Some(reader),
                slot: transport.slot,
                client: None,
                session: None,
                registered: false,
                last_activity: Instant::now(),
                keepalive_timer: None,
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

    /// Write a packet to the client, if connected.
    pub(crate) fn send(&mut self, packet: Packet) {
        if let Some(writer) = &mut self.writer {
            self.core.metrics.packet_sent(&packet, encoded_len(&packet));
            writer.write(packet);
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
            if matches!(reason, CloseReason::Abnormal(_) | CloseReason::Takeover) {
                self.publish_will();
            }
        }
        if let Some(reader) = self.reader.take() {
            ctx.cancel_future(reader);
        }
        if let Some(timer) = self.keepalive_timer.take() {
            ctx.cancel_future(timer);
        }
        if let Some(writer) = &mut self.writer {
            writer.close();
        }
        self.slot = None;
        if let Some(session) = &self.session {
            session.inbox.set_online(false);
        }
        let keep_session = was_connected
            && matches!(reason, CloseReason::Disconnect | CloseReason::Abnormal(_))
            && self.session.as_ref().is_some_and(|s| !s.clean_session);
        if keep_session {
            self.go_offline(ctx);
        } else {
            self.phase = Phase::Closing;
            if self.writer.is_none() {
                ctx.stop();
            } else {
                // The writer calls `finished` once flushed; don't wait forever on a dead peer.
                ctx.run_later(Duration::from_secs(5), |_, ctx| ctx.stop());
            }
        }
    }

    fn go_offline(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Offline;
        self.writer = None;
        let expiry = self.core.config.mqtt.session.expiry_interval;
        if !expiry.is_zero() {
            self.expiry_timer = Some(ctx.run_later(expiry, |act, ctx| {
                if act.phase == Phase::Offline {
                    log::info!("{}: persistent session expired", act.who());
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
    pub(crate) fn start_keepalive(&mut self, ctx: &mut Context<Self>) {
        let keep_alive = self.client.as_ref().map_or(0, |c| c.keep_alive);
        if keep_alive == 0 {
            return;
        }
        let limit = Duration::from_secs_f64(
            f64::from(keep_alive) * self.core.config.mqtt.keepalive_backoff * 2.0,
        );
        self.schedule_keepalive(ctx, limit, limit);
    }

    fn schedule_keepalive(&mut self, ctx: &mut Context<Self>, after: Duration, limit: Duration) {
        self.keepalive_timer = Some(ctx.run_later(after, move |act, ctx| {
            act.keepalive_timer = None;
            let idle = act.last_activity.elapsed();
            if idle >= limit {
                act.close(ctx, CloseReason::Abnormal("keepalive timeout".into()));
            } else {
                act.schedule_keepalive(ctx, limit - idle, limit);
            }
        }));
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

    fn started(&mut self, ctx: &mut Self::Context) {
        let idle = self.core.config.mqtt.idle_timeout;
        ctx.run_later(idle, move |act, ctx| {
            if act.phase == Phase::AwaitConnect {
                act.close(
                    ctx,
                    CloseReason::Abnormal(format!("no CONNECT within {:?}", idle)),
                );
            }
        });
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

impl StreamHandler<Result<Packet, DecodeError>> for SessionActor {
    fn handle(&mut self, item: Result<Packet, DecodeError>, ctx: &mut Self::Context) {
        match item {
            Ok(packet) => {
                self.last_activity = Instant::now();
                self.core
                    .metrics
                    .packet_received(&packet, encoded_len(&packet));
                self.on_packet(packet, ctx);
            }
            Err(error) => self.on_decode_error(error, ctx),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.reader = None;
        self.close(
            ctx,
            CloseReason::Abnormal("connection closed by peer".into()),
        );
    }
}

impl WriteHandler<std::io::Error> for SessionActor {
    fn error(&mut self, err: std::io::Error, ctx: &mut Self::Context) -> Running {
        self.close(ctx, CloseReason::Abnormal(format!("write error: {}", err)));
        Running::Continue
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        if self.phase == Phase::Closing {
            ctx.stop();
        }
    }
}
