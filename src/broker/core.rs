//! `BrokerCore`: the handles every session shares (config, router, retainer, session registry,
//! hooks, modules, plugins, metrics), built once at boot and passed around as `Arc<BrokerCore>`.

use crate::access::AccessControl;
use crate::config::Config;
use crate::hooks::Hooks;
use crate::listener::ListenerInfo;
use crate::plugins::PluginHost;
use crate::retainer::{MemoryRetainStore, Retainer};
use crate::router::Router;
use crate::session::registry::SessionRegistry;
use crate::sys::metrics::Metrics;
use bytestring::ByteString;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

pub struct BrokerCore {
    pub config: Config,
    /// `node.name`, the `<node>` of `$SYS/brokers/<node>/...`.
    pub node: ByteString,
    pub router: Router,
    pub retainer: Retainer,
    pub sessions: SessionRegistry,
    pub hooks: Hooks,
    /// The loaded built-in modules (`[module.*]`), unloaded at stop.
    pub modules: Mutex<Vec<Box<dyn crate::modules::Module>>>,
    /// The plugin host: linked plugins, loaded and unloaded at run time.
    pub plugins: PluginHost,
    /// The auth chain and the ACL chain (acl.conf loaded at boot, reloadable).
    pub access: AccessControl,
    pub metrics: Metrics,
    /// Clients with an accepted CONNECT whose connection is open.
    pub connected: AtomicUsize,
    pub started: Instant,
    pub started_at: SystemTime,
    /// Every serving listener with its bound address, as `proto:name`.
    pub listeners: Mutex<Vec<(String, SocketAddr)>>,
    /// Every serving listener's connection accounting, for `$SYS` and stats.
    pub listener_infos: Mutex<Vec<Arc<ListenerInfo>>>,
    next_id: AtomicU64,
}

impl BrokerCore {
    /// Build the core; the router's shard actors start on the current arbiter.
    /// Without acl.conf rules (`mqtt.acl_nomatch` decides); boot uses [`BrokerCore::with_access`].
    pub fn new(config: Config, router: Router) -> BrokerCore {
        let access = AccessControl::without_acl_file(&config.mqtt);
        Self::with_access(config, router, access)
    }

    /// Build the core around an access control loaded from the configuration.
    pub fn with_access(config: Config, router: Router, access: AccessControl) -> BrokerCore {
        let retainer = Retainer::new(&config.retainer, Box::new(MemoryRetainStore::new()));
        let plugins = PluginHost::new(&config);
        BrokerCore {
            node: config.node.name.clone().into(),
            config,
            router,
            retainer,
            sessions: SessionRegistry::default(),
            hooks: Hooks::default(),
            modules: Mutex::new(Vec::new()),
            plugins,
            access,
            metrics: Metrics::default(),
            connected: AtomicUsize::new(0),
            started: Instant::now(),
            started_at: SystemTime::now(),
            listeners: Mutex::new(Vec::new()),
            listener_infos: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// A process-unique id for a connection or a session.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Boot time in milliseconds since the epoch (part of generated client ids).
    pub fn started_at_millis(&self) -> u128 {
        self.started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    }

    /// The `$SYS/brokers/<node>/` prefix.
    pub fn sys_prefix(&self) -> String {
        format!("$SYS/brokers/{}/", self.node)
    }
}
