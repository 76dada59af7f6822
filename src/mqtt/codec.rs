//! The MQTT framing codec: `decode_packet` and `encode_packet` behind actix-codec's traits.

use super::decode::{decode_packet, DecodeError};
use super::encode::encode_packet;
use super::packet::Packet;
use actix_codec::{Decoder, Encoder};
use bytes::BytesMut;
use std::io;

/// The framing codec used by every transport.
#[derive(Debug, Clone)]
pub struct MqttCodec {
    max_packet_size: usize,
}

impl MqttCodec {
    /// A codec that refuses packets whose Remaining Length exceeds `max_packet_size`.
    pub fn new(max_packet_size: usize) -> Self {
        MqttCodec { max_packet_size }
    }

    pub fn max_packet_size(&self) -> usize {
        self.max_packet_size
    }
}

impl Decoder for MqttCodec {
    type Item = Packet;
    type Error = DecodeError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        decode_packet(src, self.max_packet_size)
    }
}

impl Encoder<Packet> for MqttCodec {
    type Error = io::Error;

    fn encode(&mut self, packet: Packet, dst: &mut BytesMut) -> Result<(), io::Error> {
        Ok(encode_packet(&packet, dst)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::encode::encoded_len;
    use crate::mqtt::packet::{
        ConnAck, Connect, ConnectReturnCode, LastWill, PacketId, ProtocolLevel, Publish, QoS,
        SubAck, Subscribe, SubscribeReturnCode, Unsubscribe,
    };
    use bytes::Bytes;
    use bytestring::ByteString;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    const MAX: usize = 1024;

    fn string() -> impl Strategy<Value = ByteString> {
        // Any characters but U+0000 (MQTT-1.5.3-2), multi-byte ones included.
        "[^\\x00]{0,12}".prop_map(ByteString::from)
    }

    fn binary() -> impl Strategy<Value = Bytes> {
        vec(any::<u8>(), 0..24).prop_map(Bytes::from)
    }

    fn packet_id() -> impl Strategy<Value = PacketId> {
        (1..=u16::MAX).prop_map(|n| PacketId::new(n).unwrap())
    }

    fn qos() -> impl Strategy<Value = QoS> {
        (0..3u8).prop_map(|q| QoS::from_u8(q).unwrap())
    }

    fn connect() -> impl Strategy<Value = Packet> {
        let will =
            (string(), binary(), qos(), any::<bool>()).prop_map(|(topic, message, qos, retain)| {
                LastWill {
                    topic,
                    message,
                    qos,
                    retain,
                }
            });
        // A password needs a username (MQTT-3.1.2-22).
        let credentials = option::of((string(), option::of(binary())));
        (
            prop_oneof![Just(ProtocolLevel::V31), Just(ProtocolLevel::V311)],
            any::<bool>(),
            any::<u16>(),
            string(),
            option::of(will),
            credentials,
        )
            .prop_map(
                |(protocol, clean_session, keep_alive, client_id, will, credentials)| {
                    let (username, password) = match credentials {
                        Some((username, password)) => (Some(username), password),
                        None => (None, None),
                    };
                    Packet::Connect(Box::new(Connect {
                        protocol,
                        clean_session,
                        keep_alive,
                        client_id,
                        will,
                        username,
                        password,
                    }))
                },
            )
    }

    fn publish() -> impl Strategy<Value = Packet> {
        (
            any::<bool>(),
            qos(),
            any::<bool>(),
            string(),
            packet_id(),
            binary(),
        )
            .prop_map(|(dup, qos, retain, topic, id, payload)| {
                let qos0 = qos == QoS::AtMostOnce;
                Packet::Publish(Publish {
                    dup: dup && !qos0,
                    qos,
                    retain,
                    topic,
                    packet_id: (!qos0).then_some(id),
                    payload,
                })
            })
    }

    fn packet() -> impl Strategy<Value = Packet> {
        let return_code = prop_oneof![
            qos().prop_map(SubscribeReturnCode::Success),
            Just(SubscribeReturnCode::Failure)
        ];
        prop_oneof![
            connect(),
            (any::<bool>(), 0..=5u8).prop_map(|(session_present, code)| {
                Packet::ConnAck(ConnAck {
                    session_present,
                    return_code: ConnectReturnCode::from_u8(code).unwrap(),
                })
            }),
            publish(),
            packet_id().prop_map(Packet::PubAck),
            packet_id().prop_map(Packet::PubRec),
            packet_id().prop_map(Packet::PubRel),
            packet_id().prop_map(Packet::PubComp),
            (packet_id(), vec((string(), qos()), 1..5)).prop_map(|(packet_id, topic_filters)| {
                Packet::Subscribe(Subscribe {
                    packet_id,
                    topic_filters,
                })
            }),
            (packet_id(), vec(return_code, 1..5)).prop_map(|(packet_id, return_codes)| {
                Packet::SubAck(SubAck {
                    packet_id,
                    return_codes,
                })
            }),
            (packet_id(), vec(string(), 1..5)).prop_map(|(packet_id, topic_filters)| {
                Packet::Unsubscribe(Unsubscribe {
                    packet_id,
                    topic_filters,
                })
            }),
            packet_id().prop_map(Packet::UnsubAck),
            Just(Packet::PingReq),
            Just(Packet::PingResp),
            Just(Packet::Disconnect),
        ]
    }

    /// Bytes that look like a packet start: a valid first byte, a remaining length around
    /// MAX, and a body of random bytes that may be short, exact or overlong.
    fn plausible_bytes() -> impl Strategy<Value = Vec<u8>> {
        let first = prop_oneof![
            (1..=14u8).prop_map(|t| t << 4),
            (0..6u8).prop_map(|f| 0x30 | f),
            Just(0x62),
            Just(0x82),
            Just(0xa2),
        ];
        (first, 0..MAX + 100, vec(any::<u8>(), 0..MAX + 120)).prop_map(
            |(first, remaining, body)| {
                let mut bytes = vec![first];
                let mut len = remaining;
                loop {
                    let byte = (len & 0x7f) as u8;
                    len >>= 7;
                    if len == 0 {
                        bytes.push(byte);
                        break;
                    }
                    bytes.push(byte | 0x80);
                }
                bytes.extend(body);
                bytes
            },
        )
    }

    /// Feeds `data` to a fresh codec in chunks of `chunk` bytes, checking that decoding never
    /// grows the buffer beyond MAX + 8, and returns the packets up to the first error.
    fn feed(data: &[u8], chunk: usize) -> Result<Vec<Packet>, TestCaseError> {
        let mut codec = MqttCodec::new(MAX);
        let mut buf = BytesMut::new();
        let mut packets = Vec::new();
        for piece in data.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                let before = buf.capacity();
                let result = codec.decode(&mut buf);
                prop_assert!(
                    buf.capacity() <= before.max(MAX + 8),
                    "capacity grew from {} to {}",
                    before,
                    buf.capacity()
                );
                match result {
                    Ok(Some(packet)) => packets.push(packet),
                    Ok(None) => break,
                    Err(_) => return Ok(packets),
                }
            }
        }
        Ok(packets)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn decode_inverts_encode(packet in packet()) {
            let mut codec = MqttCodec::new(MAX);
            let mut buf = BytesMut::new();
            codec.encode(packet.clone(), &mut buf).unwrap();
            prop_assert_eq!(buf.len(), encoded_len(&packet));
            prop_assert_eq!(codec.decode(&mut buf), Ok(Some(packet)));
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn every_prefix_waits_for_more(packet in packet()) {
            let mut whole = BytesMut::new();
            MqttCodec::new(MAX).encode(packet.clone(), &mut whole).unwrap();
            for end in 0..whole.len() {
                let mut buf = BytesMut::from(&whole[..end]);
                prop_assert_eq!(decode_packet(&mut buf, MAX), Ok(None));
                prop_assert_eq!(&buf[..], &whole[..end]);
            }
        }

        #[test]
        fn chunked_stream_of_packets(
            packets in vec(packet(), 1..6),
            chunk in 1..40usize,
        ) {
            let mut codec = MqttCodec::new(MAX);
            let mut stream = BytesMut::new();
            for packet in &packets {
                codec.encode(packet.clone(), &mut stream).unwrap();
            }
            prop_assert_eq!(feed(&stream, chunk)?, packets);
        }

        #[test]
        fn random_bytes_never_panic_or_overallocate(
            data in prop_oneof![vec(any::<u8>(), 0..MAX + 200), plausible_bytes()],
            chunk in 1..2000usize,
        ) {
            // Whatever decodes must survive another trip through the codec.
            for packet in feed(&data, chunk)? {
                let mut buf = BytesMut::new();
                MqttCodec::new(MAX).encode(packet.clone(), &mut buf).unwrap();
                prop_assert_eq!(decode_packet(&mut buf, usize::MAX), Ok(Some(packet)));
            }
        }

        #[test]
        fn corrupted_packets_never_panic(
            packet in packet(),
            flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = BytesMut::new();
            MqttCodec::new(MAX).encode(packet, &mut bytes).unwrap();
            for (at, value) in flips {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            feed(&bytes, bytes.len())?;
        }
    }

    #[test]
    fn codec_frames_and_reports_its_limit() {
        let mut codec = MqttCodec::new(16);
        assert_eq!(codec.max_packet_size(), 16);
        let mut buf = BytesMut::new();
        codec.encode(Packet::PingReq, &mut buf).unwrap();
        assert_eq!(codec.decode(&mut buf), Ok(Some(Packet::PingReq)));
        buf.extend_from_slice(&[0x30, 17]);
        assert_eq!(
            codec.decode(&mut buf),
            Err(DecodeError::PacketTooLarge { size: 17, max: 16 })
        );
    }

    #[test]
    fn encoder_errors_are_io_errors() {
        let packet = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: ByteString::from("t".repeat(70_000)),
            packet_id: None,
            payload: Bytes::new(),
        });
        let err = MqttCodec::new(MAX)
            .encode(packet, &mut BytesMut::new())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn bytes_left_at_eof_are_an_error() {
        let mut buf = BytesMut::from(&[0xc0u8][..]);
        assert!(matches!(
            MqttCodec::new(MAX).decode_eof(&mut buf),
            Err(DecodeError::Io(_))
        ));
    }
}
