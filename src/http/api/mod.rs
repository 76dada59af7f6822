//! The REST API v2 (`/api/v2`, emqttd's emq_dashboard / emqttd_rest API) on the `[http]`
//! listener: one route table ([`routes`]) both mounts the handlers and documents them
//! (`GET /api/v2/openapi.json`), so the two cannot drift.
//!
//! # Conventions for handlers (also for `plugins.rs`)
//!
//! - A module `foo.rs` exposes `pub fn routes() -> Vec<ApiRoute>`; [`routes`] concatenates
//!   them. A route is `ApiRoute::get("/path/{param}", "summary", || web::route().to(handler))`
//!   (`post`/`put`/`delete` alike), optionally `.paged()`, `.public()` (no Basic auth),
//!   `.body(r#"{"example":1}"#)` (a request body example for the OpenAPI description).
//!   Paths are relative to `/api/v2`; the method comes from the table, not from the closure.
//! - A handler is `async fn(state: web::Data<ApiState>, req: HttpRequest, ...) -> ApiResult`
//!   and answers with [`reply::ok`] (`{"code":0,"result":..}`) or an [`ApiError`]
//!   (`{"code":<status>,"message":..}` with that HTTP status).
//! - Basic auth against the admin users is checked by [`auth`]'s middleware for every route
//!   not marked `.public()`; handlers do not check it again.
//! - Path parameters: [`param`] (percent-decoded, so `a%2Fb` is `a/b`); `{node}` is checked
//!   with [`check_node`] (another node name is 404). List parameters: [`list_query`]
//!   (`_page`, `_limit`, `q`, `_sort`, `_order`; 400 naming the parameter) and
//!   [`paging::ListQuery::page`]. JSON bodies: [`json_body`] (400 when not a JSON object).

pub mod acl;
pub mod admins;
pub mod auth;
pub mod clients;
pub mod modules;
pub mod mqtt;
pub mod node;
pub mod openapi;
pub mod paging;
pub mod plugins;
pub mod procstat;
pub mod prometheus;
pub mod reply;
pub mod retained;
pub mod routes;
pub mod sessions;
pub mod subscriptions;
pub mod users;

use crate::broker::BrokerCore;
use crate::sys::stats::Stats;
use actix_web::http::Method;
use actix_web::{web, HttpRequest};
use admins::AdminStore;
pub use reply::{ok, ok_empty, ApiError, ApiResult};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The mount point of the API.
pub const PREFIX: &str = "/api/v2";

/// How long a handler waits for one session actor to answer.
pub const ACTOR_TIMEOUT: Duration = Duration::from_secs(2);

/// What every handler gets as `web::Data<ApiState>`.
pub struct ApiState {
    pub core: Arc<BrokerCore>,
    pub admins: Arc<AdminStore>,
    /// The previous CPU sample, for `cpu_usage` "since the last call".
    pub cpu: Mutex<Option<procstat::CpuSample>>,
    /// The gauges with the high-water marks seen by the API.
    pub stats: Mutex<Stats>,
}

impl ApiState {
    pub fn new(core: Arc<BrokerCore>, admins: Arc<AdminStore>) -> ApiState {
        ApiState {
            core,
            admins,
            cpu: Mutex::new(None),
            stats: Mutex::new(Stats::default()),
        }
    }
}

/// One route of the API: how it is mounted and how it is documented.
#[derive(Clone)]
pub struct ApiRoute {
    pub method: Method,
    /// Relative to [`PREFIX`], with `{name}` path parameters.
    pub path: &'static str,
    pub summary: &'static str,
    /// False for the routes open without Basic auth.
    pub auth: bool,
    /// True for lists answered as a page (`_page`, `_limit`, `q`).
    pub paged: bool,
    /// An example request body (JSON text), if the route takes one.
    pub body: Option<&'static str>,
    /// Builds the actix route (the method guard is added from `method`).
    pub handler: fn() -> actix_web::Route,
}

impl ApiRoute {
    pub fn new(
        method: Method,
        path: &'static str,
        summary: &'static str,
        handler: fn() -> actix_web::Route,
    ) -> ApiRoute {
        ApiRoute {
            method,
            path,
            summary,
            auth: true,
            paged: false,
            body: None,
            handler,
        }
    }

    pub fn get(path: &'static str, summary: &'static str, h: fn() -> actix_web::Route) -> Self {
        ApiRoute::new(Method::GET, path, summary, h)
    }

