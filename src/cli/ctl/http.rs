//! A minimal blocking HTTP/1.1 client over `std::net::TcpStream` for `emqttd ctl`: one request
//! per connection (`Connection: close`), Basic auth, JSON bodies with `Content-Length`, responses
//! framed by `Content-Length`, chunked transfer coding or end of stream. The request formatting,
//! response parsing and percent-encoding are pure functions, tested below.

use base64::Engine;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long to wait for the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one read or write may block.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response accepted (a full page of 1000 objects is far below this).
pub const MAX_RESPONSE: usize = 64 << 20;

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub enum HttpError {
    /// The TCP connection could not be made.
    Connect { addr: SocketAddr, error: io::Error },
    /// Connected, but reading or writing failed (or timed out).
    Io { addr: SocketAddr, error: io::Error },
    /// The server's answer is not HTTP/1.x as we understand it.
    Malformed { addr: SocketAddr, message: String },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect { addr, error } => write!(f, "cannot connect to {addr}: {error}"),
            HttpError::Io { addr, error } => write!(f, "talking to {addr}: {error}"),
            HttpError::Malformed { addr, message } => {
                write!(f, "bad HTTP response from {addr}: {message}")
            }
        }
    }
}

/// A client for one server address and one set of credentials.
#[derive(Debug, Clone)]
pub struct HttpClient {
    pub addr: SocketAddr,
    pub credentials: Option<(String, String)>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr, credentials: Option<(String, String)>) -> HttpClient {
        HttpClient { addr, credentials }
    }

    /// Sends `method target` with an optional JSON body and reads the whole response.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let addr = self.addr;
        let io_err = |error| HttpError::Io { addr, error };
        let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .map_err(|error| HttpError::Connect { addr, error })?;
        stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io_err)?;
        stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io_err)?;
        let credentials = self
            .credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()));
        let request = format_request(method, &host_header(addr), target, credentials, body);
        stream.write_all(&request).map_err(io_err)?;
        stream.flush().map_err(io_err)?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = match stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            };
            buf.extend_from_slice(&chunk[..n]);
            let malformed = |message| HttpError::Malformed { addr, message };
            if buf.len() > MAX_RESPONSE {
                return Err(malformed(format!(
                    "response larger than {MAX_RESPONSE} bytes"
                )));
            }
            if let Some(response) = parse_response(&buf, n == 0).map_err(malformed)? {
                return Ok(response);
            }
        }
    }
}

