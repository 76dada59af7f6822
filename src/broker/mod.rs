//! The broker core shared by every session: routing, retained messages, hooks and counters
//! (replaces emqttd_broker / emqttd_pubsub / emqttd_server).

pub mod core;
pub mod message;
pub mod publish;

pub use self::core::BrokerCore;
pub use message::Message;
