//! The plugin-facing surface of emqttd (emqttd's plugin contract): the [`Plugin`] trait a plugin
//! implements, the [`PluginContext`] the broker hands it on load, and the types of the hook
//! points, events and access providers it registers.
//!
//! The broker depends on this crate and so does every plugin; no plugin depends on the broker,
//! so there is no dependency cycle. The broker re-exports these types under its own paths
//! (`emqttd::hooks::HookEvent`, `emqttd::broker::Message`, `emqttd::access::AuthProvider`, ...).

pub mod access;
pub mod cidr;
pub mod hooks;
pub mod plugin;
pub mod types;

pub use access::{
    Access, AclClient, AclProvider, AclResult, AuthCheck, AuthDenied, AuthProvider, AuthResult,
    ClientAuth,
};
pub use cidr::Cidr;
pub use hooks::{ConnectAction, DropReason, EventKind, Flow, HookEvent, PublishAction, TopicEntry};
pub use plugin::{CommandHandler, Plugin, PluginContext, PublishHandle};
pub use types::{Client, ConnectReturnCode, Message, QoS};

/// Re-exported so plugins use the same actix as the broker for their actors.
pub use actix;
/// Re-exported so plugins parse their config with the same toml as the broker.
pub use toml;
