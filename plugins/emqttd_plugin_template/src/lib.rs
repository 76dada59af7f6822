//! emqttd_plugin_template (emqttd's emq_plugin_template): the plugin to copy when writing your
//! own. It registers on every hook point and logs what it sees at info level, prefixed with
//! `[emqttd_plugin_template]`:
//!
//! * `client.connect`, `client.subscribe`, `client.unsubscribe` and `message.publish` filter
//!   callbacks that let everything through unchanged;
//! * an actor ([`events::EventLogger`]) subscribed to every notify event;
//! * an auth and an ACL provider that answer `Ignore` ([`access`]);
//! * a `ctl` command, `emqttd ctl template`, that prints how often each point fired.
//!
//! Settings come from `etc/plugins/emqttd_plugin_template.toml` ([`config`]).

pub mod access;
pub mod config;
pub mod counts;
pub mod events;

use access::{DemoAcl, DemoAuth};
use config::TemplateConfig;
use counts::Counts;
use emqttd_plugin_api::actix::{Actor, Addr};
use emqttd_plugin_api::{
    ConnectAction, EventKind, Flow, Message, Plugin, PluginContext, PublishAction,
};
use events::EventLogger;
use std::sync::Arc;

/// What starts every log line of this plugin.
pub const PREFIX: &str = "[emqttd_plugin_template]";

/// The plugin's name: the crate name, what `emqttd ctl plugins load` takes.
pub const NAME: &str = "emqttd_plugin_template";

/// The `ctl` command this plugin adds.
pub const COMMAND: &str = "template";

/// A fresh instance: the line in the broker's `src/plugins/linked.rs`.
pub fn plugin() -> Box<dyn Plugin> {
    Box::new(TemplatePlugin::default())
}

/// The template plugin. Everything it starts lives in `loaded` until `unload`.
#[derive(Default)]
pub struct TemplatePlugin {
    loaded: Option<Loaded>,
}

struct Loaded {
    counts: Arc<Counts>,
    _events: Addr<EventLogger>,
}

impl Plugin for TemplatePlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Plugin template: hooks every point, logs and counts what it sees"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn load(&mut self, ctx: &mut dyn PluginContext) -> Result<(), String> {
        // 1. Settings: an error names the file and key, and the plugin stays unloaded.
        let config = TemplateConfig::from_table(ctx.config(), ctx.config_path())?;
        let counts = Arc::new(Counts::default());

        // 2. Access providers (asked before the internal acl.conf, which sits at priority 0).
        ctx.register_auth(
            10,
            Box::new(DemoAuth {
                counts: counts.clone(),
            }),
        );
        ctx.register_acl(
            10,
            Box::new(DemoAcl {
                counts: counts.clone(),
            }),
        );

        // 3. Filter hooks: run inline on the client's session; keep them quick.
        let seen = counts.clone();
        ctx.hook_client_connect(
            0,
            Box::new(move |client, _password| {
                seen.hit("client.connect");
                log::info!(
                    "{PREFIX} client.connect: client {} username {:?} from {}",
                    client.client_id,
                    client.username,
                    client.peer
                );
                ConnectAction::Continue
            }),
        );
        let seen = counts.clone();
        ctx.hook_client_subscribe(
            0,
            Box::new(move |client, table| {
                seen.hit("client.subscribe");
                for entry in table.iter() {
                    log::info!(
                        "{PREFIX} client.subscribe: client {} filter {} qos {}",
                        client.client_id,
                        entry.filter,
                        entry.qos
                    );
                }
                Flow::Continue
            }),
        );
        let seen = counts.clone();
        ctx.hook_client_unsubscribe(
            0,
            Box::new(move |client, filters| {
                seen.hit("client.unsubscribe");
                log::info!(
                    "{PREFIX} client.unsubscribe: client {} filters {:?}",
                    client.client_id,
                    filters
                );
                Flow::Continue
            }),
        );
        let seen = counts.clone();
        let settings = config.clone();
        ctx.hook_message_publish(
            0,
            Box::new(move |message: &Message| {
                if message.sys && settings.skip_sys {
                    return PublishAction::Continue;
                }
                seen.hit("message.publish");
                if settings.log_payload {
                    log::info!(
                        "{PREFIX} message.publish: from {} topic {} qos {} retain {} payload {:?}",
                        message.from,
                        message.topic,
                        message.qos,
                        message.retain,
                        String::from_utf8_lossy(&message.payload)
                    );
                } else {
                    log::info!(
                        "{PREFIX} message.publish: from {} topic {} qos {} retain {} ({} bytes)",
                        message.from,
                        message.topic,
                        message.qos,
                        message.retain,
                        message.payload.len()
                    );
                }
                PublishAction::Continue
            }),
        );

        // 4. Notify events go to an actor (load runs inside the broker's actix system).
        let events = EventLogger::create({
            let counts = counts.clone();
            move |ctx| {
                // Before the first address is handed out, so no burst meets the default 16.
                ctx.set_mailbox_capacity(events::MAILBOX);
                EventLogger { counts }
            }
        });
        ctx.subscribe_events(&EventKind::ALL, events.clone().recipient());

        // 5. A ctl command: `emqttd ctl template` / `emqttd ctl template reset`.
        let shown = counts.clone();
        ctx.register_command(
            COMMAND,
            "template            Show how often each hook point fired\n\
             template reset      Zero the counts",
            Box::new(move |args: &[String]| match args {
                [] => Ok(shown.render()),
                [reset] if reset == "reset" => {
                    shown.reset();
                    Ok("counts reset\n".to_string())
                }
                _ => Err(format!(
                    "unknown arguments {args:?}; usage: template | template reset"
                )),
            }),
        );

        log::info!(
            "{PREFIX} loaded on node {} (log_payload = {}, skip_sys = {}, config {})",
            ctx.node(),
            config.log_payload,
            config.skip_sys,
            ctx.config_path().display()
        );
        self.loaded = Some(Loaded {
            counts,
            _events: events,
        });
        Ok(())
    }

    fn unload(&mut self) {
        // The broker has removed every hook, provider, subscription and command already;
        // dropping the last address stops the event actor once its mailbox is empty.
        if let Some(loaded) = self.loaded.take() {
            log::info!(
                "{PREFIX} unloaded; it saw:\n{}",
                loaded.counts.render().trim_end()
            );
        }
    }
}
