//! Broker and node: `/management/nodes`, `/monitoring/nodes`, `/monitoring/listeners`,
//! `/monitoring/metrics` and `/monitoring/stats` (the `$SYS` values of `crate::sys`).

use super::{check_node, ok, procstat, ApiResult, ApiRoute, ApiState};
use crate::sys::clock::{datetime_text, uptime_text};
use actix_web::{web, HttpRequest};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::time::SystemTime;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/management/nodes", "List the nodes (this one)", || {
            web::route().to(nodes)
        }),
        ApiRoute::get("/management/nodes/{node}", "Show a node", || {
            web::route().to(node)
        }),
        ApiRoute::get("/monitoring/nodes", "Node statistics of every node", || {
            web::route().to(all_stats)
        }),
        ApiRoute::get(
            "/monitoring/nodes/{node}",
            "Node statistics: memory, CPU, load, file descriptors",
            || web::route().to(one_stats),
        ),
        ApiRoute::get("/monitoring/listeners", "Listeners of every node", || {
            web::route().to(listeners)
        }),
        ApiRoute::get(
            "/monitoring/listeners/{node}",
            "Listeners of a node",
            || web::route().to(listeners),
        ),
        ApiRoute::get(
            "/monitoring/metrics",
            "Metrics counters ($SYS metrics)",
            || web::route().to(metrics),
        ),
        ApiRoute::get(
            "/monitoring/metrics/{node}",
            "Metrics counters of a node",
            || web::route().to(metrics),
        ),
        ApiRoute::get("/monitoring/stats", "Stats gauges ($SYS stats)", || {
            web::route().to(stats)
        }),
        ApiRoute::get("/monitoring/stats/{node}", "Stats gauges of a node", || {
            web::route().to(stats)
        }),
    ]
}

/// The `NodeInfo` object.
pub fn node_info(state: &ApiState) -> Value {
    let core = &state.core;
    let uptime = core.started.elapsed();
    json!({
        "name": core.node.to_string(),
        "version": env!("CARGO_PKG_VERSION"),
        "sysdescr": "emqttd",
        "uptime": uptime_text(uptime),
        "uptime_seconds": uptime.as_secs(),
        "datetime": datetime_text(SystemTime::now()),
        "node_status": "Running",
        "connections": core.connected.load(Ordering::Relaxed),
    })
}

/// The `NodeStats` object; `cpu_usage` is measured since the previous call.
pub fn node_stats(state: &ApiState) -> Value {
    let core = &state.core;
    let cpu_usage = match procstat::cpu_sample() {
        Some(now) => {
            let mut last = state.cpu.lock().unwrap_or_else(|p| p.into_inner());
            let before = last.replace(now).unwrap_or(procstat::CpuSample {
                ticks: 0,
                at: now.at - core.started.elapsed(),
            });
            procstat::cpu_percent(before, now)
        }
        None => 0.0,
    };
    let [load1, load5, load15] =
        procstat::loadavg().unwrap_or_else(|| ["0.00".into(), "0.00".into(), "0.00".into()]);
    json!({
        "name": core.node.to_string(),
        "memory_total": procstat::memory_total().unwrap_or(0),
        "memory_used": procstat::rss_bytes().unwrap_or(0),
        "cpu_usage": cpu_usage,
        "load1": load1,
        "load5": load5,
        "load15": load15,
        "max_fds": procstat::max_fds().unwrap_or(0),
        "process_threads": procstat::threads().unwrap_or(0),
        "connections": core.connected.load(Ordering::Relaxed),
        "uptime_seconds": core.started.elapsed().as_secs(),
    })
}

async fn nodes(state: web::Data<ApiState>) -> ApiResult {
    ok(vec![node_info(&state)])
}

async fn node(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    ok(node_info(&state))
}

async fn all_stats(state: web::Data<ApiState>) -> ApiResult {
    ok(vec![node_stats(&state)])
}

async fn one_stats(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    ok(node_stats(&state))
}

/// `tcp:external` → (`mqtt:tcp`, `external`); a name without a protocol is kept as both.
pub fn split_listener(name: &str) -> (String, String) {
    match name.split_once(':') {
        Some((proto @ ("tcp" | "ssl" | "ws" | "wss"), rest)) => {
            (format!("mqtt:{proto}"), rest.to_string())
        }
        Some((proto, rest)) => (proto.to_string(), rest.to_string()),
        None => (name.to_string(), name.to_string()),
    }
}

async fn listeners(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    let core = &state.core;
    let addrs = core.listeners.lock().map(|l| l.clone()).unwrap_or_default();
    let infos = core
        .listener_infos
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    let list: Vec<Value> = infos
        .iter()
        .map(|info| {
            let (protocol, name) = split_listener(&info.name);
            let shutdowns = info.shutdowns();
            let listen = addrs
                .iter()
                .find(|(n, _)| **n == *info.name)
                .map(|(_, addr)| addr.to_string())
                .unwrap_or_default();
            json!({
                "protocol": protocol,
                "name": name,
                "listen": listen,
                "current_clients": info.current(),
                "max_clients": info.max_connections,
                "refused": info.refused(),
                "shutdown_count": shutdowns.iter().map(|(_, n)| n).sum::<u64>(),
                "shutdown_reasons": shutdowns
                    .iter()
                    .map(|(reason, n)| (reason.to_string(), json!(n)))
                    .collect::<Map<String, Value>>(),
            })
        })
        .collect();
    ok(list)
}

/// `{"packets/received": N, ...}`: every `$SYS` metric.
pub fn metrics_map(state: &ApiState) -> Map<String, Value> {
    state
        .core
        .metrics
        .snapshot()
        .into_iter()
        .map(|(name, value)| (name.to_string(), json!(value)))
        .collect()
}

/// `{"clients/count": N, ...}`: every `$SYS` stats gauge, with the listeners'.
pub fn stats_map(state: &ApiState) -> Map<String, Value> {
    let snapshot = {
        let mut stats = state.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.refresh(&state.core);
        stats.snapshot()
    };
    let mut map: Map<String, Value> = snapshot
        .into_iter()
        .map(|(name, value)| (name, json!(value)))
        .collect();
    let infos = state
        .core
        .listener_infos
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    for info in infos {
        map.insert(
            format!("listeners/{}/count", info.name),
            json!(info.current()),
        );
        map.insert(
            format!("listeners/{}/refused", info.name),
            json!(info.refused()),
        );
    }
    map
}

async fn metrics(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    ok(metrics_map(&state))
}

async fn stats(state: web::Data<ApiState>, req: HttpRequest) -> ApiResult {
    check_node(&req, &state)?;
    ok(stats_map(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_names_split_into_protocol_and_name() {
        assert_eq!(
            split_listener("tcp:external"),
            ("mqtt:tcp".into(), "external".into())
        );
        assert_eq!(split_listener("wss:a:b"), ("mqtt:wss".into(), "a:b".into()));
        assert_eq!(split_listener("http"), ("http".into(), "http".into()));
    }
}
