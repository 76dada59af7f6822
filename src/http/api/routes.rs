//! Routes and topics: the distinct subscribed topic filters of the router (paged, `q` on
//! the topic), and one route.

use super::{list_query, ok, param, ApiError, ApiResult, ApiRoute, ApiState};
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get(
            "/routes",
            "List the routes (one per subscribed topic filter)",
            || web::route().to(list),
        )
        .paged(),
        ApiRoute::get(
            "/routes/{topic}",
            "Show the route of a topic filter",
            || web::route().to(show),
        ),
        ApiRoute::get("/topics", "List the topics (same as /routes)", || {
            web::route().to(list)
        })
        .paged(),
    ]
}

fn route_json(topic: &str, node: &str) -> Value {
    json!({"topic": topic, "node": node})
}

async fn list(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    let query = list_query(&req, &[])?;
    let node = state.core.node.to_string();
    let filters: Vec<Value> = state
        .core
        .router
        .index()
        .filters()
        .into_iter()
        .filter(|f| query.matches(&[f]))
        .map(|f| route_json(&f, &node))
        .collect();
    ok(query.page(filters))
}

async fn show(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    let topic = param(&req, "topic")?;
    let index = state.core.router.index();
    let exists = index.filters().contains(&topic);
    if !exists {
        return Err(ApiError::not_found(format!("no route for topic: {topic}")));
    }
    ok(vec![route_json(&topic, &state.core.node)])
}
