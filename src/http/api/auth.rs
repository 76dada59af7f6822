//! HTTP Basic auth of the REST API against the admin users (middleware over `/api/v2`,
//! skipping the routes marked `.public()`), and `POST /auth` (the dashboard's login check).

use super::{json_body, ok_empty, required_str, ApiError, ApiResult, ApiRoute, ApiState};
use crate::http::auth::basic_credentials;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest};
use std::sync::OnceLock;

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::post(
        "/auth",
        "Check an admin's username and password (no Basic auth needed)",
        || web::route().to(login),
    )
    .public()
    .body(r#"{"username":"admin","password":"public"}"#)]
}

/// True when the `Authorization` header names an admin with the right password.
pub fn authorized(req: &HttpRequest, state: &ApiState) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_credentials)
        .is_some_and(|(user, password)| state.admins.check(&user, &password))
}

/// 401 unless [`authorized`].
pub fn require(req: &HttpRequest, state: &ApiState) -> Result<(), ApiError> {
    if authorized(req, state) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// The `(method, full path)` of the routes open without auth (none has path parameters).
fn public_routes() -> &'static [(Method, String)] {
    static PUBLIC: OnceLock<Vec<(Method, String)>> = OnceLock::new();
    PUBLIC.get_or_init(|| {
        super::routes()
            .into_iter()
            .filter(|r| !r.auth)
            .map(|r| (r.method.clone(), r.full_path()))
            .collect()
    })
}

/// The middleware: public routes pass, every other request needs Basic auth.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let public = public_routes()
        .iter()
        .any(|(method, path)| method == req.method() && path == req.path());
    if !public {
        let state = req
            .app_data::<web::Data<ApiState>>()
            .ok_or_else(|| ApiError::internal("the API state is not configured"))?;
        require(req.request(), state)?;
    }
    next.call(req).await
}

/// `POST /auth {"username","password"}` → `{}` or 401.
async fn login(state: web::Data<ApiState>, body: web::Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let username = required_str(&body, "username")?;
    let password = required_str(&body, "password")?;
    if state.admins.check(username, password) {
        ok_empty()
    } else {
        Err(ApiError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "username or password is wrong",
        ))
    }
}
