//! The plugin host (replaces emqttd_plugins.erl): the plugins linked into this broker
//! ([`linked`]), loaded and unloaded at run time, the list of loaded plugins kept in the
//! loaded-plugins file ([`loaded_file`]) and restored at start, and the `ctl` commands plugins
//! add.
//!
//! * Loading reads `<plugins.etc_dir>/<name>.toml`, builds a fresh instance of the plugin and
//!   calls [`Plugin::load`] with a [`context::HostContext`]; everything it registers is
//!   remembered, and unloading (or a failed load) removes all of it.
//! * Loads and unloads run on the host's own arbiter inside the actix system, so plugins can
//!   start actors; callers anywhere (HTTP workers, tests, boot) wait for the result.
//! * Every call into plugin code is behind a panic boundary ([`guard`]): a plugin that panics
//!   is unloaded, logged with its name and the panic message and counted in the
//!   `plugins/crashed` metric, and the broker carries on as if the plugin had no opinion.
//! * The loaded-plugins file records what the operator loaded: `load` and `unload` rewrite it,
//!   a crash does not (the plugin is loaded again at the next start).

pub mod context;
pub mod guard;
pub mod linked;
pub mod loaded_file;

use crate::broker::BrokerCore;
use crate::config::Config;
use crate::sys::metrics::Metric;
use actix::ArbiterHandle;
use context::{HostContext, Registrations};
use guard::Guard;
use serde::Serialize;
use std::cell::Cell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

pub use emqttd_plugin_api::{CommandHandler, Plugin, PluginContext};

/// Builds a fresh instance of a plugin (one per load).
pub type PluginFactory = Arc<dyn Fn() -> Box<dyn Plugin> + Send + Sync>;

/// A plugin as `plugins list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub description: String,
    pub version: String,
    pub active: bool,
}

/// A `ctl` command added by a loaded plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandInfo {
    pub name: String,
    pub usage: String,
    pub plugin: String,
}

/// Why a plugin could not be loaded or unloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// No plugin of that name is linked into this broker.
    Unknown(String),
    AlreadyLoaded(String),
    NotLoaded(String),
    /// Another plugin of that name is linked already (`add_linked`).
    AlreadyLinked(String),
    /// The plugin's config could not be read, its `load` answered an error or panicked, or it
    /// registered something the broker refused; nothing it registered stays.
    LoadFailed {
        name: String,
        message: String,
    },
    /// The broker is stopping.
    Stopped,
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::Unknown(name) => write!(f, "plugin {name} not found"),
            PluginError::AlreadyLoaded(name) => write!(f, "plugin {name} is already loaded"),
            PluginError::NotLoaded(name) => write!(f, "plugin {name} is not loaded"),
            PluginError::AlreadyLinked(name) => write!(f, "plugin {name} is already linked"),
            PluginError::LoadFailed { name, message } => {
                write!(f, "plugin {name} failed to load: {message}")
            }
            PluginError::Stopped => write!(f, "the broker is stopping"),
        }
    }
}

impl std::error::Error for PluginError {}

/// Why a plugin command did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// No loaded plugin registered this command.
    Unknown(String),
    /// The command answered an error (its own message).
    Failed(String),
    /// The command panicked; its plugin was unloaded.
    Crashed(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(name) => write!(f, "command {name} not found"),
            CommandError::Failed(message) | CommandError::Crashed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CommandError {}

/// A loaded instance of a plugin.
struct Loaded {
    id: u64,
    instance: Box<dyn Plugin>,
    guard: Arc<Guard>,
    registrations: Registrations,
}

/// A linked plugin.
struct Slot {
    name: String,
    description: String,
    version: String,
    factory: PluginFactory,
    loaded: Option<Loaded>,
}

struct HostState {
    slots: Vec<Slot>,
    /// What the loaded-plugins file lists, in order (names not linked here included).
    wanted: Vec<String>,
}

impl HostState {
    /// The linked plugin `name`.
    fn slot_mut(&mut self, name: &str) -> Result<&mut Slot, PluginError> {
        self.slots
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| PluginError::Unknown(name.to_string()))
    }
}

/// A registered command: its handler behind its plugin's guard.
struct CommandEntry {
    usage: String,
    plugin: String,
    load_id: u64,
    guard: Arc<Guard>,
    handler: Arc<CommandHandler>,
}

thread_local! {
    /// True while this thread runs a host job (so nested calls run inline, not re-queued).
    static IN_HOST_JOB: Cell<bool> = const { Cell::new(false) };
}