/// The `Host` header value for `addr` (IPv6 in brackets).
pub fn host_header(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// The bytes of one request. A body is sent as JSON with its `Content-Length`.
pub fn format_request(
    method: &str,
    host: &str,
    target: &str,
    credentials: Option<(&str, &str)>,
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: emqttd-ctl/{}\r\nAccept: application/json\r\nConnection: close\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some((user, password)) = credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        head.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Parses a response from the bytes received so far. `Ok(None)`: more bytes are needed
/// (`eof` says the server closed the connection, so no more will come).
pub fn parse_response(buf: &[u8], eof: bool) -> Result<Option<Response>, String> {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        if eof {
            return Err(if buf.is_empty() {
                "connection closed without a response".into()
            } else {
                "connection closed inside the response headers".into()
            });
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| "response headers are not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let (status, reason) = parse_status_line(status_line)?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header line '{line}'"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let rest = &buf[head_end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let chunked =
        header("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let body = if status / 100 == 1 || status == 204 || status == 304 {
        Some(Vec::new())
    } else if chunked {
        match dechunk(rest)? {
            Some(body) => Some(body),
            None if eof => return Err("connection closed inside a chunked body".into()),
            None => None,
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad Content-Length '{length}'"))?;
        if rest.len() >= length {
            Some(rest[..length].to_vec())
        } else if eof {
            return Err(format!(
                "connection closed after {} of {length} body bytes",
                rest.len()
            ));
        } else {
            None
        }
    } else if eof {
        Some(rest.to_vec())
    } else {
        None
    };
    Ok(body.map(|body| Response {
        status,
        reason,
        headers,
        body,
    }))
}

fn parse_status_line(line: &str) -> Result<(u16, String), String> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x status line: '{line}'"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| format!("bad status code in '{line}'"))?;
    Ok((status, parts.next().unwrap_or_default().to_string()))
}

/// Decodes a complete chunked body; `Ok(None)` when it is not complete yet.
pub fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(data, b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[..line_end])
            .map_err(|_| "chunk size line is not UTF-8".to_string())?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size '{size_text}'"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            // Trailers (ignored) end with an empty line.
            loop {
                let Some(end) = find(data, b"\r\n") else {
                    return Ok(None);
                };
                if end == 0 {
                    return Ok(Some(body));
                }
                data = &data[end + 2..];
            }
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        if &data[size..size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Percent-encodes `text` for one path segment or query value: every byte except the
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`, so `/`, `#`, `+`, `?`, `%`
/// and spaces in client ids and topics survive the trip.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` with every value percent-encoded; just `path` without pairs.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path.to_string();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_request_has_no_body_headers() {
        let req = format_request(
            "GET",
            "127.0.0.1:18083",
            "/api/v2/clients",
            Some(("admin", "public")),
            None,
        );
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with("GET /api/v2/clients HTTP/1.1\r\nHost: 127.0.0.1:18083\r\n"));
        assert!(text.contains("\r\nConnection: close\r\n"));
        // base64("admin:public")
        assert!(text.contains("\r\nAuthorization: Basic YWRtaW46cHVibGlj\r\n"));
        assert!(!text.contains("Content-Length"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn post_request_carries_its_length_and_body() {
        let body = br#"{"args":["add","alice"]}"#;
        let req = format_request("POST", "h:1", "/api/v2/commands/users", None, Some(body));
        let text = String::from_utf8(req).unwrap();
        assert!(text.contains("\r\nContent-Type: application/json\r\n"));
        assert!(text.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        assert!(text.ends_with(&format!("\r\n\r\n{}", std::str::from_utf8(body).unwrap())));
        assert!(!text.contains("Authorization"));
        let empty = String::from_utf8(format_request("DELETE", "h:1", "/x", None, None)).unwrap();
        assert!(!empty.contains("Content-Length"));
        let put = String::from_utf8(format_request("PUT", "h:1", "/x", None, None)).unwrap();
        assert!(put.contains("Content-Length: 0\r\n"));
    }

    #[test]
    fn host_header_brackets_ipv6() {
        assert_eq!(host_header("127.0.0.1:80".parse().unwrap()), "127.0.0.1:80");
        assert_eq!(host_header("[::1]:18083".parse().unwrap()), "[::1]:18083");
    }

    #[test]
    fn content_length_response() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 11\r\n\r\n{\"code\":0}\n";
        let resp = parse_response(raw, false).unwrap().unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.reason, "OK");
        assert_eq!(resp.header("Content-Type"), Some("application/json"));
        assert_eq!(resp.body, b"{\"code\":0}\n");
        // Every prefix is incomplete, not an error.
        for cut in 0..raw.len() {
            assert_eq!(parse_response(&raw[..cut], false), Ok(None), "cut at {cut}");
        }
        assert!(parse_response(&raw[..raw.len() - 3], true)
            .unwrap_err()
            .contains("8 of 11"));
    }

    #[test]
    fn chunked_response_is_decoded() {
        let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n";
        let resp = parse_response(raw, false).unwrap().unwrap();
        assert_eq!(resp.status, 404);
        assert_eq!(resp.body, b"hello, world");
        for cut in 0..raw.len() {
            assert_eq!(parse_response(&raw[..cut], false), Ok(None), "cut at {cut}");
        }
        assert!(parse_response(&raw[..40], true).is_err());
        assert!(dechunk(b"zz\r\n").unwrap_err().contains("zz"));
        assert!(dechunk(b"2\r\nabX\r\n").is_err());
    }

    #[test]
    fn body_until_close_and_bodiless_statuses() {
        let raw = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        assert_eq!(parse_response(raw, false), Ok(None));
        assert_eq!(
            parse_response(raw, true).unwrap().unwrap().body,
            b"all of it"
        );
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(
            parse_response(no_content, false).unwrap().unwrap().body,
            b""
        );
    }

    #[test]
    fn malformed_responses_are_errors() {
        assert!(parse_response(b"", true).unwrap_err().contains("without"));
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", false)
            .unwrap_err()
            .contains("HTTP/1.x"));
        assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n", false)
            .unwrap_err()
            .contains("status"));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", false)
            .unwrap_err()
            .contains("nocolon"));
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false)
                .unwrap_err()
                .contains("Content-Length")
        );
    }

    #[test]
    fn percent_encoding_of_ids_and_topics() {
        assert_eq!(percent_encode("dev-1_a.b~"), "dev-1_a.b~");
        assert_eq!(percent_encode("a/b/#"), "a%2Fb%2F%23");
        assert_eq!(percent_encode("a/+/c"), "a%2F%2B%2Fc");
        assert_eq!(percent_encode("my client?%"), "my%20client%3F%25");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode(""), "");
        assert_eq!(
            with_query("/api/v2/sessions", &[("_page", "2"), ("type", "a b")]),
            "/api/v2/sessions?_page=2&type=a%20b"
        );
        assert_eq!(with_query("/x", &[]), "/x");
    }

    #[test]
    fn a_real_socket_round_trip() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while find(&got, b"\r\n\r\n").is_none() {
                let n = sock.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            // Send the answer in pieces, chunked; keep the socket open until the client is done.
            for piece in [
                &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
                b"3\r\nabc\r\n",
                b"0\r\n\r\n",
            ] {
                sock.write_all(piece).unwrap();
                sock.flush().unwrap();
            }
            let _ = sock.read(&mut buf);
            String::from_utf8(got).unwrap()
        });
        let client = HttpClient::new(addr, Some(("a".into(), "b".into())));
        let resp = client.request("GET", "/t%2F1", None).unwrap();
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"abc"[..]));
        drop(client);
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /t%2F1 HTTP/1.1\r\n"));
    }

    #[test]
    fn refused_connection_is_a_connect_error() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let err = HttpClient::new(addr, None)
            .request("GET", "/", None)
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
        assert!(err.to_string().contains(&addr.to_string()));
    }
}
