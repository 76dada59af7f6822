//! A tiny HTTP/1.1 client over a tokio TcpStream (one request per connection,
//! `Connection: close`), for the REST API tests; and a broker with its HTTP listener on.

use super::{start_broker, WAIT};
use base64::Engine;
use emqttd::app::Broker;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The default admin's credentials.
pub const ADMIN: (&str, &str) = ("admin", "public");

/// A broker with the HTTP listener on 127.0.0.1:0 (plus `extra` overrides), and that
/// listener's address.
pub fn start_http_broker(extra: &[(&str, &str)]) -> (Broker, SocketAddr) {
    let mut pairs = vec![
        ("EMQTTD_HTTP__ENABLE", "true"),
        ("EMQTTD_HTTP__BIND", "127.0.0.1:0"),
    ];
    pairs.extend_from_slice(extra);
    let broker = start_broker(&pairs);
    let addr = broker.listener_addr("http").expect("http listener");
    (broker, addr)
}

/// An HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics naming the body otherwise.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {:?}", self.status, self.body))
    }

    /// `result` of a 200 `{"code":0,"result":..}`; panics otherwise.
    pub fn result(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200: {}", self.body);
        let json = self.json();
        assert_eq!(json["code"], 0, "{}", self.body);
        json["result"].clone()
    }

    /// Asserts an error reply: this status, `{"code":status,"message":..}` with a message
    /// containing `needle`.
    pub fn assert_error(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let json = self.json();
        assert_eq!(json["code"], status, "{}", self.body);
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

/// Sends one request; `auth` as Basic credentials, `body` as JSON.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Option<&str>,
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((user, password)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        head.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method != "GET" {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect to http");
        stream.write_all(head.as_bytes()).await.expect("send head");
        stream.write_all(body.as_bytes()).await.expect("send body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read reply");
        raw
    };
    let raw = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no reply within {WAIT:?}"));
    parse(&raw).unwrap_or_else(|| panic!("{method} {path}: bad reply {raw:?}"))
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A client of one broker's HTTP listener, as the default admin.
#[derive(Clone, Copy)]
pub struct Api {
    pub addr: SocketAddr,
}

impl Api {
    pub async fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, Some(ADMIN), None).await
    }

    pub async fn send(&self, method: &str, path: &str, body: &str) -> Reply {
        request(self.addr, method, path, Some(ADMIN), Some(body)).await
    }

    /// `result` of `GET path`.
    pub async fn result(&self, path: &str) -> Value {
        self.get(path).await.result()
    }
}