/// The plugin host of one broker (`BrokerCore::plugins`).
pub struct PluginHost {
    etc_dir: PathBuf,
    loaded_file: PathBuf,
    state: Mutex<HostState>,
    commands: RwLock<std::collections::BTreeMap<String, CommandEntry>>,
    core: OnceLock<Weak<BrokerCore>>,
    arbiter: Mutex<Option<ArbiterHandle>>,
    next_id: AtomicU64,
}

impl PluginHost {
    /// A host for `config` with the plugins of [`linked::all`], none loaded.
    pub fn new(config: &Config) -> PluginHost {
        let host = PluginHost {
            etc_dir: config.plugins.etc_dir.clone(),
            loaded_file: config.plugins.loaded_file_in(&config.node.data_dir),
            state: Mutex::new(HostState {
                slots: Vec::new(),
                wanted: Vec::new(),
            }),
            commands: RwLock::new(Default::default()),
            core: OnceLock::new(),
            arbiter: Mutex::new(None),
            next_id: AtomicU64::new(1),
        };
        for factory in linked::all() {
            if let Err(error) = host.add_linked(move || factory()) {
                log::error!("{error}");
            }
        }
        host
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Link one more plugin (tests, embedders); returns its name.
    pub fn add_linked<F>(&self, factory: F) -> Result<String, PluginError>
    where
        F: Fn() -> Box<dyn Plugin> + Send + Sync + 'static,
    {
        let factory: PluginFactory = Arc::new(factory);
        let probe = catch_unwind(AssertUnwindSafe(|| {
            let plugin = factory();
            (
                plugin.name().to_string(),
                plugin.description().to_string(),
                plugin.version().to_string(),
            )
        }));
        let (name, description, version) = probe.map_err(|payload| PluginError::LoadFailed {
            name: "(unknown)".into(),
            message: format!(
                "building the plugin panicked: {}",
                guard::panic_message(&*payload)
            ),
        })?;
        let mut state = self.state();
        if state.slots.iter().any(|s| s.name == name) {
            return Err(PluginError::AlreadyLinked(name));
        }
        state.slots.push(Slot {
            name: name.clone(),
            description,
            version,
            factory,
            loaded: None,
        });
        Ok(name)
    }

    /// Every linked plugin, in link order.
    pub fn list(&self) -> Vec<PluginInfo> {
        self.state()
            .slots
            .iter()
            .map(|slot| PluginInfo {
                name: slot.name.clone(),
                description: slot.description.clone(),
                version: slot.version.clone(),
                active: slot.loaded.is_some(),
            })
            .collect()
    }

    /// Whether plugin `name` is loaded.
    pub fn is_loaded(&self, name: &str) -> bool {
        self.state()
            .slots
            .iter()
            .any(|s| s.name == name && s.loaded.is_some())
    }

    /// The loaded-plugins file.
    pub fn loaded_file(&self) -> &Path {
        &self.loaded_file
    }

    /// Where plugin `name` reads its config.
    pub fn config_file(&self, name: &str) -> PathBuf {
        self.etc_dir.join(format!("{name}.toml"))
    }

    /// Bind the host to its broker and to the arbiter plugin code runs on (at boot).
    pub fn start(&self, core: &Arc<BrokerCore>, arbiter: Option<ArbiterHandle>) {
        let _ = self.core.set(Arc::downgrade(core));
        *self.arbiter.lock().unwrap_or_else(|p| p.into_inner()) = arbiter;
    }

    fn core(&self) -> Result<Arc<BrokerCore>, PluginError> {
        self.core
            .get()
            .and_then(Weak::upgrade)
            .ok_or(PluginError::Stopped)
    }

    /// Run `job` on the host's arbiter and wait for its answer (inline without an arbiter, or
    /// when already on it).
    fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&Arc<BrokerCore>) -> R + Send + 'static,
    ) -> Result<R, PluginError> {
        let core = self.core()?;
        let arbiter = self.arbiter();
        match arbiter {
            Some(arbiter) if !IN_HOST_JOB.with(Cell::get) => {
                let (tx, rx) = std::sync::mpsc::channel();
                let sent = arbiter.spawn_fn(move || {
                    IN_HOST_JOB.with(|flag| flag.set(true));
                    let _ = tx.send(job(&core));
                    IN_HOST_JOB.with(|flag| flag.set(false));
                });
                if !sent {
                    return Err(PluginError::Stopped);
                }
                rx.recv().map_err(|_| PluginError::Stopped)
            }
            _ => Ok(job(&core)),
        }
    }

    /// The host's arbiter, once started.
    fn arbiter(&self) -> Option<ArbiterHandle> {
        self.arbiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Run `job` on the host's arbiter later (a new thread without one); do not wait.
    fn schedule(&self, core: Arc<BrokerCore>, job: impl FnOnce(&Arc<BrokerCore>) + Send + 'static) {
        let arbiter = self.arbiter();
        match arbiter {
            Some(arbiter) => {
                arbiter.spawn_fn(move || {
                    IN_HOST_JOB.with(|flag| flag.set(true));
                    job(&core);
                    IN_HOST_JOB.with(|flag| flag.set(false));
                });
            }
            None => {
                let spawned = std::thread::Builder::new()
                    .name("emqttd-plugins".into())
                    .spawn(move || job(&core));
                if let Err(error) = spawned {
                    log::error!("cannot start a thread to unload a crashed plugin: {error}");
                }
            }
        }
    }

    /// Load plugin `name` and add it to the loaded-plugins file.
    pub fn load(&self, name: &str) -> Result<(), PluginError> {
        let name = name.to_string();
        self.run(move |core| core.plugins.load_here(core, &name, true))?
    }

    /// Unload plugin `name` and remove it from the loaded-plugins file.
    pub fn unload(&self, name: &str) -> Result<(), PluginError> {
        let name = name.to_string();
        self.run(move |core| core.plugins.unload_here(core, &name, None, true))?
    }

    /// Load the plugins the loaded-plugins file lists (at boot). A name not linked here, or a
    /// plugin that fails to load, is logged and skipped.
    pub fn restore(&self) {
        let list = match loaded_file::read(&self.loaded_file) {
            Ok(Some(list)) => list,
            Ok(None) => return,
            Err(error) => {
                log::error!("{error} (key plugins.loaded_file): no plugin loaded at start");
                return;
            }
        };
        for warning in &list.warnings {
            log::warn!(
                "{} (key plugins.loaded_file), {}: skipped",
                self.loaded_file.display(),
                warning
            );
        }
        self.state().wanted = list.names.clone();
        for name in list.names {
            let job_name = name.clone();
            match self.run(move |core| core.plugins.load_here(core, &job_name, false)) {
                Ok(Ok(())) => {}
                Ok(Err(PluginError::Unknown(_))) => log::warn!(
                    "plugin {} is listed in {} but not linked into this broker: skipped",
                    name,
                    self.loaded_file.display()
                ),
                Ok(Err(error)) | Err(error) => log::error!("{error}"),
            }
        }
    }

    /// Unload every plugin, last loaded first, leaving the loaded-plugins file as it is (at
    /// stop).
    pub fn unload_all(&self) {
        let loaded: Vec<String> = {
            let state = self.state();
            let mut loaded: Vec<(u64, String)> = state
                .slots
                .iter()
                .filter_map(|s| s.loaded.as_ref().map(|l| (l.id, s.name.clone())))
                .collect();
            loaded.sort();
            loaded.into_iter().rev().map(|(_, name)| name).collect()
        };
        for name in loaded {
            let job_name = name.clone();
            if let Err(error) = self
                .run(move |core| core.plugins.unload_here(core, &job_name, None, false))
                .and_then(|r| r)
            {
                log::warn!("plugin {name}: {error}");
            }
        }
    }

    /// The commands of the loaded plugins, by name.
    pub fn commands(&self) -> Vec<CommandInfo> {
        self.commands
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, entry)| CommandInfo {
                name: name.clone(),
                usage: entry.usage.clone(),
                plugin: entry.plugin.clone(),
            })
            .collect()
    }

    /// Run a plugin's `ctl` command with `args` (the words after its name).
    pub fn run_command(&self, name: &str, args: &[String]) -> Result<String, CommandError> {
        let (handler, guard, plugin) = {
            let commands = self.commands.read().unwrap_or_else(|p| p.into_inner());
            let entry = commands
                .get(name)
                .ok_or_else(|| CommandError::Unknown(name.to_string()))?;
            (
                entry.handler.clone(),
                entry.guard.clone(),
                entry.plugin.clone(),
            )
        };
        let what = format!("its ctl command {name}");
        match guard.call(&what, || handler(args)) {
            Some(Ok(output)) => Ok(output),
            Some(Err(message)) => Err(CommandError::Failed(message)),
            None => Err(CommandError::Crashed(format!(
                "command {name} of plugin {plugin} panicked; the plugin is unloaded"
            ))),
        }
    }

    /// Load `name` on this thread.
    fn load_here(
        &self,
        core: &Arc<BrokerCore>,
        name: &str,
        persist: bool,
    ) -> Result<(), PluginError> {
        let mut state = self.state();
        let slot = state.slot_mut(name)?;
        if slot.loaded.is_some() {
            return Err(PluginError::AlreadyLoaded(name.to_string()));
        }
        let failed = |message: String| PluginError::LoadFailed {
            name: name.to_string(),
            message,
        };
        let config_path = self.config_file(name);
        let config = read_config(&config_path).map_err(failed)?;
        let factory = slot.factory.clone();
        let mut instance = catch_unwind(AssertUnwindSafe(|| factory())).map_err(|payload| {
            failed(format!(
                "building the plugin panicked: {}",
                guard::panic_message(&*payload)
            ))
        })?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let guard = Guard::new(name, on_crash(core, name, id));
        let taken_commands = self
            .commands
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        let mut ctx = HostContext {
            core,
            guard: guard.clone(),
            config,
            config_path,
            registrations: Registrations::default(),
            refused: None,
            taken_commands,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| instance.load(&mut ctx)));
        let HostContext {
            mut registrations,
            refused,
            ..
        } = ctx;
        let loaded_ok = matches!(outcome, Ok(Ok(())));
        let error = match outcome {
            Ok(Ok(())) => refused,
            Ok(Err(message)) => Some(message),
            Err(payload) => {
                core.metrics.inc(Metric::PluginsCrashed);
                Some(format!(
                    "load panicked: {}",
                    guard::panic_message(&*payload)
                ))
            }
        };
        if let Some(message) = error {
            guard.set_down();
            registrations.remove_from(core);
            // A refused registration after a successful load: the plugin undoes its own part.
            if loaded_ok {
                let _ = catch_unwind(AssertUnwindSafe(|| instance.unload()));
            }
            log::error!("plugin {name} failed to load: {message}");
            return Err(failed(message));
        }
        let described = registrations.describe();
        {
            let mut commands = self.commands.write().unwrap_or_else(|p| p.into_inner());
            for command in registrations.commands.drain(..) {
                commands.insert(
                    command.name,
                    CommandEntry {
                        usage: command.usage,
                        plugin: name.to_string(),
                        load_id: id,
                        guard: guard.clone(),
                        handler: Arc::new(command.handler),
                    },
                );
            }
        }
        log::info!("plugin {} {} loaded ({})", name, slot.version, described);
        slot.loaded = Some(Loaded {
            id,
            instance,
            guard,
            registrations,
        });
        if persist && !state.wanted.iter().any(|n| n == name) {
            state.wanted.push(name.to_string());
            self.persist(&state.wanted);
        }
        Ok(())
    }

    /// Unload `name` on this thread; with `only`, only that loaded instance (a crash report
    /// about an instance that is gone already changes nothing).
    fn unload_here(
        &self,
        core: &Arc<BrokerCore>,
        name: &str,
        only: Option<u64>,
        persist: bool,
    ) -> Result<(), PluginError> {
        let mut state = self.state();
        let slot = state.slot_mut(name)?;
        let Some(loaded) = slot.loaded.take_if(|l| only.is_none_or(|id| l.id == id)) else {
            return Err(PluginError::NotLoaded(name.to_string()));
        };
        let Loaded {
            id,
            mut instance,
            guard,
            mut registrations,
        } = loaded;
        guard.set_down();
        registrations.remove_from(core);
        self.commands
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, entry| entry.load_id != id);
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| instance.unload())) {
            log::error!(
                "plugin {} panicked in unload: {}",
                name,
                guard::panic_message(&*payload)
            );
        }
        drop(instance);
        log::info!("plugin {name} unloaded");
        if persist {
            state.wanted.retain(|n| n != name);
            self.persist(&state.wanted);
        }
        Ok(())
    }

    fn persist(&self, names: &[String]) {
        if let Err(error) = loaded_file::write(&self.loaded_file, names) {
            log::error!("{error} (key plugins.loaded_file)");
        }
    }
}

/// What a guard does on its plugin's first panic: report, count, and unload that instance.
fn on_crash(core: &Arc<BrokerCore>, name: &str, id: u64) -> guard::OnCrash {
    let core = Arc::downgrade(core);
    let name = name.to_string();
    Box::new(move |what, message| {
        log::error!("plugin {name} failed in {what}: {message}; unloading it");
        let Some(core) = core.upgrade() else {
            return;
        };
        core.metrics.inc(Metric::PluginsCrashed);
        let name = name.clone();
        core.plugins.schedule(core.clone(), move |core| {
            match core.plugins.unload_here(core, &name, Some(id), false) {
                Ok(()) => log::warn!("plugin {name} unloaded after a panic"),
                Err(error) => log::debug!("crashed plugin {name}: {error}"),
            }
        });
    })
}

/// A plugin's config file, parsed; an empty table when it does not exist.
fn read_config(path: &Path) -> Result<toml::Table, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(toml::Table::new()),
        Err(e) => return Err(format!("{}: cannot read: {}", path.display(), e)),
    };
    text.parse::<toml::Table>()
        .map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))
}
