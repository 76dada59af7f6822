//! Decoding MQTT 3.1 / 3.1.1 control packets from the front of a byte buffer.
//!
//! The decoder checks everything the specification lets a receiver check from the bytes
//! alone; what depends on the session (who may send what, client id rules, wildcards in
//! topic names) is left to the session layer. Strings and payloads are zero-copy slices of
//! the receive buffer.

use super::packet::{
    ConnAck, Connect, ConnectReturnCode, LastWill, Packet, PacketId, ProtocolLevel, Publish, QoS,
    SubAck, Subscribe, SubscribeReturnCode, Unsubscribe,
};
use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;
use std::{fmt, io, mem};

// Control packet types, the upper nibble of the first byte (MQTT 2.2.1).
pub(crate) const CONNECT: u8 = 1;
pub(crate) const CONNACK: u8 = 2;
pub(crate) const PUBLISH: u8 = 3;
pub(crate) const PUBACK: u8 = 4;
pub(crate) const PUBREC: u8 = 5;
pub(crate) const PUBREL: u8 = 6;
pub(crate) const PUBCOMP: u8 = 7;
pub(crate) const SUBSCRIBE: u8 = 8;
pub(crate) const SUBACK: u8 = 9;
pub(crate) const UNSUBSCRIBE: u8 = 10;
pub(crate) const UNSUBACK: u8 = 11;
pub(crate) const PINGREQ: u8 = 12;
pub(crate) const PINGRESP: u8 = 13;
pub(crate) const DISCONNECT: u8 = 14;

/// The largest value the 4-byte Remaining Length encoding can carry (MQTT 2.2.3).
pub(crate) const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Why a byte stream is not a valid MQTT packet. Every variant is fatal for the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// remaining length beyond the 4-byte encoding, or truncated inside a fixed-size field
    MalformedRemainingLength,
    /// remaining length > max_packet_size (checked before buffering the body)
    PacketTooLarge { size: usize, max: usize },
    /// packet type 0 or 15
    InvalidPacketType(u8),
    /// reserved fixed-header flag bits wrong (MQTT-2.2.2-1/2), e.g. PUBREL/SUBSCRIBE/UNSUBSCRIBE not 0b0010
    InvalidHeaderFlags { packet_type: u8, flags: u8 },
    /// CONNECT protocol name neither "MQTT" nor "MQIsdp"
    InvalidProtocolName,
    /// level not 4 for "MQTT" / not 3 for "MQIsdp": the session must answer CONNACK 0x01 then close (MQTT-3.1.2-2)
    UnsupportedProtocolLevel(u8),
    /// a string that is not UTF-8 or contains U+0000 (MQTT-1.5.3-1/2)
    InvalidUtf8,
    /// any other violation, with a short static reason
    Malformed(&'static str),
    /// transport error surfaced through the Decoder trait
    Io(io::ErrorKind),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::MalformedRemainingLength => f.write_str("malformed remaining length"),
            DecodeError::PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            DecodeError::InvalidPacketType(t) => write!(f, "invalid packet type {t}"),
            DecodeError::InvalidHeaderFlags { packet_type, flags } => {
                write!(
                    f,
                    "invalid flags {flags:#06b} for packet type {packet_type}"
                )
            }
            DecodeError::InvalidProtocolName => f.write_str("invalid protocol name"),
            DecodeError::UnsupportedProtocolLevel(level) => {
                write!(f, "unsupported protocol level {level}")
            }
            DecodeError::InvalidUtf8 => f.write_str("invalid UTF-8 string"),
            DecodeError::Malformed(reason) => write!(f, "malformed packet: {reason}"),
            DecodeError::Io(kind) => write!(f, "I/O error: {kind}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<io::Error> for DecodeError {
    fn from(err: io::Error) -> Self {
        DecodeError::Io(err.kind())
    }
}

/// Decode one packet from the front of `buf`. `Ok(None)` = need more bytes (nothing consumed).
///
/// On `Ok(Some)` exactly that packet's bytes are consumed; strings and payloads are zero-copy
/// slices of `buf`. Never allocates more than `max_packet_size` for a packet body: once the
/// fixed header is known and valid, `buf` is given room for exactly the whole packet.
/// On `Err` the connection must be closed; what is left in `buf` is unspecified.
pub fn decode_packet(
    buf: &mut BytesMut,
    max_packet_size: usize,
) -> Result<Option<Packet>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let packet_type = first >> 4;
    check_header_flags(packet_type, first & 0x0F)?;

    let Some((remaining, length_bytes)) = decode_remaining_length(&buf[1..])? else {
        return Ok(None);
    };
    if remaining > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size: remaining,
            max: max_packet_size,
        });
    }
    check_fixed_body_len(packet_type, remaining)?;

    let header_len = 1 + length_bytes;
    let total = header_len + remaining;
    if buf.len() < total {
        reserve_exact(buf, total);
        return Ok(None);
    }

    // The packets without a variable part are read in place: no split, no allocation.
    let fixed = &buf[header_len..total];
    let packet = match packet_type {
        CONNACK => Some(decode_connack(fixed[0], fixed[1])?),
        PUBACK => Some(Packet::PubAck(packet_id(fixed)?)),
        PUBREC => Some(Packet::PubRec(packet_id(fixed)?)),
        PUBREL => Some(Packet::PubRel(packet_id(fixed)?)),
        PUBCOMP => Some(Packet::PubComp(packet_id(fixed)?)),
        UNSUBACK => Some(Packet::UnsubAck(packet_id(fixed)?)),
        PINGREQ => Some(Packet::PingReq),
        PINGRESP => Some(Packet::PingResp),
        DISCONNECT => Some(Packet::Disconnect),
        _ => None,
    };
    if let Some(packet) = packet {
        buf.advance(total);
        return Ok(Some(packet));
    }

    let mut frame = buf.split_to(total);
    frame.advance(header_len);
    let mut body = Reader(frame.freeze());
    let packet = match packet_type {
        CONNECT => Packet::Connect(Box::new(decode_connect(&mut body)?)),
        PUBLISH => Packet::Publish(decode_publish(first, &mut body)?),
        SUBSCRIBE => Packet::Subscribe(decode_subscribe(&mut body)?),
        SUBACK => Packet::SubAck(decode_suback(&mut body)?),
        UNSUBSCRIBE => Packet::Unsubscribe(decode_unsubscribe(&mut body)?),
        _ => unreachable!("packet type {packet_type} was checked by check_header_flags"),
    };
    body.finish()?;
    Ok(Some(packet))
}

