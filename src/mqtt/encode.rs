//! Encoding MQTT 3.1 / 3.1.1 control packets: the exact inverse of `decode`.
//!
//! `encode_packet` computes the packet's size first, reserves it once and then only copies
//! bytes, so encoding a PUBLISH for each subscriber costs no allocation beyond that reserve.
//!
//! The encoder trusts the invariants of `packet.rs` that its types cannot express, which the
//! decoder guarantees for what it hands out and the session for what it builds:
//! a PUBLISH has `packet_id` `Some` exactly when its QoS is above 0, SUBSCRIBE, SUBACK and
//! UNSUBSCRIBE have at least one entry, a CONNECT password comes with a username, and
//! strings hold no U+0000. Otherwise the peer (and our own decoder) rejects the bytes.

use super::decode::{
    CONNACK, CONNECT, DISCONNECT, MAX_REMAINING_LENGTH, PINGREQ, PINGRESP, PUBACK, PUBCOMP,
    PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE,
};
use super::packet::{Connect, Packet, PacketId, Publish, QoS};
use bytes::{BufMut, BytesMut};
use std::{fmt, io};

/// Why a packet cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A string or binary field is longer than its 2-byte length prefix allows (65535 bytes).
    StringTooLong,
    /// The remaining length exceeds 268_435_455 bytes (MQTT 2.2.3).
    PacketTooLarge,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::StringTooLong => f.write_str("string longer than 65535 bytes"),
            EncodeError::PacketTooLarge => f.write_str("packet larger than 268435455 bytes"),
        }
    }
}

impl std::error::Error for EncodeError {}

impl From<EncodeError> for io::Error {
    fn from(err: EncodeError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}

/// Appends `packet` to `dst`. On error `dst` holds what it held before (its capacity may
/// have grown).
pub fn encode_packet(packet: &Packet, dst: &mut BytesMut) -> Result<(), EncodeError> {
    let remaining = body_len(packet);
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge);
    }
    let total = 1 + remaining_length_len(remaining) + remaining;
    dst.reserve(total);
    let start = dst.len();

    dst.put_u8(first_byte(packet));
    put_remaining_length(dst, remaining);
    if let Err(err) = put_body(packet, dst) {
        dst.truncate(start);
        return Err(err);
    }
    debug_assert_eq!(
        dst.len() - start,
        total,
        "encoded_len disagrees with encode"
    );
    Ok(())
}

/// Total bytes of `packet` on the wire, fixed header included.
pub fn encoded_len(packet: &Packet) -> usize {
    let remaining = body_len(packet);
    1 + remaining_length_len(remaining) + remaining
}

/// The first byte: packet type and flags (MQTT 2.2).
fn first_byte(packet: &Packet) -> u8 {
    let (packet_type, flags) = match packet {
        Packet::Connect(_) => (CONNECT, 0),
        Packet::ConnAck(_) => (CONNACK, 0),
        Packet::Publish(publish) => (PUBLISH, publish_flags(publish)),
        Packet::PubAck(_) => (PUBACK, 0),
        Packet::PubRec(_) => (PUBREC, 0),
        // MQTT-3.6.1-1, MQTT-3.8.1-1, MQTT-3.10.1-1: these three carry flags 0,0,1,0.
        Packet::PubRel(_) => (PUBREL, 0b0010),
        Packet::PubComp(_) => (PUBCOMP, 0),
        Packet::Subscribe(_) => (SUBSCRIBE, 0b0010),
        Packet::SubAck(_) => (SUBACK, 0),
        Packet::Unsubscribe(_) => (UNSUBSCRIBE, 0b0010),
        Packet::UnsubAck(_) => (UNSUBACK, 0),
        Packet::PingReq => (PINGREQ, 0),
        Packet::PingResp => (PINGRESP, 0),
        Packet::Disconnect => (DISCONNECT, 0),
    };
    packet_type << 4 | flags
}

fn publish_flags(publish: &Publish) -> u8 {
    // MQTT-3.3.1-2: DUP is always 0 on QoS 0, whatever the struct says.
    let dup = publish.dup && publish.qos != QoS::AtMostOnce;
    u8::from(dup) << 3 | publish.qos.as_u8() << 1 | u8::from(publish.retain)
}

