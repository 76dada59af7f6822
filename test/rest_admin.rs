//! The REST API's admin side over real HTTP: admin users (add, log in, change password,
//! delete, never the last one) stored hashed in the admins file, Prometheus, every route of
//! the OpenAPI description answering with the right auth behaviour, and the dashboard files.

use crate::common::http::{request, start_http_broker, Api, ADMIN};
use crate::common::{Client, TempDir, NODE};
use serde_json::{json, Value};

#[tokio::test]
async fn admins_are_added_log_in_change_passwords_and_the_last_one_stays() {
    let tmp = TempDir::new("rest-admins");
    let dir = tmp.path();
    let file = dir.join("users.json");
    let file_text = file.to_string_lossy().into_owned();
    let (_broker, http) = start_http_broker(&[("EMQTTD_HTTP__ADMINS_FILE", &file_text)]);
    let api = Api { addr: http };

    let stored = std::fs::read_to_string(&file).expect("admins file seeded");
    assert!(
        stored.contains("\"admin\"") && !stored.contains("public"),
        "{stored}"
    );

    let reply = api
        .send(
            "POST",
            "/api/v2/users",
            r#"{"username":"alice","password":"s3cret","tags":"viewer"}"#,
        )
        .await;
    assert_eq!(reply.result(), json!({}));
    api.send(
        "POST",
        "/api/v2/users",
        r#"{"username":"alice","password":"x"}"#,
    )
    .await
    .assert_error(409, "alice");
    api.send("POST", "/api/v2/users", r#"{"username":"bob"}"#)
        .await
        .assert_error(400, "password");
    let users = api.result("/api/v2/users").await;
    assert_eq!(
        users,
        json!([
            {"username": "admin", "tags": "administrator"},
            {"username": "alice", "tags": "viewer"},
        ])
    );
    let alice = Some(("alice", "s3cret"));
    assert_eq!(
        request(http, "GET", "/api/v2/users", alice, None)
            .await
            .status,
        200
    );
    let login = r#"{"username":"alice","password":"s3cret"}"#;
    assert_eq!(
        request(http, "POST", "/api/v2/auth", None, Some(login))
            .await
            .status,
        200
    );

    api.send(
        "PUT",
        "/api/v2/change_pwd/alice",
        r#"{"old_pwd":"bad","new_pwd":"n"}"#,
    )
    .await
    .assert_error(400, "old_pwd");
    let reply = api
        .send(
            "PUT",
            "/api/v2/change_pwd/alice",
            r#"{"old_pwd":"s3cret","new_pwd":"n3w"}"#,
        )
        .await;
    assert_eq!(reply.result(), json!({}));
    request(http, "GET", "/api/v2/users", alice, None)
        .await
        .assert_error(401, "");
    let alice = Some(("alice", "n3w"));
    assert_eq!(
        request(http, "GET", "/api/v2/users", alice, None)
            .await
            .status,
        200
    );
    let reply = api
        .send("PUT", "/api/v2/users/alice", r#"{"tags":"operator"}"#)
        .await;
    assert_eq!(reply.result(), json!({}));
    api.send("PUT", "/api/v2/users/nobody", r#"{"tags":"x"}"#)
        .await
        .assert_error(404, "nobody");
    // An admin resets alice's password without the old one.
    let reply = api
        .send("PUT", "/api/v2/users/alice", r#"{"password":"reset"}"#)
        .await;
    assert_eq!(reply.result(), json!({}));
    let status = |who| async move {
        request(http, "GET", "/api/v2/users", who, None)
            .await
            .status
    };
    assert_eq!(status(alice).await, 401);
    let alice = Some(("alice", "reset"));
    assert_eq!(status(alice).await, 200);
    api.send("PUT", "/api/v2/users/alice", r#"{}"#)
        .await
        .assert_error(400, "password");

    // The file holds the change (a restart keeps it).
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(stored.to_string().contains("operator"));
    assert!(!stored.to_string().contains("n3w"));

    let reply = request(http, "DELETE", "/api/v2/users/admin", alice, Some("")).await;
    assert_eq!(reply.result(), json!({}));
    request(http, "GET", "/api/v2/users", Some(ADMIN), None)
        .await
        .assert_error(401, "");
    request(http, "DELETE", "/api/v2/users/alice", alice, Some(""))
        .await
        .assert_error(400, "last");
    request(http, "DELETE", "/api/v2/users/nobody", alice, Some(""))
        .await
        .assert_error(404, "nobody");
}

#[tokio::test]
async fn prometheus_exposes_gauges_and_counters() {
    let (broker, http) = start_http_broker(&[]);
    let mut client = Client::connect(broker.tcp_addr(), "rest-prom").await;
    client
        .subscribe_ok("prom/#", crate::common::QoS::AtMostOnce)
        .await;
    for path in ["/api/v2/prometheus", "/metrics"] {
        let reply = request(http, "GET", path, Some(ADMIN), None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = &reply.body;
        for gauge in [
            "emqttd_connections",
            "emqttd_sessions",
            "emqttd_subscriptions",
            "emqttd_routes",
            "emqttd_retained",
        ] {
            assert!(text.contains(&format!("# HELP {gauge} ")), "{gauge}");
            assert!(text.contains(&format!("# TYPE {gauge} gauge\n")), "{gauge}");
        }
        assert!(text.contains("\nemqttd_connections 1\n"), "{text}");
        assert!(text.contains("\nemqttd_subscriptions 1\n"), "{text}");
        for counter in [
            "emqttd_packets_received_total",
            "emqttd_packets_sent_total",
            "emqttd_bytes_received_total",
            "emqttd_bytes_sent_total",
            "emqttd_messages_received_total",
            "emqttd_messages_sent_total",
            "emqttd_messages_dropped_total",
            "emqttd_packets_publish_received_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE {counter} counter\n")),
                "{counter}"
            );
        }
        request(http, "GET", path, None, None)
            .await
            .assert_error(401, "");
    }
}

/// `/api/v2/a/{x}/b` with every parameter filled in (`{node}` is this node).
fn fill(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{node}" => NODE,
            s if s.starts_with('{') => "nobody",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_documented_route_answers_with_its_auth_behaviour() {
    let (broker, http) = start_http_broker(&[]);
    let _client = Client::connect(broker.tcp_addr(), "rest-walk").await;
    let doc = request(http, "GET", "/api/v2/openapi.json", None, None).await;
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    // The contract's routes (plugins and commands come with the plugin routes).
    for (method, path) in [
        ("get", "/management/nodes"),
        ("get", "/management/nodes/{node}"),
        ("get", "/monitoring/nodes/{node}"),
        ("get", "/monitoring/listeners"),
        ("get", "/monitoring/metrics/{node}"),
        ("get", "/monitoring/stats/{node}"),
        ("get", "/nodes/{node}/clients"),
        ("get", "/clients/{clientid}"),
        ("delete", "/clients/{clientid}"),
        ("put", "/clients/{clientid}/clean_acl_cache"),
        ("get", "/nodes/{node}/sessions/{clientid}"),
        ("get", "/sessions"),
        ("get", "/nodes/{node}/subscriptions"),
        ("get", "/subscriptions/{clientid}"),
        ("post", "/mqtt/subscribe"),
        ("post", "/mqtt/unsubscribe"),
        ("post", "/mqtt/publish"),
        ("get", "/routes"),
        ("get", "/routes/{topic}"),
        ("get", "/topics"),
        ("get", "/retained"),
        ("delete", "/retained/{topic}"),
        ("get", "/modules"),
        ("put", "/modules/{name}"),
        ("post", "/acl/reload"),
        ("post", "/auth"),
        ("get", "/users"),
        ("post", "/users"),
        ("put", "/users/{name}"),
        ("delete", "/users/{name}"),
        ("put", "/change_pwd/{name}"),
        ("get", "/prometheus"),
        ("get", "/openapi.json"),
    ] {
        let documented = paths
            .get(&format!("/api/v2{path}"))
            .and_then(|item| item.get(method));
        assert!(documented.is_some(), "{method} {path} is not documented");
    }
    let mut checked = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_ascii_uppercase();
            let url = fill(path);
            let body = op["requestBody"]["content"]["application/json"]["example"].to_string();
            let body = (op.get("requestBody").is_some()).then_some(body.as_str());
            let public = op["security"] == json!([]);
            let anonymous = request(http, &method, &url, None, body).await;
            if public {
                assert_ne!(
                    anonymous.status, 401,
                    "{method} {url} is public: {}",
                    anonymous.body
                );
            } else {
                anonymous.assert_error(401, "");
            }
            // Routes that change the admins are walked with nobody's names: 404, not 401.
            let reply = request(http, &method, &url, Some(ADMIN), body).await;
            assert_ne!(reply.status, 405, "{method} {url}: {}", reply.body);
            assert_ne!(reply.status, 401, "{method} {url}: {}", reply.body);
            if reply.status == 404 {
                assert!(
                    !reply.body.contains("no such route"),
                    "{method} {url} is documented but not mounted"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 35, "{checked} routes");
}

#[tokio::test]
async fn the_dashboard_files_are_served_without_auth_and_safely() {
    let tmp = TempDir::new("rest-www");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("static")).unwrap();
    std::fs::write(dir.join("index.html"), "<html>dashboard</html>").unwrap();
    std::fs::write(dir.join("static").join("app.js"), "console.log(1)").unwrap();
    std::fs::write(
        dir.parent().unwrap().join("emqttd-rest-secret.txt"),
        "secret",
    )
    .unwrap();
    let docroot = dir.to_string_lossy().into_owned();
    let (_broker, http) = start_http_broker(&[("EMQTTD_HTTP__DOCROOT", &docroot)]);

    let index = request(http, "GET", "/", None, None).await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(index.body.contains("dashboard"));
    let js = request(http, "GET", "/static/app.js", None, None).await;
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap()
        .starts_with("application/javascript"));
    for evil in [
        "/../emqttd-rest-secret.txt",
        "/%2e%2e/emqttd-rest-secret.txt",
        "/static/..%2f..%2femqttd-rest-secret.txt",
        "/missing.html",
    ] {
        let reply = request(http, "GET", evil, None, None).await;
        assert_eq!(reply.status, 404, "{evil}: {}", reply.body);
        assert!(!reply.body.contains("secret"), "{evil}");
    }
    let post = request(http, "POST", "/index.html", None, Some("x")).await;
    assert_eq!(post.status, 405);

    let (_broker, http) = start_http_broker(&[("EMQTTD_HTTP__DOCROOT", "/nonexistent/www")]);
    let reply = request(http, "GET", "/", None, None).await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.body.contains("dashboard assets are missing"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn acl_reload_counts_the_rules_and_names_the_bad_line() {
    let tmp = TempDir::new("rest-acl");
    let dir = tmp.path();
    let file = dir.join("acl.conf");
    std::fs::write(&file, "{allow, all, subscribe, [\"a/#\"]}.\n{deny, all}.\n").unwrap();
    let acl = file.to_string_lossy().into_owned();
    let (_broker, http) = start_http_broker(&[("EMQTTD_MQTT__ACL_FILE", &acl)]);
    let api = Api { addr: http };
    let reply = api.send("POST", "/api/v2/acl/reload", "").await;
    assert_eq!(reply.result(), json!({"rules": 2}));
    std::fs::write(&file, "{allow, all}.\n{allow, nonsense, x}.\n").unwrap();
    let reply = api.send("POST", "/api/v2/acl/reload", "").await;
    reply.assert_error(400, "acl.conf");
    reply.assert_error(400, "line 2");
}
