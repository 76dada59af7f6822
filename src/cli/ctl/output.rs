//! Human output of `emqttd ctl`, in the shapes emqttd_ctl printed (`Client(id, ...)`,
//! `topic -> node`, `key : value` tables), rendered from the REST API's JSON results. Pure.

use serde_json::Value;

/// A field as emqttd printed it: strings bare, `null`/missing as `undefined`.
pub fn field(object: &Value, key: &str) -> String {
    scalar(object.get(key).unwrap_or(&Value::Null))
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "undefined".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Items of a JSON array (an empty list for anything else).
pub fn items(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Lines joined with a trailing newline each; nothing for no lines.
fn lines(lines: impl IntoIterator<Item = String>) -> String {
    lines.into_iter().map(|l| l + "\n").collect()
}

/// `status`: emqttd's two lines, from a NodeInfo.
pub fn status(node: &Value) -> String {
    let state = match node.get("node_status").and_then(Value::as_str) {
        Some(s) if !s.eq_ignore_ascii_case("running") => s.to_ascii_lowercase(),
        _ => "started".into(),
    };
    format!(
        "Node {} is {state}\nemqttd {} is running\n",
        field(node, "name"),
        field(node, "version")
    )
}

/// `broker`: `sysdescr`, `version`, `uptime`, `datetime`, padded like emqttd's `~-10s`.
pub fn broker(node: &Value) -> String {
    lines(
        ["sysdescr", "version", "uptime", "datetime"]
            .iter()
            .map(|k| format!("{:<10}: {}", k, field(node, k))),
    )
}

/// `broker stats` / `broker metrics`: `name : value` per key of an object, sorted by name, names
/// padded to `width` (emqttd: 20 for stats, 24 for metrics) or to the longest name.
pub fn key_values(object: &Value, width: usize) -> String {
    let Some(map) = object.as_object() else {
        return String::new();
    };
    let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let width = pairs.iter().map(|(k, _)| k.len()).fold(width, usize::max);
    lines(
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k:<width$}: {}", scalar(v))),
    )
}

/// `listeners`: a block per listener, as emqttd's `listener on mqtt:tcp:0.0.0.0:1883`.
pub fn listeners(list: &Value) -> String {
    let mut out = String::new();
    for l in items(list) {
        out.push_str(&format!(
            "listener on {}:{}\n",
            field(l, "protocol"),
            field(l, "listen")
        ));
        for key in ["name", "max_clients", "current_clients", "refused"] {
            if l.get(key).is_some() {
                out.push_str(&format!("  {:<16}: {}\n", key, field(l, key)));
            }
        }
        // emqttd's form: the count per close reason, `[{closed,2},{keepalive_timeout,1}]`.
        if let Some(reasons) = l.get("shutdown_reasons").and_then(Value::as_object) {
            let counts: Vec<String> = reasons
                .iter()
                .map(|(reason, n)| format!("{{{reason},{}}}", scalar(n)))
                .collect();
            out.push_str(&format!(
                "  {:<16}: [{}]\n",
                "shutdown_count",
                counts.join(",")
            ));
        }
    }
    out
}

/// `Client(dev1, username=u, peername=127.0.0.1:5555, clean_sess=true, connected_at=...)`.
pub fn client(c: &Value) -> String {
    let peername = match c.get("port") {
        Some(port) if !port.is_null() => format!("{}:{}", field(c, "ipaddress"), scalar(port)),
        _ => field(c, "ipaddress"),
    };
    format!(
        "Client({}, username={}, peername={}, clean_sess={}, proto_ver={}, keepalive={}, connected_at={})",
        field(c, "client_id"),
        field(c, "username"),
        peername,
        field(c, "clean_sess"),
        field(c, "proto_ver"),
        field(c, "keepalive"),
        field(c, "connected_at"),
    )
}

pub fn clients(list: &[Value]) -> String {
    lines(list.iter().map(client))
}

/// `Session(dev1, clean_sess=false, connected=true, subscriptions=2, max_inflight=32, ...)`.
pub fn session(s: &Value) -> String {
    format!(
        "Session({}, clean_sess={}, connected={}, subscriptions={}, max_inflight={}, inflight={}, mqueue_len={}, mqueue_dropped={}, awaiting_rel={}, created_at={})",
        field(s, "client_id"),
        field(s, "clean_sess"),
        field(s, "connected"),
        field(s, "subscriptions"),
        field(s, "max_inflight"),
        field(s, "inflight_len"),
        field(s, "mqueue_len"),
        field(s, "mqueue_dropped"),
        field(s, "awaiting_rel_len"),
        field(s, "created_at"),
    )
}

pub fn sessions(list: &[Value]) -> String {
    lines(list.iter().map(session))
}

/// `dev1 -> a/b (qos=1)`.
pub fn subscriptions(list: &[Value]) -> String {
    lines(list.iter().map(|s| {
        format!(
            "{} -> {} (qos={})",
            field(s, "client_id"),
            field(s, "topic"),
            field(s, "qos")
        )
    }))
}

/// `routes list`: `topic -> node` per route.
pub fn routes(list: &[Value]) -> String {
    lines(
        list.iter()
            .map(|r| format!("{} -> {}", field(r, "topic"), field(r, "node"))),
    )
}

/// `routes show` / `topics show`: `topic -> node1,node2` (emqttd joined the nodes of a topic).
pub fn route_of(topic: &str, list: &Value) -> String {
    let nodes: Vec<String> = items(list).iter().map(|r| field(r, "node")).collect();
    format!("{topic} -> {}\n", nodes.join(","))
}

/// `topics list`: one topic per line.
pub fn topics(list: &[Value]) -> String {
    lines(list.iter().map(|r| field(r, "topic")))
}

/// `Retained(a/b, qos=1, from=dev1, size=5, ts=...)`; `show` adds the payload.
pub fn retained(r: &Value, with_payload: bool) -> String {
    let mut line = format!(
        "Retained({}, qos={}, from={}, size={}, ts={}",
        field(r, "topic"),
        field(r, "qos"),
        field(r, "from"),
        field(r, "size"),
        field(r, "ts"),
    );
    if with_payload {
        let encoding = field(r, "payload_encoding");
        if encoding == "base64" {
            line.push_str(&format!(", payload(base64)={}", field(r, "payload")));
        } else {
            line.push_str(&format!(", payload={}", field(r, "payload")));
        }
    }
    line.push(')');
    line
}

pub fn retained_list(list: &[Value]) -> String {
    lines(list.iter().map(|r| retained(r, false)))
}

/// `Plugin(name, version=..., description=..., active=true)`, as emqttd.
pub fn plugins(list: &Value) -> String {
    lines(items(list).iter().map(|p| {
        format!(
            "Plugin({}, version={}, description={}, active={})",
            field(p, "name"),
            field(p, "version"),
            field(p, "description"),
            field(p, "active")
        )
    }))
}

/// `Module(presence, description=..., enabled=true)`.
pub fn modules(list: &Value) -> String {
    lines(items(list).iter().map(|m| {
        format!(
            "Module({}, description={}, enabled={})",
            field(m, "name"),
            field(m, "description"),
            field(m, "enabled")
        )
    }))
}

/// `Admin(admin, tags=administrator)`.
pub fn admins(list: &Value) -> String {
    lines(
        items(list)
            .iter()
            .map(|a| format!("Admin({}, tags={})", field(a, "username"), field(a, "tags"))),
    )
}

/// `publish`: where it went and how many subscribers got it.
pub fn published(result: &Value) -> String {
    let topics: Vec<String> = items(result.get("topics").unwrap_or(&Value::Null))
        .iter()
        .map(scalar)
        .collect();
    format!(
        "published to {}: delivered to {} subscriber(s)\n",
        topics.join(","),
        field(result, "delivered")
    )
}

/// `acl reload`.
pub fn acl_reloaded(result: &Value) -> String {
    match result.get("rules") {
        Some(n) => format!("acl reloaded: {} rule(s)\n", scalar(n)),
        None => "acl reloaded\n".into(),
    }
}

/// A plugin command's own output, ending in a newline.
pub fn command_output(result: &Value) -> String {
    let text = match result.get("output") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None if result.is_string() => scalar(result),
        None => String::new(),
    };
    if text.is_empty() || text.ends_with('\n') {
        text
    } else {
        text + "\n"
    }
}

