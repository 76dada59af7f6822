//! The application message routed between clients (replaces emqttd's #mqtt_message{} record).

use crate::mqtt::packet::QoS;
use bytes::Bytes;
use bytestring::ByteString;
use std::time::SystemTime;

/// A message as published, shared by every subscriber it is delivered to (`Arc<Message>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: ByteString,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// Client id of the publisher (the node name for `$SYS` messages).
    pub from: ByteString,
    /// True for the broker's own `$SYS` messages.
    pub sys: bool,
    pub timestamp: SystemTime,
}

impl Message {
    pub fn new(
        from: ByteString,
        topic: ByteString,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Self {
        Message {
            topic,
            payload,
            qos,
            retain,
            from,
            sys: false,
            timestamp: SystemTime::now(),
        }
    }
}
