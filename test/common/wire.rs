//! A small, independent MQTT 3.1.1 wire encoder/decoder for the raw-socket tests.
//!
//! Deliberately written from the specification rather than reusing the broker's codec, so a
//! codec bug cannot hide itself by being on both sides of the wire. It reuses only the plain
//! packet types of `emqttd::mqtt::packet`. It can also build byte strings the broker's encoder
//! would refuse to produce (bad protocol levels, invalid UTF-8 topics, wrong flags).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use emqttd::mqtt::packet::Packet;
use emqttd::mqtt::packet::{
    ConnAck, Connect, ConnectReturnCode, PacketId, Publish, QoS, SubAck, Subscribe,
    SubscribeReturnCode, Unsubscribe,
};

/// Appends the variable-length "remaining length" of MQTT-2.2.3.
pub fn put_remaining_length(buf: &mut BytesMut, mut len: usize) {
    assert!(len <= 268_435_455, "remaining length too large");
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if len == 0 {
            break;
        }
    }
}

fn put_str(buf: &mut BytesMut, s: &[u8]) {
    buf.put_u16(s.len() as u16);
    buf.put_slice(s);
}

/// A whole packet: first byte, remaining length, body.
pub fn frame(first_byte: u8, body: &[u8]) -> Vec<u8> {
    let mut buf = BytesMut::with_capacity(body.len() + 5);
    buf.put_u8(first_byte);
    put_remaining_length(&mut buf, body.len());
    buf.put_slice(body);
    buf.to_vec()
}

/// CONNECT with free choice of protocol name and level (for the 0x01 return-code tests).
pub struct RawConnect<'a> {
    pub protocol_name: &'a str,
    pub protocol_level: u8,
    pub clean_session: bool,
    pub keep_alive: u16,
    pub client_id: &'a [u8],
    /// (topic, message, qos, retain)
    pub will: Option<(&'a str, &'a [u8], u8, bool)>,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
    /// OR-ed into the connect flags as they are (e.g. 0x01, the reserved bit).
    pub extra_flags: u8,
}

