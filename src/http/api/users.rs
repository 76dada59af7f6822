//! Admin users: `GET/POST /users`, `PUT/DELETE /users/{name}` (tags, password reset),
//! `PUT /change_pwd/{name}` (a user changing its own password with the old one).

use super::admins::{AdminError, DEFAULT_TAGS};
use super::{
    json_body, ok, ok_empty, param, required_str, str_field, ApiError, ApiResult, ApiRoute,
    ApiState,
};
use actix_web::{web, HttpRequest};
use serde_json::json;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/users", "List the admin users", || web::route().to(list)),
        ApiRoute::post("/users", "Add an admin user", || web::route().to(add))
            .body(r#"{"username":"alice","password":"secret","tags":"viewer"}"#),
        ApiRoute::put(
            "/users/{name}",
            "Change an admin user's tags and/or reset its password",
            || web::route().to(update),
        )
        .body(r#"{"tags":"operator","password":"n3w-secret"}"#),
        ApiRoute::delete(
            "/users/{name}",
            "Delete an admin user (not the last one)",
            || web::route().to(remove),
        ),
        ApiRoute::put(
            "/change_pwd/{name}",
            "Change an admin user's password",
            || web::route().to(change_password),
        )
        .body(r#"{"old_pwd":"public","new_pwd":"s3cret"}"#),
    ]
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> ApiError {
        match e {
            AdminError::NotFound(m) => ApiError::not_found(m),
            AdminError::Exists(m) => ApiError::conflict(m),
            AdminError::Invalid(m) => ApiError::bad_request(m),
            AdminError::WrongPassword => ApiError::bad_request("old_pwd: wrong password"),
            AdminError::Io(m) => ApiError::internal(m),
        }
    }
}

async fn list(state: web::Data<ApiState>) -> ApiResult {
    let users: Vec<_> = state
        .admins
        .list()
        .into_iter()
        .map(|(username, tags)| json!({"username": username, "tags": tags}))
        .collect();
    ok(users)
}

async fn add(state: web::Data<ApiState>, body: web::Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let username = required_str(&body, "username")?;
    let password = required_str(&body, "password")?;
    let tags = str_field(&body, "tags")?.unwrap_or(DEFAULT_TAGS);
    state.admins.add(username, password, tags)?;
    ok_empty()
}

async fn update(state: web::Data<ApiState>, req: HttpRequest, body: web::Bytes) -> ApiResult {
    let name = param(&req, "name")?;
    let body = json_body(&body)?;
    let tags = str_field(&body, "tags")?;
    let password = str_field(&body, "password")?;
    if tags.is_none() && password.is_none() {
        return Err(ApiError::bad_request("tags or password: one is needed"));
    }
    if let Some(password) = password {
        state.admins.set_password(&name, password)?;
    }
    if let Some(tags) = tags {
        state.admins.set_tags(&name, tags)?;
    }
    ok_empty()
}

async fn remove(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    state.admins.delete(&param(&req, "name")?)?;
    ok_empty()
}

async fn change_password(
    state: web::Data<ApiState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult {
    let name = param(&req, "name")?;
    let body = json_body(&body)?;
    let old = str_field(&body, "old_pwd")?.unwrap_or_default();
    let new = required_str(&body, "new_pwd")?;
    state.admins.change_password(&name, old, new)?;
    ok_empty()
}