    pub fn post(path: &'static str, summary: &'static str, h: fn() -> actix_web::Route) -> Self {
        ApiRoute::new(Method::POST, path, summary, h)
    }

    pub fn put(path: &'static str, summary: &'static str, h: fn() -> actix_web::Route) -> Self {
        ApiRoute::new(Method::PUT, path, summary, h)
    }

    pub fn delete(path: &'static str, summary: &'static str, h: fn() -> actix_web::Route) -> Self {
        ApiRoute::new(Method::DELETE, path, summary, h)
    }

    pub fn paged(mut self) -> Self {
        self.paged = true;
        self
    }

    pub fn public(mut self) -> Self {
        self.auth = false;
        self
    }

    pub fn body(mut self, example: &'static str) -> Self {
        self.body = Some(example);
        self
    }

    /// The full path, e.g. `/api/v2/clients/{clientid}`.
    pub fn full_path(&self) -> String {
        format!("{PREFIX}{}", self.path)
    }
}

/// The whole route table, in documentation order.
pub fn routes() -> Vec<ApiRoute> {
    let mut all = Vec::new();
    all.extend(node::routes());
    all.extend(clients::routes());
    all.extend(sessions::routes());
    all.extend(subscriptions::routes());
    all.extend(mqtt::routes());
    all.extend(routes::routes());
    all.extend(retained::routes());
    all.extend(plugins::routes());
    all.extend(modules::routes());
    all.extend(acl::routes());
    all.extend(auth::routes());
    all.extend(users::routes());
    all.extend(prometheus::routes());
    all.extend(openapi::routes());
    all
}

/// Mount `/api/v2` (every route of [`routes`], Basic auth, a JSON 404 for unknown routes and
/// a JSON 405 for a known path with another method). The caller adds `web::Data<ApiState>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let table = routes();
    let mut scope = web::scope(PREFIX)
        .wrap(actix_web::middleware::from_fn(auth::require_admin))
        .default_service(web::to(not_found));
    let mut paths: Vec<&'static str> = Vec::new();
    for route in &table {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    for path in paths {
        let mut resource = web::resource(path).default_service(web::to(method_not_allowed));
        for route in table.iter().filter(|r| r.path == path) {
            resource = resource.route((route.handler)().method(route.method.clone()));
        }
        scope = scope.service(resource);
    }
    cfg.service(scope);
}

async fn not_found(req: HttpRequest) -> ApiResult {
    Err(ApiError::not_found(format!(
        "no such route: {} {}",
        req.method(),
        req.path()
    )))
}

async fn method_not_allowed(req: HttpRequest) -> ApiResult {
    Err(ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("method {} not allowed on {}", req.method(), req.path()),
    ))
}

/// The percent-decoded path parameter `name` (400 if missing or not UTF-8).
pub fn param(req: &HttpRequest, name: &str) -> Result<String, ApiError> {
    let raw = req
        .match_info()
        .get(name)
        .ok_or_else(|| ApiError::bad_request(format!("{name}: missing path parameter")))?;
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::bad_request(format!("{name}: not UTF-8 once decoded")))
}

/// 404 unless the `{node}` path parameter, when the route has one, is this node's name.
pub fn check_node(req: &HttpRequest, state: &ApiState) -> Result<(), ApiError> {
    match req.match_info().get("node") {
        None => Ok(()),
        Some(_) => {
            let node = param(req, "node")?;
            if node == *state.core.node {
                Ok(())
            } else {
                Err(ApiError::not_found(format!("no such node: {node}")))
            }
        }
    }
}

/// The list parameters of the request's query string (400 naming a bad one).
pub fn list_query(req: &HttpRequest, sortable: &[&str]) -> Result<paging::ListQuery, ApiError> {
    paging::ListQuery::parse(req.query_string(), sortable).map_err(ApiError::bad_request)
}

/// The request body as a JSON object (400 otherwise).
pub fn json_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("body: expected a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("body: not JSON: {e}"))),
    }
}

/// A string field of a JSON body: `Ok(None)` when absent or null, 400 when not a string.
pub fn str_field<'a>(
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("{field}: expected a string"))),
    }
}

/// A required non-empty string field of a JSON body (400 naming it).
pub fn required_str<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match str_field(body, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::bad_request(format!("{field}: missing"))),
    }
}

/// Seconds since the Unix epoch of `time` (0 before the epoch).
pub fn unix_secs(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