/// The Remaining Length: the size of everything after the fixed header.
fn body_len(packet: &Packet) -> usize {
    match packet {
        Packet::Connect(connect) => connect_len(connect),
        Packet::Publish(publish) => {
            let packet_id = if publish.qos == QoS::AtMostOnce { 0 } else { 2 };
            2 + publish.topic.len() + packet_id + publish.payload.len()
        }
        Packet::Subscribe(subscribe) => {
            2 + subscribe
                .topic_filters
                .iter()
                .map(|(filter, _)| 2 + filter.len() + 1)
                .sum::<usize>()
        }
        Packet::SubAck(suback) => 2 + suback.return_codes.len(),
        Packet::Unsubscribe(unsubscribe) => {
            2 + unsubscribe
                .topic_filters
                .iter()
                .map(|filter| 2 + filter.len())
                .sum::<usize>()
        }
        Packet::ConnAck(_)
        | Packet::PubAck(_)
        | Packet::PubRec(_)
        | Packet::PubRel(_)
        | Packet::PubComp(_)
        | Packet::UnsubAck(_) => 2,
        Packet::PingReq | Packet::PingResp | Packet::Disconnect => 0,
    }
}

fn connect_len(connect: &Connect) -> usize {
    // Protocol name, level, flags, keep alive, client id.
    let mut len = 2 + connect.protocol.protocol_name().len() + 1 + 1 + 2;
    len += 2 + connect.client_id.len();
    if let Some(will) = &connect.will {
        len += 2 + will.topic.len() + 2 + will.message.len();
    }
    if let Some(username) = &connect.username {
        len += 2 + username.len();
    }
    if let Some(password) = &connect.password {
        len += 2 + password.len();
    }
    len
}

