//! The plain MQTT/TCP listener, served by actix-server: its workers (one per core) accept
//! connections, and each connection's session actor lives on the worker that accepted it.

use crate::broker::BrokerCore;
use crate::config::TcpListenerConfig;
use crate::listener::ListenerInfo;
use crate::session::actor::{SessionActor, Transport};
use actix_server::ServerBuilder;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

/// A bound, not yet serving, TCP listener.
pub struct BoundTcp {
    pub info: Arc<ListenerInfo>,
    pub listener: std::net::TcpListener,
    pub local_addr: SocketAddr,
}

/// Bind the socket now, so a port in use fails start-up before anything else runs.
pub fn bind(name: &str, config: &TcpListenerConfig) -> io::Result<BoundTcp> {
    bind_addr(name, config.bind, config.backlog, config.max_connections)
}

/// [`bind`] for any listener kind (TLS, WebSocket and HTTP listeners bind the same way).
pub fn bind_addr(
    name: &str,
    addr: SocketAddr,
    backlog: u32,
    max_connections: usize,
) -> io::Result<BoundTcp> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(backlog)?.into_std()?;
    let local_addr = listener.local_addr()?;
    Ok(BoundTcp {
        info: ListenerInfo::new(name, max_connections),
        listener,
        local_addr,
    })
}

/// Add the listener to the server: every accepted socket becomes a session actor.
pub fn serve(
    builder: ServerBuilder,
    bound: BoundTcp,
    core: Arc<BrokerCore>,
) -> io::Result<ServerBuilder> {
    let info = bound.info;
    let name = info.name.to_string();
    builder.listen(name, bound.listener, move || {
        let core = core.clone();
        let info = info.clone();
        actix_service::fn_service(move |stream: actix_rt::net::TcpStream| {
            accept(&core, &info, stream);
            std::future::ready(Ok::<(), ()>(()))
        })
    })
}

fn accept(core: &Arc<BrokerCore>, info: &Arc<ListenerInfo>, stream: actix_rt::net::TcpStream) {
    let peer = match stream.peer_addr() {
        Ok(peer) => peer,
        Err(error) => {
            log::debug!("{}: connection gone before accept: {}", info.name, error);
            return;
        }
    };
    let Some(slot) = info.acquire() else {
        log::warn!(
            "{}: connection from {} refused: max_connections ({}) reached",
            info.name,
            peer,
            info.max_connections
        );
        return; // dropping the stream closes it
    };
    let _ = stream.set_nodelay(true);
    SessionActor::start(
        core.clone(),
        Transport {
            io: stream,
            peer,
            listener: info.name.clone(),
            slot: Some(slot),
            username: None,
        },
    );
}
