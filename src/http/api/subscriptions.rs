//! Subscriptions: of every session (paged, `q` on client id and topic) and of one session.
//!
//! The router indexes subscriptions by an internal session key, not by client id, so the list
//! walks the sessions in client id order and asks their actors, 64 at a time, each with
//! [`super::ACTOR_TIMEOUT`]. Without `q` the walk stops once the page is full and `total_num`
//! is the router's subscription count; with `q` every session is asked.

use super::mqtt::session_of;
use super::paging::ListQuery;
use super::ACTOR_TIMEOUT;
use super::{check_node, list_query, ok, param, ApiError, ApiResult, ApiRoute, ApiState};
use crate::mqtt::packet::QoS;
use crate::session::query::Subscriptions;
use crate::session::registry::Registration;
use actix_web::{web, HttpRequest};
use bytestring::ByteString;
use serde_json::{json, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get(
            "/subscriptions",
            "List the subscriptions of every session",
            || web::route().to(list),
        )
        .paged(),
        ApiRoute::get(
            "/nodes/{node}/subscriptions",
            "List the subscriptions of a node's sessions",
            || web::route().to(list),
        )
        .paged(),
        ApiRoute::get(
            "/subscriptions/{clientid}",
            "List the subscriptions of a session",
            || web::route().to(of_client),
        ),
        ApiRoute::get(
            "/nodes/{node}/subscriptions/{clientid}",
            "List the subscriptions of a session of a node",
            || web::route().to(of_client),
        ),
    ]
}

/// How many session actors a list asks at once.
const BATCH: usize = 64;

fn subscription_json(client_id: &str, topic: &str, qos: QoS) -> Value {
    json!({"client_id": client_id, "topic": topic, "qos": qos as u8})
}

async fn subscriptions_of(registration: &Registration) -> Vec<(ByteString, QoS)> {
    registration
        .addr
        .send(Subscriptions)
        .timeout(ACTOR_TIMEOUT)
        .await
        .unwrap_or_default()
}

/// Walk `sessions` (sorted) collecting the subscriptions `query` matches; stops early once
/// `enough` are collected. Returns them and whether the walk was complete.
async fn collect(
    sessions: &[Registration],
    query: &ListQuery,
    enough: Option<usize>,
) -> (Vec<Value>, bool) {
    let mut found = Vec::new();
    for chunk in sessions.chunks(BATCH) {
        if enough.is_some_and(|n| found.len() >= n) {
            return (found, false);
        }
        let answers = futures_util::future::join_all(chunk.iter().map(subscriptions_of)).await;
        for (registration, subscriptions) in chunk.iter().zip(answers) {
            let client_id = &registration.client.client_id;
            for (topic, qos) in subscriptions {
                if query.matches(&[client_id, &topic]) {
                    found.push(subscription_json(client_id, &topic, qos));
                }
            }
        }
    }
    (found, true)
}

async fn list(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    let query = list_query(&req, &[])?;
    let mut sessions = state.core.sessions.snapshot();
    sessions.sort_by(|a, b| a.client.client_id.cmp(&b.client.client_id));
    let enough = match query.q {
        None => Some(query.offset().saturating_add(query.limit)),
        Some(_) => None,
    };
    let (found, complete) = collect(&sessions, &query, enough).await;
    let total = if complete {
        found.len()
    } else {
        state
            .core
            .router
            .index()
            .subscription_count()
            .max(found.len())
    };
    let objects: Vec<Value> = found
        .into_iter()
        .skip(query.offset())
        .take(query.limit)
        .collect();
    ok(query.page_of(objects, total))
}

async fn of_client(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    let client_id = param(&req, "clientid")?;
    let registration = session_of(&state, &client_id)?;
    let subscriptions = registration
        .addr
        .send(Subscriptions)
        .timeout(ACTOR_TIMEOUT)
        .await
        .map_err(|_| ApiError::not_found(format!("no such session: {client_id}")))?;
    let list: Vec<Value> = subscriptions
        .iter()
        .map(|(topic, qos)| subscription_json(&client_id, topic, *qos))
        .collect();
    ok(list)
}