/// Checks the packet type and the flag nibble of the first byte, which is all that is needed
/// to reject a bad packet as soon as its first byte arrives.
fn check_header_flags(packet_type: u8, flags: u8) -> Result<(), DecodeError> {
    match packet_type {
        0 | 15 => Err(DecodeError::InvalidPacketType(packet_type)),
        PUBLISH => {
            let qos = (flags >> 1) & 0b11;
            if qos == 3 {
                // MQTT-3.3.1-4
                return Err(DecodeError::Malformed("QoS 3"));
            }
            if flags & 0b1000 != 0 && qos == 0 {
                // MQTT-3.3.1-2
                return Err(DecodeError::Malformed("DUP set on QoS 0"));
            }
            Ok(())
        }
        // MQTT-3.6.1-1, MQTT-3.8.1-1, MQTT-3.10.1-1: the flags are 0,0,1,0.
        PUBREL | SUBSCRIBE | UNSUBSCRIBE if flags == 0b0010 => Ok(()),
        PUBREL | SUBSCRIBE | UNSUBSCRIBE => {
            Err(DecodeError::InvalidHeaderFlags { packet_type, flags })
        }
        // MQTT-2.2.2-1/2: every other packet has reserved flags 0.
        _ if flags == 0 => Ok(()),
        _ => Err(DecodeError::InvalidHeaderFlags { packet_type, flags }),
    }
}

/// Decodes the Remaining Length (MQTT 2.2.3) from the bytes after the first one:
/// `Ok(Some((value, bytes used)))`, or `Ok(None)` when more bytes are needed.
fn decode_remaining_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, DecodeError> {
    let mut value = 0;
    for (i, &byte) in bytes.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 4 {
        // The fourth byte still had its continuation bit set.
        Err(DecodeError::MalformedRemainingLength)
    } else {
        Ok(None)
    }
}

/// Packets with a fixed-size body are rejected on a wrong Remaining Length before their body
/// is awaited.
fn check_fixed_body_len(packet_type: u8, remaining: usize) -> Result<(), DecodeError> {
    let expected = match packet_type {
        CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | UNSUBACK => 2,
        PINGREQ | PINGRESP | DISCONNECT => 0,
        _ => return Ok(()),
    };
    if remaining < expected {
        Err(DecodeError::MalformedRemainingLength)
    } else if remaining > expected {
        Err(DecodeError::Malformed("unexpected bytes after the packet"))
    } else {
        Ok(())
    }
}

/// Makes room for the whole packet (`total` bytes) in one allocation of exactly that size.
/// `BytesMut::reserve` may double the capacity instead, which would let a peer make us hold
/// up to twice `max_packet_size`.
fn reserve_exact(buf: &mut BytesMut, total: usize) {
    if buf.capacity() < total {
        let mut bigger = BytesMut::with_capacity(total);
        bigger.extend_from_slice(buf);
        *buf = bigger;
    }
}

