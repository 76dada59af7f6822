//! The node's REST API (`/api/v2`, see the API contract) as `emqttd ctl` uses it: the JSON
//! envelope, error answers, paging through lists, and what "the node is not reachable" means.

use super::http::{percent_encode, with_query, HttpClient, HttpError, Response};
use serde_json::Value;
use std::net::SocketAddr;

/// The API prefix.
pub const PREFIX: &str = "/api/v2";
/// Objects asked for per page when listing (the API's maximum).
pub const PAGE_LIMIT: usize = 1000;
/// A safety stop for a server whose paging never ends.
const MAX_PAGES: usize = 100_000;

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlError {
    /// The node answered with an error (exit code 1).
    Answer { status: u16, message: String },
    /// The node does not know the command word (exit code 2: a usage error).
    UnknownCommand(String),
    /// The node could not be reached or did not answer (exit code 3).
    Unreachable(String),
}

impl CtlError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Answer { .. } => 1,
            CtlError::UnknownCommand(_) => 2,
            CtlError::Unreachable(_) => 3,
        }
    }
}

/// The REST API of one node.
pub struct Api {
    http: HttpClient,
    /// Where the address came from (`[http] bind in etc/emqttd.toml`), for error messages.
    pub origin: String,
}

impl Api {
    pub fn new(addr: SocketAddr, credentials: (String, String), origin: String) -> Api {
        Api {
            http: HttpClient::new(addr, Some(credentials)),
            origin,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.http.addr
    }

    pub fn user(&self) -> &str {
        self.http
            .credentials
            .as_ref()
            .map_or("", |(user, _)| user.as_str())
    }

    pub fn get(&self, path: &str) -> Result<Value, CtlError> {
        self.call("GET", path, None)
    }

    pub fn delete(&self, path: &str) -> Result<Value, CtlError> {
        self.call("DELETE", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, CtlError> {
        self.call("POST", path, Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Value, CtlError> {
        self.call("PUT", path, Some(body))
    }

    /// Every object of a PAGED list, fetched [`PAGE_LIMIT`] at a time. A server that answers
    /// with a plain array (unpaged) is accepted too.
    pub fn list_all(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Value>, CtlError> {
        let mut all = Vec::new();
        let limit = PAGE_LIMIT.to_string();
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            let mut pairs = vec![("_page", page_text.as_str()), ("_limit", limit.as_str())];
            pairs.extend_from_slice(query);
            let result = self.get(&with_query(path, &pairs))?;
            match next_page(result, page) {
                Page::Last(objects) => {
                    all.extend(objects);
                    break;
                }
                Page::More(objects) => all.extend(objects),
            }
        }
        Ok(all)
    }

    /// The raw text of a route outside `/api/v2` (`GET /status`).
    pub fn get_text(&self, target: &str) -> Result<String, CtlError> {
        let response = self
            .http
            .request("GET", target, None)
            .map_err(|e| self.unreachable(e))?;
        if response.status != 200 {
            return Err(answer_error(&response, self.user()));
        }
        Ok(String::from_utf8_lossy(&response.body).into_owned())
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, CtlError> {
        let body = body.map(|b| b.to_string().into_bytes());
        let response = self
            .http
            .request(method, &format!("{PREFIX}{path}"), body.as_deref())
            .map_err(|e| self.unreachable(e))?;
        decode(&response, self.user())
    }

    fn unreachable(&self, error: HttpError) -> CtlError {
        CtlError::Unreachable(unreachable_message(&error, &self.origin))
    }
}

/// `/segment/<percent-encoded value>`.
pub fn seg(value: &str) -> String {
    format!("/{}", percent_encode(value))
}

/// A page's objects, and whether more pages follow.
#[derive(Debug, PartialEq)]
pub enum Page {
    More(Vec<Value>),
    Last(Vec<Value>),
}

/// Reads one PAGED result (`{"objects", "total_page", ...}`) fetched as page `page`.
pub fn next_page(result: Value, page: usize) -> Page {
    match result {
        Value::Array(objects) => Page::Last(objects),
        Value::Object(mut map) => {
            let objects = match map.remove("objects") {
                Some(Value::Array(objects)) => objects,
                _ => Vec::new(),
            };
            let total_pages = map.get("total_page").and_then(Value::as_u64).unwrap_or(0);
            if objects.is_empty() || page as u64 >= total_pages {
                Page::Last(objects)
            } else {
                Page::More(objects)
            }
        }
        _ => Page::Last(Vec::new()),
    }
}

/// The `result` of a successful answer, or the error the answer carries.
pub fn decode(response: &Response, user: &str) -> Result<Value, CtlError> {
    if response.status != 200 {
        return Err(answer_error(response, user));
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|e| CtlError::Answer {
        status: response.status,
        message: format!("the node's answer is not JSON: {e}"),
    })?;
    match body.get("code").and_then(Value::as_i64) {
        Some(0) | None => Ok(body.get("result").cloned().unwrap_or(Value::Null)),
        // emqttd 2.3 answered errors with HTTP 200 and a non-zero code.
        Some(code) => Err(CtlError::Answer {
            status: u16::try_from(code).unwrap_or(500),
            message: message_of(&body).unwrap_or_else(|| format!("error code {code}")),
        }),
    }
}

fn message_of(body: &Value) -> Option<String> {
    body.get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The error of a non-200 answer: the body's `message`, else the status line.
pub fn answer_error(response: &Response, user: &str) -> CtlError {
    let message = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .as_ref()
        .and_then(message_of);
    let message = match (response.status, message) {
        (401, _) => format!(
            "the node refused the credentials of admin user '{user}' (give them with --user NAME:PASSWORD or EMQTTD_CTL_USER / EMQTTD_CTL_PASSWORD)"
        ),
        (_, Some(message)) => message,
        (status, None) => format!("HTTP {status} {}", response.reason),
    };
    CtlError::Answer {
        status: response.status,
        message,
    }
}

/// What to tell the operator when the node could not be reached.
pub fn unreachable_message(error: &HttpError, origin: &str) -> String {
    use std::io::ErrorKind;
    match error {
        HttpError::Connect { addr, error } => match error.kind() {
            ErrorKind::ConnectionRefused => format!(
                "cannot connect to the node at {addr} ({origin}): connection refused; the broker is not running there (start it with `emqttd start`, or point ctl at its config with --config)"
            ),
            ErrorKind::TimedOut | ErrorKind::WouldBlock => format!(
                "cannot connect to the node at {addr} ({origin}): no answer within the timeout; the broker is not reachable there"
            ),
            _ => format!(
                "cannot connect to the node at {addr} ({origin}): {error}; the broker is not reachable there"
            ),
        },
        HttpError::Io { addr, error } => match error.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => format!(
                "the node at {addr} ({origin}) accepted the connection but did not answer in time: the broker runs but is not responding"
            ),
            _ => format!(
                "the connection to the node at {addr} ({origin}) failed: {error}; the broker runs but did not answer"
            ),
        },
        HttpError::Malformed { addr, message } => format!(
            "something listens at {addr} ({origin}) but it is not the broker's HTTP API: {message}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            reason: "Reason".into(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn envelope_result_is_unwrapped() {
        let r = response(200, r#"{"code":0,"result":{"rules":3}}"#);
        assert_eq!(decode(&r, "admin"), Ok(json!({"rules": 3})));
        let old_style = response(200, r#"{"code":404,"message":"no such client"}"#);
        assert_eq!(
            decode(&old_style, "admin"),
            Err(CtlError::Answer {
                status: 404,
                message: "no such client".into()
            })
        );
        assert!(matches!(
            decode(&response(200, "not json"), "admin"),
            Err(CtlError::Answer { .. })
        ));
    }

    #[test]
    fn error_answers_carry_the_message() {
        let r = response(400, r#"{"code":400,"message":"etc/acl.conf:3: bad rule"}"#);
        assert_eq!(
            decode(&r, "admin"),
            Err(CtlError::Answer {
                status: 400,
                message: "etc/acl.conf:3: bad rule".into()
            })
        );
        let plain = response(502, "oops");
        assert_eq!(
            answer_error(&plain, "admin"),
            CtlError::Answer {
                status: 502,
                message: "HTTP 502 Reason".into()
            }
        );
        let denied = answer_error(&response(401, ""), "bob");
        assert!(
            matches!(&denied, CtlError::Answer { message, .. } if message.contains("'bob'") && message.contains("--user"))
        );
        assert_eq!(denied.exit_code(), 1);
    }

    #[test]
    fn paging_stops_at_the_last_page() {
        let page = |objects: Value, total: u64| {
            json!({"objects": objects, "current_page": 1, "page_size": 2, "total_num": 3,
                   "total_page": total})
        };
        assert_eq!(
            next_page(page(json!([1, 2]), 2), 1),
            Page::More(vec![json!(1), json!(2)])
        );
        assert_eq!(
            next_page(page(json!([3]), 2), 2),
            Page::Last(vec![json!(3)])
        );
        assert_eq!(next_page(page(json!([]), 5), 1), Page::Last(vec![]));
        assert_eq!(next_page(json!([7]), 1), Page::Last(vec![json!(7)]));
    }

    #[test]
    fn unreachable_messages_say_whether_the_broker_runs() {
        let addr: SocketAddr = "127.0.0.1:18083".parse().unwrap();
        let refused = HttpError::Connect {
            addr,
            error: std::io::ErrorKind::ConnectionRefused.into(),
        };
        let text = unreachable_message(&refused, "[http] bind in x.toml");
        assert!(text.contains("127.0.0.1:18083") && text.contains("not running"));
        assert!(text.contains("x.toml"));
        let hung = HttpError::Io {
            addr,
            error: std::io::ErrorKind::TimedOut.into(),
        };
        assert!(unreachable_message(&hung, "o").contains("runs but is not responding"));
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("a/b #"), "/a%2Fb%20%23");
    }
}
