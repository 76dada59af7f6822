//! The HTTP listener (`[http]`, emqttd_http / emq_dashboard's listener) on actix-web: the REST
//! API v2 under `/api/v2` ([`api`]), the HTTP publish API (`POST /mqtt/publish`), Prometheus
//! (`GET /metrics`), `GET /status` without auth, and the dashboard's files at `/`.

pub mod api;
pub mod auth;
pub mod docroot;
pub mod publish;

use crate::broker::BrokerCore;
use crate::listener::tcp::BoundTcp;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use api::admins::AdminStore;
use api::ApiState;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// The admins file: `[http] admins_file`, or `<node.data_dir>/admins.json`.
pub fn admins_path(core: &BrokerCore) -> PathBuf {
    let configured = &core.config.http.admins_file;
    if configured.as_os_str().is_empty() {
        core.config.node.data_dir.join("admins.json")
    } else {
        configured.clone()
    }
}

/// Build the HTTP server on its bound socket.
pub fn server(
    bound: BoundTcp,
    core: Arc<BrokerCore>,
    workers: usize,
) -> io::Result<actix_server::Server> {
    let body_limit = core.config.mqtt.max_packet_size.saturating_mul(2);
    let admins = AdminStore::open(&admins_path(&core), &core.config.http.users)
        .map_err(|e| io::Error::other(format!("http admins_file: {e}")))?;
    let root = docroot::locate(&core.config.http.docroot);
    if root.is_none() {
        log::warn!(
            "http: dashboard assets not found at {} (http.docroot)",
            core.config.http.docroot.display()
        );
    }
    let state = web::Data::new(ApiState::new(core, Arc::new(admins)));
    let root = web::Data::new(docroot::DocRoot(root));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(root.clone())
            .app_data(web::PayloadConfig::new(body_limit))
            .route("/status", web::get().to(status))
            .route("/mqtt/publish", web::post().to(publish_form))
            .route("/metrics", web::get().to(api::prometheus::scrape))
            .configure(api::configure)
            .default_service(web::to(docroot::serve))
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(bound.listener)?;
    Ok(server.run())
}

/// `GET /status`: emqttd's node status line, no auth.
async fn status(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "Node {} is started\nemqttd is running\n",
            state.core.node
        ))
}

/// `POST /mqtt/publish` (emqttd_http's form API), Basic auth against the admins.
async fn publish_form(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ApiState>,
) -> HttpResponse {
    api::mqtt::publish_with(&req, &state, publish::from_form(&body))
}
