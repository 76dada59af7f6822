//! Plugins and their ctl commands over REST (emqttd's `plugins list|load|unload` and plugin
//! `ctl` commands): `GET /plugins`, `PUT /plugins/{name} {"active":bool}`, `GET /commands`,
//! `POST /commands/{name} {"args":[..]}`. The host's calls wait for its arbiter, so they run
//! on the blocking pool, not on the HTTP worker.

use super::{check_node, json_body, ok, param, ApiError, ApiResult, ApiRoute, ApiState};
use crate::plugins::{CommandError, PluginError};
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get(
            "/nodes/{node}/plugins",
            "List the plugins of a node",
            || web::route().to(list),
        ),
        ApiRoute::get("/plugins", "List the plugins", || web::route().to(list)),
        ApiRoute::put(
            "/nodes/{node}/plugins/{name}",
            "Load or unload a plugin of a node",
            || web::route().to(set),
        )
        .body(r#"{"active":true}"#),
        ApiRoute::put("/plugins/{name}", "Load or unload a plugin", || {
            web::route().to(set)
        })
        .body(r#"{"active":true}"#),
        ApiRoute::get("/commands", "List the ctl commands plugins added", || {
            web::route().to(commands)
        }),
        ApiRoute::post("/commands/{name}", "Run a plugin's ctl command", || {
            web::route().to(run)
        })
        .body(r#"{"args":["add","alice","secret"]}"#),
    ]
}

async fn list(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    ok(state.core.plugins.list())
}

/// The API's answer to a host error.
fn plugin_error(error: PluginError) -> ApiError {
    match error {
        PluginError::Unknown(_) => ApiError::not_found(error.to_string()),
        PluginError::AlreadyLoaded(_)
        | PluginError::NotLoaded(_)
        | PluginError::AlreadyLinked(_) => ApiError::conflict(error.to_string()),
        PluginError::LoadFailed { .. } | PluginError::Stopped => {
            ApiError::internal(error.to_string())
        }
    }
}

async fn set(state: web::Data<ApiState>, req: HttpRequest, body: web::Bytes) -> ApiResult {
    check_node(&req, &state)?;
    let name = param(&req, "name")?;
    let body = json_body(&body)?;
    let active = match body.get("active") {
        Some(Value::Bool(active)) => *active,
        _ => return Err(ApiError::bad_request("active: expected true or false")),
    };
    let core = state.core.clone();
    let plugin = name.clone();
    let done = web::block(move || {
        if active {
            core.plugins.load(&plugin)
        } else {
            core.plugins.unload(&plugin)
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("plugin {name}: {e}")))?;
    done.map_err(plugin_error)?;
    log::info!(
        "plugin {name} {} (REST API)",
        if active { "loaded" } else { "unloaded" }
    );
    ok(json!({"name": name, "active": active}))
}

async fn commands(state: web::Data<ApiState>) -> ApiResult {
    ok(state.core.plugins.commands())
}

/// `args`: absent or a list of strings.
fn args(body: &serde_json::Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let bad = || ApiError::bad_request("args: expected a list of strings");
    match body.get("args") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

async fn run(state: web::Data<ApiState>, req: HttpRequest, body: web::Bytes) -> ApiResult {
    let name = param(&req, "name")?;
    let args = args(&json_body(&body)?)?;
    let core = state.core.clone();
    let command = name.clone();
    let done = web::block(move || core.plugins.run_command(&command, &args))
        .await
        .map_err(|e| ApiError::internal(format!("command {name}: {e}")))?;
    match done {
        Ok(output) => ok(json!({ "output": output })),
        Err(error @ CommandError::Unknown(_)) => Err(ApiError::not_found(error.to_string())),
        Err(CommandError::Failed(message)) => Err(ApiError::bad_request(message)),
        Err(error @ CommandError::Crashed(_)) => Err(ApiError::internal(error.to_string())),
    }
}
