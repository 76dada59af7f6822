//! Sessions, connected or persistent and offline: list (paged, `q` on client id and username,
//! `?type=persistent|transient`) and show. A list asks only the session actors of its page,
//! concurrently, each with [`super::ACTOR_TIMEOUT`].

use super::{
    check_node, list_query, ok, param, unix_secs, ApiError, ApiResult, ApiRoute, ApiState,
    ACTOR_TIMEOUT,
};
use crate::session::query::{SessionInfo, SessionSummary};
use crate::session::registry::Registration;
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get(
            "/sessions",
            "List sessions (connected and persistent offline); ?type=persistent|transient",
            || web::route().to(list),
        )
        .paged(),
        ApiRoute::get("/nodes/{node}/sessions", "List a node's sessions", || {
            web::route().to(list)
        })
        .paged(),
        ApiRoute::get("/sessions/{clientid}", "Show a session", || {
            web::route().to(show)
        }),
        ApiRoute::get(
            "/nodes/{node}/sessions/{clientid}",
            "Show a session of a node",
            || web::route().to(show),
        ),
    ]
}

/// The `Session` object.
pub fn session_json(s: &SessionSummary) -> Value {
    json!({
        "client_id": s.client_id.to_string(),
        "clean_sess": s.clean_session,
        "connected": s.connected,
        "max_inflight": s.max_inflight,
        "inflight_len": s.inflight_len,
        "mqueue_len": s.mqueue_len,
        "mqueue_dropped": s.mqueue_dropped,
        "awaiting_rel_len": s.awaiting_rel_len,
        "subscriptions": s.subscriptions,
        "created_at": unix_secs(s.created_at),
    })
}

/// Ask the session actor of `registration` for its counters; `None` when it is gone or does
/// not answer in time.
pub async fn summary(registration: &Registration) -> Option<SessionSummary> {
    registration
        .addr
        .send(SessionInfo)
        .timeout(ACTOR_TIMEOUT)
        .await
        .ok()
        .flatten()
}

/// `?type=`: `Some(true)` persistent only, `Some(false)` transient only.
fn type_filter(req: &HttpRequest) -> Result<Option<bool>, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => Ok(None),
        Some("persistent") => Ok(Some(true)),
        Some("transient") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(format!(
            "type: expected persistent or transient, found {other:?}"
        ))),
    }
}

async fn list(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    let query = list_query(&req, &["client_id"])?;
    let persistent = type_filter(&req)?;
    let mut all: Vec<Registration> = state
        .core
        .sessions
        .snapshot()
        .into_iter()
        .filter(|r| persistent.is_none_or(|p| p != r.client.clean_session))
        .filter(|r| {
            query.matches(&[
                &r.client.client_id,
                r.client.username.as_deref().unwrap_or_default(),
            ])
        })
        .collect();
    all.sort_by(|a, b| a.client.client_id.cmp(&b.client.client_id));
    if query.order == super::paging::Order::Desc {
        all.reverse();
    }
    let page = query.page(all);
    let answers = futures_util::future::join_all(page.objects.iter().map(summary)).await;
    let objects: Vec<Value> = answers.iter().flatten().map(session_json).collect();
    ok(query.page_of(objects, page.total_num))
}

async fn show(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    let client_id = param(&req, "clientid")?;
    let not_found = || ApiError::not_found(format!("no such session: {client_id}"));
    let registration = state.core.sessions.get(&client_id).ok_or_else(not_found)?;
    let summary = summary(&registration).await.ok_or_else(not_found)?;
    ok(session_json(&summary))
}
