//! The plugin contract (emqttd's plugin application): what a plugin implements, and what the
//! broker offers it while it loads.

use crate::access::{AclProvider, AuthProvider};
use crate::hooks::{
    ConnectCallback, EventKind, HookEvent, PublishCallback, SubscribeCallback, UnsubscribeCallback,
};
use crate::types::Message;
use actix::Recipient;
use std::path::Path;
use std::sync::Arc;

/// A `ctl` command a plugin adds (emqttd_ctl:register_cmd): it gets the arguments after the
/// command name and answers the text to print, or an error message.
pub type CommandHandler = Box<dyn Fn(&[String]) -> Result<String, String> + Send + Sync>;

/// A plugin: linked into the broker, loaded and unloaded at run time.
pub trait Plugin: Send {
    /// The crate name, e.g. `emqttd_auth_username`: what `emqttd ctl plugins load` takes.
    fn name(&self) -> &'static str;

    /// One line for `plugins list`.
    fn description(&self) -> &'static str;

    fn version(&self) -> &'static str;

    /// Read the config, then register providers, hooks, event subscribers and commands through
    /// `ctx`, and start any actors. Runs inside the broker's actix system, so `Actor::start`
    /// works here. An `Err` leaves the plugin unloaded: every registration made so far is
    /// removed and `unload` is not called.
    fn load(&mut self, ctx: &mut dyn PluginContext) -> Result<(), String>;

    /// Stop what `load` started that the broker does not know about (its actors, timers).
    /// The broker itself removes every registration made through the context.
    fn unload(&mut self) {}
}

/// What the broker offers a loading plugin. Every registration is remembered and undone
/// when the plugin is unloaded.
pub trait PluginContext {
    /// The node name (`node.name`), e.g. `emqttd@127.0.0.1`.
    fn node(&self) -> &str;

    /// `etc/plugins/<name>.toml`, parsed; an empty table when the file does not exist.
    fn config(&self) -> &toml::Table;

    /// Where the config was looked for (for messages naming the file).
    fn config_path(&self) -> &Path;

    /// The node's data directory (`node.data_dir`): where a plugin keeps files it writes.
    fn data_dir(&self) -> &Path;

    /// Add an auth provider to the chain; higher priorities are asked first.
    fn register_auth(&mut self, priority: i32, provider: Box<dyn AuthProvider>);

    /// Add an ACL provider; higher priorities first (the internal acl.conf is at 0).
    fn register_acl(&mut self, priority: i32, provider: Box<dyn AclProvider>);

    /// `client.connect` filter.
    fn hook_client_connect(&mut self, priority: i32, callback: Box<ConnectCallback>);

    /// `client.subscribe` filter.
    fn hook_client_subscribe(&mut self, priority: i32, callback: Box<SubscribeCallback>);

    /// `client.unsubscribe` filter.
    fn hook_client_unsubscribe(&mut self, priority: i32, callback: Box<UnsubscribeCallback>);

    /// `message.publish` filter.
    fn hook_message_publish(&mut self, priority: i32, callback: Box<PublishCallback>);

    /// Deliver the notify events of these kinds to an actor (with `try_send`: what its
    /// mailbox cannot take is dropped and counted).
    fn subscribe_events(&mut self, kinds: &[EventKind], recipient: Recipient<HookEvent>);

    /// Add a `ctl` command, e.g. `users`.
    fn register_command(&mut self, name: &str, usage: &str, handler: CommandHandler);

    /// A handle to publish messages into the broker (hooks and ACL apply as for the HTTP API).
    fn publisher(&self) -> PublishHandle;
}

/// Publishes messages into the broker; cheap to clone and safe to keep in actors.
#[derive(Clone)]
pub struct PublishHandle(Arc<dyn Fn(Message) -> usize + Send + Sync>);

impl PublishHandle {
    pub fn new(publish: Arc<dyn Fn(Message) -> usize + Send + Sync>) -> Self {
        PublishHandle(publish)
    }

    /// Route `message`; returns the number of subscribers it was delivered or queued to.
    pub fn publish(&self, message: Message) -> usize {
        (self.0)(message)
    }
}
