//! MQTT over WebSocket and secure WebSocket end to end: MQTT.js (ws:// and wss://) and
//! paho-mqtt (`transport="websockets"`) against TCP clients, and a raw WebSocket client that
//! splits packets across frames, interleaves pings, and sends what it must not.

use crate::common::wire::{self, RawConnect};
use crate::common::{start_broker, Client, QoS, WAIT};
use crate::tls::{assert_success, clients_dir, run_tool, run_tool_env, Certs, CLIENT_CN};
use bytes::BytesMut;
use emqttd::app::Broker;
use emqttd::hooks::{EventKind, HookEvent};
use emqttd::mqtt::packet::Packet;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

const BINARY: u8 = 0x2;
const TEXT: u8 = 0x1;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A broker with `ws:external` on 127.0.0.1:0 (and `extra` overrides).
fn start_ws_broker(extra: &[(&str, &str)]) -> (Broker, SocketAddr) {
    let mut pairs = vec![
        ("EMQTTD_LISTENER__WS__EXTERNAL__ENABLE", "true"),
        ("EMQTTD_LISTENER__WS__EXTERNAL__BIND", "127.0.0.1:0"),
    ];
    pairs.extend_from_slice(extra);
    let broker = start_broker(&pairs);
    let addr = broker.listener_addr("ws:external").expect("ws:external");
    (broker, addr)
}

/// A minimal WebSocket client (RFC 6455): masked frames out, exact frames in.
struct WsClient {
    stream: TcpStream,
    buf: BytesMut,
    /// MQTT bytes received in binary frames, not yet decoded.
    mqtt: BytesMut,
}

/// The HTTP answer to an upgrade request: status code and headers, lower-cased.
struct Upgrade {
    status: u16,
    headers: String,
}

impl WsClient {
    async fn upgrade(addr: SocketAddr, path: &str, protocol: Option<&str>) -> (Upgrade, WsClient) {
        WsClient::upgrade_with(addr, path, protocol, "").await
    }

    /// `upgrade` with extra request header lines (each ending in `\r\n`).
    async fn upgrade_with(
        addr: SocketAddr,
        path: &str,
        protocol: Option<&str>,
        extra_headers: &str,
    ) -> (Upgrade, WsClient) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let protocol = protocol
            .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{protocol}{extra_headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = BytesMut::new();
        let deadline = Instant::now() + WAIT;
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = timeout_at(deadline, stream.read_buf(&mut buf))
                .await
                .expect("no HTTP answer to the upgrade")
                .unwrap();
            assert!(n > 0, "connection closed during the upgrade");
        };
        let head = String::from_utf8_lossy(&buf.split_to(end)).to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let upgrade = Upgrade {
            status,
            headers: head,
        };
        let client = WsClient {
            stream,
            buf,
            mqtt: BytesMut::new(),
        };
        (upgrade, client)
    }

    async fn open(addr: SocketAddr) -> WsClient {
        let (upgrade, client) = WsClient::upgrade(addr, "/mqtt", Some("mqtt")).await;
        assert_eq!(upgrade.status, 101, "{}", upgrade.headers);
        client
    }

    async fn frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x12, 0x34, 0x56, 0x78];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        // The broker may already have closed (tests of refusals): ignore write errors.
        let _ = self.stream.write_all(&out).await;
    }

    async fn binary(&mut self, payload: &[u8]) {
        self.frame(true, BINARY, payload).await;
    }

    /// The next frame from the server, or `None` when the connection closed.
    async fn next_frame(&mut self, deadline: Instant) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 2 {
                let len7 = usize::from(self.buf[1] & 0x7F);
                let (header, len) = match len7 {
                    126 if self.buf.len() >= 4 => (
                        4,
                        usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])),
                    ),
                    127 if self.buf.len() >= 10 => {
                        let mut n = [0u8; 8];
                        n.copy_from_slice(&self.buf[2..10]);
                        (10, u64::from_be_bytes(n) as usize)
                    }
                    126 | 127 => (usize::MAX, 0),
                    n => (2, n),
                };
                if header != usize::MAX && self.buf.len() >= header + len {
                    let opcode = self.buf[0] & 0x0F;
                    let frame = self.buf.split_to(header + len);
                    return Some((opcode, frame[header..].to_vec()));
                }
            }
            match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => panic!("no WebSocket frame within {WAIT:?}"),
                Ok(Ok(0)) | Ok(Err(_)) => return None,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next MQTT packet, from however many binary frames it takes.
    async fn packet(&mut self) -> Packet {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(packet) = wire::decode(&mut self.mqtt).unwrap() {
                return packet;
            }
            match self.next_frame(deadline).await {
                Some((BINARY | CONTINUATION, data)) => self.mqtt.extend_from_slice(&data),
                Some((opcode, data)) => panic!("unexpected frame {opcode:#x} {data:?}"),
                None => panic!("connection closed waiting for an MQTT packet"),
            }
        }
    }

    /// Waits until the server closes: a close frame and/or the end of the stream.
    async fn expect_closed(&mut self) {
        let deadline = Instant::now() + WAIT;
        while let Some((opcode, _)) = self.next_frame(deadline).await {
            if opcode == CLOSE {
                return;
            }
        }
    }
}

