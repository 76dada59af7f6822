//! The MQTT over WebSocket and secure WebSocket listeners (emqttd's `listener.ws.*` and
//! `listener.wss.*`, emqttd_ws_client), served by actix-web with actix-ws. Binary frames are
//! bridged into the session's byte stream through an in-memory duplex pipe, so the session
//! sees the same bytes as over TCP: packets split over frames and several per frame just work.

use crate::broker::BrokerCore;
use crate::config::WsListenerConfig;
use crate::listener::tcp::BoundTcp;
use crate::listener::ListenerInfo;
use crate::session::actor::{SessionActor, Transport};
use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{Item, Message};
use bytes::Bytes;
use bytestring::ByteString;
use futures_util::StreamExt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The WebSocket sub-protocols MQTT clients ask for.
pub const PROTOCOLS: [&str; 3] = ["mqtt", "mqttv3.1", "mqttv3.1.1"];

/// Bytes buffered between the WebSocket and the session in each direction.
const PIPE_SIZE: usize = 64 * 1024;

/// The TLS side of a WSS listener.
pub struct WssTls {
    pub config: rustls::ServerConfig,
    pub handshake_timeout: Duration,
    /// `peer_cert_as_username = "cn"`.
    pub cn_as_username: bool,
}

/// The Common Name of a WSS connection's client certificate, kept with the connection.
#[derive(Clone)]
struct PeerCn(ByteString);

/// What a WebSocket listener's handler needs.
#[derive(Clone)]
struct WsState {
    core: Arc<BrokerCore>,
    info: Arc<ListenerInfo>,
    max_frame_size: usize,
    proxy_address_header: Option<String>,
}

/// The sub-protocol to answer a `Sec-WebSocket-Protocol` offer with: the client's first offer
/// that is one of [`PROTOCOLS`]; `Ok(None)` when the client offers none, `Err` when it offers
/// only others.
pub fn choose_protocol(offer: Option<&str>) -> Result<Option<&'static str>, NoMqttProtocol> {
    let Some(list) = offer else {
        return Ok(None);
    };
    list.split(',')
        .map(str::trim)
        .find_map(|p| PROTOCOLS.iter().find(|ours| **ours == p).copied())
        .map(Some)
        .ok_or(NoMqttProtocol)
}

/// A sub-protocol offer without an MQTT protocol in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoMqttProtocol;

/// The client address from a proxy header such as `X-Forwarded-For: client, proxy1, proxy2`:
/// its first entry (an IP, `IP:port` or `[IPv6]:port`), with `socket_port` when it has none.
pub fn forwarded_peer(header: &str, socket_port: u16) -> Option<SocketAddr> {
    let first = header.split(',').next()?.trim();
    if let Ok(addr) = first.parse::<SocketAddr>() {
        return Some(addr);
    }
    let bare = first.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, socket_port))
}

/// Build the actix-web server of one WebSocket listener; `tls` makes it a WSS listener.
pub fn server(
    bound: BoundTcp,
    config: &WsListenerConfig,
    tls: Option<WssTls>,
    core: Arc<BrokerCore>,
    workers: usize,
) -> io::Result<actix_server::Server> {
    let state = WsState {
        core,
        info: bound.info.clone(),
        max_frame_size: config.max_frame_size,
        proxy_address_header: Some(config.proxy_address_header.clone()).filter(|h| !h.is_empty()),
    };
    let path = config.path.clone();
    let cn_as_username = tls.as_ref().is_some_and(|t| t.cn_as_username);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route(&path, web::get().to(upgrade))
    })
    .on_connect(move |conn, data| {
        if cn_as_username {
            if let Some(cn) = client_cert_cn(conn) {
                data.insert(PeerCn(cn));
            }
        }
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(5)
    .max_connections(config.max_connections.max(1));
    let server = match tls {
        Some(tls) => server
            .tls_handshake_timeout(tls.handshake_timeout)
            .listen_rustls_0_23(bound.listener, tls.config)?,
        None => server.listen(bound.listener)?,
    };
    Ok(server.run())
}

/// The CN of the client certificate of a WSS connection (`conn` as actix-web hands it to
/// `on_connect`), if it presented one.
fn client_cert_cn(conn: &dyn std::any::Any) -> Option<ByteString> {
    let tls = conn.downcast_ref::<TlsStream<actix_rt::net::TcpStream>>()?;
    crate::listener::tls::client_cert_cn(tls.get_ref().1).map(Into::into)
}

async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<WsState>,
) -> actix_web::Result<HttpResponse> {
    let socket_peer = req
        .peer_addr()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let peer = state
        .proxy_address_header
        .as_deref()
        .and_then(|name| req.headers().get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| forwarded_peer(value, socket_peer.port()))
        .unwrap_or(socket_peer);
    let offer = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok());
    let Ok(protocol) = choose_protocol(offer) else {
        log::info!(
            "{}: WebSocket from {} refused: sub-protocol {:?} is not one of {:?}",
            state.info.name,
            peer,
            offer.unwrap_or_default(),
            PROTOCOLS
        );
        return Ok(HttpResponse::BadRequest().body("unsupported WebSocket sub-protocol\n"));
    };
    let Some(slot) = state.info.acquire() else {
        log::warn!(
            "{}: connection from {} refused: max_connections ({}) reached",
            state.info.name,
            peer,
            state.info.max_connections
        );
        return Ok(HttpResponse::ServiceUnavailable().body("too many connections\n"));
    };
    let (mut response, ws, frames) = actix_ws::handle(&req, body)?;
    if let Some(protocol) = protocol {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            header::HeaderValue::from_static(protocol),
        );
    }
    let frames = frames.max_frame_size(state.max_frame_size);

    let (session_side, bridge_side) = tokio::io::duplex(PIPE_SIZE);
    SessionActor::start(
        state.core.clone(),
        Transport {
            io: session_side,
            peer,
            listener: state.info.name.clone(),
            slot: Some(slot),
            // `peer_cert_as_username = "cn"`: the certificate's CN, whatever CONNECT says.
            username: req.conn_data::<PeerCn>().map(|cn| cn.0.clone()),
        },
    );
    let (from_session, to_session) = tokio::io::split(bridge_side);
    let name = state.info.name.clone();
    actix_web::rt::spawn(frames_to_session(
        frames,
        to_session,
        ws.clone(),
        name,
        peer,
    ));
    actix_web::rt::spawn(session_to_frames(from_session, ws));
    Ok(response)
}

