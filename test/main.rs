//! Integration tests: the real broker on ephemeral ports, driven by real MQTT clients.

mod common;

mod access;
mod auth_plugins;
mod broker_process;
mod clients;
mod connect;
mod ctl;
mod dashboard;
mod hooks;
mod http_publish;
mod malformed;
mod modules;
mod plugins;
mod pubsub;
mod qos;
mod rest_admin;
mod rest_api;
mod retained;
mod session;
mod supervision;
mod sys;
mod tls;
mod websocket;
mod will;
