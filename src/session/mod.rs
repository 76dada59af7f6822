//! Sessions: the per-client actor and the state it owns (replaces emqttd_client,
//! emqttd_session, emqttd_sm and emqttd_mqueue).

pub mod actor;
pub mod awaiting_rel;
pub mod connect;
mod deliver;
mod handlers;
mod hookpoints;
pub mod inbox;
pub mod inflight;
mod io;
pub mod mqueue;
pub mod packet_id;
pub mod query;
pub mod registry;
pub mod state;
pub mod subscriptions;
mod timer;

pub use hookpoints::SubscribeOnBehalf;
