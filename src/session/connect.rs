//! The CONNECT exchange of the session actor (emqttd_protocol's connect handling): checks,
//! registration under the client id, takeover of a previous session, and CONNACK.

use crate::access::{AuthDenied, AuthOutcome, Authenticating, ClientAccess, ClientAuth};
use crate::mqtt::decode::DecodeError;
use crate::mqtt::packet::{ConnAck, Connect, ConnectReturnCode, LastWill, Packet};
use crate::mqtt::topic::validate_name;
use crate::session::actor::{ClientInfo, CloseReason, Phase, SessionActor};
use crate::session::registry::Registration;
use crate::session::state::SessionState;
use actix::prelude::*;
use bytes::Bytes;
use bytestring::ByteString;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a connecting client waits for a slow auth provider before CONNACK 3.
const AUTH_TIMEOUT: Duration = Duration::from_secs(30);

/// Sent by a new connection to the actor that held its client id: hand the session over
/// (`None` when it is clean, or `discard` says the new connection wants a clean one).
#[derive(Message)]
#[rtype(result = "Option<SessionState>")]
pub struct Takeover {
    pub discard: bool,
}

/// The broker is stopping: close the connection and end the actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl SessionActor {
    pub(crate) fn on_connect(&mut self, connect: Connect, ctx: &mut Context<Self>) {
        let mqtt = &self.core.config.mqtt;
        let mut client_id = connect.client_id.clone();
        if client_id.is_empty() {
            if !connect.clean_session {
                // MQTT-3.1.3-8: an empty client id needs clean session 1.
                return self.refuse(
                    ctx,
                    ConnectReturnCode::IdentifierRejected,
                    "empty client id with clean session 0",
                );
            }
            client_id = format!("emqttd_{}_{}", self.core.started_at_millis(), self.conn_id).into();
        }
        if client_id.len() > mqtt.max_clientid_len {
            return self.refuse(
                ctx,
                ConnectReturnCode::IdentifierRejected,
                "client id longer than mqtt.max_clientid_len",
            );
        }
        // The client as hooks see it (client.connack from here on, client.connect below).
        let hook_client = std::sync::Arc::new(crate::hooks::Client {
            client_id: detach(&client_id),
            username: self
                .transport_username
                .clone()
                .or_else(|| connect.username.as_ref().map(detach)),
            peer: self.peer,
            protocol: connect.protocol as u8,
            clean_session: connect.clean_session,
            keep_alive: connect.keep_alive,
            listener: self.listener.clone(),
            connected_at: std::time::SystemTime::now(),
        });
        self.hook_client = Some(hook_client.clone());
        // The auth chain, ending in mqtt.allow_anonymous (emqttd_access_control:auth/2).
        let username = self
            .transport_username
            .as_ref()
            .or(connect.username.as_ref());
        let auth = ClientAuth {
            client_id: &client_id,
            username: username.map(|u| &**u),
            password: connect.password.as_deref(),
            ip: self.peer.ip(),
        };
        match self.core.access.authenticate(&auth) {
            Authenticating::Done(outcome) => self.authenticated(ctx, connect, outcome),
            Authenticating::Pending(checking) => {
                // A slow provider (bcrypt, a database): the session waits for its answer
                // without blocking the thread; nothing else is read meanwhile.
                let checking = tokio::time::timeout(AUTH_TIMEOUT, checking);
                ctx.wait(checking.into_actor(self).map(move |outcome, act, ctx| {
                    let outcome = outcome.unwrap_or_else(|_| {
                        log::error!(
                            "authentication of client {} timed out after {:?}",
                            client_id,
                            AUTH_TIMEOUT
                        );
                        Err(AuthDenied::ServerUnavailable)
                    });
                    act.authenticated(ctx, connect, outcome)
                }));
            }
        }
    }

    /// The rest of CONNECT once the auth chain has answered.
    fn authenticated(&mut self, ctx: &mut Context<Self>, connect: Connect, outcome: AuthOutcome) {
        let Some(hook_client) = self.hook_client.clone() else {
            return;
        };
        let superuser = match outcome {
            Ok(superuser) => superuser,
            Err(denied) => {
                let (code, why) = match denied {
                    AuthDenied::BadUsernameOrPassword => (
                        ConnectReturnCode::BadUsernameOrPassword,
                        "bad username or password",
                    ),
                    AuthDenied::NotAuthorized => {
                        (ConnectReturnCode::NotAuthorized, "not authorized")
                    }
                    AuthDenied::ServerUnavailable => (
                        ConnectReturnCode::ServerUnavailable,
                        "authentication unavailable",
                    ),
                };
                return self.refuse(ctx, code, why);
            }
        };
        // The client.connect chain may still refuse an authenticated client.
        if let crate::hooks::ConnectAction::Refuse(code) = self
            .core
            .hooks
            .run_client_connect(&hook_client, connect.password.as_ref())
        {
            return self.refuse(ctx, code, "refused by a client.connect hook");
        }
        if let Some(will) = &connect.will {
            if let Err(error) = validate_name(&will.topic) {
                let why = format!("invalid will topic {:?}: {}", will.topic, error);
                return self.close(ctx, CloseReason::Abnormal(why));
            }
        }
        // The client record was made of copies, so the long-lived client info does not pin the
        // buffer the packet came in.
        let client_id = hook_client.client_id.clone();
        self.client = Some(ClientInfo {
            info: hook_client.clone(),
            protocol: connect.protocol,
            access: ClientAccess::new(superuser),
            will: connect.will.map(|will| {
                Box::new(LastWill {
                    topic: detach(&will.topic),
                    message: Bytes::copy_from_slice(&will.message),
                    ..will
                })
            }),
        });
        self.phase = Phase::Connecting;
        let registration = Registration {
            conn_id: self.conn_id,
            addr: ctx.address(),
            client: hook_client,
            online: true,
        };
        let previous = self.core.sessions.register(client_id, registration);
        self.registered = true;
        let clean = connect.clean_session;
        match previous {
            None => self.accept(ctx, None, clean),
            Some(previous) => {
                let handover = previous.addr.send(Takeover { discard: clean });
                ctx.wait(handover.into_actor(self).map(move |result, act, ctx| {
                    // A previous holder that died already has no session to give.
                    act.accept(ctx, result.ok().flatten(), clean)
                }));
            }
        }
    }

    fn refuse(&mut self, ctx: &mut Context<Self>, code: ConnectReturnCode, why: &str) {
        self.send(Packet::ConnAck(ConnAck {
            session_present: false,
            return_code: code,
        }));
        if let Some(client) = &self.hook_client {
            self.core
                .notify(crate::hooks::EventKind::ClientConnack, || {
                    crate::hooks::HookEvent::ClientConnack {
                        client: client.clone(),
                        connack: code as u8,
                    }
                });
        }
        self.close(
            ctx,
            CloseReason::Abnormal(format!("CONNECT refused ({:?}): {}", code, why)),
        );
    }

    fn accept(&mut self, ctx: &mut Context<Self>, resumed: Option<SessionState>, clean: bool) {
        if self.phase != Phase::Connecting {
            return; // the socket went away while the session was being taken over
        }
        let Some(client) = &self.client else { return };
        let session_present = resumed.is_some();
        let session = resumed.unwrap_or_else(|| {
            SessionState::new(self.core.clone(), client.client_id.clone(), clean)
        });
        log::info!(
            "client {} connected from {} on {} (username={:?}, protocol={}, clean_session={}, keepalive={}s, session_present={})",
            client.client_id,
            self.peer,
            self.listener,
            client.username.as_deref().unwrap_or(""),
            client.protocol.protocol_name(),
            clean,
            client.keep_alive,
            session_present
        );
        self.session = Some(session);
        self.cancel_expiry(ctx);
        self.send(Packet::ConnAck(ConnAck {
            session_present,
            return_code: ConnectReturnCode::Accepted,
        }));
        self.notify_accepted(session_present);
        self.phase = Phase::Connected;
        self.core.connected.fetch_add(1, Ordering::Relaxed);
        self.start_keepalive(ctx);
        self.resend_inflight(ctx);
        self.session_mut().set_online(true);
        self.drain(ctx);
    }

    pub(crate) fn on_decode_error(&mut self, error: DecodeError, ctx: &mut Context<Self>) {
        if let (DecodeError::UnsupportedProtocolLevel(_), Phase::AwaitConnect) =
            (&error, self.phase)
        {
            // MQTT-3.1.2-2: answer CONNACK 0x01, then disconnect.
            return self.refuse(
                ctx,
                ConnectReturnCode::UnacceptableProtocolVersion,
                &error.to_string(),
            );
        }
        self.close(
            ctx,
            CloseReason::Abnormal(format!("malformed packet: {}", error)),
        );
    }
}

/// A copy of `text` in its own allocation.
fn detach(text: &ByteString) -> ByteString {
    ByteString::from(text.to_string())
}

impl Handler<Takeover> for SessionActor {
    type Result = MessageResult<Takeover>;

    fn handle(&mut self, msg: Takeover, ctx: &mut Self::Context) -> Self::Result {
        log::info!("{}: session taken over by a new connection", self.who());
        // The registry already names the new connection.
        self.registered = false;
        let session = self.session.take();
        if self.phase == Phase::Offline {
            self.phase = Phase::Closing;
            ctx.stop();
        } else {
            self.close(ctx, CloseReason::Takeover);
        }
        match session {
            Some(mut session) if !msg.discard && !session.clean_session => {
                session.set_online(false);
                MessageResult(Some(session))
            }
            discarded => {
                if let Some(mut session) = discarded {
                    session.end_reason = "takeover";
                }
                MessageResult(None)
            }
        }
    }
}

impl Handler<Shutdown> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        if self.phase == Phase::Offline {
            if let Some(session) = &mut self.session {
                session.end_reason = "shutdown";
            }
            ctx.stop();
        } else {
            self.close(ctx, CloseReason::Shutdown);
        }
    }
}
