//! A raw TCP MQTT client: sends exactly the bytes a test asks for and reports exactly what the
//! broker sent back, with deadlines on every wait.

use super::wire::{self, RawConnect};
use super::WAIT;
use bytes::BytesMut;
use emqttd::mqtt::packet::{ConnAck, ConnectReturnCode, Packet, Publish, SubAck};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// What one read attempt produced.
#[derive(Debug)]
pub enum Recv {
    Packet(Packet),
    /// The deadline passed with nothing complete to decode.
    Timeout,
    /// The server closed the socket (EOF or reset).
    Closed,
}

pub struct RawClient {
    stream: TcpStream,
    buf: BytesMut,
    closed: bool,
    /// Packets read while waiting for something else (e.g. a delivery before our PUBACK).
    pending: VecDeque<Packet>,
}

impl RawClient {
    /// Opens a TCP connection; sends nothing.
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("tcp connect to {addr}: {e}"));
        stream.set_nodelay(true).ok();
        RawClient {
            stream,
            buf: BytesMut::with_capacity(4096),
            closed: false,
            pending: VecDeque::new(),
        }
    }

    /// Opens a connection, sends `connect` and returns the CONNACK (of any return code).
    pub async fn handshake(addr: SocketAddr, connect: &RawConnect<'_>) -> (RawClient, ConnAck) {
        let mut client = RawClient::connect(addr).await;
        client.send_bytes(&connect.to_bytes()).await;
        match client.expect(WAIT).await {
            Packet::ConnAck(ack) => (client, ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// A clean-session MQTT 3.1.1 client with keepalive 60 s, accepted by the broker.
    pub async fn connected(addr: SocketAddr, client_id: &str) -> RawClient {
        Self::connected_with(addr, &RawConnect::v311(client_id))
            .await
            .0
    }

    /// Sends `connect` and asserts CONNACK 0; returns the client and `session present`.
    pub async fn connected_with(addr: SocketAddr, connect: &RawConnect<'_>) -> (RawClient, bool) {
        let (client, ack) = Self::handshake(addr, connect).await;
        assert_eq!(
            ack.return_code,
            ConnectReturnCode::Accepted,
            "CONNACK for client {:?}",
            String::from_utf8_lossy(connect.client_id)
        );
        (client, ack.session_present)
    }

    pub async fn send(&mut self, packet: &Packet) {
        self.send_bytes(&wire::encode(packet)).await;
    }

    /// Writes bytes; panics if the socket is already unusable.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("write {} bytes: {e}", bytes.len()));
    }

    /// Writes bytes, ignoring a reset: for inputs after which the broker may already have
    /// closed the socket.
    pub async fn send_bytes_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Half-closes our side (the broker sees EOF), keeping the read side open.
    pub async fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Waits for the next packet until `within` has elapsed.
    pub async fn recv_event(&mut self, within: Duration) -> Recv {
        if let Some(packet) = self.pending.pop_front() {
            return Recv::Packet(packet);
        }
        let deadline = Instant::now() + within;
        loop {
            match wire::decode(&mut self.buf) {
                Ok(Some(packet)) => return Recv::Packet(packet),
                Ok(None) => {}
                Err(e) => panic!("broker sent a malformed packet: {e}"),
            }
            if self.closed {
                return Recv::Closed;
            }
            match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => return Recv::Timeout,
                Ok(Ok(0)) | Ok(Err(_)) => self.closed = true,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next packet, or `None` if none arrived within `within`; panics if the broker closed
    /// the connection instead.
    pub async fn recv(&mut self, within: Duration) -> Option<Packet> {
        match self.recv_event(within).await {
            Recv::Packet(p) => Some(p),
            Recv::Timeout => None,
            Recv::Closed => panic!("broker closed the connection while a packet was awaited"),
        }
    }

    /// The next packet; panics on timeout or close.
    pub async fn expect(&mut self, within: Duration) -> Packet {
        match self.recv_event(within).await {
            Recv::Packet(p) => p,
            Recv::Timeout => panic!("no packet from the broker within {within:?}"),
            Recv::Closed => panic!("broker closed the connection while a packet was awaited"),
        }
    }

    /// The next packet must be a PUBLISH.
    pub async fn expect_publish(&mut self, within: Duration) -> Publish {
        match self.expect(within).await {
            Packet::Publish(p) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// Asserts nothing at all arrives (and the connection stays open) for `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        match self.recv_event(quiet).await {
            Recv::Timeout => {}
            Recv::Packet(p) => panic!("expected nothing for {quiet:?}, got {p:?}"),
            Recv::Closed => panic!("expected nothing for {quiet:?}, but the broker closed"),
        }
    }

    /// Asserts the broker closes the connection within `within`; returns any packets it sent
    /// before closing.
    pub async fn expect_closed(&mut self, within: Duration) -> Vec<Packet> {
        self.expect_closed_after("", within).await
    }

    /// [`Self::expect_closed`], naming what the test sent in the failure message.
    pub async fn expect_closed_after(&mut self, what: &str, within: Duration) -> Vec<Packet> {
        let deadline = Instant::now() + within;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_event(left).await {
                Recv::Closed => return before,
                Recv::Packet(p) => before.push(p),
                Recv::Timeout => panic!(
                    "{what}: broker did not close the connection within {within:?} \
                     (it sent {before:?})"
                ),
            }
        }
    }

    /// Asserts the broker closes the connection within `within` without sending anything.
    pub async fn expect_closed_silently(&mut self, within: Duration) {
        let sent = self.expect_closed(within).await;
        assert!(sent.is_empty(), "broker sent {sent:?} before closing");
    }

    /// PINGREQ and wait for PINGRESP: proves the connection is alive and served.
    pub async fn ping(&mut self) {
        self.send(&Packet::PingReq).await;
        match self.expect_ack("PINGRESP").await {
            Packet::PingResp => {}
            other => panic!("expected PINGRESP, got {other:?}"),
        }
    }

    /// SUBSCRIBE and return the SUBACK (asserting its packet id).
    pub async fn subscribe(&mut self, id: u16, filters: &[(&str, u8)]) -> SubAck {
        self.send(&wire::subscribe(id, filters)).await;
        match self.expect_ack("SUBACK").await {
            Packet::SubAck(ack) => {
                assert_eq!(ack.packet_id.get(), id, "SUBACK packet id");
                ack
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// PUBLISH and complete its QoS flow as a well-behaved publisher.
    pub async fn publish(&mut self, topic: &str, qos: u8, id: u16, retain: bool, payload: &[u8]) {
        let packet_id = (qos > 0).then_some(id);
        self.send(&wire::publish(topic, qos, packet_id, retain, payload))
            .await;
        match qos {
            0 => {}
            1 => {
                let ack = self.expect_ack("PUBACK").await;
                assert_eq!(ack, Packet::PubAck(wire::pid(id)), "PUBACK for our PUBLISH");
            }
            _ => {
                let rec = self.expect_ack("PUBREC").await;
                assert_eq!(rec, Packet::PubRec(wire::pid(id)), "PUBREC for our PUBLISH");
                self.send(&Packet::PubRel(wire::pid(id))).await;
                let comp = self.expect_ack("PUBCOMP").await;
                assert_eq!(
                    comp,
                    Packet::PubComp(wire::pid(id)),
                    "PUBCOMP for our PUBREL"
                );
            }
        }
    }

    /// The next packet that is not a PUBLISH; PUBLISHes read meanwhile are kept for later.
    pub async fn expect_ack(&mut self, what: &str) -> Packet {
        let deadline = Instant::now() + WAIT;
        let mut held = Vec::new();
        let found = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_event(left).await {
                Recv::Packet(Packet::Publish(p)) => held.push(Packet::Publish(p)),
                Recv::Packet(other) => break other,
                Recv::Timeout => panic!("no {what} within {WAIT:?}"),
                Recv::Closed => panic!("broker closed the connection while {what} was awaited"),
            }
        };
        // Keep the held deliveries in front of anything already pending, in arrival order.
        for p in held.into_iter().rev() {
            self.pending.push_front(p);
        }
        found
    }

    /// DISCONNECT, then wait until the broker has closed the socket (so it has processed it).
    pub async fn disconnect(mut self) {
        self.send(&Packet::Disconnect).await;
        self.shutdown_write().await;
        self.expect_closed(WAIT).await;
    }
}
