//! The plugins linked into this broker: one line per plugin crate, each a function building a
//! fresh instance. To add a plugin, depend on its crate in the root Cargo.toml (by path) and
//! add its `plugin` function here; `emqttd ctl plugins load <name>` then loads it.

use super::PluginFactory;
use std::sync::Arc;

/// Every linked plugin's factory, in `plugins list` order.
pub fn all() -> Vec<PluginFactory> {
    vec![
        Arc::new(emqttd_plugin_template::plugin),
        Arc::new(emqttd_auth_username::plugin),
        Arc::new(emqttd_auth_clientid::plugin),
    ]
}