/// WebSocket frames → the session's input. Ends (the session then sees end of stream) on a
/// close frame, a text frame, a protocol error or a lost connection.
async fn frames_to_session(
    mut frames: actix_ws::MessageStream,
    mut to_session: impl tokio::io::AsyncWrite + Unpin,
    mut ws: actix_ws::Session,
    listener: Arc<str>,
    peer: SocketAddr,
) {
    while let Some(frame) = frames.next().await {
        let data = match frame {
            Ok(Message::Binary(data))
            | Ok(Message::Continuation(Item::FirstBinary(data)))
            | Ok(Message::Continuation(Item::Continue(data)))
            | Ok(Message::Continuation(Item::Last(data))) => data,
            Ok(Message::Ping(payload)) => {
                let _ = ws.pong(&payload).await;
                continue;
            }
            Ok(Message::Pong(_)) | Ok(Message::Nop) => continue,
            Ok(Message::Close(_)) => break,
            Ok(Message::Text(_)) | Ok(Message::Continuation(Item::FirstText(_))) => {
                log::info!(
                    "{}: {} sent a text frame; MQTT needs binary frames: closed",
                    listener,
                    peer
                );
                break;
            }
            Err(error) => {
                log::info!("{}: WebSocket error from {}: {}", listener, peer, error);
                break;
            }
        };
        if to_session.write_all(&data).await.is_err() {
            break; // the session has gone
        }
    }
    let _ = to_session.shutdown().await;
}

/// The session's output → binary frames; closes the WebSocket when the session ends.
async fn session_to_frames(
    mut from_session: impl tokio::io::AsyncRead + Unpin,
    mut ws: actix_ws::Session,
) {
    let mut buf = vec![0u8; PIPE_SIZE];
    loop {
        match from_session.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if ws.binary(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = ws.close(None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_protocols() {
        assert_eq!(choose_protocol(None), Ok(None));
        assert_eq!(choose_protocol(Some("mqtt")), Ok(Some("mqtt")));
        assert_eq!(choose_protocol(Some("mqttv3.1")), Ok(Some("mqttv3.1")));
        assert_eq!(
            choose_protocol(Some("chat, mqttv3.1.1, mqtt")),
            Ok(Some("mqttv3.1.1"))
        );
        assert_eq!(choose_protocol(Some("chat")), Err(NoMqttProtocol));
        assert_eq!(choose_protocol(Some("MQTT")), Err(NoMqttProtocol));
        assert_eq!(choose_protocol(Some("")), Err(NoMqttProtocol));
    }

    #[test]
    fn x_forwarded_for() {
        let p = |s| forwarded_peer(s, 4000);
        assert_eq!(p("203.0.113.7"), Some("203.0.113.7:4000".parse().unwrap()));
        assert_eq!(
            p(" 203.0.113.7 , 10.0.0.1, 10.0.0.2"),
            Some("203.0.113.7:4000".parse().unwrap())
        );
        assert_eq!(
            p("203.0.113.7:5555"),
            Some("203.0.113.7:5555".parse().unwrap())
        );
        assert_eq!(
            p("2001:db8::1"),
            Some("[2001:db8::1]:4000".parse().unwrap())
        );
        assert_eq!(
            p("[2001:db8::1]"),
            Some("[2001:db8::1]:4000".parse().unwrap())
        );
        assert_eq!(
            p("[2001:db8::1]:99, 10.0.0.1"),
            Some("[2001:db8::1]:99".parse().unwrap())
        );
        assert_eq!(p("unknown"), None);
        assert_eq!(p(""), None);
    }
}
