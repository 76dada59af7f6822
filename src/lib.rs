//! emqttd: an MQTT 3.1/3.1.1 broker on the actix actor model, rebuilt from the Erlang emqttd.
//!
//! `app` boots the broker; the pure protocol pieces (`mqtt`, `router::trie`,
//! `retainer::index`, the session windows) carry no actix dependency.

pub mod access;
pub mod app;
pub mod broker;
pub mod cli;
pub mod config;
pub mod hooks;
pub mod http;
pub mod listener;
pub mod modules;
pub mod mqtt;
pub mod plugins;
pub mod retainer;
pub mod router;
pub mod session;
pub mod sys;
