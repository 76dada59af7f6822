//! Built-in modules (replaces emqttd's emqttd_mod_* / emq_modules): presence, autosub and
//! rewrite. A module only registers hooks: `load` adds its callbacks or event subscribers,
//! `unload` removes every one of them. The boot list loads the modules enabled in
//! `[module.*]` once the broker core is built.

pub mod autosub;
pub mod presence;
pub mod rewrite;

use crate::broker::BrokerCore;
use crate::config::ModulesConfig;
use std::sync::Arc;

/// A built-in module, built from its `[module.<name>]` settings.
pub trait Module: Send {
    /// The name in `[module.<name>]`.
    fn name(&self) -> &'static str;
    /// Register the module's hooks. Event subscribers are actors: call it inside the actor
    /// system.
    fn load(&mut self, core: &Arc<BrokerCore>) -> Result<(), String>;
    /// Remove every hook `load` registered.
    fn unload(&mut self, core: &BrokerCore);
}

/// The modules `config` enables, in boot order, not loaded yet.
pub fn enabled(config: &ModulesConfig) -> Vec<Box<dyn Module>> {
    let mut modules: Vec<Box<dyn Module>> = Vec::new();
    if config.rewrite.enable {
        modules.push(Box::new(rewrite::Rewrite::new(&config.rewrite)));
    }
    if config.presence.enable {
        modules.push(Box::new(presence::Presence::new(&config.presence)));
    }
    if config.autosub.enable {
        modules.push(Box::new(autosub::Autosub::new(&config.autosub)));
    }
    modules
}

/// Every built-in module's name and description, in boot order.
pub const BUILT_IN: [(&str, &str); 3] = [
    (
        "rewrite",
        "Rewrite the topics of PUBLISH, SUBSCRIBE and UNSUBSCRIBE",
    ),
    (
        "presence",
        "Publish $SYS/brokers/<node>/clients/<clientid>/connected|disconnected",
    ),
    (
        "autosub",
        "Subscribe every connected client to the configured topics",
    ),
];

/// The module `name` built from its `[module.<name>]` settings (whether enabled or not).
pub fn build(name: &str, config: &ModulesConfig) -> Option<Box<dyn Module>> {
    match name {
        "rewrite" => Some(Box::new(rewrite::Rewrite::new(&config.rewrite))),
        "presence" => Some(Box::new(presence::Presence::new(&config.presence))),
        "autosub" => Some(Box::new(autosub::Autosub::new(&config.autosub))),
        _ => None,
    }
}

/// Load every module enabled in the core's configuration; a module that fails to load is
/// logged and left out.
pub fn load_enabled(core: &Arc<BrokerCore>) -> Vec<Box<dyn Module>> {
    let mut loaded = Vec::new();
    for mut module in enabled(&core.config.module) {
        match module.load(core) {
            Ok(()) => {
                log::info!("module {} loaded", module.name());
                loaded.push(module);
            }
            Err(why) => log::error!("module {} not loaded: {}", module.name(), why),
        }
    }
    loaded
}

/// Unload `modules` in reverse order.
pub fn unload_all(modules: &mut Vec<Box<dyn Module>>, core: &BrokerCore) {
    while let Some(mut module) = modules.pop() {
        module.unload(core);
        log::info!("module {} unloaded", module.name());
    }
}

/// Replace each whole topic level equal to `var` with `value` (emqttd_topic:feed_var).
pub fn feed_var(topic: &str, var: &str, value: &str) -> String {
    crate::mqtt::topic::levels(topic)
        .map(|level| if level == var { value } else { level })
        .collect::<Vec<_>>()
        .join("/")
}

/// Seconds since the Unix epoch (emqttd_time:now_secs).
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_var_replaces_whole_levels_only() {
        assert_eq!(feed_var("$client/%c", "%c", "dev1"), "$client/dev1");
        assert_eq!(feed_var("a/%c/b/%c", "%c", "x"), "a/x/b/x");
        assert_eq!(feed_var("a/x%c", "%c", "x"), "a/x%c");
        assert_eq!(feed_var("/%u/", "%u", "bob"), "/bob/");
    }

    #[test]
    fn only_enabled_modules_are_built() {
        let mut config = ModulesConfig::default();
        assert!(enabled(&config).is_empty());
        config.presence.enable = true;
        config.rewrite.enable = true;
        let names: Vec<_> = enabled(&config).iter().map(|m| m.name()).collect();
        assert_eq!(names, vec!["rewrite", "presence"]);
        for (name, _) in BUILT_IN {
            assert_eq!(build(name, &config).map(|m| m.name()), Some(name));
        }
        assert!(build("nope", &config).is_none());
    }
}
