//! Built-in modules: list them, and load or unload one at run time (`PUT /modules/{name}
//! {"enabled":true|false}`), keeping `core.modules` the list of loaded modules. Loading
//! happens on the broker's system arbiter, where the boot list loads them.

use super::{json_body, ok, param, ApiError, ApiResult, ApiRoute, ApiState};
use crate::broker::BrokerCore;
use crate::modules::{build, Module, BUILT_IN};
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/modules", "List the built-in modules", || {
            web::route().to(list)
        }),
        ApiRoute::put(
            "/modules/{name}",
            "Enable or disable a built-in module",
            || web::route().to(set),
        )
        .body(r#"{"enabled":true}"#),
    ]
}

fn loaded(core: &BrokerCore, name: &str) -> bool {
    core.modules
        .lock()
        .map(|m| m.iter().any(|m| m.name() == name))
        .unwrap_or(false)
}

async fn list(state: web::Data<ApiState>) -> ApiResult {
    let list: Vec<Value> = BUILT_IN
        .iter()
        .map(|(name, description)| {
            json!({"name": name, "description": description,
                   "enabled": loaded(&state.core, name)})
        })
        .collect();
    ok(list)
}

/// Load `module` on the system arbiter (its actors then live as long as the broker).
async fn load_on_system(
    core: Arc<BrokerCore>,
    mut module: Box<dyn Module>,
) -> Result<Box<dyn Module>, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    actix::System::current().arbiter().spawn(async move {
        let result = module.load(&core).map(|()| module);
        let _ = tx.send(result);
    });
    rx.await.map_err(|_| "the broker is stopping".to_string())?
}

async fn set(state: web::Data<ApiState>, req: HttpRequest, body: web::Bytes) -> ApiResult {
    let name = param(&req, "name")?;
    let body = json_body(&body)?;
    let enabled = match body.get("enabled") {
        Some(Value::Bool(b)) => *b,
        _ => return Err(ApiError::bad_request("enabled: expected true or false")),
    };
    let core = state.core.clone();
    let module = build(&name, &core.config.module)
        .ok_or_else(|| ApiError::not_found(format!("no such module: {name}")))?;
    if enabled && !loaded(&core, &name) {
        let module = load_on_system(core.clone(), module)
            .await
            .map_err(|why| ApiError::internal(format!("module {name} not loaded: {why}")))?;
        let mut modules = core.modules.lock().unwrap_or_else(|p| p.into_inner());
        if modules.iter().any(|m| m.name() == name) {
            let mut module = module;
            module.unload(&core);
        } else {
            log::info!("module {name} loaded (REST API)");
            modules.push(module);
        }
    } else if !enabled {
        let removed = {
            let mut modules = core.modules.lock().unwrap_or_else(|p| p.into_inner());
            modules
                .iter()
                .position(|m| m.name() == name)
                .map(|i| modules.remove(i))
        };
        if let Some(mut module) = removed {
            module.unload(&core);
            log::info!("module {name} unloaded (REST API)");
        }
    }
    ok(json!({"name": name, "enabled": loaded(&core, &name)}))
}