/// A packet identifier, which is never zero (MQTT-2.3.1-1).
fn packet_id(bytes: &[u8]) -> Result<PacketId, DecodeError> {
    PacketId::new(u16::from_be_bytes([bytes[0], bytes[1]]))
        .ok_or(DecodeError::Malformed("packet id is zero"))
}

fn decode_connack(flags: u8, return_code: u8) -> Result<Packet, DecodeError> {
    // MQTT 3.2.2.1: bits 7-1 of the acknowledge flags are reserved and must be 0.
    if flags & 0xFE != 0 {
        return Err(DecodeError::Malformed("reserved CONNACK flag set"));
    }
    let return_code = ConnectReturnCode::from_u8(return_code)
        .ok_or(DecodeError::Malformed("invalid CONNACK return code"))?;
    Ok(Packet::ConnAck(ConnAck {
        session_present: flags == 1,
        return_code,
    }))
}

fn decode_connect(body: &mut Reader) -> Result<Connect, DecodeError> {
    // The name is compared as raw bytes, so a name that is not UTF-8 is just an unknown name.
    let name = body.binary()?;
    let level = body.u8()?;
    let protocol = match (&name[..], level) {
        (b"MQTT", 4) => ProtocolLevel::V311,
        (b"MQIsdp", 3) => ProtocolLevel::V31,
        // MQTT-3.1.2-2: answered with CONNACK 0x01 by the session.
        (b"MQTT" | b"MQIsdp", _) => return Err(DecodeError::UnsupportedProtocolLevel(level)),
        // MQTT-3.1.2-1
        _ => return Err(DecodeError::InvalidProtocolName),
    };

    let flags = body.u8()?;
    if flags & 0x01 != 0 {
        // MQTT-3.1.2-3
        return Err(DecodeError::Malformed("reserved connect flag set"));
    }
    let clean_session = flags & 0x02 != 0;
    let will_flag = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 0b11;
    let will_retain = flags & 0x20 != 0;
    let password_flag = flags & 0x40 != 0;
    let username_flag = flags & 0x80 != 0;
    if will_qos == 3 {
        // MQTT-3.1.2-14
        return Err(DecodeError::Malformed("will QoS 3"));
    }
    if !will_flag && (will_qos != 0 || will_retain) {
        // MQTT-3.1.2-11, MQTT-3.1.2-13, MQTT-3.1.2-15
        return Err(DecodeError::Malformed(
            "will QoS or retain set without will flag",
        ));
    }
    if password_flag && !username_flag {
        // MQTT-3.1.2-22
        return Err(DecodeError::Malformed(
            "password flag set without username flag",
        ));
    }
    let keep_alive = body.u16()?;

    // The payload fields come in this order, each present iff its flag is set (MQTT-3.1.3-1).
    // The client id may be empty here; whether that is acceptable is the session's call
    // (MQTT-3.1.3-7/8).
    let client_id = body.string()?;
    let will = if will_flag {
        Some(LastWill {
            topic: body.string()?,
            message: body.binary()?,
            qos: QoS::from_u8(will_qos).expect("will QoS 3 was rejected above"),
            retain: will_retain,
        })
    } else {
        None
    };
    let username = username_flag.then(|| body.string()).transpose()?;
    let password = password_flag.then(|| body.binary()).transpose()?;

    Ok(Connect {
        protocol,
        clean_session,
        keep_alive,
        client_id,
        will,
        username,
        password,
    })
}

fn decode_publish(first: u8, body: &mut Reader) -> Result<Publish, DecodeError> {
    // QoS 3 and DUP on QoS 0 were rejected by check_header_flags.
    let qos = QoS::from_u8((first >> 1) & 0b11).expect("QoS 3 was rejected");
    // Wildcards in the topic name (MQTT-3.3.2-2) are the session's to reject.
    let topic = body.string()?;
    // MQTT-2.3.1-5: a QoS 0 PUBLISH has no packet identifier.
    let packet_id = match qos {
        QoS::AtMostOnce => None,
        _ => Some(body.packet_id()?),
    };
    Ok(Publish {
        dup: first & 0b1000 != 0,
        qos,
        retain: first & 0b0001 != 0,
        topic,
        packet_id,
        // The payload is the rest of the packet and may be empty.
        payload: body.rest(),
    })
}

