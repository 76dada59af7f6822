//! `emqttd ctl`: the operator's command line (emqttd's `emqttd_ctl`), talking to the running
//! node over its HTTP listener and REST API. [`args`] parses, [`api`] + [`http`] talk,
//! [`output`] prints; this file finds the node and maps each command to its routes.

pub mod api;
pub mod args;
pub mod http;
pub mod output;

use crate::config::{Config, DEFAULT_ADMIN};
use api::{seg, Api, CtlError};
use args::{CtlCommand, Invocation, CTL_USAGE};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// Environment variables with the admin credentials (when `--user` is not given).
pub const USER_ENV: &str = "EMQTTD_CTL_USER";
pub const PASSWORD_ENV: &str = "EMQTTD_CTL_PASSWORD";

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UNREACHABLE: u8 = 3;

/// Runs `emqttd ctl` with the arguments after `ctl`; returns the exit code.
pub fn run(args: Vec<String>, default_config: &Path) -> u8 {
    let invocation = match args::parse(args) {
        Ok(invocation) => invocation,
        Err(error) => return usage_error(&error.0),
    };
    let api = match connect(&invocation, default_config) {
        Ok(api) => api,
        Err((code, message)) => {
            eprintln!("emqttd ctl: {message}");
            return code;
        }
    };
    if invocation.command == CtlCommand::Help {
        return help(&api);
    }
    match execute(&api, &invocation.command) {
        Ok(done) => {
            let text = if invocation.json {
                output::json(&done.result)
            } else {
                done.text
            };
            print!("{text}");
            EXIT_OK
        }
        Err(CtlError::UnknownCommand(message)) => usage_error(&message),
        Err(error @ CtlError::Answer { .. }) => {
            if let CtlError::Answer { message, .. } = &error {
                eprintln!("Error: {message}");
            }
            error.exit_code()
        }
        Err(CtlError::Unreachable(message)) => {
            eprintln!("emqttd ctl: {message}");
            EXIT_UNREACHABLE
        }
    }
}

fn usage_error(message: &str) -> u8 {
    eprintln!("emqttd ctl: {message}\n\n{CTL_USAGE}");
    EXIT_USAGE
}

/// `help`: the usage, plus the commands the loaded plugins registered (when the node answers).
fn help(api: &Api) -> u8 {
    println!("{CTL_USAGE}");
    match api.get("/commands") {
        Ok(list) => print!("{}", output::plugin_commands(&list)),
        Err(CtlError::Unreachable(message) | CtlError::UnknownCommand(message))
        | Err(CtlError::Answer { message, .. }) => {
            println!("\nPlugin commands: not listed ({message})")
        }
    }
    EXIT_OK
}

/// Finds the node from the config (file + `EMQTTD_*` overrides) and the credentials.
/// Errors carry their exit code: 2 for a bad config, 3 when the HTTP listener is off.
fn connect(invocation: &Invocation, default_config: &Path) -> Result<Api, (u8, String)> {
    let explicit = invocation.config.is_some();
    let path = invocation.config.as_deref().unwrap_or(default_config);
    let loaded = Config::load_with_source(path, explicit)
        .map_err(|e| (EXIT_USAGE, format!("config error: {e}")))?;
    let origin = match &loaded.source {
        Some(source) => format!("[http] bind in {}", source.display()),
        None => format!("the default [http] bind; {} not found", path.display()),
    };
    let http = &loaded.config.http;
    if !http.enable {
        return Err((
            EXIT_UNREACHABLE,
            format!(
                "the node's HTTP listener is disabled (http.enable = false, {}); ctl talks to the node over it",
                origin.replacen("[http] bind in ", "", 1)
            ),
        ));
    }
    let credentials = credentials(
        invocation.user.clone(),
        std::env::var(USER_ENV).ok(),
        std::env::var(PASSWORD_ENV).ok(),
        http.users.get(DEFAULT_ADMIN.0).cloned(),
    );
    Ok(Api::new(connect_addr(http.bind), credentials, origin))
}

/// `--user`, else `EMQTTD_CTL_USER` / `EMQTTD_CTL_PASSWORD`, else `admin` with the password the
/// config gives it (`[http.users] admin`), else admin/public.
pub fn credentials(
    flag: Option<(String, String)>,
    env_user: Option<String>,
    env_password: Option<String>,
    config_admin_password: Option<String>,
) -> (String, String) {
    if let Some(flag) = flag {
        return flag;
    }
    let user = env_user.filter(|u| !u.is_empty());
    match (user, env_password) {
        (Some(user), Some(password)) => (user, password),
        (Some(user), None) => (user, String::new()),
        (None, password) => (
            DEFAULT_ADMIN.0.to_string(),
            password
                .or(config_admin_password)
                .unwrap_or_else(|| DEFAULT_ADMIN.1.to_string()),
        ),
    }
}

