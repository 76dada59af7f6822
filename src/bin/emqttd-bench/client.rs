//! One MQTT connection over the broker's own codec: TCP connect (optionally from a chosen local
//! address), CONNECT/CONNACK, a `FramedRead` for input and batched, encoded writes for output.

use crate::cli::Options;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use emqttd::mqtt::codec::MqttCodec;
use emqttd::mqtt::packet::{Connect, ConnectReturnCode, Packet};
use futures_util::StreamExt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpSocket;
use tokio_util::codec::{Encoder, FramedRead};

/// Largest packet the bench accepts from the broker.
const MAX_PACKET: usize = 16 * 1024 * 1024;

/// Who connects, and where from.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub seq: usize,
    pub client_id: String,
    pub broker: SocketAddr,
    pub bind: Option<IpAddr>,
}

impl ClientSpec {
    /// The `k`-th client of a run (`%i` = start index + k) with the run's id prefix.
    pub fn new(options: &Options, broker: SocketAddr, prefix: &str, k: usize) -> ClientSpec {
        let seq = options.start_index + k;
        let bind = if options.ifaddrs.is_empty() {
            None
        } else {
            Some(options.ifaddrs[k % options.ifaddrs.len()])
        };
        ClientSpec {
            seq,
            client_id: format!("{prefix}_{seq}"),
            broker,
            bind,
        }
    }
}

/// An open, accepted MQTT connection.
pub struct Conn {
    reader: FramedRead<OwnedReadHalf, MqttCodec>,
    writer: OwnedWriteHalf,
    codec: MqttCodec,
    out: BytesMut,
}

impl Conn {
    /// Queues `packet` for the next `flush`.
    pub fn push(&mut self, packet: Packet) -> io::Result<()> {
        self.codec.encode(packet, &mut self.out)
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.writer.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// The next packet; `None` when the broker closed the connection. Cancel-safe.
    pub async fn recv(&mut self) -> io::Result<Option<Packet>> {
        match self.reader.next().await {
            None => Ok(None),
            Some(Ok(packet)) => Ok(Some(packet)),
            Some(Err(error)) => Err(io::Error::new(io::ErrorKind::InvalidData, error)),
        }
    }

    /// Sends DISCONNECT and closes the write side.
    pub async fn disconnect(mut self) {
        if self.push(Packet::Disconnect).is_ok() && self.flush().await.is_ok() {
            let _ = self.writer.shutdown().await;
        }
    }
}

/// Opens the TCP connection, sends CONNECT and waits for an accepting CONNACK.
pub async fn connect(options: &Options, spec: &ClientSpec) -> io::Result<(Conn, bool)> {
    tokio::time::timeout(options.connect_timeout, handshake(options, spec))
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))
}

async fn handshake(options: &Options, spec: &ClientSpec) -> io::Result<(Conn, bool)> {
    let socket = match spec.broker {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(ip) = spec.bind {
        defer_port_choice(&socket);
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(spec.broker).await?;
    stream.set_nodelay(true)?;
    let (read, writer) = stream.into_split();
    let codec = MqttCodec::new(MAX_PACKET);
    let mut conn = Conn {
        reader: FramedRead::with_capacity(read, codec.clone(), 1024),
        writer,
        codec,
        out: BytesMut::with_capacity(256),
    };
    conn.push(Packet::Connect(Box::new(Connect {
        protocol: options.protocol,
        clean_session: options.clean_session,
        keep_alive: options.keepalive,
        client_id: ByteString::from(spec.client_id.as_str()),
        will: None,
        username: options.username.as_deref().map(ByteString::from),
        password: options
            .password
            .as_ref()
            .map(|p| Bytes::copy_from_slice(p.as_bytes())),
    })))?;
    conn.flush().await?;
    match conn.recv().await? {
        Some(Packet::ConnAck(ack)) if ack.return_code == ConnectReturnCode::Accepted => {
            Ok((conn, ack.session_present))
        }
        Some(Packet::ConnAck(ack)) => Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("CONNACK {:?}", ack.return_code),
        )),
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} before CONNACK", other.name()),
        )),
        None => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before CONNACK",
        )),
    }
}

/// Linux: let `connect` pick the source port (IP_BIND_ADDRESS_NO_PORT). A `bind` to port 0
/// otherwise reserves a port for the address alone, searching the ephemeral range under a
/// lock, which slows a run of 15,000 connects from one address down to a few hundred per
/// second and caps it at the range's size.
#[cfg(target_os = "linux")]
fn defer_port_choice(socket: &TcpSocket) {
    use std::os::fd::AsRawFd;
    use std::os::raw::{c_int, c_void};
    const IPPROTO_IP: c_int = 0;
    const IP_BIND_ADDRESS_NO_PORT: c_int = 24;
    extern "C" {
        fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            len: u32,
        ) -> c_int;
    }
    let on: c_int = 1;
    // SAFETY: a valid socket descriptor and a pointer to a c_int that outlives the call.
    // Failure (an old kernel) only loses the speed-up, so the result is ignored.
    unsafe {
        setsockopt(
            socket.as_raw_fd(),
            IPPROTO_IP,
            IP_BIND_ADDRESS_NO_PORT,
            (&on as *const c_int).cast(),
            std::mem::size_of::<c_int>() as u32,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn defer_port_choice(_socket: &TcpSocket) {}

/// The keepalive ping period; an hour when keepalive is off (never fires in a bench run).
pub fn ping_period(keepalive: u16) -> Duration {
    if keepalive == 0 {
        Duration::from_secs(3600)
    } else {
        Duration::from_secs(keepalive as u64)
    }
}

/// A ping timer whose first tick is one period from now.
pub fn ping_timer(keepalive: u16) -> tokio::time::Interval {
    let period = ping_period(keepalive);
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer
}