impl<'a> RawConnect<'a> {
    /// A well-formed MQTT 3.1.1 CONNECT.
    pub fn v311(client_id: &'a str) -> Self {
        RawConnect {
            protocol_name: "MQTT",
            protocol_level: 4,
            clean_session: true,
            keep_alive: 60,
            client_id: client_id.as_bytes(),
            will: None,
            username: None,
            password: None,
            extra_flags: 0,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = BytesMut::new();
        put_str(&mut body, self.protocol_name.as_bytes());
        body.put_u8(self.protocol_level);
        let mut flags = self.extra_flags;
        if self.clean_session {
            flags |= 0x02;
        }
        if let Some((_, _, qos, retain)) = self.will {
            flags |= 0x04 | (qos << 3);
            if retain {
                flags |= 0x20;
            }
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        body.put_u8(flags);
        body.put_u16(self.keep_alive);
        put_str(&mut body, self.client_id);
        if let Some((topic, message, _, _)) = self.will {
            put_str(&mut body, topic.as_bytes());
            put_str(&mut body, message);
        }
        if let Some(username) = self.username {
            put_str(&mut body, username.as_bytes());
        }
        if let Some(password) = self.password {
            put_str(&mut body, password);
        }
        frame(0x10, &body)
    }
}

/// PUBLISH with a topic given as raw bytes (so it may be invalid UTF-8).
pub fn publish_bytes(
    topic: &[u8],
    qos: u8,
    packet_id: Option<u16>,
    dup: bool,
    retain: bool,
    payload: &[u8],
) -> Vec<u8> {
    let mut first = 0x30 | (qos << 1);
    if dup {
        first |= 0x08;
    }
    if retain {
        first |= 0x01;
    }
    let mut body = BytesMut::new();
    put_str(&mut body, topic);
    if let Some(id) = packet_id {
        body.put_u16(id);
    }
    body.put_slice(payload);
    frame(first, &body)
}

/// SUBSCRIBE with filters as raw bytes and raw requested QoS values; `first_byte` is normally 0x82.
pub fn subscribe_bytes(first_byte: u8, packet_id: u16, filters: &[(&[u8], u8)]) -> Vec<u8> {
    let mut body = BytesMut::new();
    body.put_u16(packet_id);
    for (filter, qos) in filters {
        put_str(&mut body, filter);
        body.put_u8(*qos);
    }
    frame(first_byte, &body)
}

fn id_packet(first_byte: u8, id: PacketId) -> Vec<u8> {
    frame(first_byte, &id.get().to_be_bytes())
}

/// Encodes any packet of `emqttd::mqtt::packet`, server-only ones included.
pub fn encode(packet: &Packet) -> Vec<u8> {
    match packet {
        Packet::Connect(c) => encode_connect(c),
        Packet::ConnAck(ack) => frame(0x20, &[ack.session_present as u8, ack.return_code.as_u8()]),
        Packet::Publish(p) => publish_bytes(
            p.topic.as_bytes(),
            p.qos.as_u8(),
            p.packet_id.map(|id| id.get()),
            p.dup,
            p.retain,
            &p.payload,
        ),
        Packet::PubAck(id) => id_packet(0x40, *id),
        Packet::PubRec(id) => id_packet(0x50, *id),
        Packet::PubRel(id) => id_packet(0x62, *id),
        Packet::PubComp(id) => id_packet(0x70, *id),
        Packet::Subscribe(s) => {
            let filters: Vec<(&[u8], u8)> = s
                .topic_filters
                .iter()
                .map(|(f, q)| (f.as_bytes().as_ref(), q.as_u8()))
                .collect();
            subscribe_bytes(0x82, s.packet_id.get(), &filters)
        }
        Packet::SubAck(s) => {
            let mut body = BytesMut::new();
            body.put_u16(s.packet_id.get());
            for code in &s.return_codes {
                body.put_u8(code.as_u8());
            }
            frame(0x90, &body)
        }
        Packet::Unsubscribe(u) => {
            let mut body = BytesMut::new();
            body.put_u16(u.packet_id.get());
            for filter in &u.topic_filters {
                put_str(&mut body, filter.as_bytes());
            }
            frame(0xA2, &body)
        }
        Packet::UnsubAck(id) => id_packet(0xB0, *id),
        Packet::PingReq => vec![0xC0, 0x00],
        Packet::PingResp => vec![0xD0, 0x00],
        Packet::Disconnect => vec![0xE0, 0x00],
    }
}

fn encode_connect(c: &Connect) -> Vec<u8> {
    let will = c.will.as_ref().map(|w| {
        (
            w.topic.as_ref(),
            w.message.as_ref(),
            w.qos.as_u8(),
            w.retain,
        )
    });
    RawConnect {
        protocol_name: c.protocol.protocol_name(),
        protocol_level: c.protocol.as_u8(),
        clean_session: c.clean_session,
        keep_alive: c.keep_alive,
        client_id: c.client_id.as_bytes(),
        will,
        username: c.username.as_deref(),
        password: c.password.as_deref(),
        extra_flags: 0,
    }
    .to_bytes()
}

/// Decodes one packet the server may send us from the front of `buf`.
///
/// `Ok(None)` when more bytes are needed; `Err` when the server sent something that is not
/// valid MQTT 3.1.1 (a broker bug, reported as such by the tests).
pub fn decode(buf: &mut BytesMut) -> Result<Option<Packet>, String> {
    if buf.is_empty() {
        return Ok(None);
    }
    let first = buf[0];
    let mut len: usize = 0;
    let mut shift = 0;
    let mut header_len = 1;
    loop {
        if header_len > 4 {
            return Err("remaining length longer than 4 bytes".into());
        }
        let Some(&byte) = buf.get(header_len) else {
            return Ok(None);
        };
        len |= ((byte & 0x7F) as usize) << shift;
        shift += 7;
        header_len += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    if buf.len() < header_len + len {
        return Ok(None);
    }
    buf.advance(header_len);
    let mut body = buf.split_to(len).freeze();
    let flags = first & 0x0F;
    let kind = first >> 4;
    let packet_id = |body: &mut Bytes| -> Result<PacketId, String> {
        if body.remaining() < 2 {
            return Err("missing packet id".into());
        }
        PacketId::new(body.get_u16()).ok_or_else(|| "packet id 0".to_string())
    };
    let expect_flags = |want: u8| -> Result<(), String> {
        if flags != want {
            Err(format!("packet type {kind} with flags {flags:#x}"))
        } else {
            Ok(())
        }
    };
    let expect_len = |want: usize| -> Result<(), String> {
        if len != want {
            Err(format!("packet type {kind} with remaining length {len}"))
        } else {
            Ok(())
        }
    };
    let packet = match kind {
        2 => {
            expect_flags(0)?;
            expect_len(2)?;
            let session_present = match body[0] {
                0 => false,
                1 => true,
                other => return Err(format!("CONNACK acknowledge flags {other:#x}")),
            };
            let return_code = ConnectReturnCode::from_u8(body[1])
                .ok_or_else(|| format!("CONNACK return code {}", body[1]))?;
            Packet::ConnAck(ConnAck {
                session_present,
                return_code,
            })
        }
        3 => {
            let qos = QoS::from_u8((flags >> 1) & 0x03)
                .ok_or_else(|| "PUBLISH with QoS 3".to_string())?;
            if body.remaining() < 2 {
                return Err("PUBLISH without topic".into());
            }
            let topic_len = body.get_u16() as usize;
            if body.remaining() < topic_len {
                return Err("PUBLISH topic truncated".into());
            }
            let topic = ByteString::try_from(body.split_to(topic_len))
                .map_err(|_| "PUBLISH topic not UTF-8".to_string())?;
            let id = if qos == QoS::AtMostOnce {
                None
            } else {
                Some(packet_id(&mut body)?)
            };
            Packet::Publish(Publish {
                dup: flags & 0x08 != 0,
                qos,
                retain: flags & 0x01 != 0,
                topic,
                packet_id: id,
                payload: body,
            })
        }
        4 | 5 | 7 | 11 => {
            expect_flags(0)?;
            expect_len(2)?;
            let id = packet_id(&mut body)?;
            match kind {
                4 => Packet::PubAck(id),
                5 => Packet::PubRec(id),
                7 => Packet::PubComp(id),
                _ => Packet::UnsubAck(id),
            }
        }
        6 => {
            expect_flags(2)?;
            expect_len(2)?;
            Packet::PubRel(packet_id(&mut body)?)
        }
        9 => {
            expect_flags(0)?;
            let id = packet_id(&mut body)?;
            let mut return_codes = Vec::new();
            for &code in body.iter() {
                return_codes.push(match code {
                    0x80 => SubscribeReturnCode::Failure,
                    q => SubscribeReturnCode::Success(
                        QoS::from_u8(q).ok_or_else(|| format!("SUBACK return code {q:#x}"))?,
                    ),
                });
            }
            Packet::SubAck(SubAck {
                packet_id: id,
                return_codes,
            })
        }
        13 => {
            expect_flags(0)?;
            expect_len(0)?;
            Packet::PingResp
        }
        other => {
            return Err(format!(
                "server sent a client-only or reserved packet type {other}"
            ))
        }
    };
    Ok(Some(packet))
}

/// Shorthand constructors for packets the tests send.
pub fn pid(id: u16) -> PacketId {
    PacketId::new(id).expect("packet id must be non-zero")
}

pub fn qos(q: u8) -> QoS {
    QoS::from_u8(q).expect("qos 0..=2")
}

pub fn publish(topic: &str, q: u8, id: Option<u16>, retain: bool, payload: &[u8]) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos: qos(q),
        retain,
        topic: ByteString::from(topic),
        packet_id: id.map(pid),
        payload: Bytes::copy_from_slice(payload),
    })
}

pub fn subscribe(id: u16, filters: &[(&str, u8)]) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(id),
        topic_filters: filters
            .iter()
            .map(|(f, q)| (ByteString::from(*f), qos(*q)))
            .collect(),
    })
}

pub fn unsubscribe(id: u16, filters: &[&str]) -> Packet {
    Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(id),
        topic_filters: filters.iter().map(|f| ByteString::from(*f)).collect(),
    })
}