/// Bytes taken by the Remaining Length encoding of `len` (MQTT 2.2.3).
fn remaining_length_len(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// The Remaining Length as a variable-byte integer, 7 bits per byte, least significant first.
fn put_remaining_length(dst: &mut BytesMut, mut len: usize) {
    loop {
        let byte = (len & 0x7F) as u8;
        len >>= 7;
        if len == 0 {
            dst.put_u8(byte);
            return;
        }
        dst.put_u8(byte | 0x80);
    }
}

fn put_body(packet: &Packet, dst: &mut BytesMut) -> Result<(), EncodeError> {
    match packet {
        Packet::Connect(connect) => put_connect(connect, dst)?,
        Packet::ConnAck(connack) => {
            dst.put_u8(u8::from(connack.session_present));
            dst.put_u8(connack.return_code.as_u8());
        }
        Packet::Publish(publish) => {
            put_bytes(dst, publish.topic.as_bytes())?;
            if publish.qos != QoS::AtMostOnce {
                debug_assert!(publish.packet_id.is_some(), "QoS > 0 PUBLISH without id");
                // A missing id goes out as 0, which the peer rejects as malformed.
                dst.put_u16(publish.packet_id.map_or(0, PacketId::get));
            }
            dst.put_slice(&publish.payload);
        }
        Packet::PubAck(id)
        | Packet::PubRec(id)
        | Packet::PubRel(id)
        | Packet::PubComp(id)
        | Packet::UnsubAck(id) => dst.put_u16(id.get()),
        Packet::Subscribe(subscribe) => {
            dst.put_u16(subscribe.packet_id.get());
            for (filter, qos) in &subscribe.topic_filters {
                put_bytes(dst, filter.as_bytes())?;
                dst.put_u8(qos.as_u8());
            }
        }
        Packet::SubAck(suback) => {
            dst.put_u16(suback.packet_id.get());
            for code in &suback.return_codes {
                dst.put_u8(code.as_u8());
            }
        }
        Packet::Unsubscribe(unsubscribe) => {
            dst.put_u16(unsubscribe.packet_id.get());
            for filter in &unsubscribe.topic_filters {
                put_bytes(dst, filter.as_bytes())?;
            }
        }
        Packet::PingReq | Packet::PingResp | Packet::Disconnect => {}
    }
    Ok(())
}

fn put_connect(connect: &Connect, dst: &mut BytesMut) -> Result<(), EncodeError> {
    put_bytes(dst, connect.protocol.protocol_name().as_bytes())?;
    dst.put_u8(connect.protocol.as_u8());

    // Connect flags (MQTT 3.1.2.3); bit 0 is reserved and stays 0 (MQTT-3.1.2-3).
    let mut flags = 0u8;
    if connect.clean_session {
        flags |= 0x02;
    }
    if let Some(will) = &connect.will {
        flags |= 0x04 | will.qos.as_u8() << 3;
        if will.retain {
            flags |= 0x20;
        }
    }
    if connect.password.is_some() {
        flags |= 0x40;
    }
    if connect.username.is_some() {
        flags |= 0x80;
    }
    dst.put_u8(flags);
    dst.put_u16(connect.keep_alive);

    // Payload, in the order of MQTT-3.1.3-1.
    put_bytes(dst, connect.client_id.as_bytes())?;
    if let Some(will) = &connect.will {
        put_bytes(dst, will.topic.as_bytes())?;
        put_bytes(dst, &will.message)?;
    }
    if let Some(username) = &connect.username {
        put_bytes(dst, username.as_bytes())?;
    }
    if let Some(password) = &connect.password {
        put_bytes(dst, password)?;
    }
    Ok(())
}

/// A string or binary field: two-byte big-endian length, then the bytes (MQTT 1.5.3).
fn put_bytes(dst: &mut BytesMut, bytes: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(bytes.len()).map_err(|_| EncodeError::StringTooLong)?;
    dst.put_u16(len);
    dst.put_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::decode::decode_packet;
    use crate::mqtt::decode::tests::{hex, id, vectors};
    use crate::mqtt::packet::{LastWill, ProtocolLevel, SubAck, Subscribe, Unsubscribe};
    use bytes::Bytes;
    use bytestring::ByteString;

    fn encode(packet: &Packet) -> BytesMut {
        let mut dst = BytesMut::new();
        encode_packet(packet, &mut dst).unwrap();
        dst
    }

    #[test]
    fn encodes_known_vectors() {
        for (bytes, packet) in vectors() {
            let encoded = encode(&packet);
            assert_eq!(encoded, hex(bytes), "{}", packet.name());
            assert_eq!(encoded_len(&packet), encoded.len(), "{}", packet.name());
        }
    }

    #[test]
    fn reserves_once_and_appends() {
        let packet = Packet::PubAck(id(3));
        let mut dst = BytesMut::from(&b"xy"[..]);
        encode_packet(&packet, &mut dst).unwrap();
        assert_eq!(&dst[..], b"xy\x40\x02\x00\x03");

        // With room already there, encoding a PUBLISH does not reallocate.
        let publish = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: ByteString::from_static("t"),
            packet_id: Some(id(1)),
            payload: Bytes::from(vec![7; 300]),
        });
        let mut dst = BytesMut::with_capacity(encoded_len(&publish));
        let ptr = dst.as_ptr();
        encode_packet(&publish, &mut dst).unwrap();
        assert_eq!(dst.as_ptr(), ptr);
        assert_eq!(dst.len(), 1 + 2 + 3 + 2 + 300);
    }

    #[test]
    fn remaining_length_boundaries() {
        // Payload sizes that put the remaining length at each encoding boundary.
        for (remaining, header) in [
            (127, &[0x30, 0x7f][..]),
            (128, &[0x30, 0x80, 0x01]),
            (16_383, &[0x30, 0xff, 0x7f]),
            (16_384, &[0x30, 0x80, 0x80, 0x01]),
            (2_097_151, &[0x30, 0xff, 0xff, 0x7f]),
            (2_097_152, &[0x30, 0x80, 0x80, 0x80, 0x01]),
        ] {
            let packet = Packet::Publish(Publish {
                dup: false,
                qos: QoS::AtMostOnce,
                retain: false,
                topic: ByteString::from_static("t"),
                packet_id: None,
                payload: Bytes::from(vec![0; remaining - 3]),
            });
            let mut encoded = encode(&packet);
            assert_eq!(&encoded[..header.len()], header, "{remaining}");
            assert_eq!(encoded.len(), header.len() + remaining);
            assert_eq!(encoded_len(&packet), encoded.len());
            assert_eq!(decode_packet(&mut encoded, usize::MAX), Ok(Some(packet)));
        }
    }

    #[test]
    fn dup_is_never_sent_on_qos_0() {
        let packet = Packet::Publish(Publish {
            dup: true,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: ByteString::from_static("t"),
            packet_id: None,
            payload: Bytes::new(),
        });
        assert_eq!(encode(&packet), hex("30 03 00 01 74"));
    }

    #[test]
    fn fixed_flags_of_pubrel_subscribe_unsubscribe() {
        assert_eq!(encode(&Packet::PubRel(id(1)))[0], 0x62);
        let subscribe = Packet::Subscribe(Subscribe {
            packet_id: id(1),
            topic_filters: vec![(ByteString::from_static("#"), QoS::ExactlyOnce)],
        });
        assert_eq!(encode(&subscribe), hex("82 06 00 01 00 01 23 02"));
        let unsubscribe = Packet::Unsubscribe(Unsubscribe {
            packet_id: id(1),
            topic_filters: vec![ByteString::from_static("#")],
        });
        assert_eq!(encode(&unsubscribe), hex("a2 05 00 01 00 01 23"));
    }

    #[test]
    fn refuses_long_strings_without_writing() {
        let long = ByteString::from("x".repeat(65_536));
        let packet = Packet::Unsubscribe(Unsubscribe {
            packet_id: id(1),
            topic_filters: vec![ByteString::from_static("ok"), long.clone()],
        });
        let mut dst = BytesMut::from(&b"keep"[..]);
        assert_eq!(
            encode_packet(&packet, &mut dst),
            Err(EncodeError::StringTooLong)
        );
        assert_eq!(&dst[..], b"keep");

        let connect = Packet::Connect(Box::new(Connect {
            protocol: ProtocolLevel::V311,
            clean_session: true,
            keep_alive: 0,
            client_id: ByteString::from_static("c"),
            will: Some(LastWill {
                topic: ByteString::from_static("w"),
                message: Bytes::from(vec![0; 65_536]),
                qos: QoS::AtMostOnce,
                retain: false,
            }),
            username: None,
            password: None,
        }));
        assert_eq!(
            encode_packet(&connect, &mut BytesMut::new()),
            Err(EncodeError::StringTooLong)
        );
        // The longest string fits.
        let max = Packet::Unsubscribe(Unsubscribe {
            packet_id: id(1),
            topic_filters: vec![ByteString::from("x".repeat(65_535))],
        });
        assert_eq!(encode(&max).len(), encoded_len(&max));
    }

    #[test]
    fn refuses_packets_over_the_remaining_length_limit() {
        // 268_435_455 - 3 (topic) payload bytes is the largest PUBLISH; one more is too many.
        let packet = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: ByteString::from_static("t"),
            packet_id: None,
            payload: Bytes::from(vec![0; MAX_REMAINING_LENGTH - 2]),
        });
        let mut dst = BytesMut::new();
        assert_eq!(
            encode_packet(&packet, &mut dst),
            Err(EncodeError::PacketTooLarge)
        );
        assert!(dst.is_empty());
        assert_eq!(encoded_len(&packet), 1 + 4 + MAX_REMAINING_LENGTH + 1);
    }

    #[test]
    fn errors_display_and_convert() {
        let err: io::Error = EncodeError::StringTooLong.into();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "string longer than 65535 bytes");
        assert_eq!(
            EncodeError::PacketTooLarge.to_string(),
            "packet larger than 268435455 bytes"
        );
    }

    #[test]
    fn suback_codes() {
        let packet = Packet::SubAck(SubAck {
            packet_id: id(9),
            return_codes: vec![crate::mqtt::packet::SubscribeReturnCode::Failure],
        });
        assert_eq!(encode(&packet), hex("90 03 00 09 80"));
    }
}
