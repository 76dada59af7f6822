//! Connected clients: list (paged, `q` on client id and username, `_sort` on client_id,
//! username or connected_at), show, kick, and clear a client's ACL cache.

use super::mqtt::session_of;
use super::paging::Order;
use super::{
    check_node, list_query, ok, ok_empty, param, unix_secs, ApiError, ApiResult, ApiRoute, ApiState,
};
use crate::hooks::Client;
use crate::session::query::{CleanAclCache, Kick};
use crate::session::registry::Registration;
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/clients", "List connected clients", || {
            web::route().to(list)
        })
        .paged(),
        ApiRoute::get(
            "/nodes/{node}/clients",
            "List a node's connected clients",
            || web::route().to(list),
        )
        .paged(),
        ApiRoute::get("/clients/{clientid}", "Show a connected client", || {
            web::route().to(show)
        }),
        ApiRoute::get(
            "/nodes/{node}/clients/{clientid}",
            "Show a connected client of a node",
            || web::route().to(show),
        ),
        ApiRoute::delete(
            "/clients/{clientid}",
            "Kick a client: close its connection (a persistent session stays)",
            || web::route().to(kick),
        ),
        ApiRoute::put(
            "/clients/{clientid}/clean_acl_cache",
            "Clear a client's ACL cache",
            || web::route().to(clean_acl_cache),
        ),
    ]
}

/// Fields `_sort` accepts.
const SORTABLE: [&str; 3] = ["client_id", "username", "connected_at"];

/// The `Client` object.
pub fn client_json(client: &Client) -> Value {
    json!({
        "client_id": client.client_id.to_string(),
        "username": client.username.as_ref().map(|u| u.to_string()),
        "ipaddress": client.peer.ip().to_string(),
        "port": client.peer.port(),
        "clean_sess": client.clean_session,
        "proto_ver": client.protocol,
        "keepalive": client.keep_alive,
        "connected_at": unix_secs(client.connected_at),
        "listener": client.listener.to_string(),
    })
}

async fn list(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    let query = list_query(&req, &SORTABLE)?;
    let mut clients: Vec<_> = state
        .core
        .sessions
        .snapshot()
        .into_iter()
        .filter(|r| r.online)
        .map(|r| r.client)
        .filter(|c| query.matches(&[&c.client_id, c.username.as_deref().unwrap_or_default()]))
        .collect();
    match query.sort.as_deref() {
        Some("username") => {
            clients.sort_by(|a, b| (&a.username, &a.client_id).cmp(&(&b.username, &b.client_id)))
        }
        Some("connected_at") => clients
            .sort_by(|a, b| (a.connected_at, &a.client_id).cmp(&(b.connected_at, &b.client_id))),
        _ => clients.sort_by(|a, b| a.client_id.cmp(&b.client_id)),
    }
    if query.order == Order::Desc {
        clients.reverse();
    }
    let page = query.page(clients);
    ok(super::paging::Page {
        objects: page
            .objects
            .iter()
            .map(|c| client_json(c))
            .collect::<Vec<_>>(),
        current_page: page.current_page,
        page_size: page.page_size,
        total_num: page.total_num,
        total_page: page.total_page,
    })
}

/// The registration of the connected client `client_id` (404 otherwise).
pub fn connected(state: &ApiState, client_id: &str) -> Result<Registration, ApiError> {
    match state.core.sessions.get(client_id) {
        Some(r) if r.online => Ok(r),
        _ => Err(ApiError::not_found(format!("no such client: {client_id}"))),
    }
}

async fn show(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    let registration = connected(&state, &param(&req, "clientid")?)?;
    ok(client_json(&registration.client))
}

async fn kick(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    let client_id = param(&req, "clientid")?;
    let registration = connected(&state, &client_id)?;
    let kicked = registration.addr.send(Kick).await.unwrap_or(false);
    if !kicked {
        return Err(ApiError::not_found(format!("no such client: {client_id}")));
    }
    ok_empty()
}

async fn clean_acl_cache(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    let client_id = param(&req, "clientid")?;
    let registration = session_of(&state, &client_id)?;
    let cleaned = registration.addr.send(CleanAclCache).await.unwrap_or(false);
    if !cleaned {
        return Err(ApiError::not_found(format!("no such client: {client_id}")));
    }
    ok_empty()
}
