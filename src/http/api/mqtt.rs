//! MQTT actions over HTTP: `POST /mqtt/publish` (also emqttd_http's form API at
//! `/mqtt/publish`), and subscribe/unsubscribe on a connected client's behalf.

use super::{json_body, ok_empty, required_str, ApiError, ApiResult, ApiRoute, ApiState};
use crate::broker::Message;
use crate::http::publish::{self, FieldError, PublishRequest};
use crate::mqtt::packet::QoS;
use crate::mqtt::topic::validate_filter;
use crate::session::query::{Subscriptions, UnsubscribeOnBehalf};
use crate::session::registry::Registration;
use crate::session::SubscribeOnBehalf;
use actix_web::{web, HttpRequest, HttpResponse};
use bytestring::ByteString;
use serde_json::{json, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::post("/mqtt/publish", "Publish a message", || {
            web::route().to(publish_json)
        })
        .body(r#"{"topic":"a/b","payload":"hello","qos":1,"retain":false,"client_id":"http"}"#),
        ApiRoute::post(
            "/mqtt/subscribe",
            "Subscribe a connected client to a topic filter",
            || web::route().to(subscribe),
        )
        .body(r#"{"client_id":"c1","topic":"a/#","qos":1}"#),
        ApiRoute::post(
            "/mqtt/unsubscribe",
            "Unsubscribe a client from a topic filter",
            || web::route().to(unsubscribe),
        )
        .body(r#"{"client_id":"c1","topic":"a/#"}"#),
    ]
}

async fn publish_json(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ApiState>,
) -> HttpResponse {
    publish_with(&req, &state, publish::from_json(&body))
}

/// Publish a parsed request (the caller's Basic auth is checked here too, for the form API
/// outside `/api/v2`); a bad request is 400 `{"code":400,"field":..,"message":..}`.
pub fn publish_with(
    req: &HttpRequest,
    state: &ApiState,
    parsed: Result<PublishRequest, FieldError>,
) -> HttpResponse {
    if let Err(e) = super::auth::require(req, state) {
        return actix_web::ResponseError::error_response(&e);
    }
    let request = match parsed {
        Ok(request) => request,
        Err(error) => return HttpResponse::BadRequest().json(error.to_json()),
    };
    let mut delivered = 0;
    for topic in &request.topics {
        let message = Message::new(
            request.client_id.clone().into(),
            topic.clone().into(),
            request.payload.clone(),
            request.qos,
            request.retain,
        );
        delivered += state.core.publish(message, None).delivered;
    }
    log::debug!(
        "http publish from {:?} by client {} to {:?} (qos {}, retain {}): {} deliveries",
        req.peer_addr(),
        request.client_id,
        request.topics,
        request.qos as u8,
        request.retain,
        delivered
    );
    HttpResponse::Ok().json(json!({
        "code": 0,
        "result": {"topics": request.topics, "delivered": delivered}
    }))
}

/// The registration of `client_id` (404 when there is no session).
pub fn session_of(state: &ApiState, client_id: &str) -> Result<Registration, ApiError> {
    state
        .core
        .sessions
        .get(client_id)
        .ok_or_else(|| ApiError::not_found(format!("no such session: {client_id}")))
}

/// The `qos` field: absent = 0; 0, 1 or 2 (number or string) else 400.
fn qos_field(body: &serde_json::Map<String, Value>) -> Result<QoS, ApiError> {
    let bad = || ApiError::bad_request("qos: expected 0, 1 or 2");
    let n = match body.get("qos") {
        None | Some(Value::Null) => return Ok(QoS::AtMostOnce),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    u8::try_from(n).ok().and_then(QoS::from_u8).ok_or_else(bad)
}

fn topic_field(body: &serde_json::Map<String, Value>) -> Result<ByteString, ApiError> {
    let topic = required_str(body, "topic")?;
    validate_filter(topic).map_err(|e| ApiError::bad_request(format!("topic: {e}: {topic:?}")))?;
    Ok(ByteString::from(topic))
}

async fn subscribe(state: web::Data<ApiState>, body: web::Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let client_id = required_str(&body, "client_id")?;
    let topic = topic_field(&body)?;
    let qos = qos_field(&body)?;
    let session = session_of(&state, client_id)?;
    if !session.online {
        return Err(ApiError::not_found(format!(
            "client {client_id} is not connected"
        )));
    }
    let gone = || ApiError::not_found(format!("no such session: {client_id}"));
    let subscribe = SubscribeOnBehalf {
        topics: vec![(topic.clone(), qos)],
    };
    session.addr.send(subscribe).await.map_err(|_| gone())?;
    // The actor answers this after the routes of the subscription are in place.
    let subscriptions = session.addr.send(Subscriptions).await.map_err(|_| gone())?;
    if !subscriptions.iter().any(|(f, _)| *f == topic) {
        return Err(ApiError::conflict(format!(
            "client {client_id} could not subscribe to {topic} (not connected, or \
             mqtt.session.max_subscriptions reached)"
        )));
    }
    ok_empty()
}

async fn unsubscribe(state: web::Data<ApiState>, body: web::Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let client_id = required_str(&body, "client_id")?;
    let topic = topic_field(&body)?;
    let session = session_of(&state, client_id)?;
    session
        .addr
        .send(UnsubscribeOnBehalf {
            filters: vec![topic],
        })
        .await
        .map_err(|_| ApiError::not_found(format!("no such session: {client_id}")))?;
    ok_empty()
}
