//! Boot and shutdown of the broker (emqttd_app): the ordered boot list, and a graceful stop
//! in reverse order.
//!
//! Boot order: router shards → broker core (retainer, session registry, hooks, metrics) →
//! `$SYS` publisher → listeners. Stop: pause the listeners, close every session, stop the
//! listeners' workers, stop the actor system.

use crate::broker::BrokerCore;
use crate::config::Config;
use crate::listener::tcp;
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
                let (proto, name) = listener.split_once(':').unwrap_or((listener, ""));
                write!(
                    f,
                    "listener {} cannot bind {} (key listener.{}.{}.bind): {}",
                    listener, addr, proto, name, error
                )
            }
            StartError::Runtime(why) => write!(f, "cannot start the broker runtime: {}", why),
        }
    }
}

impl std::error::Error for StartError {}

/// A running broker: its actor system runs on background threads until `stop`.
pub struct Broker {
    core: Arc<BrokerCore>,
    listeners: Vec<(String, SocketAddr)>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

type Booted = (Arc<BrokerCore>, Vec<(String, SocketAddr)>);

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
            Ok(Ok((core, listeners))) => Ok(Broker {
                core,
                listeners,
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
        let (core, server) = match boot(config) {
            Ok(booted) => booted,
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        let handle = server.handle();
        let serving = actix_rt::spawn(server);
        let listeners = core_listeners(&core);
        let _ = ready.send(Ok((core.clone(), listeners)));
        let _ = stop.await;
        log::info!("emqttd is stopping");
        handle.pause().await;
        disconnect_all(&core).await;
        handle.stop(true).await;
        let _ = serving.await;
        log::info!("emqttd stopped");
    });
}

/// Where the boot list records bound addresses for `Broker::listener_addr`.
fn core_listeners(core: &BrokerCore) -> Vec<(String, SocketAddr)> {
    core.listeners.lock().map(|l| l.clone()).unwrap_or_default()
}

/// The boot list. Listeners are bound first, so an address in use fails start-up before any
/// actor runs.
fn boot(config: Config) -> Result<(Arc<BrokerCore>, actix_server::Server), StartError> {
    let mut bound = Vec::new();
    for (name, listener) in &config.listener.tcp {
        if !listener.enable {
            continue;
        }
        let full_name = format!("tcp:{}", name);
        let socket = tcp::bind(&full_name, listener).map_err(|error| StartError::Bind {
            listener: full_name.clone(),
            addr: listener.bind,
            error,
        })?;
        log::info!("listener {} listening on {}", full_name, socket.local_addr);
        bound.push(socket);
    }

    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let router = Router::start(cores);
    let core = Arc::new(BrokerCore::new(config, router));
    SysPublisher::new(core.clone()).start();

    let mut builder = actix_server::Server::build()
        .workers(cores)
        .disable_signals()
        .shutdown_timeout(5);
    let mut addrs = Vec::new();
    for socket in bound {
        let (name, addr) = (socket.info.name.to_string(), socket.local_addr);
        builder = tcp::serve(builder, socket, core.clone()).map_err(|error| StartError::Bind {
            listener: name.clone(),
            addr,
            error,
        })?;
        addrs.push((name, addr));
    }
    if let Ok(mut listeners) = core.listeners.lock() {
        *listeners = addrs;
    }
    Ok((core.clone(), builder.run()))
}

/// Close every client connection and end every session, waiting a bounded time.
async fn disconnect_all(core: &BrokerCore) {
    let sessions = core.sessions.all();
    log::info!("disconnecting {} sessions", sessions.len());
    let closing = futures_util::future::join_all(sessions.iter().map(|addr| addr.send(Shutdown)));
    let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;
}
