//! Retained messages: list (paged, `q` on the topic), show and delete one. A payload is shown
//! as text when it is UTF-8, else as base64 (`payload_encoding`).

use super::{list_query, ok, ok_empty, param, unix_secs, ApiError, ApiResult, ApiRoute, ApiState};
use crate::broker::Message;
use actix_web::{web, HttpRequest};
use base64::Engine;
use serde_json::{json, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/retained", "List retained messages", || {
            web::route().to(list)
        })
        .paged(),
        ApiRoute::get(
            "/retained/{topic}",
            "Show the retained message of a topic",
            || web::route().to(show),
        ),
        ApiRoute::delete(
            "/retained/{topic}",
            "Delete the retained message of a topic",
            || web::route().to(remove),
        ),
    ]
}

/// The retained message object.
pub fn retained_json(message: &Message) -> Value {
    let (payload, encoding) = match std::str::from_utf8(&message.payload) {
        Ok(text) => (text.to_string(), "plain"),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&message.payload),
            "base64",
        ),
    };
    json!({
        "topic": message.topic.to_string(),
        "payload": payload,
        "payload_encoding": encoding,
        "qos": message.qos as u8,
        "from": message.from.to_string(),
        "ts": unix_secs(message.timestamp),
        "size": message.payload.len(),
    })
}

async fn list(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    let query = list_query(&req, &[])?;
    let all: Vec<_> = state
        .core
        .retainer
        .all()
        .into_iter()
        .filter(|m| query.matches(&[&m.topic]))
        .collect();
    let page = query.page(all);
    let objects: Vec<Value> = page.objects.iter().map(|m| retained_json(m)).collect();
    ok(query.page_of(objects, page.total_num))
}

async fn show(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    let topic = param(&req, "topic")?;
    match state.core.retainer.get(&topic) {
        Some(message) => ok(retained_json(&message)),
        None => Err(ApiError::not_found(format!(
            "no retained message on topic: {topic}"
        ))),
    }
}

async fn remove(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    let topic = param(&req, "topic")?;
    if state.core.retainer.delete(&topic) {
        ok_empty()
    } else {
        Err(ApiError::not_found(format!(
            "no retained message on topic: {topic}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::packet::QoS;

    #[test]
    fn payloads_are_text_or_base64() {
        let text = Message::new(
            "c".into(),
            "t".into(),
            "héllo".into(),
            QoS::AtLeastOnce,
            true,
        );
        let json = retained_json(&text);
        assert_eq!(json["payload"], "héllo");
        assert_eq!(json["payload_encoding"], "plain");
        assert_eq!(json["size"], 6);
        assert_eq!(json["qos"], 1);
        let binary = Message::new(
            "c".into(),
            "t".into(),
            bytes::Bytes::from_static(&[0, 255]),
            QoS::AtMostOnce,
            true,
        );
        let json = retained_json(&binary);
        assert_eq!(json["payload"], "AP8=");
        assert_eq!(json["payload_encoding"], "base64");
    }
}
