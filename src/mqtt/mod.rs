//! MQTT wire format: packets, codec and topic rules (pure, no actix).
pub mod codec;
pub mod decode;
pub mod encode;
pub mod packet;
pub mod topic;