/// The plugin commands section of `emqttd ctl help`.
pub fn plugin_commands(list: &Value) -> String {
    let list = items(list);
    if list.is_empty() {
        return "\nPlugin commands: none (no loaded plugin registers one)\n".into();
    }
    let mut out = String::from("\nPlugin commands (from the loaded plugins):\n");
    for c in list {
        let usage = field(c, "usage");
        let name = field(c, "name");
        let mut usage_lines = usage.lines();
        out.push_str(&format!(
            "  {:<43} {}\n",
            name,
            usage_lines.next().unwrap_or_default()
        ));
        for more in usage_lines {
            out.push_str(&format!("  {:<43} {}\n", "", more));
        }
    }
    out
}

/// `--json`: the result, pretty-printed.
pub fn json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_is_emqttds_two_lines() {
        let node =
            json!({"name": "emqttd@127.0.0.1", "version": "0.1.0", "node_status": "Running"});
        assert_eq!(
            status(&node),
            "Node emqttd@127.0.0.1 is started\nemqttd 0.1.0 is running\n"
        );
    }

    #[test]
    fn broker_info_and_tables_are_padded() {
        let node = json!({"sysdescr": "emqttd", "version": "0.1.0", "uptime": "3 seconds",
                          "datetime": "2026-11-26 08:30:00"});
        assert_eq!(
            broker(&node),
            "sysdescr  : emqttd\nversion   : 0.1.0\nuptime    : 3 seconds\ndatetime  : 2026-11-26 08:30:00\n"
        );
        let stats = json!({"routes/count": 2, "clients/count": 1});
        assert_eq!(
            key_values(&stats, 20),
            "clients/count       : 1\nroutes/count        : 2\n"
        );
        assert_eq!(key_values(&json!([]), 20), "");
        let long = json!({"listeners/tcp:external/count": 1, "a": 2});
        assert_eq!(
            key_values(&long, 20),
            "a                           : 2\nlisteners/tcp:external/count: 1\n"
        );
    }

    #[test]
    fn client_line() {
        let c = json!({"client_id": "dev1", "username": "u", "ipaddress": "127.0.0.1",
                       "port": 5555, "clean_sess": true, "proto_ver": 4, "keepalive": 60,
                       "connected_at": 1764146400});
        assert_eq!(
            client(&c),
            "Client(dev1, username=u, peername=127.0.0.1:5555, clean_sess=true, proto_ver=4, keepalive=60, connected_at=1764146400)"
        );
        let anonymous = json!({"client_id": "x", "username": null, "ipaddress": "::1", "port": 1});
        assert!(client(&anonymous).contains("username=undefined, peername=::1:1"));
        assert_eq!(clients(&[c.clone(), c]).lines().count(), 2);
    }

    #[test]
    fn session_line() {
        let s = json!({"client_id": "dev1", "clean_sess": false, "connected": true,
                       "max_inflight": 32, "inflight_len": 1, "mqueue_len": 2,
                       "mqueue_dropped": 0, "awaiting_rel_len": 0, "subscriptions": 3,
                       "created_at": 100});
        assert_eq!(
            session(&s),
            "Session(dev1, clean_sess=false, connected=true, subscriptions=3, max_inflight=32, inflight=1, mqueue_len=2, mqueue_dropped=0, awaiting_rel=0, created_at=100)"
        );
    }

    #[test]
    fn subscriptions_routes_topics() {
        let subs = [json!({"client_id": "c1", "topic": "a/#", "qos": 1})];
        assert_eq!(subscriptions(&subs), "c1 -> a/# (qos=1)\n");
        let routes_list = [
            json!({"topic": "a/#", "node": "n1"}),
            json!({"topic": "b", "node": "n1"}),
        ];
        assert_eq!(routes(&routes_list), "a/# -> n1\nb -> n1\n");
        assert_eq!(topics(&routes_list), "a/#\nb\n");
        assert_eq!(
            route_of(
                "a/#",
                &json!([{"topic": "a/#", "node": "n1"}, {"topic": "a/#", "node": "n2"}])
            ),
            "a/# -> n1,n2\n"
        );
    }

    #[test]
    fn retained_lines() {
        let r = json!({"topic": "t", "payload": "hi", "payload_encoding": "plain", "qos": 1,
                       "from": "p", "ts": 5, "size": 2});
        assert_eq!(
            retained(&r, false),
            "Retained(t, qos=1, from=p, size=2, ts=5)"
        );
        assert_eq!(
            retained(&r, true),
            "Retained(t, qos=1, from=p, size=2, ts=5, payload=hi)"
        );
        let b = json!({"topic": "t", "payload": "AAE=", "payload_encoding": "base64"});
        assert!(retained(&b, true).ends_with("payload(base64)=AAE=)"));
        assert_eq!(retained_list(&[r]).lines().count(), 1);
    }

    #[test]
    fn plugins_modules_admins() {
        let p = json!([{"name": "emqttd_plugin_template", "version": "0.1.0",
                        "description": "a template", "active": false}]);
        assert_eq!(
            plugins(&p),
            "Plugin(emqttd_plugin_template, version=0.1.0, description=a template, active=false)\n"
        );
        let m = json!([{"name": "presence", "description": "d", "enabled": true}]);
        assert_eq!(
            modules(&m),
            "Module(presence, description=d, enabled=true)\n"
        );
        let a = json!([{"username": "admin", "tags": "administrator"}]);
        assert_eq!(admins(&a), "Admin(admin, tags=administrator)\n");
        assert_eq!(plugins(&json!({})), "");
    }

    #[test]
    fn results_of_actions() {
        assert_eq!(
            published(&json!({"topics": ["a", "b"], "delivered": 2})),
            "published to a,b: delivered to 2 subscriber(s)\n"
        );
        assert_eq!(
            acl_reloaded(&json!({"rules": 3})),
            "acl reloaded: 3 rule(s)\n"
        );
        assert_eq!(command_output(&json!({"output": "ok"})), "ok\n");
        assert_eq!(command_output(&json!({"output": "a\nb\n"})), "a\nb\n");
        assert_eq!(command_output(&json!({})), "");
    }

    #[test]
    fn listeners_and_plugin_commands() {
        let l = json!([{"protocol": "mqtt:tcp", "name": "external", "listen": "0.0.0.0:1883",
                        "current_clients": 1, "max_clients": 10, "refused": 0,
                        "shutdown_count": 3,
                        "shutdown_reasons": {"closed": 2, "keepalive_timeout": 1}}]);
        let text = listeners(&l);
        assert!(text.starts_with("listener on mqtt:tcp:0.0.0.0:1883\n"));
        assert!(text.contains("\n  current_clients : 1\n"));
        assert!(
            text.contains("\n  shutdown_count  : [{closed,2},{keepalive_timeout,1}]\n"),
            "{text}"
        );
        let cmds = json!([{"name": "users", "usage": "users add <User> <Pwd>\nusers list"}]);
        let help = plugin_commands(&cmds);
        assert!(help.contains("users") && help.contains("users list"));
        assert!(plugin_commands(&json!([])).contains("none"));
        assert_eq!(json(&json!({"a": 1})), "{\n  \"a\": 1\n}\n");
    }
}