fn decode_subscribe(body: &mut Reader) -> Result<Subscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut topic_filters = Vec::new();
    while !body.is_empty() {
        let filter = body.string()?;
        let requested = body.u8()?;
        // MQTT-3.8.3-4: the upper six bits are reserved and QoS must be 0, 1 or 2.
        if requested & 0xFC != 0 {
            return Err(DecodeError::Malformed("reserved bits set in requested QoS"));
        }
        let qos = QoS::from_u8(requested).ok_or(DecodeError::Malformed("QoS 3"))?;
        topic_filters.push((filter, qos));
    }
    if topic_filters.is_empty() {
        // MQTT-3.8.3-3
        return Err(DecodeError::Malformed("SUBSCRIBE with no topic filters"));
    }
    Ok(Subscribe {
        packet_id,
        topic_filters,
    })
}

fn decode_suback(body: &mut Reader) -> Result<SubAck, DecodeError> {
    let packet_id = body.packet_id()?;
    let return_codes = body
        .rest()
        .iter()
        .map(|&code| match code {
            0x80 => Ok(SubscribeReturnCode::Failure),
            // MQTT-3.9.3-2: 0x00, 0x01, 0x02 and 0x80 are the only return codes.
            _ => QoS::from_u8(code)
                .map(SubscribeReturnCode::Success)
                .ok_or(DecodeError::Malformed("invalid SUBACK return code")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if return_codes.is_empty() {
        // One return code per topic filter of the SUBSCRIBE, which has at least one.
        return Err(DecodeError::Malformed("SUBACK with no return codes"));
    }
    Ok(SubAck {
        packet_id,
        return_codes,
    })
}

fn decode_unsubscribe(body: &mut Reader) -> Result<Unsubscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut topic_filters = Vec::new();
    while !body.is_empty() {
        topic_filters.push(body.string()?);
    }
    if topic_filters.is_empty() {
        // MQTT-3.10.3-2
        return Err(DecodeError::Malformed("UNSUBSCRIBE with no topic filters"));
    }
    Ok(Unsubscribe {
        packet_id,
        topic_filters,
    })
}

/// Reads the fields of a packet body. Running out of bytes inside a field means the
/// Remaining Length was too short for the packet.
struct Reader(Bytes);

impl Reader {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        if self.0.is_empty() {
            return Err(DecodeError::MalformedRemainingLength);
        }
        Ok(self.0.get_u8())
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        if self.0.len() < 2 {
            return Err(DecodeError::MalformedRemainingLength);
        }
        Ok(self.0.get_u16())
    }

    fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::Malformed("packet id is zero"))
    }

    /// Binary data with a two-byte length prefix (MQTT 1.5.3 framing, used for the will
    /// message and the password).
    fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16()?);
        if self.0.len() < len {
            return Err(DecodeError::MalformedRemainingLength);
        }
        Ok(self.0.split_to(len))
    }

    /// A UTF-8 encoded string (MQTT 1.5.3).
    fn string(&mut self) -> Result<ByteString, DecodeError> {
        let bytes = self.binary()?;
        // MQTT-1.5.3-2: no U+0000. In valid UTF-8 a zero byte can only encode U+0000.
        if bytes.contains(&0) {
            return Err(DecodeError::InvalidUtf8);
        }
        // MQTT-1.5.3-1: well-formed UTF-8; Rust's check also rejects U+D800..U+DFFF.
        ByteString::try_from(bytes).map_err(|_| DecodeError::InvalidUtf8)
    }

    fn rest(&mut self) -> Bytes {
        mem::take(&mut self.0)
    }

    fn finish(self) -> Result<(), DecodeError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Malformed("unexpected bytes after the packet"))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mqtt::packet::ConnectReturnCode::*;
    use std::num::NonZeroU16;

    const MAX: usize = 1024;

    /// Bytes from space-separated hex pairs.
    pub(crate) fn hex(s: &str) -> BytesMut {
        s.split_whitespace()
            .map(|pair| u8::from_str_radix(pair, 16).unwrap())
            .collect::<Vec<u8>>()[..]
            .into()
    }

    pub(crate) fn id(n: u16) -> PacketId {
        NonZeroU16::new(n).unwrap()
    }

    fn connect(protocol: ProtocolLevel, client_id: &'static str) -> Connect {
        Connect {
            protocol,
            clean_session: true,
            keep_alive: 60,
            client_id: ByteString::from_static(client_id),
            will: None,
            username: None,
            password: None,
        }
    }

    fn publish(qos: QoS, retain: bool, packet_id: Option<u16>, payload: &'static [u8]) -> Packet {
        Packet::Publish(Publish {
            dup: false,
            qos,
            retain,
            topic: ByteString::from_static("a/b"),
            packet_id: packet_id.map(id),
            payload: Bytes::from_static(payload),
        })
    }

    /// Known packets and their bytes. Those marked "captured" were sent by mosquitto_pub /
    /// mosquitto_sub 2.0.11 to a fake broker.
    pub(crate) fn vectors() -> Vec<(&'static str, Packet)> {
        vec![
            // captured: mosquitto_pub -V mqttv311 (empty client id, clean session, keep alive 60)
            (
                "10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00",
                Packet::Connect(Box::new(connect(ProtocolLevel::V311, ""))),
            ),
            // captured: mosquitto_pub -V mqttv31 (MQIsdp, generated client id)
            (
                "10 25 00 06 4d 51 49 73 64 70 03 02 00 3c 00 17 6d 6f 73 71 2d 73 6c 4b 6b 33 \
                 61 39 41 45 4f 43 38 6b 4c 46 75 46 42",
                Packet::Connect(Box::new(connect(
                    ProtocolLevel::V31,
                    "mosq-slKk3a9AEOC8kLFuFB",
                ))),
            ),
            // captured: mosquitto_pub -V mqttv311 -u user -P pass --will-topic will/t
            //           --will-payload bye --will-qos 1 --will-retain -k 30
            (
                "10 25 00 04 4d 51 54 54 04 ee 00 1e 00 00 00 06 77 69 6c 6c 2f 74 00 03 62 79 \
                 65 00 04 75 73 65 72 00 04 70 61 73 73",
                Packet::Connect(Box::new(Connect {
                    keep_alive: 30,
                    will: Some(LastWill {
                        topic: ByteString::from_static("will/t"),
                        message: Bytes::from_static(b"bye"),
                        qos: QoS::AtLeastOnce,
                        retain: true,
                    }),
                    username: Some(ByteString::from_static("user")),
                    password: Some(Bytes::from_static(b"pass")),
                    ..connect(ProtocolLevel::V311, "")
                })),
            ),
            (
                "20 02 01 00",
                Packet::ConnAck(ConnAck {
                    session_present: true,
                    return_code: Accepted,
                }),
            ),
            (
                "20 02 00 05",
                Packet::ConnAck(ConnAck {
                    session_present: false,
                    return_code: NotAuthorized,
                }),
            ),
            (
                "30 08 00 03 61 2f 62 68 69 21",
                publish(QoS::AtMostOnce, false, None, b"hi!"),
            ),
            (
                "31 05 00 03 61 2f 62",
                publish(QoS::AtMostOnce, true, None, b""),
            ),
            // captured: mosquitto_pub -q 1 -t a/b -m hello
            (
                "32 0c 00 03 61 2f 62 00 01 68 65 6c 6c 6f",
                publish(QoS::AtLeastOnce, false, Some(1), b"hello"),
            ),
            // captured: mosquitto_pub -q 2 -r -t a/b -m hi
            (
                "35 09 00 03 61 2f 62 00 01 68 69",
                publish(QoS::ExactlyOnce, true, Some(1), b"hi"),
            ),
            (
                "3a 07 00 03 61 2f 62 12 34",
                Packet::Publish(Publish {
                    dup: true,
                    ..match publish(QoS::AtLeastOnce, false, Some(0x1234), b"") {
                        Packet::Publish(p) => p,
                        _ => unreachable!(),
                    }
                }),
            ),
            ("40 02 00 01", Packet::PubAck(id(1))),
            ("50 02 00 01", Packet::PubRec(id(1))),
            // captured: the PUBREL of mosquitto_pub -q 2
            ("62 02 00 01", Packet::PubRel(id(1))),
            ("70 02 ff ff", Packet::PubComp(id(0xffff))),
            // captured: mosquitto_sub -q 1 -t a/+ -t b/#
            (
                "82 0e 00 01 00 03 61 2f 2b 01 00 03 62 2f 23 01",
                Packet::Subscribe(Subscribe {
                    packet_id: id(1),
                    topic_filters: vec![
                        (ByteString::from_static("a/+"), QoS::AtLeastOnce),
                        (ByteString::from_static("b/#"), QoS::AtLeastOnce),
                    ],
                }),
            ),
            (
                "90 05 00 01 00 02 80",
                Packet::SubAck(SubAck {
                    packet_id: id(1),
                    return_codes: vec![
                        SubscribeReturnCode::Success(QoS::AtMostOnce),
                        SubscribeReturnCode::Success(QoS::ExactlyOnce),
                        SubscribeReturnCode::Failure,
                    ],
                }),
            ),
            // captured: mosquitto_sub -U x/y
            (
                "a2 07 00 02 00 03 78 2f 79",
                Packet::Unsubscribe(Unsubscribe {
                    packet_id: id(2),
                    topic_filters: vec![ByteString::from_static("x/y")],
                }),
            ),
            ("b0 02 00 02", Packet::UnsubAck(id(2))),
            ("c0 00", Packet::PingReq),
            ("d0 00", Packet::PingResp),
            // captured
            ("e0 00", Packet::Disconnect),
        ]
    }

    fn decode(bytes: &str) -> Result<Option<Packet>, DecodeError> {
        decode_packet(&mut hex(bytes), MAX)
    }

    fn malformed(bytes: &str, reason: &'static str) {
        assert_eq!(
            decode(bytes),
            Err(DecodeError::Malformed(reason)),
            "{bytes}"
        );
    }

    #[test]
    fn decodes_known_vectors() {
        for (bytes, packet) in vectors() {
            let mut buf = hex(bytes);
            assert_eq!(decode_packet(&mut buf, MAX), Ok(Some(packet)), "{bytes}");
            assert!(buf.is_empty(), "{bytes} left {buf:?}");
        }
    }

    #[test]
    fn decodes_one_byte_at_a_time() {
        for (bytes, packet) in vectors() {
            let all = hex(bytes);
            let mut buf = BytesMut::new();
            for (i, &byte) in all.iter().enumerate() {
                buf.extend_from_slice(&[byte]);
                let got = decode_packet(&mut buf, MAX).unwrap();
                if i + 1 < all.len() {
                    assert_eq!(got, None, "{bytes} after {} bytes", i + 1);
                    assert_eq!(buf.len(), i + 1, "nothing may be consumed");
                } else {
                    assert_eq!(got, Some(packet.clone()), "{bytes}");
                    assert!(buf.is_empty());
                }
            }
        }
    }

    #[test]
    fn decodes_packets_back_to_back() {
        // A PUBLISH, a PINGREQ and the first two bytes of a PUBACK.
        let mut buf = hex("32 0c 00 03 61 2f 62 00 01 68 65 6c 6c 6f c0 00 40 02");
        assert_eq!(
            decode_packet(&mut buf, MAX),
            Ok(Some(publish(QoS::AtLeastOnce, false, Some(1), b"hello")))
        );
        assert_eq!(decode_packet(&mut buf, MAX), Ok(Some(Packet::PingReq)));
        assert_eq!(decode_packet(&mut buf, MAX), Ok(None));
        assert_eq!(&buf[..], &[0x40, 0x02]);
        buf.extend_from_slice(&[0x00, 0x07]);
        assert_eq!(
            decode_packet(&mut buf, MAX),
            Ok(Some(Packet::PubAck(id(7))))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn payload_and_topic_are_slices_of_the_buffer() {
        let mut buf = hex("32 0c 00 03 61 2f 62 00 01 68 65 6c 6c 6f");
        let range = buf.as_ptr_range();
        let Some(Packet::Publish(publish)) = decode_packet(&mut buf, MAX).unwrap() else {
            panic!("not a PUBLISH");
        };
        assert!(range.contains(&publish.payload.as_ptr()));
        assert!(range.contains(&publish.topic.as_bytes().as_ptr()));
    }

    #[test]
    fn reserves_exactly_the_packet_once_the_header_is_known() {
        // Remaining length 1000 (0xe8 0x07): 1003 bytes in all.
        let mut buf = hex("30 e8 07 00 01 61");
        assert_eq!(decode_packet(&mut buf, MAX), Ok(None));
        assert_eq!(buf.capacity(), 1003);
        assert_eq!(&buf[..], &hex("30 e8 07 00 01 61")[..]);

        // A buffer that already has room is left alone.
        let mut roomy = BytesMut::with_capacity(4096);
        roomy.extend_from_slice(&hex("30 e8 07"));
        decode_packet(&mut roomy, MAX).unwrap();
        assert_eq!(roomy.capacity(), 4096);
    }

    #[test]
    fn rejects_bad_packet_types_on_the_first_byte() {
        assert_eq!(decode("00"), Err(DecodeError::InvalidPacketType(0)));
        assert_eq!(decode("f0 00"), Err(DecodeError::InvalidPacketType(15)));
        assert_eq!(decode(""), Ok(None));
    }

    #[test]
    fn rejects_wrong_reserved_flags() {
        let bad = |bytes, packet_type, flags| {
            assert_eq!(
                decode(bytes),
                Err(DecodeError::InvalidHeaderFlags { packet_type, flags }),
                "{bytes}"
            );
        };
        bad("11", CONNECT, 1);
        bad("28 02 00 00", CONNACK, 8);
        bad("41 02 00 01", PUBACK, 1);
        bad("52", PUBREC, 2);
        bad("60 02 00 01", PUBREL, 0);
        bad("63 02 00 01", PUBREL, 3);
        bad("72", PUBCOMP, 2);
        bad("80", SUBSCRIBE, 0);
        bad("8a", SUBSCRIBE, 0b1010);
        bad("92", SUBACK, 2);
        bad("a0", UNSUBSCRIBE, 0);
        bad("b2", UNSUBACK, 2);
        bad("c1 00", PINGREQ, 1);
        bad("d4 00", PINGRESP, 4);
        bad("e8 00", DISCONNECT, 8);
    }

    #[test]
    fn rejects_bad_publish_flags() {
        malformed("36", "QoS 3");
        malformed("3f 05 00 03 61 2f 62", "QoS 3");
        malformed("38", "DUP set on QoS 0");
        malformed("39 05 00 03 61 2f 62", "DUP set on QoS 0");
    }

    #[test]
    fn remaining_length_is_at_most_four_bytes() {
        assert_eq!(
            decode("30 ff ff ff ff 01"),
            Err(DecodeError::MalformedRemainingLength)
        );
        assert_eq!(decode("30 ff ff ff"), Ok(None));
        // The largest value, 268_435_455, is refused by size, not as malformed.
        assert_eq!(
            decode_packet(&mut hex("30 ff ff ff 7f"), usize::MAX),
            Ok(None)
        );
    }

    #[test]
    fn refuses_large_packets_before_their_body() {
        let mut buf = hex("30 0b");
        assert_eq!(
            decode_packet(&mut buf, 10),
            Err(DecodeError::PacketTooLarge { size: 11, max: 10 })
        );
        assert!(buf.capacity() < 11);
        assert_eq!(
            decode("30 80 80 80 01"),
            Err(DecodeError::PacketTooLarge {
                size: 1 << 21,
                max: MAX
            })
        );
        // Exactly the maximum is fine.
        assert_eq!(decode_packet(&mut hex("30 0a"), 10), Ok(None));
    }

    #[test]
    fn fixed_size_bodies_are_checked_from_the_header() {
        for short in ["20 01", "40 01", "50 00", "62 01", "70 01", "b0 00"] {
            assert_eq!(
                decode(short),
                Err(DecodeError::MalformedRemainingLength),
                "{short}"
            );
        }
        for long in [
            "20 03", "40 03", "50 04", "62 03", "70 03", "b0 03", "c0 01", "d0 02", "e0 01",
        ] {
            malformed(long, "unexpected bytes after the packet");
        }
    }

    #[test]
    fn rejects_bad_connack() {
        malformed("20 02 02 00", "reserved CONNACK flag set");
        malformed("20 02 80 00", "reserved CONNACK flag set");
        malformed("20 02 00 06", "invalid CONNACK return code");
    }

    #[test]
    fn rejects_zero_packet_ids() {
        for bytes in [
            "40 02 00 00",
            "50 02 00 00",
            "62 02 00 00",
            "70 02 00 00",
            "b0 02 00 00",
            "32 05 00 01 61 00 00",
            "34 05 00 01 61 00 00",
            "82 06 00 00 00 01 61 00",
            "90 03 00 00 00",
            "a2 05 00 00 00 01 61",
        ] {
            malformed(bytes, "packet id is zero");
        }
    }

    #[test]
    fn rejects_trailing_bytes() {
        malformed(
            "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 00 ff",
            "unexpected bytes after the packet",
        );
    }

    #[test]
    fn rejects_truncated_fields() {
        // Client id claims 5 bytes, 2 are left.
        assert_eq!(
            decode("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 05 61 62"),
            Err(DecodeError::MalformedRemainingLength)
        );
        // Keep alive cut in half.
        assert_eq!(
            decode("10 09 00 04 4d 51 54 54 04 02 00"),
            Err(DecodeError::MalformedRemainingLength)
        );
        // QoS 1 PUBLISH without room for its packet id.
        assert_eq!(
            decode("32 04 00 01 61 00"),
            Err(DecodeError::MalformedRemainingLength)
        );
        // SUBSCRIBE filter without its QoS byte.
        assert_eq!(
            decode("82 06 00 01 00 02 61 62"),
            Err(DecodeError::MalformedRemainingLength)
        );
        // Will flag set but the payload stops after the client id.
        assert_eq!(
            decode("10 0c 00 04 4d 51 54 54 04 06 00 3c 00 00"),
            Err(DecodeError::MalformedRemainingLength)
        );
    }

    #[test]
    fn checks_protocol_name_and_level() {
        assert_eq!(
            decode("10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00"),
            Err(DecodeError::InvalidProtocolName)
        );
        assert_eq!(
            decode("10 0c 00 04 ff fe fd fc 04 02 00 3c 00 00"),
            Err(DecodeError::InvalidProtocolName)
        );
        assert_eq!(
            decode("10 0c 00 04 4d 51 54 54 05 02 00 3c 00 00"),
            Err(DecodeError::UnsupportedProtocolLevel(5))
        );
        assert_eq!(
            decode("10 0c 00 04 4d 51 54 54 03 02 00 3c 00 00"),
            Err(DecodeError::UnsupportedProtocolLevel(3))
        );
        assert_eq!(
            decode("10 0e 00 06 4d 51 49 73 64 70 04 02 00 3c 00 00"),
            Err(DecodeError::UnsupportedProtocolLevel(4))
        );
    }

    #[test]
    fn checks_connect_flags() {
        let with_flags = |flags: u8| {
            decode(&format!(
                "10 0c 00 04 4d 51 54 54 04 {flags:02x} 00 3c 00 00"
            ))
        };
        assert_eq!(
            with_flags(0x03),
            Err(DecodeError::Malformed("reserved connect flag set"))
        );
        assert_eq!(with_flags(0x1e), Err(DecodeError::Malformed("will QoS 3")));
        for flags in [0x0a, 0x12, 0x22, 0x32] {
            assert_eq!(
                with_flags(flags),
                Err(DecodeError::Malformed(
                    "will QoS or retain set without will flag"
                )),
                "{flags:#x}"
            );
        }
        assert_eq!(
            with_flags(0x42),
            Err(DecodeError::Malformed(
                "password flag set without username flag"
            ))
        );
        // Clean session 0 with an empty client id is the session's to refuse.
        assert!(matches!(with_flags(0x00), Ok(Some(Packet::Connect(_)))));
    }

    #[test]
    fn strings_must_be_utf8_without_nul() {
        for topic in ["ff", "61 00 62", "ed a0 80", "c0 80"] {
            let len = topic.split_whitespace().count();
            let bytes = format!("30 {:02x} 00 {len:02x} {topic}", len + 2);
            assert_eq!(decode(&bytes), Err(DecodeError::InvalidUtf8), "{bytes}");
        }
        // Client id, will topic, username and filters are strings too.
        assert_eq!(
            decode("10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 00"),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            decode("82 06 00 01 00 01 ff 00"),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            decode("a2 05 00 01 00 01 00"),
            Err(DecodeError::InvalidUtf8)
        );
        // Will message and password are binary: anything goes.
        assert!(matches!(
            decode("10 1a 00 04 4d 51 54 54 04 c6 00 3c 00 00 00 01 74 00 02 00 ff 00 01 75 00 02 00 ff"),
            Ok(Some(Packet::Connect(_)))
        ));
    }

    #[test]
    fn checks_subscribe_payload() {
        malformed("82 02 00 01", "SUBSCRIBE with no topic filters");
        malformed("82 06 00 01 00 01 61 03", "QoS 3");
        malformed(
            "82 06 00 01 00 01 61 04",
            "reserved bits set in requested QoS",
        );
        malformed(
            "82 06 00 01 00 01 61 81",
            "reserved bits set in requested QoS",
        );
        malformed("a2 02 00 01", "UNSUBSCRIBE with no topic filters");
        malformed("90 03 00 01 03", "invalid SUBACK return code");
        malformed("90 03 00 01 81", "invalid SUBACK return code");
        malformed("90 02 00 01", "SUBACK with no return codes");
    }

    #[test]
    fn publish_topic_is_not_validated_here() {
        // Wildcards and empty topics are the session's business.
        assert!(matches!(
            decode("30 03 00 01 23"),
            Ok(Some(Packet::Publish(_)))
        ));
        assert!(matches!(
            decode("30 02 00 00"),
            Ok(Some(Packet::Publish(_)))
        ));
    }

    #[test]
    fn errors_display_and_convert() {
        let io_error = io::Error::new(io::ErrorKind::ConnectionReset, "gone");
        assert_eq!(
            DecodeError::from(io_error),
            DecodeError::Io(io::ErrorKind::ConnectionReset)
        );
        assert_eq!(
            DecodeError::PacketTooLarge { size: 11, max: 10 }.to_string(),
            "packet of 11 bytes exceeds the maximum of 10"
        );
        assert_eq!(
            DecodeError::Malformed("QoS 3").to_string(),
            "malformed packet: QoS 3"
        );
        let _: &dyn std::error::Error = &DecodeError::InvalidUtf8;
    }
}