#[tokio::test]
async fn upgrade_negotiates_the_mqtt_sub_protocol() {
    let (_broker, addr) = start_ws_broker(&[]);
    for protocol in ["mqtt", "mqttv3.1", "mqttv3.1.1"] {
        let (up, _) = WsClient::upgrade(addr, "/mqtt", Some(protocol)).await;
        assert_eq!(up.status, 101, "{}", up.headers);
        assert!(
            up.headers
                .contains(&format!("sec-websocket-protocol: {protocol}\r\n")),
            "{}",
            up.headers
        );
    }
    let (up, _) = WsClient::upgrade(addr, "/mqtt", Some("chat")).await;
    assert_eq!(up.status, 400);
    let (up, _) = WsClient::upgrade(addr, "/other", Some("mqtt")).await;
    assert_eq!(up.status, 404);
}

#[tokio::test]
async fn packets_split_across_frames_and_several_in_one_frame() {
    let (broker, addr) = start_ws_broker(&[]);
    let mut tcp = Client::connect(broker.tcp_addr(), "ws-frag-tcp").await;
    tcp.subscribe_ok("ws/frag/#", QoS::AtLeastOnce).await;
    let mut ws = WsClient::open(addr).await;

    // CONNECT in three binary messages.
    let connect = RawConnect::v311("ws-frag").to_bytes();
    ws.binary(&connect[..3]).await;
    ws.binary(&connect[3..7]).await;
    ws.binary(&connect[7..]).await;
    assert!(matches!(ws.packet().await, Packet::ConnAck(_)));

    // A PUBLISH in one fragmented message (first + continuation + last), a ping in between.
    let publish = wire::encode(&wire::publish(
        "ws/frag/a",
        1,
        Some(7),
        false,
        b"fragmented",
    ));
    ws.frame(false, BINARY, &publish[..2]).await;
    ws.frame(true, PING, b"are you there").await;
    ws.frame(false, CONTINUATION, &publish[2..9]).await;
    ws.frame(true, CONTINUATION, &publish[9..]).await;
    let deadline = Instant::now() + WAIT;
    assert_eq!(
        ws.next_frame(deadline).await,
        Some((PONG, b"are you there".to_vec()))
    );
    assert!(matches!(ws.packet().await, Packet::PubAck(_)));
    tcp.expect_message("ws/frag/a", "fragmented").await;

    // Two PUBLISHes, a PINGREQ and a SUBSCRIBE in one frame.
    let mut batch = wire::encode(&wire::publish("ws/frag/b", 0, None, false, b"one"));
    batch.extend(wire::encode(&wire::publish(
        "ws/frag/c",
        0,
        None,
        false,
        b"two",
    )));
    batch.extend(wire::encode(&Packet::PingReq));
    batch.extend(wire::encode(&wire::subscribe(1, &[("ws/back", 1)])));
    ws.binary(&batch).await;
    assert!(matches!(ws.packet().await, Packet::PingResp));
    assert!(matches!(ws.packet().await, Packet::SubAck(_)));
    tcp.expect_message("ws/frag/b", "one").await;
    tcp.expect_message("ws/frag/c", "two").await;

    // And the way back: a TCP publish reaches the WebSocket client.
    tcp.publish("ws/back", QoS::AtLeastOnce, false, "to ws")
        .await;
    match ws.packet().await {
        Packet::Publish(p) => assert_eq!(&p.payload[..], b"to ws"),
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[tokio::test]
async fn close_text_and_oversized_frames_end_the_connection() {
    let (broker, addr) =
        start_ws_broker(&[("EMQTTD_LISTENER__WS__EXTERNAL__MAX_FRAME_SIZE", "1KB")]);
    let info = broker.listener_info("ws:external").unwrap();

    let mut ws = WsClient::open(addr).await;
    ws.binary(&RawConnect::v311("ws-close").to_bytes()).await;
    assert!(matches!(ws.packet().await, Packet::ConnAck(_)));
    ws.frame(true, CLOSE, &1000u16.to_be_bytes()).await;
    ws.expect_closed().await;

    let mut ws = WsClient::open(addr).await;
    ws.frame(true, TEXT, b"not binary").await;
    ws.expect_closed().await;

    let mut ws = WsClient::open(addr).await;
    ws.binary(&vec![0u8; 2048]).await;
    ws.expect_closed().await;

    // Every slot is given back once the sessions are gone.
    let mut probe = WsClient::open(addr).await;
    probe.binary(&RawConnect::v311("ws-probe").to_bytes()).await;
    assert!(matches!(probe.packet().await, Packet::ConnAck(_)));
    let deadline = Instant::now() + WAIT;
    while info.current() != 1 {
        assert!(
            Instant::now() < deadline,
            "slots not freed: {}",
            info.current()
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn max_connections_refuses_with_503_and_counts() {
    let (broker, addr) =
        start_ws_broker(&[("EMQTTD_LISTENER__WS__EXTERNAL__MAX_CONNECTIONS", "1")]);
    let _first = WsClient::open(addr).await;
    let (up, _) = WsClient::upgrade(addr, "/mqtt", Some("mqtt")).await;
    assert_eq!(up.status, 503);
    let info = broker.listener_info("ws:external").unwrap();
    assert_eq!((info.current(), info.refused()), (1, 1));
}

fn node_script(args: Vec<String>) -> std::process::Output {
    let script = clients_dir().join("mqttjs_bridge.js").display().to_string();
    let mut all = vec![script];
    all.extend(args);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let node_path = clients_dir().join("node_modules").display().to_string();
    run_tool_env(
        "node",
        &all,
        &[("NODE_PATH", node_path.as_str())],
        "install node and run `npm install` in test/clients",
    )
}

#[tokio::test]
async fn mqttjs_over_ws_and_tcp_exchange_qos1_and_qos2() {
    let (broker, addr) = start_ws_broker(&[]);
    let args = vec![
        format!("ws://{addr}/mqtt"),
        format!("mqtt://{}", broker.tcp_addr()),
    ];
    let out = tokio::task::spawn_blocking(move || node_script(args))
        .await
        .unwrap();
    assert_success("MQTT.js over ws://", &out);
}

#[tokio::test]
async fn mqttjs_over_wss() {
    let certs = Certs::generate();
    let mut pairs = certs.env("WSS");
    pairs.push((
        "EMQTTD_LISTENER__WSS__EXTERNAL__HANDSHAKE_TIMEOUT".into(),
        "5s".into(),
    ));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let broker = start_broker(&pairs);
    let addr = broker.listener_addr("wss:external").expect("wss:external");
    let args = vec![
        format!("wss://127.0.0.1:{}/mqtt", addr.port()),
        format!("mqtt://{}", broker.tcp_addr()),
        certs.ca.display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || node_script(args))
        .await
        .unwrap();
    assert_success("MQTT.js over wss://", &out);
}

#[tokio::test]
async fn paho_over_ws_and_wss() {
    let certs = Certs::generate();
    let mut pairs = certs.env("WSS");
    pairs.push((
        "EMQTTD_LISTENER__WS__EXTERNAL__ENABLE".into(),
        "true".into(),
    ));
    pairs.push((
        "EMQTTD_LISTENER__WS__EXTERNAL__BIND".into(),
        "127.0.0.1:0".into(),
    ));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let broker = start_broker(&pairs);
    let ws = broker
        .listener_addr("ws:external")
        .unwrap()
        .port()
        .to_string();
    let wss = broker
        .listener_addr("wss:external")
        .unwrap()
        .port()
        .to_string();
    let ca = certs.ca.display().to_string();
    let script = clients_dir()
        .join("paho_transport.py")
        .display()
        .to_string();
    let (plain, secure) = tokio::task::spawn_blocking(move || {
        let hint = "pip install paho-mqtt";
        (
            run_tool("python3", &[&script, &ws, "--ws", "/mqtt"], hint),
            run_tool(
                "python3",
                &[&script, &wss, "--ws", "/mqtt", "--ca", &ca],
                hint,
            ),
        )
    })
    .await
    .unwrap();
    assert_success("paho over ws", &plain);
    assert_success("paho over wss", &secure);
}

/// `peer_cert_as_username = "cn"` on wss: paho-mqtt connects over secure WebSocket with a
/// client certificate and no username; the broker's `client.connected` events (what hooks and
/// plugins see) carry the certificate's CN as the username.
#[tokio::test]
async fn peer_cert_cn_becomes_the_username_over_wss() {
    let certs = Certs::generate();
    let mut pairs = certs.env("WSS");
    for (key, value) in [("VERIFY", "verify_peer"), ("PEER_CERT_AS_USERNAME", "cn")] {
        pairs.push((
            format!("EMQTTD_LISTENER__WSS__EXTERNAL__{key}"),
            value.into(),
        ));
    }
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let broker = start_broker(&pairs);
    let (_, mut events) = broker
        .core()
        .hooks
        .subscribe_channel(&[EventKind::ClientConnected], 16);
    let wss = broker
        .listener_addr("wss:external")
        .unwrap()
        .port()
        .to_string();
    let path = |p: &std::path::Path| p.display().to_string();
    let (ca, cert, key) = (
        path(&certs.ca),
        path(&certs.client_cert),
        path(&certs.client_key),
    );
    let script = path(&clients_dir().join("paho_transport.py"));
    let out = tokio::task::spawn_blocking(move || {
        let args = [
            script.as_str(),
            &wss,
            "--ws",
            "/mqtt",
            "--ca",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
        ];
        run_tool("python3", &args, "pip install paho-mqtt")
    })
    .await
    .unwrap();
    assert_success("paho over wss with a client certificate", &out);
    // The script's two clients (subscriber and publisher).
    for _ in 0..2 {
        let event = timeout_at(Instant::now() + WAIT, events.recv())
            .await
            .expect("a client.connected event")
            .expect("the hook registry is alive");
        let HookEvent::ClientConnected { client, .. } = event else {
            panic!("unexpected event {event:?}");
        };
        assert_eq!(client.username.as_deref(), Some(CLIENT_CN), "{client:?}");
    }
}

/// Behind a reverse proxy (`proxy_address_header`), the client's address is the first one of
/// the header: the presence event carries it, not the proxy's socket address.
#[tokio::test]
async fn proxy_address_header_gives_the_client_address() {
    let (broker, addr) = start_ws_broker(&[
        (
            "EMQTTD_LISTENER__WS__EXTERNAL__PROXY_ADDRESS_HEADER",
            "X-Forwarded-For",
        ),
        ("EMQTTD_MODULE__PRESENCE__ENABLE", "true"),
    ]);
    let mut watcher = Client::connect(broker.tcp_addr(), "proxy-watcher").await;
    watcher
        .subscribe_ok("$SYS/brokers/+/clients/proxied/connected", QoS::AtMostOnce)
        .await;
    let forwarded = "X-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n";
    let (upgrade, mut ws) = WsClient::upgrade_with(addr, "/mqtt", Some("mqtt"), forwarded).await;
    assert_eq!(upgrade.status, 101, "{}", upgrade.headers);
    ws.binary(&RawConnect::v311("proxied").to_bytes()).await;
    assert!(matches!(ws.packet().await, Packet::ConnAck(_)));
    let presence = watcher.expect_publish().await;
    let value: serde_json::Value = serde_json::from_slice(&presence.payload).unwrap();
    assert_eq!(value["clientid"], "proxied");
    assert_eq!(value["ipaddress"], "203.0.113.7");
}
