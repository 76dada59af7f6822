//! Boot and shutdown of the broker (emqttd_app): the ordered boot list, and a graceful stop
//! in reverse order.
//!
//! Boot order: access control (acl.conf read and parsed) → bind every listener (tcp, ssl, ws, wss, http; TLS files read) → router shards →
//! broker core (retainer, session registry, hooks, metrics) → `$SYS` publisher → modules
//! (`[module.*]`: rewrite, presence, autosub) → plugins (the plugin host's arbiter; the
//! plugins listed in the loaded-plugins file) → serve the
//! listeners (tcp and ssl on one actix-server; ws, wss and http each on an actix-web server).
//! Stop: pause the listeners, close every session, unload the plugins, unload the modules,
//! stop the listeners' workers, stop the actor system.

use crate::access::AccessControl;
use crate::broker::BrokerCore;
use crate::config::Config;
use crate::config::TlsOptions;
use crate::listener::tcp::{self, BoundTcp};
use crate::listener::{tls, ws, ListenerInfo};
use crate::router::Router;
use crate::session::connect::Shutdown;
use crate::sys::publisher::SysPublisher;
use actix::prelude::*;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// Why the broker could not start.
#[derive(Debug)]
pub enum StartError {
    /// A listener's address could not be bound (in use, not local, no permission).
    Bind {
        listener: String,
        addr: SocketAddr,
        error: std::io::Error,
    },
    /// A TLS listener's certificate, key or CA file is unusable (`key`: `listener.ssl.x.keyfile`).
    Tls {
        listener: String,
        key: String,
        message: String,
    },
    /// The acl file (`mqtt.acl_file`) is missing, unreadable or malformed (file and line named).
    Acl(crate::access::AclError),
    /// The actor system or its threads could not start.
    Runtime(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Bind {
                listener,
                addr,
                error,
            } => {
                let key = match listener.split_once(':') {
                    Some((proto, name)) => format!("listener.{}.{}.bind", proto, name),
                    None => format!("{}.bind", listener),
                };
                write!(
                    f,
                    "listener {} cannot bind {} (key {}): {}",
                    listener, addr, key, error
                )
            }
            StartError::Tls {
                listener,
                key,
                message,
            } => write!(f, "listener {} (key {}): {}", listener, key, message),
            StartError::Acl(error) => write!(f, "{}", error),
            StartError::Runtime(why) => write!(f, "cannot start the broker runtime: {}", why),
        }
    }
}

impl std::error::Error for StartError {}

/// A running broker: its actor system runs on background threads until `stop`.
pub struct Broker {
    core: Arc<BrokerCore>,
    listeners: Vec<(String, SocketAddr)>,
    infos: Vec<Arc<ListenerInfo>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

type Booted = (
    Arc<BrokerCore>,
    Vec<(String, SocketAddr)>,
    Vec<Arc<ListenerInfo>>,
);

impl Broker {
    /// Boot the broker; returns once every listener is bound and accepting.
    pub fn start(config: Config) -> Result<Broker, StartError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Booted, StartError>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("emqttd-main".into())
            .spawn(move || run(config, ready_tx, stop_rx))
            .map_err(|e| StartError::Runtime(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok((core, listeners, infos))) => Ok(Broker {
                core,
                listeners,
                infos,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(StartError::Runtime(
                    "the broker thread exited during boot".into(),
                ))
            }
        }
    }

