//! emqttd_auth_username (emq_auth_username): authentication by username and password, with
//! salted `plain | md5 | sha256 | pbkdf2 | bcrypt` hashes, users from the config file and from
//! the `users` ctl command (kept in a JSON users file).
//!
//! Config: `etc/plugins/emqttd_auth_username.toml` (see [`config`]). In the auth chain at
//! priority 20 by default, before emqttd_auth_clientid.

pub mod command;
pub mod config;
pub mod password;
pub mod provider;
pub mod users;
pub mod users_file;
pub mod verify;

use emqttd_plugin_api::{Plugin, PluginContext};
use std::sync::Arc;

pub const NAME: &str = "emqttd_auth_username";

/// The plugin, for the broker's table of linked plugins.
pub fn plugin() -> Box<dyn Plugin> {
    Box::new(UsernamePlugin)
}

struct UsernamePlugin;

impl Plugin for UsernamePlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Authentication with username and password"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn load(&mut self, ctx: &mut dyn PluginContext) -> Result<(), String> {
        let config = config::parse(ctx.config(), ctx.config_path()).map_err(|e| e.to_string())?;
        let users = Arc::new(users::Users::open(
            config.hasher,
            config.users,
            ctx.config_path(),
            &config.users_file,
        )?);
        ctx.register_auth(
            config.priority,
            Box::new(provider::UsernameAuth {
                users: users.clone(),
                verifier: verify::Verifier::default(),
            }),
        );
        ctx.register_command(
            command::NAME,
            command::USAGE,
            Box::new(move |args| command::run(&users, args)),
        );
        Ok(())
    }
}
