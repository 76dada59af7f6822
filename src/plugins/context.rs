//! The [`PluginContext`] a loading plugin gets: every registration goes to the broker at once,
//! behind the plugin's panic [`Guard`], and is remembered in [`Registrations`] so that unload
//! (or a failed load) removes all of them.

use super::guard::{Guard, GuardedAcl, GuardedAuth};
use crate::access::ProviderId;
use crate::broker::BrokerCore;
use crate::hooks::HookId;
use emqttd_plugin_api::access::{AclProvider, AuthProvider};
use emqttd_plugin_api::hooks::{
    ConnectCallback, EventKind, HookEvent, PublishCallback, SubscribeCallback, UnsubscribeCallback,
};
use emqttd_plugin_api::{CommandHandler, PluginContext, PublishHandle};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

/// `ctl` command names the broker answers itself: a plugin may not take them.
pub const BUILTIN_COMMANDS: &[&str] = &[
    "status",
    "broker",
    "cluster",
    "acl",
    "clients",
    "sessions",
    "routes",
    "topics",
    "subscriptions",
    "plugins",
    "modules",
    "bridges",
    "vm",
    "trace",
    "listeners",
    "mnesia",
    "admins",
];

/// A `ctl` command registered by a plugin.
pub struct Command {
    pub name: String,
    pub usage: String,
    pub handler: CommandHandler,
}

/// What one loaded plugin registered with the broker.
#[derive(Default)]
pub struct Registrations {
    pub auth: Vec<ProviderId>,
    pub acl: Vec<ProviderId>,
    /// Hook callbacks and event subscriptions.
    pub hooks: Vec<HookId>,
    pub commands: Vec<Command>,
}

impl Registrations {
    /// Remove every provider, hook and event subscription from the broker (commands are the
    /// host's to remove).
    pub fn remove_from(&mut self, core: &BrokerCore) {
        for id in self.auth.drain(..) {
            core.access.unregister_auth(id);
        }
        for id in self.acl.drain(..) {
            core.access.unregister_acl(id);
        }
        for id in self.hooks.drain(..) {
            core.hooks.remove(id);
        }
    }

    /// Registrations in the broker, for logs.
    pub fn describe(&self) -> String {
        format!(
            "{} auth, {} acl, {} hooks/subscriptions, {} commands",
            self.auth.len(),
            self.acl.len(),
            self.hooks.len(),
            self.commands.len()
        )
    }
}

/// The context of one plugin's `load`.
pub struct HostContext<'a> {
    pub core: &'a Arc<BrokerCore>,
    pub guard: Arc<Guard>,
    pub config: toml::Table,
    pub config_path: PathBuf,
    pub registrations: Registrations,
    /// The first registration the host refused (e.g. a command name already taken).
    pub refused: Option<String>,
    /// Commands registered by other loaded plugins.
    pub taken_commands: Vec<String>,
}

impl PluginContext for HostContext<'_> {
    fn node(&self) -> &str {
        &self.core.node
    }

    fn config(&self) -> &toml::Table {
        &self.config
    }

    fn config_path(&self) -> &Path {
        &self.config_path
    }

    fn data_dir(&self) -> &Path {
        &self.core.config.node.data_dir
    }

    fn register_auth(&mut self, priority: i32, provider: Box<dyn AuthProvider>) {
        let guarded = GuardedAuth {
            guard: self.guard.clone(),
            inner: provider,
        };
        let id = self.core.access.register_auth(Box::new(guarded), priority);
        self.registrations.auth.push(id);
    }

    fn register_acl(&mut self, priority: i32, provider: Box<dyn AclProvider>) {
        let guarded = GuardedAcl {
            guard: self.guard.clone(),
            inner: provider,
        };
        let id = self.core.access.register_acl(Box::new(guarded), priority);
        self.registrations.acl.push(id);
    }

    fn hook_client_connect(&mut self, priority: i32, callback: Box<ConnectCallback>) {
        let callback = self.guard.connect(callback);
        let id = self
            .core
            .hooks
            .add_client_connect(priority, move |client, password| callback(client, password));
        self.registrations.hooks.push(id);
    }

    fn hook_client_subscribe(&mut self, priority: i32, callback: Box<SubscribeCallback>) {
        let callback = self.guard.subscribe(callback);
        let id = self
            .core
            .hooks
            .add_client_subscribe(priority, move |client, table| callback(client, table));
        self.registrations.hooks.push(id);
    }

    fn hook_client_unsubscribe(&mut self, priority: i32, callback: Box<UnsubscribeCallback>) {
        let callback = self.guard.unsubscribe(callback);
        let id = self
            .core
            .hooks
            .add_client_unsubscribe(priority, move |client, filters| callback(client, filters));
        self.registrations.hooks.push(id);
    }

    fn hook_message_publish(&mut self, priority: i32, callback: Box<PublishCallback>) {
        let callback = self.guard.publish(callback);
        let id = self
            .core
            .hooks
            .add_message_publish(priority, move |message| callback(message));
        self.registrations.hooks.push(id);
    }

    fn subscribe_events(&mut self, kinds: &[EventKind], recipient: actix::Recipient<HookEvent>) {
        // An event actor that dies (a panic in its handler) takes the plugin down with it.
        let guard = self.guard.clone();
        let id = self.core.hooks.subscribe_watched(
            EventKind::set(kinds),
            crate::hooks::EventSink::Actor(recipient),
            Some(Arc::new(move || guard.stopped("its event actor"))),
        );
        self.registrations.hooks.push(id);
    }

    fn register_command(&mut self, name: &str, usage: &str, handler: CommandHandler) {
        let refuse = if !super::loaded_file::valid_name(name) {
            Some(format!(
                "command name {name:?} is not a word (letters, digits, '_' and '-')"
            ))
        } else if BUILTIN_COMMANDS.contains(&name) {
            Some(format!("command {name:?} is a built-in ctl command"))
        } else if self.taken_commands.iter().any(|c| c == name)
            || self.registrations.commands.iter().any(|c| c.name == name)
        {
            Some(format!("command {name:?} is already registered"))
        } else {
            None
        };
        match refuse {
            Some(why) => {
                self.refused.get_or_insert(why);
            }
            None => self.registrations.commands.push(Command {
                name: name.to_string(),
                usage: usage.to_string(),
                handler,
            }),
        }
    }

    fn publisher(&self) -> PublishHandle {
        let core: Weak<BrokerCore> = Arc::downgrade(self.core);
        PublishHandle::new(Arc::new(move |message| {
            core.upgrade()
                .map_or(0, |core| core.publish(message, None).delivered)
        }))
    }
}
