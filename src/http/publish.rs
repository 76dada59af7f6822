//! The HTTP publish API's request parsing (emqttd_http's `POST /mqtt/publish` form and the REST
//! API v2 `POST /api/v2/mqtt/publish` JSON): pure validation, so that a missing or wildcard
//! topic or a bad QoS never reaches the router.

use crate::mqtt::packet::QoS;
use crate::mqtt::topic::validate_name;
use base64::Engine;
use bytes::Bytes;
use serde_json::Value;

/// The client id messages published over HTTP carry when the request names none.
pub const DEFAULT_CLIENT: &str = "http";

/// A validated publish request: one message to each of `topics`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishRequest {
    pub topics: Vec<String>,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub client_id: String,
}

/// A rejected request: the field at fault and why (answered as 400 with both in JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }

    /// `{"code": 400, "field": ..., "message": ...}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({"code": 400, "field": self.field, "message": self.message})
    }
}

/// `application/x-www-form-urlencoded` fields `topic` or `topics` (comma-separated),
/// `message`, `qos`, `retain`, `client`; unknown fields are ignored.
pub fn from_form(body: &[u8]) -> Result<PublishRequest, FieldError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| FieldError::new("body", format!("not a URL-encoded form: {e}")))?;
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let topics = topics(get("topic"), get("topics"))?;
    let qos = match get("qos") {
        None | Some("") => QoS::AtMostOnce,
        Some(text) => parse_qos(text.trim().parse::<i64>().ok())?,
    };
    let retain = match get("retain") {
        None | Some("") => false,
        Some(text) => parse_flag(text)
            .ok_or_else(|| FieldError::new("retain", "expected 0, 1, true or false"))?,
    };
    Ok(PublishRequest {
        topics,
        payload: Bytes::copy_from_slice(get("message").unwrap_or_default().as_bytes()),
        qos,
        retain,
        client_id: client_id("client", get("client"))?,
    })
}

/// JSON `{"topic", "payload", "qos", "retain", "client_id", "encoding"}`; `topics`
/// (comma-separated) may replace `topic`; `"encoding": "base64"` for a binary payload.
pub fn from_json(body: &[u8]) -> Result<PublishRequest, FieldError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| FieldError::new("body", format!("not JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(FieldError::new("body", "expected a JSON object"));
    };
    let string = |field: &'static str| match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(FieldError::new(field, "expected a string")),
    };
    let topics = topics(string("topic")?, string("topics")?)?;
    let qos = match object.get("qos") {
        None | Some(Value::Null) => QoS::AtMostOnce,
        Some(Value::Number(n)) => parse_qos(n.as_i64())?,
        Some(Value::String(s)) => parse_qos(s.trim().parse().ok())?,
        Some(_) => return Err(FieldError::new("qos", "expected 0, 1 or 2")),
    };
    let retain = match object.get("retain") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(_) => return Err(FieldError::new("retain", "expected true or false")),
    };
    let text = string("payload")?.unwrap_or_default();
    let payload = match string("encoding")? {
        None | Some("plain") | Some("utf8") | Some("utf-8") => {
            Bytes::copy_from_slice(text.as_bytes())
        }
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Bytes::from)
            .map_err(|e| FieldError::new("payload", format!("invalid base64: {e}")))?,
        Some(other) => {
            return Err(FieldError::new(
                "encoding",
                format!("expected \"plain\" or \"base64\", found {other:?}"),
            ))
        }
    };
    Ok(PublishRequest {
        topics,
        payload,
        qos,
        retain,
        client_id: client_id("client_id", string("client_id")?)?,
    })
}

/// `topic`, else `topics` split on commas; every topic a valid topic name.
fn topics(topic: Option<&str>, topics: Option<&str>) -> Result<Vec<String>, FieldError> {
    let (field, list): (&'static str, Vec<&str>) = match (topic, topics) {
        (Some(t), _) if !t.is_empty() => ("topic", vec![t]),
        (_, Some(ts)) if !ts.is_empty() => ("topics", ts.split(',').map(str::trim).collect()),
        _ => return Err(FieldError::new("topic", "missing: give topic or topics")),
    };
    for topic in &list {
        validate_name(topic).map_err(|e| FieldError::new(field, format!("{e}: {topic:?}")))?;
    }
    Ok(list.into_iter().map(String::from).collect())
}

fn parse_qos(value: Option<i64>) -> Result<QoS, FieldError> {
    value
        .and_then(|v| u8::try_from(v).ok())
        .and_then(QoS::from_u8)
        .ok_or_else(|| FieldError::new("qos", "expected 0, 1 or 2"))
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "0" | "false" => Some(false),
        "1" | "true" => Some(true),
        _ => None,
    }
}

