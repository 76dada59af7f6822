//! Prometheus exposition (text format 0.0.4) at `/api/v2/prometheus` and `/metrics`, Basic
//! auth: the stats gauges and every `$SYS` metric as a counter.

use super::{auth, ApiResult, ApiRoute, ApiState};
use actix_web::{web, HttpRequest, HttpResponse};
use std::fmt::Write;
use std::sync::atomic::Ordering;

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::get(
        "/prometheus",
        "Prometheus metrics (text format 0.0.4); also at /metrics",
        || web::route().to(scrape),
    )]
}

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `packets/received` → `emqttd_packets_received_total`.
pub fn counter_name(metric: &str) -> String {
    let mut name = String::from("emqttd_");
    for c in metric.chars() {
        name.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    name.push_str("_total");
    name
}

/// The exposition text for `gauges` (name, help, value) and `counters` ($SYS name, value).
pub fn render(gauges: &[(&str, &str, u64)], counters: &[(&str, u64)]) -> String {
    let mut out = String::new();
    for (name, help, value) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    for (metric, value) in counters {
        let name = counter_name(metric);
        let _ = writeln!(
            out,
            "# HELP {name} $SYS metric {metric}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    out
}

/// `GET /metrics` and `GET /api/v2/prometheus`.
pub async fn scrape(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    auth::require(&req, &state)?;
    let core = &state.core;
    let index = core.router.index();
    let routes = index.filter_count() as u64;
    let gauges = [
        (
            "emqttd_connections",
            "Connected MQTT clients",
            core.connected.load(Ordering::Relaxed) as u64,
        ),
        (
            "emqttd_sessions",
            "Sessions, connected or persistent offline",
            core.sessions.len() as u64,
        ),
        (
            "emqttd_subscriptions",
            "Subscriptions (topic filter, session)",
            index.subscription_count() as u64,
        ),
        ("emqttd_routes", "Distinct subscribed topic filters", routes),
        (
            "emqttd_retained",
            "Retained messages",
            core.retainer.len() as u64,
        ),
    ];
    let counters = core.metrics.snapshot();
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(render(&gauges, &counters)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_value() {
        let text = render(
            &[("emqttd_connections", "Connected", 3)],
            &[("packets/received", 7)],
        );
        assert!(text.contains("# TYPE emqttd_connections gauge\nemqttd_connections 3\n"));
        assert!(text.contains("# HELP emqttd_packets_received_total "));
        assert!(text.contains("# TYPE emqttd_packets_received_total counter\n"));
        assert!(text.contains("\nemqttd_packets_received_total 7\n"));
        assert_eq!(
            counter_name("messages/qos2.x"),
            "emqttd_messages_qos2_x_total"
        );
    }
}
