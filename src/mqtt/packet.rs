//! MQTT 3.1 / 3.1.1 control packets as plain values (replaces emqttd_packet.hrl's records).
//!
//! Strings are `ByteString` and payloads `Bytes`: both are reference-counted slices of the
//! buffer they were decoded from, so a publish fans out to many subscribers without a copy.

use bytes::Bytes;
use bytestring::ByteString;
use std::num::NonZeroU16;

/// A packet identifier: never zero on the wire (MQTT-2.3.1-1).
pub type PacketId = NonZeroU16;

pub use emqttd_plugin_api::{ConnectReturnCode, QoS};

/// The protocol level of the CONNECT packet: 3 is MQTT 3.1 (`MQIsdp`), 4 is MQTT 3.1.1 (`MQTT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ProtocolLevel {
    V31 = 3,
    V311 = 4,
}

impl ProtocolLevel {
    /// The protocol name that goes with the level on the wire.
    pub fn protocol_name(self) -> &'static str {
        match self {
            ProtocolLevel::V31 => "MQIsdp",
            ProtocolLevel::V311 => "MQTT",
        }
    }

    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// The will a client leaves behind in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    pub topic: ByteString,
    pub message: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

/// CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub protocol: ProtocolLevel,
    pub clean_session: bool,
    pub keep_alive: u16,
    pub client_id: ByteString,
    pub will: Option<LastWill>,
    pub username: Option<ByteString>,
    pub password: Option<Bytes>,
}

/// CONNACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck {
    pub session_present: bool,
    pub return_code: ConnectReturnCode,
}

/// PUBLISH. `packet_id` is `Some` exactly when `qos > 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    pub topic: ByteString,
    pub packet_id: Option<PacketId>,
    pub payload: Bytes,
}

/// SUBSCRIBE: at least one (filter, requested QoS) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub packet_id: PacketId,
    pub topic_filters: Vec<(ByteString, QoS)>,
}

/// One return code of SUBACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeReturnCode {
    Success(QoS),
    Failure,
}

impl SubscribeReturnCode {
    pub fn as_u8(self) -> u8 {
        match self {
            SubscribeReturnCode::Success(qos) => qos.as_u8(),
            SubscribeReturnCode::Failure => 0x80,
        }
    }
}

/// SUBACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub packet_id: PacketId,
    pub return_codes: Vec<SubscribeReturnCode>,
}

/// UNSUBSCRIBE: at least one filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub packet_id: PacketId,
    pub topic_filters: Vec<ByteString>,
}

/// The 14 control packets of MQTT 3.1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Box<Connect>),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(PacketId),
    PubRec(PacketId),
    PubRel(PacketId),
    PubComp(PacketId),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(PacketId),
    PingReq,
    PingResp,
    Disconnect,
}

impl Packet {
    /// The packet type's name as the specification writes it, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Packet::Connect(_) => "CONNECT",
            Packet::ConnAck(_) => "CONNACK",
            Packet::Publish(_) => "PUBLISH",
            Packet::PubAck(_) => "PUBACK",
            Packet::PubRec(_) => "PUBREC",
            Packet::PubRel(_) => "PUBREL",
            Packet::PubComp(_) => "PUBCOMP",
            Packet::Subscribe(_) => "SUBSCRIBE",
            Packet::SubAck(_) => "SUBACK",
            Packet::Unsubscribe(_) => "UNSUBSCRIBE",
            Packet::UnsubAck(_) => "UNSUBACK",
            Packet::PingReq => "PINGREQ",
            Packet::PingResp => "PINGRESP",
            Packet::Disconnect => "DISCONNECT",
        }
    }
}
