//! The HTTP listener (`[http]`, emqttd_http / emq_dashboard's listener) on actix-web: the HTTP
//! publish API (`POST /mqtt/publish`, `POST /api/v2/mqtt/publish`) behind HTTP Basic auth, and
//! `GET /status` without. The REST API and the dashboard will be served here too.

pub mod auth;
pub mod publish;

use crate::broker::{BrokerCore, Message};
use crate::listener::tcp::BoundTcp;
use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use publish::{FieldError, PublishRequest};
use std::io;
use std::sync::Arc;

#[derive(Clone)]
struct HttpState {
    core: Arc<BrokerCore>,
}

/// Build the HTTP server on its bound socket.
pub fn server(
    bound: BoundTcp,
    core: Arc<BrokerCore>,
    workers: usize,
) -> io::Result<actix_server::Server> {
    let body_limit = core.config.mqtt.max_packet_size.saturating_mul(2);
    let state = HttpState { core };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::PayloadConfig::new(body_limit))
            .route("/status", web::get().to(status))
            .route("/mqtt/publish", web::post().to(publish_form))
            .route("/api/v2/mqtt/publish", web::post().to(publish_json))
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(bound.listener)?;
    Ok(server.run())
}

/// `GET /status`: emqttd's node status line, no auth.
async fn status(state: web::Data<HttpState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "Node {} is started\nemqttd is running\n",
            state.core.node
        ))
}

async fn publish_form(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<HttpState>,
) -> HttpResponse {
    publish_with(&req, &state, publish::from_form(&body))
}

async fn publish_json(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<HttpState>,
) -> HttpResponse {
    publish_with(&req, &state, publish::from_json(&body))
}

fn publish_with(
    req: &HttpRequest,
    state: &HttpState,
    parsed: Result<PublishRequest, FieldError>,
) -> HttpResponse {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !auth::authorized(header, &state.core.config.http.users) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"emqttd\""))
            .json(serde_json::json!({"code": 401, "message": "unauthorized"}));
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
    HttpResponse::Ok().json(serde_json::json!({
        "code": 0,
        "result": {"topics": request.topics, "delivered": delivered}
    }))
}