    /// The bound address of listener `name` (e.g. `tcp:external`).
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, addr)| *addr)
    }

    /// The connection accounting of listener `name` (open connections, refusals).
    pub fn listener_info(&self, name: &str) -> Option<Arc<ListenerInfo>> {
        self.infos.iter().find(|i| &*i.name == name).cloned()
    }

    /// The bound address of the `tcp:external` listener (or the first TCP listener).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.listener_addr("tcp:external")
            .or_else(|| self.listeners.first().map(|(_, addr)| *addr))
            .expect("the broker has no listener")
    }

    /// Every listener with its bound address.
    pub fn listeners(&self) -> &[(String, SocketAddr)] {
        &self.listeners
    }

    /// The shared core, for embedding and tests (hooks, metrics, registry).
    pub fn core(&self) -> &Arc<BrokerCore> {
        &self.core
    }

    /// Stop gracefully and wait until everything has stopped.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    config: Config,
    ready: std::sync::mpsc::Sender<Result<Booted, StartError>>,
    stop: oneshot::Receiver<()>,
) {
    let system = actix_rt::System::new();
    system.block_on(async move {
        let (core, servers, infos, plugin_arbiter) = match boot(config) {
            Ok(booted) => booted,
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        let handles: Vec<_> = servers.iter().map(|server| server.handle()).collect();
        let serving: Vec<_> = servers.into_iter().map(actix_rt::spawn).collect();
        let listeners = core_listeners(&core);
        let _ = ready.send(Ok((core.clone(), listeners, infos)));
        let _ = stop.await;
        log::info!("emqttd is stopping");
        futures_util::future::join_all(handles.iter().map(|h| h.pause())).await;
        disconnect_all(&core).await;
        unload_plugins(&core).await;
        plugin_arbiter.stop();
        if let Ok(mut modules) = core.modules.lock() {
            crate::modules::unload_all(&mut modules, &core);
        }
        futures_util::future::join_all(handles.iter().map(|h| h.stop(true))).await;
        futures_util::future::join_all(serving).await;
        log::info!("emqttd stopped");
    });
}

/// Where the boot list records bound addresses for `Broker::listener_addr`.
fn core_listeners(core: &BrokerCore) -> Vec<(String, SocketAddr)> {
    core.listeners.lock().map(|l| l.clone()).unwrap_or_default()
}

/// A bound listener waiting to be served.
enum Bound {
    Tcp(BoundTcp),
    Ssl(BoundTcp, Box<tls::TlsListener>),
    Ws(
        BoundTcp,
        crate::config::WsListenerConfig,
        Option<Box<ws::WssTls>>,
    ),
    Http(BoundTcp),
}

impl Bound {
    fn socket(&self) -> &BoundTcp {
        match self {
            Bound::Tcp(s) | Bound::Ssl(s, _) | Bound::Ws(s, _, _) | Bound::Http(s) => s,
        }
    }
}

/// What the boot list hands to `run`: the core, the servers to run, the listeners' accounting.
type Serving = (
    Arc<BrokerCore>,
    Vec<actix_server::Server>,
    Vec<Arc<ListenerInfo>>,
    Arbiter,
);

/// The boot list. Listeners are bound (and TLS files read) first, so an address in use or a
/// bad certificate fails start-up before any actor runs.
fn boot(config: Config) -> Result<Serving, StartError> {
    // The ACL first: a half-read acl.conf must not start a broker.
    let access = AccessControl::load(&config.mqtt).map_err(StartError::Acl)?;
    let bound = bind_all(&config)?;
    let infos: Vec<Arc<ListenerInfo>> = bound.iter().map(|b| b.socket().info.clone()).collect();

    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let router = Router::start(cores);
    let core = Arc::new(BrokerCore::with_access(config, router, access));
    SysPublisher::new(core.clone()).start();
    let modules = crate::modules::load_enabled(&core);
    if let Ok(mut loaded) = core.modules.lock() {
        *loaded = modules;
    }

    let mut builder = actix_server::Server::build()
        .workers(cores)
        .disable_signals()
        .shutdown_timeout(5);
    let mut servers = Vec::new();
    let mut addrs = Vec::new();
    for listener in bound {
        let socket = listener.socket();
        let (name, addr) = (socket.info.name.to_string(), socket.local_addr);
        let bind_error = |error| StartError::Bind {
            listener: name.clone(),
            addr,
            error,
        };
        match listener {
            Bound::Tcp(socket) => {
                builder = tcp::serve(builder, socket, core.clone()).map_err(bind_error)?;
            }
            Bound::Ssl(socket, tls) => {
                builder = tls::serve(builder, socket, *tls, core.clone()).map_err(bind_error)?;
            }
            Bound::Ws(socket, ws_config, tls) => servers.push(
                ws::server(socket, &ws_config, tls.map(|t| *t), core.clone(), cores)
                    .map_err(bind_error)?,
            ),
            Bound::Http(socket) => {
                servers.push(crate::http::server(socket, core.clone(), cores).map_err(bind_error)?)
            }
        }
        addrs.push((name, addr));
    }
    if let Ok(mut listeners) = core.listeners.lock() {
        *listeners = addrs;
    }
    if let Ok(mut all) = core.listener_infos.lock() {
        *all = infos.clone();
    }
    // Plugins (after the modules): on their own arbiter, so they can start actors there. No
    // client is served before boot returns.
    let plugin_arbiter = Arbiter::new();
    core.plugins.start(&core, Some(plugin_arbiter.handle()));
    core.plugins.restore();
    servers.insert(0, builder.run());
    Ok((core.clone(), servers, infos, plugin_arbiter))
}

/// Bind every enabled listener, in the order tcp, ssl, ws, wss, http.
fn bind_all(config: &Config) -> Result<Vec<Bound>, StartError> {
    let mut bound = Vec::new();
    let bind = |name: &str, addr: SocketAddr, backlog: u32, max: usize| {
        let socket =
            tcp::bind_addr(name, addr, backlog, max).map_err(|error| StartError::Bind {
                listener: name.to_string(),
                addr,
                error,
            })?;
        log::info!("listener {} listening on {}", name, socket.local_addr);
        Ok::<_, StartError>(socket)
    };
    for (name, l) in config.listener.tcp.iter().filter(|(_, l)| l.enable) {
        let name = format!("tcp:{}", name);
        bound.push(Bound::Tcp(bind(
            &name,
            l.bind,
            l.backlog,
            l.max_connections,
        )?));
    }
    for (name, l) in config.listener.ssl.iter().filter(|(_, l)| l.enable) {
        let name = format!("ssl:{}", name);
        if let Some(server_config) = tls_config(&name, &l.tls())? {
            let socket = bind(&name, l.bind, l.backlog, l.max_connections)?;
            let listener = tls::TlsListener::new(server_config, &l.tls());
            bound.push(Bound::Ssl(socket, Box::new(listener)));
        }
    }
    for (name, l) in config.listener.ws.iter().filter(|(_, l)| l.enable) {
        let name = format!("ws:{}", name);
        let socket = bind(&name, l.bind, l.backlog, l.max_connections)?;
        bound.push(Bound::Ws(socket, l.clone(), None));
    }
    for (name, l) in config.listener.wss.iter().filter(|(_, l)| l.enable) {
        let name = format!("wss:{}", name);
        if let Some(server_config) = tls_config(&name, &l.tls())? {
            let socket = bind(&name, l.bind, l.backlog, l.max_connections)?;
            let tls = Some(Box::new(ws::WssTls {
                config: server_config,
                handshake_timeout: l.handshake_timeout,
                cn_as_username: l.tls().cn_as_username,
            }));
            bound.push(Bound::Ws(socket, l.ws(), tls));
        }
    }
    if config.http.enable {
        bound.push(Bound::Http(bind(
            "http",
            config.http.bind,
            1024,
            usize::MAX,
        )?));
    }
    Ok(bound)
}

/// The TLS configuration of listener `name` (`proto:name`), or `None` (with a warning) when its
/// certificate or key file does not exist: a fresh clone ships no private key.
fn tls_config(
    name: &str,
    opts: &TlsOptions<'_>,
) -> Result<Option<rustls::ServerConfig>, StartError> {
    let (proto, short) = name.split_once(':').unwrap_or((name, ""));
    let missing = tls::missing_files(opts);
    if !missing.is_empty() {
        log::warn!(
            "listener {} is off: {} not found; set listener.{}.{}.certfile and keyfile to a PEM certificate and key (see README, \"Listeners and transports\")",
            name,
            missing.join(" and "),
            proto,
            short
        );
        return Ok(None);
    }
    tls::server_config(opts)
        .map(Some)
        .map_err(|error| StartError::Tls {
            listener: name.to_string(),
            key: format!("listener.{}.{}.{}", proto, short, error.key),
            message: error.message,
        })
}

/// Unload every plugin (on the plugin arbiter; this thread keeps serving meanwhile).
async fn unload_plugins(core: &Arc<BrokerCore>) {
    let core = core.clone();
    let unloading = tokio::task::spawn_blocking(move || core.plugins.unload_all());
    if unloading.await.is_err() {
        log::error!("unloading the plugins panicked");
    }
}

/// Close every client connection and end every session, waiting a bounded time.
async fn disconnect_all(core: &BrokerCore) {
    let sessions = core.sessions.all();
    log::info!("disconnecting {} sessions", sessions.len());
    let closing = futures_util::future::join_all(sessions.iter().map(|addr| addr.send(Shutdown)));
    let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;
}
