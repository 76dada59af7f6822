//! The OpenAPI 3 description of the REST API, generated from the route table
//! (`GET /api/v2/openapi.json`, no auth).

use super::{ApiRoute, ApiState, PREFIX};
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::get(
        "/openapi.json",
        "This OpenAPI 3 description (no auth)",
        || web::route().to(serve),
    )
    .public()]
}

async fn serve(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(document(&super::routes(), &state.core.node))
}

/// The path parameters of `path` (`{name}` segments), in order.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn parameter(name: &str, location: &str, description: &str, required: bool) -> Value {
    json!({"name": name, "in": location, "required": required,
           "description": description, "schema": {"type": "string"}})
}

/// The whole document for `routes`.
pub fn document(routes: &[ApiRoute], node: &str) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in routes {
        let mut params: Vec<Value> = path_params(route.path)
            .into_iter()
            .map(|p| {
                let what = match p {
                    "node" => format!("the node name ({node})"),
                    "clientid" | "topic" => format!("the {p}, percent-encoded"),
                    other => format!("the {other}"),
                };
                parameter(p, "path", &what, true)
            })
            .collect();
        if route.paged {
            for (name, what) in [
                ("_page", "page number, 1-based (synonym curr_page)"),
                (
                    "_limit",
                    "page size, default 20, max 1000 (synonym page_size)",
                ),
                ("q", "case-insensitive substring search"),
                ("_sort", "field to sort on"),
                ("_order", "asc or desc"),
            ] {
                params.push(parameter(name, "query", what, false));
            }
        }
        let mut responses = json!({
            "200": {"description": "{\"code\":0,\"result\":...}"},
            "400": {"description": "bad parameter: {\"code\":400,\"message\":...}"},
            "404": {"description": "not found: {\"code\":404,\"message\":...}"}
        });
        if route.auth {
            responses["401"] = json!({"description": "missing or bad Basic credentials"});
        }
        let mut operation = json!({
            "summary": route.summary,
            "operationId": format!("{} {}", route.method, route.path),
            "parameters": params,
            "responses": responses,
        });
        if route.paged {
            operation["x-paged"] = json!(true);
        }
        if route.auth {
            operation["security"] = json!([{"basicAuth": []}]);
        } else {
            operation["security"] = json!([]);
        }
        if let Some(example) = route.body {
            let example: Value = serde_json::from_str(example).unwrap_or(Value::Null);
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": {"type": "object"}, "example": example}}
            });
        }
        let entry = paths
            .entry(format!("{PREFIX}{}", route.path))
            .or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "emqttd REST API",
            "version": "2",
            "description": "Management and monitoring of the emqttd MQTT broker. Success: \
                HTTP 200 {\"code\":0,\"result\":...}; errors: the HTTP status with \
                {\"code\":<status>,\"message\":...}.",
        },
        "components": {"securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}}},
        "security": [{"basicAuth": []}],
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_found() {
        assert_eq!(
            path_params("/nodes/{node}/clients/{clientid}"),
            ["node", "clientid"]
        );
        assert!(path_params("/clients").is_empty());
    }

    #[test]
    fn every_route_is_documented_once() {
        let routes = super::super::routes();
        let doc = document(&routes, "n@h");
        let mut count = 0;
        for (_, item) in doc["paths"].as_object().unwrap() {
            count += item.as_object().unwrap().len();
        }
        assert_eq!(
            count,
            routes.len(),
            "a (method, path) pair appears twice in the table"
        );
        let auth = &doc["paths"]["/api/v2/auth"]["post"];
        assert_eq!(auth["security"], json!([]));
        let clients = &doc["paths"]["/api/v2/users"]["get"];
        assert_eq!(clients["security"][0]["basicAuth"], json!([]));
    }
}
