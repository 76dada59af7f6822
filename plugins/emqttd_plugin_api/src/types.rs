//! The values hooks and plugins see: QoS, CONNACK codes, the routed message and the client.

use bytes::Bytes;
use bytestring::ByteString;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// Quality of service of a publish or subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum QoS {
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a two-bit wire value; `None` for 3, which is malformed.
    pub fn from_u8(value: u8) -> Option<QoS> {
        match value {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for QoS {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u8())
    }
}

/// The return code of CONNACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConnectReturnCode {
    Accepted = 0,
    UnacceptableProtocolVersion = 1,
    IdentifierRejected = 2,
    ServerUnavailable = 3,
    BadUsernameOrPassword = 4,
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    pub fn from_u8(value: u8) -> Option<ConnectReturnCode> {
        use ConnectReturnCode::*;
        Some(match value {
            0 => Accepted,
            1 => UnacceptableProtocolVersion,
            2 => IdentifierRejected,
            3 => ServerUnavailable,
            4 => BadUsernameOrPassword,
            5 => NotAuthorized,
            _ => return None,
        })
    }

    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// A message as published (emqttd's `#mqtt_message{}`), shared by every subscriber it is
/// delivered to (`Arc<Message>`).
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

/// The client a hook is about (emqttd's `#mqtt_client{}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: ByteString,
    pub username: Option<ByteString>,
    pub peer: SocketAddr,
    /// 3 (MQTT 3.1) or 4 (MQTT 3.1.1).
    pub protocol: u8,
    pub clean_session: bool,
    pub keep_alive: u16,
    /// The listener the client came in on, as `proto:name` (e.g. `tcp:external`); shared by
    /// every client of that listener.
    pub listener: Arc<str>,
    /// When the CONNECT was received.
    pub connected_at: SystemTime,
}
