//! Access control: `POST /acl/reload` re-reads `mqtt.acl_file` (all or nothing).

use super::{ok, ApiError, ApiResult, ApiRoute, ApiState};
use actix_web::web;
use serde_json::json;

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::post(
        "/acl/reload",
        "Reload the ACL file; 400 with the file and line when it is bad",
        || web::route().to(reload),
    )]
}

async fn reload(state: web::Data<ApiState>) -> ApiResult {
    match state.core.access.reload_acl() {
        Ok(rules) => ok(json!({"rules": rules})),
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    }
}
