//! The HTTP publish API end to end with curl: form and JSON publishes reach MQTT subscribers
//! with their QoS and retain flag; bad requests get 400 naming the field, bad credentials 401,
//! and nothing of either is routed.

use crate::common::http::start_http_broker;
use crate::common::{Client, QoS};
use crate::tls::run_tool;
use std::net::SocketAddr;

/// Runs curl with `args` against `url`; returns (status, body).
async fn curl(url: String, args: &[&str]) -> (u16, String) {
    let mut all: Vec<String> = vec!["-sS".into(), "-w".into(), "\n%{http_code}".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.push(url);
    let out = tokio::task::spawn_blocking(move || {
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        run_tool("curl", &all, "apt-get install curl")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        status
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("curl: {text:?} {out:?}")),
        body.to_string(),
    )
}

fn form_url(addr: SocketAddr) -> String {
    format!("http://{addr}/mqtt/publish")
}

fn json_url(addr: SocketAddr) -> String {
    format!("http://{addr}/api/v2/mqtt/publish")
}

#[tokio::test]
async fn form_publish_reaches_subscribers_with_qos_and_retain() {
    let (broker, http) = start_http_broker(&[]);
    let mut sub = Client::connect(broker.tcp_addr(), "http-form-sub").await;
    sub.subscribe_ok("http/#", QoS::ExactlyOnce).await;
    let (status, body) = curl(
        form_url(http),
        &[
            "-u",
            "admin:public",
            "-d",
            "topic=http/form&message=hello+form&qos=1&retain=1&client=curl",
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let got = sub.expect_message("http/form", "hello form").await;
    assert_eq!(got.qos, QoS::AtLeastOnce);
    assert!(!got.retain, "a live delivery carries RETAIN=0");

    // It was retained: a new subscriber gets it with RETAIN=1.
    let mut late = Client::connect(broker.tcp_addr(), "http-form-late").await;
    late.subscribe_ok("http/form", QoS::AtLeastOnce).await;
    let got = late.expect_message("http/form", "hello form").await;
    assert!(got.retain);

    // Several topics at once, QoS 2.
    let (status, _) = curl(
        form_url(http),
        &[
            "-u",
            "admin:public",
            "-d",
            "topics=http/a,http/b&message=both&qos=2",
        ],
    )
    .await;
    assert_eq!(status, 200);
    let a = sub.expect_message("http/a", "both").await;
    let b = sub.expect_message("http/b", "both").await;
    assert_eq!((a.qos, b.qos), (QoS::ExactlyOnce, QoS::ExactlyOnce));
}

#[tokio::test]
async fn json_publish_with_base64_payload() {
    let (broker, http) = start_http_broker(&[]);
    let mut sub = Client::connect(broker.tcp_addr(), "http-json-sub").await;
    sub.subscribe_ok("json/#", QoS::ExactlyOnce).await;
    let (status, body) = curl(
        json_url(http),
        &[
            "-u",
            "admin:public",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"topic":"json/bin","payload":"AAEC/w==","encoding":"base64","qos":2,"client_id":"svc"}"#,
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let got = sub.expect_publish().await;
    assert_eq!(got.topic, "json/bin");
    assert_eq!(&got.payload[..], &[0, 1, 2, 255]);
    assert_eq!(got.qos, QoS::ExactlyOnce);
    let (status, _) = curl(
        json_url(http),
        &[
            "-u",
            "admin:public",
            "-d",
            r#"{"topic":"json/text","payload":"plain","qos":1}"#,
        ],
    )
    .await;
    assert_eq!(status, 200);
    let got = sub.expect_message("json/text", "plain").await;
    assert_eq!(got.qos, QoS::AtLeastOnce);
}

#[tokio::test]
async fn bad_requests_and_credentials_are_refused_and_nothing_is_routed() {
    let (broker, http) = start_http_broker(&[("EMQTTD_HTTP__USERS__OPS", "s3cret")]);
    let mut sub = Client::connect(broker.tcp_addr(), "http-bad-sub").await;
    sub.subscribe_ok("#", QoS::AtLeastOnce).await;

    let ok_form = "topic=bad/x&message=m";
    let cases: Vec<(String, Vec<&str>, u16, Option<&str>)> = vec![
        (form_url(http), vec!["-d", ok_form], 401, None),
        (
            form_url(http),
            vec!["-u", "admin:wrong", "-d", ok_form],
            401,
            None,
        ),
        (
            form_url(http),
            vec!["-u", "nobody:public", "-d", ok_form],
            401,
            None,
        ),
        (
            json_url(http),
            vec!["-d", r#"{"topic":"bad/x"}"#],
            401,
            None,
        ),
        (
            form_url(http),
            vec!["-u", "ops:s3cret", "-d", "message=m"],
            400,
            Some("topic"),
        ),
        (
            form_url(http),
            vec!["-u", "admin:public", "-d", "topic=bad/%23"],
            400,
            Some("topic"),
        ),
        (
            form_url(http),
            vec!["-u", "admin:public", "-d", "topic=bad/%2B/x"],
            400,
            Some("topic"),
        ),
        (
            form_url(http),
            vec!["-u", "admin:public", "-d", "topic=bad/x&qos=3"],
            400,
            Some("qos"),
        ),
        (
            form_url(http),
            vec!["-u", "admin:public", "-d", "topic=bad/x&retain=2"],
            400,
            Some("retain"),
        ),
        (
            json_url(http),
            vec!["-u", "admin:public", "-d", "{not json"],
            400,
            Some("body"),
        ),
        (
            json_url(http),
            vec!["-u", "admin:public", "-d", r#"{"payload":"p"}"#],
            400,
            Some("topic"),
        ),
        (
            json_url(http),
            vec!["-u", "admin:public", "-d", r#"{"topic":"bad/#"}"#],
            400,
            Some("topic"),
        ),
        (
            json_url(http),
            vec!["-u", "admin:public", "-d", r#"{"topic":"bad/x","qos":3}"#],
            400,
            Some("qos"),
        ),
        (
            json_url(http),
            vec![
                "-u",
                "admin:public",
                "-d",
                r#"{"topic":"bad/x","payload":"%%","encoding":"base64"}"#,
            ],
            400,
            Some("payload"),
        ),
    ];
    for (url, args, want_status, want_field) in &cases {
        let (status, body) = curl(url.clone(), args).await;
        assert_eq!(status, *want_status, "{url} {args:?}: {body}");
        if let Some(field) = want_field {
            let json: serde_json::Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {body}"));
            assert_eq!(json["field"], *field, "{args:?}: {body}");
        }
    }
    sub.expect_no_publish().await;

    // The added user and the default one both work.
    let (status, _) = curl(
        form_url(http),
        &["-u", "ops:s3cret", "-d", "topic=good/ops&message=1"],
    )
    .await;
    assert_eq!(status, 200);
    sub.expect_message("good/ops", "1").await;
    let (status, _) = curl(
        form_url(http),
        &["-u", "admin:public", "-d", "topic=good/admin&message=2"],
    )
    .await;
    assert_eq!(status, 200);
    sub.expect_message("good/admin", "2").await;
}

#[tokio::test]
async fn status_answers_without_auth() {
    let (_broker, http) = start_http_broker(&[]);
    let (status, body) = curl(format!("http://{http}/status"), &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains("emqttd is running"), "{body}");
    let (status, _) = curl(format!("http://{http}/mqtt/publish"), &[]).await;
    assert_eq!(status, 404, "GET on the publish endpoint is not routed");
}
