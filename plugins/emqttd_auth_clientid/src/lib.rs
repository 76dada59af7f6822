//! emqttd_auth_clientid (emq_auth_clientid): authentication by client id, optionally bound to
//! a password (stored like emqttd_auth_username's) and to an IP address or network.
//!
//! Config: `etc/plugins/emqttd_auth_clientid.toml` (see [`config`]). In the auth chain at
//! priority 10 by default, after emqttd_auth_username.

pub mod config;
pub mod provider;

use emqttd_auth_username::verify::Verifier;
use emqttd_plugin_api::{Plugin, PluginContext};

pub const NAME: &str = "emqttd_auth_clientid";

/// The plugin, for the broker's table of linked plugins.
pub fn plugin() -> Box<dyn Plugin> {
    Box::new(ClientIdPlugin)
}

struct ClientIdPlugin;

impl Plugin for ClientIdPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Authentication by client id, optionally with a password and an IP address or network"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn load(&mut self, ctx: &mut dyn PluginContext) -> Result<(), String> {
        let config = config::parse(ctx.config(), ctx.config_path()).map_err(|e| e.to_string())?;
        ctx.register_auth(
            config.priority,
            Box::new(provider::ClientIdAuth {
                clients: config.clients,
                verifier: Verifier::default(),
            }),
        );
        Ok(())
    }
}