fn client_id(field: &'static str, given: Option<&str>) -> Result<String, FieldError> {
    match given {
        None | Some("") => Ok(DEFAULT_CLIENT.to_string()),
        Some(id) if id.len() > 65_535 => Err(FieldError::new(field, "longer than 65535 bytes")),
        Some(id) => Ok(id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_err(body: &str) -> &'static str {
        from_form(body.as_bytes()).unwrap_err().field
    }

    fn json_err(body: &str) -> &'static str {
        from_json(body.as_bytes()).unwrap_err().field
    }

    #[test]
    fn form_fields_and_defaults() {
        let r = from_form(b"topic=a/b&message=hello+world&qos=2&retain=1&client=c1").unwrap();
        assert_eq!(r.topics, ["a/b"]);
        assert_eq!(r.payload, Bytes::from_static(b"hello world"));
        assert_eq!(r.qos, QoS::ExactlyOnce);
        assert!(r.retain);
        assert_eq!(r.client_id, "c1");
        let r = from_form(b"topics=x%2Fy,%2Fz&message=%00").unwrap();
        assert_eq!(r.topics, ["x/y", "/z"]);
        assert_eq!(r.payload, Bytes::from_static(b"\0"));
        assert_eq!((r.qos, r.retain), (QoS::AtMostOnce, false));
        assert_eq!(r.client_id, DEFAULT_CLIENT);
        assert!(from_form(b"topic=t&retain=false").is_ok());
    }

    #[test]
    fn form_errors_name_the_field() {
        assert_eq!(form_err("message=x"), "topic");
        assert_eq!(form_err("topic="), "topic");
        assert_eq!(form_err("topic=a/%23"), "topic");
        assert_eq!(form_err("topic=a/%2B/b"), "topic");
        assert_eq!(form_err("topics=a,b/#"), "topics");
        assert_eq!(form_err("topics=a,,b"), "topics");
        assert_eq!(form_err("topic=a&qos=3"), "qos");
        assert_eq!(form_err("topic=a&qos=-1"), "qos");
        assert_eq!(form_err("topic=a&qos=one"), "qos");
        assert_eq!(form_err("topic=a&retain=yes"), "retain");
    }

    #[test]
    fn json_fields_and_defaults() {
        let r =
            from_json(br#"{"topic":"a/b","payload":"hi","qos":1,"retain":true,"client_id":"c"}"#)
                .unwrap();
        assert_eq!(r.topics, ["a/b"]);
        assert_eq!(r.payload, Bytes::from_static(b"hi"));
        assert_eq!((r.qos, r.retain), (QoS::AtLeastOnce, true));
        assert_eq!(r.client_id, "c");
        let r = from_json(br#"{"topic":"t","payload":"AAH/","encoding":"base64"}"#).unwrap();
        assert_eq!(r.payload, Bytes::from_static(&[0, 1, 255]));
        assert_eq!(r.client_id, DEFAULT_CLIENT);
        assert_eq!(r.qos, QoS::AtMostOnce);
        let r = from_json(br#"{"topics":"a,b","qos":"2","retain":0}"#).unwrap();
        assert_eq!(r.topics, ["a", "b"]);
        assert_eq!(r.payload, Bytes::new());
        assert_eq!(r.qos, QoS::ExactlyOnce);
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(json_err("not json"), "body");
        assert_eq!(json_err("[1]"), "body");
        assert_eq!(json_err(r#"{"payload":"x"}"#), "topic");
        assert_eq!(json_err(r#"{"topic":5}"#), "topic");
        assert_eq!(json_err(r#"{"topic":"a/#"}"#), "topic");
        assert_eq!(json_err(r#"{"topic":"a","qos":3}"#), "qos");
        assert_eq!(json_err(r#"{"topic":"a","qos":1.5}"#), "qos");
        assert_eq!(json_err(r#"{"topic":"a","qos":true}"#), "qos");
        assert_eq!(json_err(r#"{"topic":"a","retain":"yes"}"#), "retain");
        assert_eq!(
            json_err(r#"{"topic":"a","payload":"!!","encoding":"base64"}"#),
            "payload"
        );
        assert_eq!(json_err(r#"{"topic":"a","encoding":"hex"}"#), "encoding");
        assert_eq!(json_err(r#"{"topic":"a","client_id":1}"#), "client_id");
        let e = from_json(br#"{"topic":"a","qos":3}"#).unwrap_err();
        assert_eq!(e.to_json()["field"], "qos");
        assert_eq!(e.to_json()["code"], 400);
    }
}
