//! The REST API v2 over real HTTP against a broker with real MQTT clients: clients, sessions,
//! subscriptions, kick, subscribe on behalf, routes, retained messages, modules and the
//! monitoring routes show what the clients did; paging, search and the error replies.

use crate::common::http::{request, start_http_broker, Api};
use crate::common::{eventually, options, Client, QoS, RawClient, NODE, WAIT};
use serde_json::{json, Value};

fn ids(page: &Value) -> Vec<String> {
    page["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["client_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn clients_are_listed_with_their_fields_paged_searched_and_sorted() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let mut opts = options(broker.tcp_addr(), "rest-c1");
    opts.set_credentials("alice", "pw");
    let (_c1, _) = Client::connect_opts(opts).await;
    let (_c2, _) = Client::connect_persistent(broker.tcp_addr(), "rest-c2").await;

    let page = api.result("/api/v2/clients").await;
    assert_eq!(ids(&page), ["rest-c1", "rest-c2"]);
    assert_eq!(page["total_num"], 2);
    assert_eq!(
        (page["current_page"].clone(), page["page_size"].clone()),
        (json!(1), json!(20))
    );
    let c1 = &page["objects"][0];
    assert_eq!(c1["username"], "alice");
    assert_eq!(c1["ipaddress"], "127.0.0.1");
    assert!(c1["port"].as_u64().unwrap() > 0);
    assert_eq!(c1["clean_sess"], true);
    assert_eq!(c1["proto_ver"], 4);
    assert_eq!(c1["keepalive"], 30);
    assert!(c1["listener"].as_str().unwrap().contains("tcp"), "{c1}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(c1["connected_at"].as_u64().unwrap()) < 60);
    let c2 = &page["objects"][1];
    assert_eq!(
        (c2["username"].clone(), c2["clean_sess"].clone()),
        (Value::Null, json!(false))
    );

    // One client, by id and through its node; the node name is checked.
    let one = api.result("/api/v2/clients/rest-c1").await;
    assert_eq!(one, *c1);
    let via_node = api
        .result(&format!("/api/v2/nodes/{NODE}/clients/rest-c1"))
        .await;
    assert_eq!(via_node, *c1);
    let node_list = api.result(&format!("/api/v2/nodes/{NODE}/clients")).await;
    assert_eq!(node_list["total_num"], 2);
    api.get("/api/v2/nodes/other@host/clients")
        .await
        .assert_error(404, "other@host");
    api.get("/api/v2/clients/nobody")
        .await
        .assert_error(404, "nobody");

    // Search, sort and paging.
    let found = api.result("/api/v2/clients?q=ALICE").await;
    assert_eq!(ids(&found), ["rest-c1"]);
    let found = api.result("/api/v2/clients?q=c2").await;
    assert_eq!(ids(&found), ["rest-c2"]);
    let desc = api
        .result("/api/v2/clients?_sort=client_id&_order=desc")
        .await;
    assert_eq!(ids(&desc), ["rest-c2", "rest-c1"]);
    let second = api.result("/api/v2/clients?_page=2&_limit=1").await;
    assert_eq!(ids(&second), ["rest-c2"]);
    assert_eq!(
        (second["total_page"].clone(), second["page_size"].clone()),
        (json!(2), json!(1))
    );
    let synonyms = api.result("/api/v2/clients?curr_page=1&page_size=1").await;
    assert_eq!(ids(&synonyms), ["rest-c1"]);
    for (query, param) in [
        ("_limit=0", "_limit"),
        ("_limit=1001", "_limit"),
        ("_page=x", "_page"),
        ("page_size=-1", "page_size"),
        ("_order=up", "_order"),
        ("_sort=password", "_sort"),
    ] {
        api.get(&format!("/api/v2/clients?{query}"))
            .await
            .assert_error(400, param);
    }
}

#[tokio::test]
async fn sessions_show_queued_messages_of_an_offline_client() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let (mut sub, _) = Client::connect_persistent(broker.tcp_addr(), "rest-offline").await;
    sub.subscribe_ok("queue/#", QoS::AtLeastOnce).await;
    sub.disconnect().await;
    let mut publisher = Client::connect(broker.tcp_addr(), "rest-pub").await;
    for i in 0..3 {
        publisher
            .publish("queue/x", QoS::AtLeastOnce, false, format!("m{i}"))
            .await;
    }

    let session = api.result("/api/v2/sessions/rest-offline").await;
    assert_eq!(session["client_id"], "rest-offline");
    assert_eq!(session["connected"], false);
    assert_eq!(session["clean_sess"], false);
    assert_eq!(session["mqueue_len"], 3);
    assert_eq!(session["subscriptions"], 1);
    assert_eq!(session["inflight_len"], 0);
    assert_eq!(session["max_inflight"], 32);
    assert!(session["created_at"].as_u64().unwrap() > 0);
    let via_node = api
        .result(&format!("/api/v2/nodes/{NODE}/sessions/rest-offline"))
        .await;
    assert_eq!(via_node["mqueue_len"], 3);

    let all = api.result("/api/v2/sessions").await;
    assert_eq!(ids(&all), ["rest-offline", "rest-pub"]);
    assert_eq!(all["objects"][1]["connected"], true);
    let persistent = api.result("/api/v2/sessions?type=persistent").await;
    assert_eq!(ids(&persistent), ["rest-offline"]);
    let transient = api.result("/api/v2/sessions?type=transient&q=PUB").await;
    assert_eq!(ids(&transient), ["rest-pub"]);
    api.get("/api/v2/sessions?type=forever")
        .await
        .assert_error(400, "type");
    api.get("/api/v2/sessions/nobody")
        .await
        .assert_error(404, "nobody");

    // The offline session is not a connected client.
    let clients = api.result("/api/v2/clients").await;
    assert_eq!(ids(&clients), ["rest-pub"]);

    let subs = api.result("/api/v2/subscriptions/rest-offline").await;
    assert_eq!(
        subs,
        json!([{"client_id": "rest-offline", "topic": "queue/#", "qos": 1}])
    );
    api.get("/api/v2/subscriptions/nobody")
        .await
        .assert_error(404, "nobody");
}

#[tokio::test]
async fn subscriptions_and_routes_follow_the_clients() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let mut a = Client::connect(broker.tcp_addr(), "rest-sa").await;
    a.subscribe_ok("sensors/+/temp", QoS::AtLeastOnce).await;
    a.subscribe_ok("alerts/#", QoS::AtMostOnce).await;
    let mut b = Client::connect(broker.tcp_addr(), "rest-sb").await;
    b.subscribe_ok("sensors/+/temp", QoS::ExactlyOnce).await;

    let all = api.result("/api/v2/subscriptions").await;
    assert_eq!(all["total_num"], 3);
    assert_eq!(
        all["objects"],
        json!([
            {"client_id": "rest-sa", "topic": "alerts/#", "qos": 0},
            {"client_id": "rest-sa", "topic": "sensors/+/temp", "qos": 1},
            {"client_id": "rest-sb", "topic": "sensors/+/temp", "qos": 2},
        ])
    );
    let page = api.result("/api/v2/subscriptions?_page=2&_limit=2").await;
    assert_eq!(page["objects"].as_array().unwrap().len(), 1);
    assert_eq!(
        (page["total_num"].clone(), page["total_page"].clone()),
        (json!(3), json!(2))
    );
    let found = api.result("/api/v2/subscriptions?q=alerts").await;
    assert_eq!(found["total_num"], 1);
    let found = api.result("/api/v2/subscriptions?q=rest-sb").await;
    assert_eq!(found["objects"][0]["qos"], 2);

    let routes = api.result("/api/v2/routes").await;
    assert_eq!(
        routes["objects"],
        json!([
            {"topic": "alerts/#", "node": NODE},
            {"topic": "sensors/+/temp", "node": NODE},
        ])
    );
    assert_eq!(api.result("/api/v2/topics").await, routes);
    let one = api.result("/api/v2/routes/sensors%2F%2B%2Ftemp").await;
    assert_eq!(one, json!([{"topic": "sensors/+/temp", "node": NODE}]));
    api.get("/api/v2/routes/none%2Fhere")
        .await
        .assert_error(404, "none/here");
    let found = api.result("/api/v2/routes?q=ALERT").await;
    assert_eq!(found["total_num"], 1);
}