/// The address to connect to for a listener bound to `bind`: the wildcard addresses mean
/// "this machine", so connect to the loopback address of the same family.
pub fn connect_addr(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// A command's result: the JSON (for `--json`) and the human text.
pub struct Done {
    pub result: Value,
    pub text: String,
}

fn done(result: Value, text: impl Into<String>) -> Result<Done, CtlError> {
    Ok(Done {
        result,
        text: text.into(),
    })
}

fn done_list(objects: Vec<Value>, render: fn(&[Value]) -> String) -> Result<Done, CtlError> {
    let text = render(&objects);
    done(Value::Array(objects), text)
}

/// The JSON result as a list: an array as it is, one object as a list of one.
fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Runs one command against the node.
pub fn execute(api: &Api, command: &CtlCommand) -> Result<Done, CtlError> {
    use CtlCommand as C;
    match command {
        C::Help => done(Value::Null, CTL_USAGE),
        C::Status => status(api),
        C::Broker => {
            let node = this_node(api)?;
            let text = output::broker(&node);
            done(node, text)
        }
        C::BrokerStats => {
            let stats = per_node(api.get("/monitoring/stats")?);
            let text = output::key_values(&stats, 20);
            done(stats, text)
        }
        C::BrokerMetrics => {
            let metrics = per_node(api.get("/monitoring/metrics")?);
            let text = output::key_values(&metrics, 24);
            done(metrics, text)
        }
        C::Listeners => {
            let list = api.get("/monitoring/listeners")?;
            let text = output::listeners(&list);
            done(list, text)
        }
        C::ClientsList => done_list(api.list_all("/clients", &[])?, output::clients),
        C::ClientsShow(id) => {
            let client = api.get(&format!("/clients{}", seg(id)))?;
            done_list(as_list(&client), output::clients)
        }
        C::ClientsKick(id) => {
            let result = api.delete(&format!("/clients{}", seg(id)))?;
            done(result, format!("Client {id} kicked\n"))
        }
        C::SessionsList(kind) => {
            let query: Vec<(&str, &str)> = kind.iter().map(|k| ("type", k.as_str())).collect();
            done_list(api.list_all("/sessions", &query)?, output::sessions)
        }
        C::SessionsShow(id) => {
            let session = api.get(&format!("/sessions{}", seg(id)))?;
            done_list(as_list(&session), output::sessions)
        }
        C::SubscriptionsList => {
            done_list(api.list_all("/subscriptions", &[])?, output::subscriptions)
        }
        C::SubscriptionsShow(id) => {
            let list = api.get(&format!("/subscriptions{}", seg(id)))?;
            done_list(as_list(&list), output::subscriptions)
        }
        C::SubscriptionsAdd {
            client_id,
            topic,
            qos,
        } => {
            let body = json!({"client_id": client_id, "topic": topic, "qos": qos});
            done(api.post("/mqtt/subscribe", &body)?, "ok\n")
        }
        C::SubscriptionsDel { client_id, topic } => {
            let body = json!({"client_id": client_id, "topic": topic});
            done(api.post("/mqtt/unsubscribe", &body)?, "ok\n")
        }
        C::RoutesList => done_list(api.list_all("/routes", &[])?, output::routes),
        C::TopicsList => done_list(api.list_all("/topics", &[])?, output::topics),
        C::RoutesShow(topic) | C::TopicsShow(topic) => {
            let list = api.get(&format!("/routes{}", seg(topic)))?;
            let text = output::route_of(topic, &list);
            done(list, text)
        }
        C::RetainedList => done_list(api.list_all("/retained", &[])?, output::retained_list),
        C::RetainedShow(topic) => {
            let message = api.get(&format!("/retained{}", seg(topic)))?;
            let text: String = as_list(&message)
                .iter()
                .map(|m| output::retained(m, true) + "\n")
                .collect();
            done(message, text)
        }
        C::RetainedDel(topic) => done(api.delete(&format!("/retained{}", seg(topic)))?, "ok\n"),
        C::PluginsList => {
            let list = api.get("/plugins")?;
            let text = output::plugins(&list);
            done(list, text)
        }
        C::PluginsLoad(name) => {
            let result = api.put(&format!("/plugins{}", seg(name)), &json!({"active": true}))?;
            done(result, format!("Plugin {name} loaded successfully.\n"))
        }
        C::PluginsUnload(name) => {
            let result = api.put(&format!("/plugins{}", seg(name)), &json!({"active": false}))?;
            done(result, format!("Plugin {name} unloaded successfully.\n"))
        }
        C::ModulesList => {
            let list = api.get("/modules")?;
            let text = output::modules(&list);
            done(list, text)
        }
        C::ModulesEnable(name) => {
            let result = api.put(&format!("/modules{}", seg(name)), &json!({"enabled": true}))?;
            done(result, format!("Module {name} enabled.\n"))
        }
        C::ModulesDisable(name) => {
            let result = api.put(
                &format!("/modules{}", seg(name)),
                &json!({"enabled": false}),
            )?;
            done(result, format!("Module {name} disabled.\n"))
        }
        C::AclReload => {
            let result = api.post("/acl/reload", &json!({}))?;
            let text = output::acl_reloaded(&result);
            done(result, text)
        }
        C::AdminsList => {
            let list = api.get("/users")?;
            let text = output::admins(&list);
            done(list, text)
        }
        C::AdminsAdd { user, password } => {
            let body = json!({"username": user, "password": password, "tags": "administrator"});
            done(api.post("/users", &body)?, "ok\n")
        }
        C::AdminsPasswd { user, password } => admins_passwd(api, user, password),
        C::AdminsDel(user) => done(api.delete(&format!("/users{}", seg(user)))?, "ok\n"),
        C::Publish {
            topic,
            payload,
            qos,
            retain,
        } => {
            let body = json!({"topic": topic, "payload": payload, "qos": qos, "retain": retain,
                              "client_id": "emqttd_ctl"});
            let result = api.post("/mqtt/publish", &body)?;
            let text = output::published(&result);
            done(result, text)
        }
        C::Plugin { name, args } => plugin_command(api, name, args),
    }
}

/// `status`: the node's info; an older node without the REST API answers `GET /status`.
fn status(api: &Api) -> Result<Done, CtlError> {
    match this_node(api) {
        Ok(node) => {
            let text = output::status(&node);
            done(node, text)
        }
        Err(CtlError::Answer { status: 404, .. }) => {
            let text = api.get_text("/status")?;
            done(Value::String(text.clone()), text)
        }
        Err(error) => Err(error),
    }
}

/// This node's NodeInfo (`GET /management/nodes`; the first node is ours).
fn this_node(api: &Api) -> Result<Value, CtlError> {
    let nodes = api.get("/management/nodes")?;
    Ok(per_node(nodes))
}

/// A per-node result: an object as it is, the first of a list.
fn per_node(value: Value) -> Value {
    match value {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    }
}

/// `admins passwd <User> <Pwd>` (emqttd's `admins passwd`): an admin sets any admin's password
/// through `PUT /users/{name}`.
fn admins_passwd(api: &Api, user: &str, password: &str) -> Result<Done, CtlError> {
    let body = json!({ "password": password });
    done(api.put(&format!("/users{}", seg(user)), &body)?, "ok\n")
}

/// Any other word: `POST /commands/{name}` with the arguments; the node's 404 means there is no
/// such command (a usage error).
fn plugin_command(api: &Api, name: &str, args: &[String]) -> Result<Done, CtlError> {
    match api.post(&format!("/commands{}", seg(name)), &json!({ "args": args })) {
        Ok(result) => {
            let text = output::command_output(&result);
            done(result, text)
        }
        Err(CtlError::Answer {
            status: 404,
            message,
        }) => Err(CtlError::UnknownCommand(format!(
            "unknown command '{name}' ({message}); `emqttd ctl help` lists the plugin commands"
        ))),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_connect_to_loopback() {
        assert_eq!(
            connect_addr("0.0.0.0:18083".parse().unwrap()),
            "127.0.0.1:18083".parse().unwrap()
        );
        assert_eq!(
            connect_addr("[::]:18083".parse().unwrap()),
            "[::1]:18083".parse().unwrap()
        );
        assert_eq!(
            connect_addr("10.1.2.3:80".parse().unwrap()),
            "10.1.2.3:80".parse().unwrap()
        );
    }

    #[test]
    fn credentials_precedence() {
        let s = |v: &str| Some(v.to_string());
        let pair = |u: &str, p: &str| (u.to_string(), p.to_string());
        assert_eq!(
            credentials(Some(pair("f", "1")), s("e"), s("2"), s("c")),
            pair("f", "1")
        );
        assert_eq!(credentials(None, s("e"), s("2"), s("c")), pair("e", "2"));
        assert_eq!(credentials(None, s("e"), None, s("c")), pair("e", ""));
        assert_eq!(credentials(None, None, s("2"), s("c")), pair("admin", "2"));
        assert_eq!(credentials(None, None, None, s("c")), pair("admin", "c"));
        assert_eq!(credentials(None, None, None, None), pair("admin", "public"));
    }

    #[test]
    fn per_node_takes_the_first_of_a_list() {
        assert_eq!(per_node(json!([{"a": 1}, {"a": 2}])), json!({"a": 1}));
        assert_eq!(per_node(json!({"a": 1})), json!({"a": 1}));
        assert_eq!(as_list(&json!({"a": 1})), vec![json!({"a": 1})]);
        assert!(as_list(&Value::Null).is_empty());
    }
}
