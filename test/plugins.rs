//! The plugin host end to end with real clients: the template plugin loaded and unloaded at
//! run time (its hooks, providers, event actor and ctl command come and go), loads and unloads
//! while clients keep publishing, a plugin that panics is unloaded while routing goes on, a
//! failed load leaves nothing behind, and the loaded-plugins file is written and restored.

use crate::common::{eventually, fresh_dir, start_broker, Client, QoS, WAIT};
use emqttd::app::Broker;
use emqttd::broker::BrokerCore;
use emqttd::plugins::{CommandError, PluginError};
use emqttd::sys::metrics::Metric;
use emqttd_plugin_api::{
    AuthCheck, AuthProvider, AuthResult, ClientAuth, EventKind, HookEvent, Plugin, PluginContext,
    PublishAction,
};
use std::sync::Arc;

const TEMPLATE: &str = "emqttd_plugin_template";

/// Load on the host from a blocking thread (the host waits for its arbiter).
async fn load(core: &Arc<BrokerCore>, name: &str) -> Result<(), PluginError> {
    let (core, name) = (core.clone(), name.to_string());
    tokio::task::spawn_blocking(move || core.plugins.load(&name))
        .await
        .unwrap()
}

async fn unload(core: &Arc<BrokerCore>, name: &str) -> Result<(), PluginError> {
    let (core, name) = (core.clone(), name.to_string());
    tokio::task::spawn_blocking(move || core.plugins.unload(&name))
        .await
        .unwrap()
}