#[tokio::test]
async fn subscribe_on_behalf_delivers_and_unsubscribe_stops_it() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let mut target = Client::connect(broker.tcp_addr(), "rest-obo").await;
    let mut publisher = Client::connect(broker.tcp_addr(), "rest-obo-pub").await;

    let reply = api
        .send(
            "POST",
            "/api/v2/mqtt/subscribe",
            r#"{"client_id":"rest-obo","topic":"obo/#","qos":1}"#,
        )
        .await;
    assert_eq!(reply.result(), json!({}));
    publisher
        .publish("obo/x", QoS::AtLeastOnce, false, "hi")
        .await;
    let got = target.expect_message("obo/x", "hi").await;
    assert_eq!(got.qos, QoS::AtLeastOnce);
    let subs = api.result("/api/v2/subscriptions/rest-obo").await;
    assert_eq!(
        subs,
        json!([{"client_id": "rest-obo", "topic": "obo/#", "qos": 1}])
    );

    let reply = api
        .send(
            "POST",
            "/api/v2/mqtt/unsubscribe",
            r#"{"client_id":"rest-obo","topic":"obo/#"}"#,
        )
        .await;
    assert_eq!(reply.result(), json!({}));
    publisher
        .publish("obo/x", QoS::AtLeastOnce, false, "gone")
        .await;
    target.expect_no_publish().await;
    api.get("/api/v2/routes/obo%2F%23")
        .await
        .assert_error(404, "obo/#");

    for (body, status, needle) in [
        (
            r#"{"client_id":"rest-obo","topic":"a","qos":3}"#,
            400,
            "qos",
        ),
        (
            r#"{"client_id":"rest-obo","topic":"a","qos":"x"}"#,
            400,
            "qos",
        ),
        (r#"{"client_id":"rest-obo","topic":"a/#/b"}"#, 400, "topic"),
        (r#"{"client_id":"rest-obo"}"#, 400, "topic"),
        (r#"{"topic":"a"}"#, 400, "client_id"),
        (r#"[1]"#, 400, "body"),
        (r#"{"client_id":"nobody","topic":"a"}"#, 404, "nobody"),
    ] {
        api.send("POST", "/api/v2/mqtt/subscribe", body)
            .await
            .assert_error(status, needle);
    }
}

#[tokio::test]
async fn kick_closes_the_connection_and_keeps_a_persistent_session() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let (mut client, _) = Client::connect_persistent(broker.tcp_addr(), "rest-kick").await;
    client.subscribe_ok("kick/#", QoS::AtLeastOnce).await;

    let reply = api.send("DELETE", "/api/v2/clients/rest-kick", "").await;
    assert_eq!(reply.result(), json!({}));
    client.expect_disconnected(WAIT).await;
    api.get("/api/v2/clients/rest-kick")
        .await
        .assert_error(404, "rest-kick");
    let session = api.result("/api/v2/sessions/rest-kick").await;
    assert_eq!(
        (
            session["connected"].clone(),
            session["subscriptions"].clone()
        ),
        (json!(false), json!(1))
    );
    api.send("DELETE", "/api/v2/clients/rest-kick", "")
        .await
        .assert_error(404, "rest-kick");

    // The client comes back to its session.
    let (_again, present) = Client::connect_persistent(broker.tcp_addr(), "rest-kick").await;
    assert!(present);

    let (_c, _) = Client::connect_persistent(broker.tcp_addr(), "rest-acl").await;
    let reply = api
        .send("PUT", "/api/v2/clients/rest-acl/clean_acl_cache", "")
        .await;
    assert_eq!(reply.result(), json!({}));
    api.send("PUT", "/api/v2/clients/nobody/clean_acl_cache", "")
        .await
        .assert_error(404, "nobody");
}

#[tokio::test]
async fn retained_messages_are_listed_shown_and_deleted() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let mut publisher = Client::connect(broker.tcp_addr(), "rest-ret").await;
    publisher
        .publish("ret/a", QoS::AtLeastOnce, true, "hello")
        .await;
    publisher
        .publish("ret/bin", QoS::AtMostOnce, true, vec![0u8, 255])
        .await;
    eventually("ret/bin retained", || {
        broker.core().retainer.get("ret/bin").is_some()
    })
    .await;

    let page = api.result("/api/v2/retained?q=RET/").await;
    assert_eq!(page["total_num"], 2);
    let a = &page["objects"][0];
    assert_eq!(a["topic"], "ret/a");
    assert_eq!(a["payload"], "hello");
    assert_eq!(a["payload_encoding"], "plain");
    assert_eq!(
        (a["qos"].clone(), a["from"].clone(), a["size"].clone()),
        (json!(1), json!("rest-ret"), json!(5))
    );
    assert!(a["ts"].as_u64().unwrap() > 0);
    let bin = &page["objects"][1];
    assert_eq!(
        (bin["payload"].clone(), bin["payload_encoding"].clone()),
        (json!("AP8="), json!("base64"))
    );

    let one = api.result("/api/v2/retained/ret%2Fa").await;
    assert_eq!(one, *a);
    for topic in ["ret%2Fa", "ret%2Fbin"] {
        let reply = api
            .send("DELETE", &format!("/api/v2/retained/{topic}"), "")
            .await;
        assert_eq!(reply.result(), json!({}));
    }
    api.get("/api/v2/retained/ret%2Fa")
        .await
        .assert_error(404, "ret/a");
    api.send("DELETE", "/api/v2/retained/ret%2Fa", "")
        .await
        .assert_error(404, "ret/a");
    assert_eq!(api.result("/api/v2/retained?q=ret/").await["total_num"], 0);

    let mut late = Client::connect(broker.tcp_addr(), "rest-ret-late").await;
    late.subscribe_ok("ret/#", QoS::AtLeastOnce).await;
    late.expect_no_publish().await;
}

#[tokio::test]
async fn presence_can_be_enabled_and_disabled_at_run_time() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let modules = api.result("/api/v2/modules").await;
    let presence = modules
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "presence")
        .expect("presence listed")
        .clone();
    assert_eq!(presence["enabled"], false);
    assert!(presence["description"].as_str().unwrap().len() > 5);

    let mut watcher = Client::connect(broker.tcp_addr(), "rest-watch").await;
    watcher
        .subscribe_ok("$SYS/brokers/+/clients/+/connected", QoS::AtMostOnce)
        .await;
    let reply = api
        .send("PUT", "/api/v2/modules/presence", r#"{"enabled":true}"#)
        .await;
    assert_eq!(reply.result(), json!({"name": "presence", "enabled": true}));
    let _c = Client::connect(broker.tcp_addr(), "rest-present").await;
    let got = watcher.expect_publish().await;
    assert_eq!(
        got.topic,
        format!("$SYS/brokers/{NODE}/clients/rest-present/connected")
    );
    let modules = api.result("/api/v2/modules").await;
    assert!(modules
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "presence" && m["enabled"] == true));

    let reply = api
        .send("PUT", "/api/v2/modules/presence", r#"{"enabled":false}"#)
        .await;
    assert_eq!(
        reply.result(),
        json!({"name": "presence", "enabled": false})
    );
    let _d = Client::connect(broker.tcp_addr(), "rest-absent").await;
    watcher.expect_no_publish().await;

    api.send("PUT", "/api/v2/modules/nope", r#"{"enabled":true}"#)
        .await
        .assert_error(404, "nope");
    api.send("PUT", "/api/v2/modules/presence", r#"{"enabled":"yes"}"#)
        .await
        .assert_error(400, "enabled");
}

/// The `mqtt:tcp` entry of `GET /monitoring/listeners`.
async fn tcp_listener(api: &Api) -> Value {
    let listeners = api.result("/api/v2/monitoring/listeners").await;
    listeners
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["protocol"] == "mqtt:tcp")
        .expect("tcp listener")
        .clone()
}

#[tokio::test]
async fn node_monitoring_listeners_metrics_and_stats() {
    let (broker, http) = start_http_broker(&[]);
    let api = Api { addr: http };
    let mut client = Client::connect(broker.tcp_addr(), "rest-mon").await;
    client.subscribe_ok("mon/#", QoS::AtMostOnce).await;

    let nodes = api.result("/api/v2/management/nodes").await;
    assert_eq!(nodes[0]["name"], NODE);
    assert_eq!(nodes[0]["node_status"], "Running");
    assert_eq!(nodes[0]["connections"], 1);
    let node = api
        .result(&format!("/api/v2/management/nodes/{NODE}"))
        .await;
    assert_eq!(node["sysdescr"], "emqttd");
    assert!(node["uptime"].as_str().unwrap().contains("seconds"));
    api.get("/api/v2/management/nodes/x@y")
        .await
        .assert_error(404, "x@y");

    let stats = api
        .result(&format!("/api/v2/monitoring/nodes/{NODE}"))
        .await;
    assert!(stats["memory_used"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["memory_total"].as_u64().unwrap() > stats["memory_used"].as_u64().unwrap());
    assert!(stats["max_fds"].as_u64().unwrap() > 0);
    assert!(stats["process_threads"].as_u64().unwrap() > 0);
    assert!(stats["cpu_usage"].as_f64().is_some());
    assert!(stats["load1"].as_str().unwrap().contains('.'));
    assert_eq!(stats["connections"], 1);
    assert_eq!(
        api.result("/api/v2/monitoring/nodes").await[0]["name"],
        NODE
    );

    let tcp = tcp_listener(&api).await;
    assert_eq!(tcp["name"], "external");
    assert_eq!(tcp["listen"], broker.tcp_addr().to_string());
    assert_eq!(tcp["current_clients"], 1);
    assert!(tcp["max_clients"].as_u64().unwrap() > 1);
    assert_eq!(tcp["shutdown_count"], 0);
    // A client that vanishes without DISCONNECT is counted as `closed`; a clean DISCONNECT
    // is not counted.
    let polite = Client::connect(broker.tcp_addr(), "rest-mon-polite").await;
    polite.disconnect().await;
    let mut gone = RawClient::connected(broker.tcp_addr(), "rest-mon-gone").await;
    gone.shutdown_write().await;
    drop(gone);
    let tcp_info = broker
        .core()
        .listener_infos
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.name.starts_with("tcp:"))
        .cloned()
        .expect("tcp listener info");
    eventually("the vanished connection counted", || {
        !tcp_info.shutdowns().is_empty()
    })
    .await;
    let tcp = tcp_listener(&api).await;
    assert_eq!(tcp["shutdown_count"], 1, "{tcp}");
    assert_eq!(tcp["shutdown_reasons"], json!({"closed": 1}), "{tcp}");
    assert_eq!(tcp["current_clients"], 1, "{tcp}");

    let metrics = api
        .result(&format!("/api/v2/monitoring/metrics/{NODE}"))
        .await;
    assert!(metrics["packets/connect"].as_u64().unwrap() >= 1);
    assert!(metrics["packets/subscribe"].as_u64().unwrap() >= 1);
    assert!(metrics["bytes/received"].as_u64().unwrap() > 0);
    let stats = api.result("/api/v2/monitoring/stats").await;
    assert_eq!(stats["clients/count"], 1);
    assert_eq!(stats["subscriptions/count"], 1);
    assert_eq!(stats["routes/count"], 1);
    assert!(stats["clients/max"].as_u64().unwrap() >= 1);
    assert!(stats.get("retained/count").is_some());
    api.get("/api/v2/monitoring/stats/x@y")
        .await
        .assert_error(404, "x@y");
}

#[tokio::test]
async fn credentials_are_required_and_errors_are_json() {
    let (_broker, http) = start_http_broker(&[]);
    for auth in [None, Some(("admin", "wrong")), Some(("nobody", "public"))] {
        let reply = request(http, "GET", "/api/v2/clients", auth, None).await;
        reply.assert_error(401, "");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"emqttd\"")
        );
    }
    let api = Api { addr: http };
    api.get("/api/v2/no/such/route")
        .await
        .assert_error(404, "no such route");
    api.send("PATCH", "/api/v2/clients", "")
        .await
        .assert_error(405, "PATCH");
    let reply = request(
        http,
        "POST",
        "/api/v2/auth",
        None,
        Some(r#"{"username":"admin","password":"public"}"#),
    )
    .await;
    assert_eq!(reply.result(), json!({}));
    request(
        http,
        "POST",
        "/api/v2/auth",
        None,
        Some(r#"{"username":"admin","password":"nope"}"#),
    )
    .await
    .assert_error(401, "wrong");
    let status = request(http, "GET", "/status", None, None).await;
    assert_eq!(status.status, 200);
    assert!(status.body.contains("is running"));
}