/// The template's `ctl template` output, as (hook, count) pairs.
fn template_counts(core: &BrokerCore) -> Vec<(String, u64)> {
    let output = core
        .plugins
        .run_command("template", &[])
        .expect("the template command runs");
    output
        .lines()
        .filter_map(|line| {
            let (name, n) = line.split_once(' ')?;
            Some((name.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

fn count(core: &BrokerCore, hook: &str) -> u64 {
    template_counts(core)
        .into_iter()
        .find(|(name, _)| name == hook)
        .map_or_else(|| panic!("no count for {hook}"), |(_, n)| n)
}

/// Waits until the template has counted `n` for `hook`.
async fn wait_count(core: &BrokerCore, hook: &str, n: u64) {
    let what = format!("the template to count {n} for {hook}");
    crate::common::eventually(&what, || count(core, hook) == n).await;
}

/// What the broker has registered: hooks and subscriptions, auth and ACL providers, commands.
fn registered(core: &BrokerCore) -> (usize, usize, usize, usize) {
    (
        core.hooks.len(),
        core.access.auth_providers(),
        core.access.acl_providers(),
        core.plugins.commands().len(),
    )
}

fn active(core: &BrokerCore, name: &str) -> bool {
    core.plugins
        .list()
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is not linked"))
        .active
}

/// A fresh temp dir for one test.
#[tokio::test]
async fn template_plugin_sees_a_publish_and_unloads_without_a_trace() {
    let broker = start_broker(&[]);
    let core = broker.core().clone();
    let listed = core.plugins.list();
    let template = listed.iter().find(|p| p.name == TEMPLATE).unwrap();
    assert!(!template.active);
    assert!(!template.description.is_empty());
    assert_eq!(template.version, "0.1.0");
    let before = registered(&core);

    load(&core, TEMPLATE).await.unwrap();
    assert!(active(&core, TEMPLATE));
    assert_eq!(core.plugins.commands()[0].name, "template");
    // 4 filter hooks + 1 event subscription, 1 auth and 1 ACL provider, 1 command.
    assert_eq!(
        registered(&core),
        (before.0 + 5, before.1 + 1, before.2 + 1, before.3 + 1)
    );

    let mut sub = Client::connect(broker.tcp_addr(), "tpl-sub").await;
    sub.subscribe_ok("tpl/#", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(broker.tcp_addr(), "tpl-pub").await;
    publisher
        .publish("tpl/a", QoS::AtLeastOnce, false, "one")
        .await;
    sub.expect_message("tpl/a", "one").await;
    assert_eq!(count(&core, "message.publish"), 1);
    assert_eq!(count(&core, "client.connect"), 2);
    assert_eq!(count(&core, "auth"), 2);
    assert_eq!(count(&core, "client.subscribe"), 1);
    assert!(count(&core, "acl") >= 2, "{:?}", template_counts(&core));
    // Events reach the plugin's actor asynchronously.
    wait_count(&core, EventKind::MessageDelivered.name(), 1).await;
    wait_count(&core, EventKind::ClientConnected.name(), 2).await;
    sub.unsubscribe("tpl/#").await;
    assert_eq!(count(&core, "client.unsubscribe"), 1);
    assert_eq!(
        core.plugins.run_command("template", &["reset".into()]),
        Ok("counts reset\n".into())
    );
    assert_eq!(count(&core, "message.publish"), 0);
    assert!(matches!(
        core.plugins.run_command("template", &["bogus".into()]),
        Err(CommandError::Failed(_))
    ));

    unload(&core, TEMPLATE).await.unwrap();
    assert!(!active(&core, TEMPLATE));
    assert_eq!(registered(&core), before);
    assert_eq!(
        core.plugins.run_command("template", &[]),
        Err(CommandError::Unknown("template".into()))
    );
    // Routing is untouched, and nothing counts it any more.
    sub.subscribe_ok("tpl/#", QoS::AtLeastOnce).await;
    publisher
        .publish("tpl/b", QoS::AtLeastOnce, false, "two")
        .await;
    sub.expect_message("tpl/b", "two").await;

    // Loaded again: a fresh instance that counts from zero.
    load(&core, TEMPLATE).await.unwrap();
    publisher
        .publish("tpl/c", QoS::AtLeastOnce, false, "three")
        .await;
    sub.expect_message("tpl/c", "three").await;
    assert_eq!(count(&core, "message.publish"), 1);
    unload(&core, TEMPLATE).await.unwrap();
    assert_eq!(registered(&core), before);
}

#[tokio::test]
async fn unknown_names_and_wrong_states_are_errors() {
    let broker = start_broker(&[]);
    let core = broker.core().clone();
    assert_eq!(
        load(&core, "no_such_plugin").await,
        Err(PluginError::Unknown("no_such_plugin".into()))
    );
    assert_eq!(
        unload(&core, "no_such_plugin").await,
        Err(PluginError::Unknown("no_such_plugin".into()))
    );
    assert_eq!(
        unload(&core, TEMPLATE).await,
        Err(PluginError::NotLoaded(TEMPLATE.into()))
    );
    load(&core, TEMPLATE).await.unwrap();
    assert_eq!(
        load(&core, TEMPLATE).await,
        Err(PluginError::AlreadyLoaded(TEMPLATE.into()))
    );
    assert_eq!(
        core.plugins.run_command("nope", &[]),
        Err(CommandError::Unknown("nope".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_and_unload_while_clients_publish_loses_nothing() {
    let broker = start_broker(&[]);
    let core = broker.core().clone();
    let before = registered(&core);
    let mut sub = Client::connect(broker.tcp_addr(), "flow-sub").await;
    sub.subscribe_ok("flow/#", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(broker.tcp_addr(), "flow-pub").await;
    const N: usize = 300;
    let publishing = tokio::spawn(async move {
        for i in 0..N {
            publisher
                .publish("flow/x", QoS::AtLeastOnce, false, format!("m{i}"))
                .await;
        }
        publisher
    });
    let toggling = {
        let core = core.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                load(&core, TEMPLATE).await.unwrap();
                unload(&core, TEMPLATE).await.unwrap();
            }
        })
    };
    for i in 0..N {
        sub.expect_message("flow/x", &format!("m{i}")).await;
    }
    toggling.await.unwrap();
    publishing.await.unwrap();
    assert_eq!(registered(&core), before);
}

/// A plugin for these tests: `mode` says where it fails.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Its message.publish hook panics on `crash/...` topics.
    PanicInPublish,
    /// Its auth provider panics.
    PanicInAuth,
    /// Its ctl command panics.
    PanicInCommand,
    /// `load` registers things, then answers an error.
    LoadFails,
    /// `load` registers things, then panics.
    LoadPanics,
    /// The actor it subscribes to `client.connected` panics on the first event.
    PanicInEventActor,
}

/// An event actor that panics on its first event.
struct PanickingEvents;
impl actix::Actor for PanickingEvents {
    type Context = actix::Context<Self>;
}
impl actix::Handler<HookEvent> for PanickingEvents {
    type Result = ();
    fn handle(&mut self, _: HookEvent, _: &mut actix::Context<Self>) {
        panic!("event handler bug");
    }
}

struct Faulty(Mode);

struct PanicsAuth;
impl AuthProvider for PanicsAuth {
    fn check(&self, _: &ClientAuth<'_>) -> AuthCheck {
        panic!("auth backend exploded")
    }
}

struct IgnoresAuth;
impl AuthProvider for IgnoresAuth {
    fn check(&self, _: &ClientAuth<'_>) -> AuthCheck {
        AuthResult::Ignore.into()
    }
}

impl Plugin for Faulty {
    fn name(&self) -> &'static str {
        match self.0 {
            Mode::PanicInPublish => "faulty_publish",
            Mode::PanicInAuth => "faulty_auth",
            Mode::PanicInCommand => "faulty_command",
            Mode::LoadFails => "faulty_load",
            Mode::LoadPanics => "faulty_load_panic",
            Mode::PanicInEventActor => "faulty_events",
        }
    }

    fn description(&self) -> &'static str {
        "a test plugin that fails on purpose"
    }

    fn version(&self) -> &'static str {
        "0.0.1"
    }

    fn load(&mut self, ctx: &mut dyn PluginContext) -> Result<(), String> {
        let mode = self.0;
        ctx.hook_message_publish(
            100,
            Box::new(move |message| {
                if mode == Mode::PanicInPublish && message.topic.starts_with("crash/") {
                    panic!("publish hook bug on {}", message.topic);
                }
                PublishAction::Continue
            }),
        );
        let auth: Box<dyn AuthProvider> = if mode == Mode::PanicInAuth {
            Box::new(PanicsAuth)
        } else {
            Box::new(IgnoresAuth)
        };
        ctx.register_auth(100, auth);
        ctx.register_command(
            self.name(),
            "faulty",
            Box::new(move |_| {
                if mode == Mode::PanicInCommand {
                    panic!("command bug");
                }
                Ok("fine".into())
            }),
        );
        if mode == Mode::PanicInEventActor {
            use actix::Actor;
            let events = PanickingEvents.start();
            ctx.subscribe_events(&[EventKind::ClientConnected], events.recipient());
        }
        match mode {
            Mode::LoadFails => Err("cannot reach the database".into()),
            Mode::LoadPanics => panic!("load bug"),
            _ => Ok(()),
        }
    }
}

fn link(core: &BrokerCore, mode: Mode) -> String {
    core.plugins
        .add_linked(move || Box::new(Faulty(mode)))
        .unwrap()
}

#[tokio::test]
async fn a_plugin_panicking_in_a_publish_hook_is_unloaded_and_routing_goes_on() {
    let broker = start_broker(&[]);
    let core = broker.core().clone();
    let name = link(&core, Mode::PanicInPublish);
    assert_eq!(
        core.plugins
            .add_linked(|| Box::new(Faulty(Mode::PanicInPublish))),
        Err(PluginError::AlreadyLinked(name.clone()))
    );
    let before = registered(&core);
    load(&core, &name).await.unwrap();
    load(&core, TEMPLATE).await.unwrap();

    let mut sub = Client::connect(broker.tcp_addr(), "crash-sub").await;
    sub.subscribe_ok("crash/#", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(broker.tcp_addr(), "crash-pub").await;
    publisher
        .publish("crash/1", QoS::AtLeastOnce, false, "first")
        .await;
    // The publish that hit the panic is routed as if the hook said Continue, and the template
    // (later in the chain) still saw it.
    sub.expect_message("crash/1", "first").await;
    assert_eq!(count(&core, "message.publish"), 1);
    eventually("the crashed plugin unloaded", || !active(&core, &name)).await;
    assert_eq!(core.metrics.get(Metric::PluginsCrashed), 1);
    unload(&core, TEMPLATE).await.unwrap();
    assert_eq!(registered(&core), before);
    for i in 2..5 {
        let payload = format!("next {i}");
        publisher
            .publish("crash/n", QoS::AtLeastOnce, false, payload.clone())
            .await;
        sub.expect_message("crash/n", &payload).await;
    }
    // It can be loaded again (and crashes again the same way).
    load(&core, &name).await.unwrap();
    publisher
        .publish("crash/2", QoS::AtLeastOnce, false, "again")
        .await;
    sub.expect_message("crash/2", "again").await;
    eventually("the crashed plugin unloaded again", || {
        !active(&core, &name)
    })
    .await;
    assert_eq!(core.metrics.get(Metric::PluginsCrashed), 2);
    assert_eq!(registered(&core), before);
}

#[tokio::test]
async fn a_plugin_panicking_in_its_auth_provider_is_unloaded_and_the_client_connects() {
    let broker = start_broker(&[]);
    let core = broker.core().clone();
    let name = link(&core, Mode::PanicInAuth);
    let before = registered(&core);
    load(&core, &name).await.unwrap();
    // The provider's panic counts as Ignore: allow_anonymous (true) lets the client in.
    let mut client = Client::connect(broker.tcp_addr(), "auth-crash").await;
    eventually("the crashed plugin unloaded", || !active(&core, &name)).await;
    assert_eq!(core.metrics.get(Metric::PluginsCrashed), 1);
    assert_eq!(registered(&core), before);
    client.subscribe_ok("a/b", QoS::AtMostOnce).await;
    client.publish("a/b", QoS::AtMostOnce, false, "hi").await;
    client.expect_message("a/b", "hi").await;
}

#[tokio::test]
async fn a_panicking_command_unloads_its_plugin() {
    let broker = start_broker(&[]);
    let core = broker.core().clone();
    let name = link(&core, Mode::PanicInCommand);
    let before = registered(&core);
    load(&core, &name).await.unwrap();
    assert!(matches!(
        core.plugins.run_command(&name, &[]),
        Err(CommandError::Crashed(_))
    ));
    eventually("the crashed plugin unloaded", || !active(&core, &name)).await;
    assert_eq!(registered(&core), before);
    assert_eq!(core.metrics.get(Metric::PluginsCrashed), 1);
}

#[tokio::test]
async fn a_plugin_whose_event_actor_dies_is_unloaded() {
    let broker = start_broker(&[]);
    let core = broker.core().clone();
    let name = link(&core, Mode::PanicInEventActor);
    let before = registered(&core);
    load(&core, &name).await.unwrap();
    // The first client.connected kills the actor; the host learns it when the next event finds
    // the actor gone. Clients keep connecting (and are let in) until the plugin is unloaded.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut n = 0;
    while active(&core, &name) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "plugin not unloaded after {n} connects"
        );
        n += 1;
        Client::connect(broker.tcp_addr(), &format!("events-{n}"))
            .await
            .disconnect()
            .await;
    }
    assert!(n >= 2, "unloaded before its actor failed");
    assert_eq!(core.metrics.get(Metric::PluginsCrashed), 1);
    eventually("its registrations gone", || registered(&core) == before).await;
    let mut client = Client::connect(broker.tcp_addr(), "events-after").await;
    client.subscribe_ok("a/b", QoS::AtMostOnce).await;
}

#[tokio::test]
async fn a_plugin_whose_load_fails_is_left_unloaded_with_nothing_registered() {
    let dir = fresh_dir("plugins-load-fails");
    let file = dir.join("loaded_plugins");
    let file_text = file.to_string_lossy().into_owned();
    let broker = start_broker(&[("EMQTTD_PLUGINS__LOADED_FILE", &file_text)]);
    let core = broker.core().clone();
    let before = registered(&core);
    for mode in [Mode::LoadFails, Mode::LoadPanics] {
        let name = link(&core, mode);
        match load(&core, &name).await {
            Err(PluginError::LoadFailed { name: n, message }) => {
                assert_eq!(n, name);
                let expected = if mode == Mode::LoadFails {
                    "cannot reach the database"
                } else {
                    "load panicked: load bug"
                };
                assert_eq!(message, expected);
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(!active(&core, &name));
        assert_eq!(registered(&core), before, "{name}");
    }
    assert!(!file.exists(), "a failed load is not recorded");
    // The broker still routes.
    let mut client = Client::connect(broker.tcp_addr(), "after-fail").await;
    client.subscribe_ok("x", QoS::AtMostOnce).await;
    client.publish("x", QoS::AtMostOnce, false, "ok").await;
    client.expect_message("x", "ok").await;
}

#[tokio::test]
async fn a_bad_plugin_config_fails_the_load_naming_the_file_and_key() {
    let dir = fresh_dir("plugins-bad-config");
    std::fs::write(dir.join("emqttd_plugin_template.toml"), "log_payload = 3\n").unwrap();
    let etc = dir.to_string_lossy().into_owned();
    let broker = start_broker(&[("EMQTTD_PLUGINS__ETC_DIR", &etc)]);
    let core = broker.core().clone();
    let before = registered(&core);
    let error = load(&core, TEMPLATE).await.unwrap_err().to_string();
    assert!(
        error.contains("emqttd_plugin_template.toml") && error.contains("'log_payload'"),
        "{error}"
    );
    assert_eq!(registered(&core), before);
    std::fs::write(dir.join("emqttd_plugin_template.toml"), "log_payload = [\n").unwrap();
    let error = load(&core, TEMPLATE).await.unwrap_err().to_string();
    assert!(error.contains("emqttd_plugin_template.toml"), "{error}");
    std::fs::write(
        dir.join("emqttd_plugin_template.toml"),
        "log_payload = true\n",
    )
    .unwrap();
    load(&core, TEMPLATE).await.unwrap();
}

fn restart(file: &str) -> Broker {
    start_broker(&[("EMQTTD_PLUGINS__LOADED_FILE", file)])
}

#[tokio::test]
async fn loaded_plugins_are_written_and_restored_at_the_next_start() {
    let dir = fresh_dir("plugins-restore");
    let file = dir.join("loaded_plugins");
    let file_text = file.to_string_lossy().into_owned();

    let broker = restart(&file_text);
    let core = broker.core().clone();
    assert!(!file.exists());
    load(&core, TEMPLATE).await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().any(|l| l == TEMPLATE), "{text}");
    drop(core);
    broker.stop();

    // Restored at start, with a name this broker does not link and a comment around it.
    std::fs::write(
        &file,
        format!("# kept\nemqttd_not_linked_here\n{TEMPLATE}\n"),
    )
    .unwrap();
    let broker = restart(&file_text);
    let core = broker.core().clone();
    assert!(active(&core, TEMPLATE));
    let mut client = Client::connect(broker.tcp_addr(), "restored").await;
    client.subscribe_ok("r", QoS::AtMostOnce).await;
    client.publish("r", QoS::AtMostOnce, false, "x").await;
    client.expect_message("r", "x").await;
    assert_eq!(count(&core, "message.publish"), 1);

    // Unloading removes it from the file; the name not linked here stays.
    unload(&core, TEMPLATE).await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.lines().any(|l| l == TEMPLATE), "{text}");
    assert!(
        text.lines().any(|l| l == "emqttd_not_linked_here"),
        "{text}"
    );
    drop(core);
    broker.stop();

    let broker = restart(&file_text);
    assert!(!active(broker.core(), TEMPLATE));
}

/// One request to the REST API; returns (status, JSON body or null).
async fn api(
    http: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    user: Option<(&str, &str)>,
) -> (u16, serde_json::Value) {
    let reply =
        crate::common::http::request(http, method, &format!("/api/v2{path}"), user, body).await;
    let json = serde_json::from_str(&reply.body).unwrap_or(serde_json::Value::Null);
    (reply.status, json)
}

const ADMIN: Option<(&str, &str)> = Some(crate::common::http::ADMIN);

#[tokio::test]
async fn plugins_and_their_commands_over_the_rest_api() {
    let (broker, http) = crate::common::http::start_http_broker(&[]);
    let core = broker.core().clone();
    let before = registered(&core);

    let (status, body) = api(http, "GET", "/plugins", None, ADMIN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 0);
    let template = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == TEMPLATE)
        .cloned()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(template["active"], false);
    assert_eq!(template["version"], "0.1.0");
    assert!(template["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));

    let path = format!("/plugins/{TEMPLATE}");
    let (status, body) = api(http, "PUT", &path, Some(r#"{"active":true}"#), ADMIN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"],
        serde_json::json!({"name": TEMPLATE, "active": true})
    );
    let (status, body) = api(http, "PUT", &path, Some(r#"{"active":true}"#), ADMIN).await;
    assert_eq!((status, body["code"].as_u64()), (409, Some(409)), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains(TEMPLATE),
        "{body}"
    );

    // The plugin works: a publish is counted by its ctl command.
    let mut sub = Client::connect(broker.tcp_addr(), "rest-sub").await;
    sub.subscribe_ok("rest/#", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(broker.tcp_addr(), "rest-pub").await;
    publisher
        .publish("rest/1", QoS::AtLeastOnce, false, "via rest")
        .await;
    sub.expect_message("rest/1", "via rest").await;

    let (status, body) = api(http, "GET", "/commands", None, ADMIN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"][0]["name"], "template");
    assert!(body["result"][0]["usage"]
        .as_str()
        .unwrap()
        .contains("template"));
    let (status, body) = api(
        http,
        "POST",
        "/commands/template",
        Some(r#"{"args":[]}"#),
        ADMIN,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let output = body["result"]["output"].as_str().unwrap();
    assert!(
        output
            .lines()
            .any(|l| l.split_whitespace().eq(["message.publish", "1"])),
        "{output}"
    );
    let (status, body) = api(
        http,
        "POST",
        "/commands/template",
        Some(r#"{"args":["nonsense"]}"#),
        ADMIN,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("usage"),
        "{body}"
    );
    let (status, _) = api(
        http,
        "POST",
        "/commands/template",
        Some(r#"{"args":[1]}"#),
        ADMIN,
    )
    .await;
    assert_eq!(status, 400);

    // Per node, and unloading.
    let node_path = format!("/nodes/emqttd@127.0.0.1/plugins/{TEMPLATE}");
    let (status, body) = api(http, "GET", "/nodes/emqttd@127.0.0.1/plugins", None, ADMIN).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(http, "PUT", &node_path, Some(r#"{"active":false}"#), ADMIN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["active"], false);
    assert_eq!(registered(&core), before);
    let (status, _) = api(http, "PUT", &node_path, Some(r#"{"active":false}"#), ADMIN).await;
    assert_eq!(status, 409);
    let (status, _) = api(http, "POST", "/commands/template", Some("{}"), ADMIN).await;
    assert_eq!(status, 404);
    let (status, body) = api(http, "GET", "/commands", None, ADMIN).await;
    assert_eq!(
        (status, body["result"].clone()),
        (200, serde_json::json!([]))
    );

    // Errors: unknown plugin or node, bad body, no credentials.
    let (status, body) = api(
        http,
        "PUT",
        "/plugins/nope",
        Some(r#"{"active":true}"#),
        ADMIN,
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(404)), "{body}");
    let (status, _) = api(http, "GET", "/nodes/other@host/plugins", None, ADMIN).await;
    assert_eq!(status, 404);
    let (status, body) = api(http, "PUT", &path, Some(r#"{"active":"yes"}"#), ADMIN).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("active"),
        "{body}"
    );
    let (status, _) = api(http, "PUT", &path, Some(r#"{"active":true}"#), None).await;
    assert_eq!(status, 401);
    assert!(!active(&core, TEMPLATE));
}
