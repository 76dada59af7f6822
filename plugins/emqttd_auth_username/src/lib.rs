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
        // A relative users_file is inside the node's data directory.
        let users_file = ctx.data_dir().join(&config.users_file);
        let users = Arc::new(users::Users::open(
            config.hasher,
            config.users,
            ctx.config_path(),
            &users_file,
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

#[cfg(test)]
mod tests {
    use super::*;
    use emqttd_plugin_api::hooks::{
        ConnectCallback, PublishCallback, SubscribeCallback, UnsubscribeCallback,
    };
    use emqttd_plugin_api::toml::Table;
    use emqttd_plugin_api::{
        actix::Recipient, AclProvider, AuthCheck, AuthDenied, AuthProvider, AuthResult, ClientAuth,
        CommandHandler, EventKind, HookEvent, PublishHandle,
    };
    use std::path::{Path, PathBuf};

    /// What a loading plugin registered.
    struct Registrations {
        config: Table,
        path: PathBuf,
        auth: Vec<(i32, Box<dyn AuthProvider>)>,
        commands: Vec<(String, CommandHandler)>,
    }

    impl PluginContext for Registrations {
        fn node(&self) -> &str {
            "emqttd@127.0.0.1"
        }
        fn config(&self) -> &Table {
            &self.config
        }
        fn config_path(&self) -> &Path {
            &self.path
        }
        fn data_dir(&self) -> &Path {
            Path::new("data")
        }
        fn register_auth(&mut self, priority: i32, provider: Box<dyn AuthProvider>) {
            self.auth.push((priority, provider));
        }
        fn register_acl(&mut self, _: i32, _: Box<dyn AclProvider>) {
            panic!("no ACL expected");
        }
        fn hook_client_connect(&mut self, _: i32, _: Box<ConnectCallback>) {
            panic!("no hook expected");
        }
        fn hook_client_subscribe(&mut self, _: i32, _: Box<SubscribeCallback>) {
            panic!("no hook expected");
        }
        fn hook_client_unsubscribe(&mut self, _: i32, _: Box<UnsubscribeCallback>) {
            panic!("no hook expected");
        }
        fn hook_message_publish(&mut self, _: i32, _: Box<PublishCallback>) {
            panic!("no hook expected");
        }
        fn subscribe_events(&mut self, _: &[EventKind], _: Recipient<HookEvent>) {
            panic!("no events expected");
        }
        fn register_command(&mut self, name: &str, _: &str, handler: CommandHandler) {
            self.commands.push((name.to_string(), handler));
        }
        fn publisher(&self) -> PublishHandle {
            panic!("no publishing expected");
        }
    }

    fn load(config: &str) -> Result<Registrations, String> {
        let mut ctx = Registrations {
            config: config.parse().expect("test toml"),
            path: PathBuf::from("etc/plugins/emqttd_auth_username.toml"),
            auth: Vec::new(),
            commands: Vec::new(),
        };
        plugin().load(&mut ctx).map(|()| ctx)
    }

    fn check(provider: &dyn AuthProvider, username: &str, password: &[u8]) -> AuthResult {
        let client = ClientAuth {
            client_id: "c",
            username: Some(username),
            password: Some(password),
            ip: "127.0.0.1".parse().unwrap(),
        };
        match provider.check(&client) {
            AuthCheck::Ready(result) => result,
            AuthCheck::Pending(_) => panic!("sha256 answers at once"),
        }
    }

    #[test]
    fn load_registers_the_provider_and_the_users_command() {
        let dir =
            std::env::temp_dir().join(format!("emqttd-auth-username-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("users.json");
        let config = format!(
            "users_file = {:?}\n[[user]]\nusername = \"admin\"\npassword = \"public\"\n",
            file.to_string_lossy()
        );
        let ctx = load(&config).unwrap();
        let [(priority, provider)] = ctx.auth.as_slice() else {
            panic!("one provider");
        };
        assert_eq!(*priority, config::DEFAULT_PRIORITY);
        let [(name, users)] = ctx.commands.as_slice() else {
            panic!("one command");
        };
        assert_eq!(name, "users");
        assert_eq!(
            check(&**provider, "admin", b"public"),
            AuthResult::Allow { superuser: false }
        );
        assert_eq!(check(&**provider, "bob", b"pw"), AuthResult::Ignore);
        assert_eq!(
            users(&["add".into(), "bob".into(), "pw".into()]).unwrap(),
            "ok"
        );
        assert_eq!(
            check(&**provider, "bob", b"pw"),
            AuthResult::Allow { superuser: false }
        );
        assert_eq!(
            check(&**provider, "bob", b"px"),
            AuthResult::Deny(AuthDenied::BadUsernameOrPassword)
        );
        // a second load (after an unload) reads the users file again
        let again = load(&config).unwrap();
        assert_eq!(
            check(&*again.auth[0].1, "bob", b"pw"),
            AuthResult::Allow { superuser: false }
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bad_config_fails_the_load_naming_file_and_key() {
        let error = load("password_hash = \"rot13\"").err().unwrap();
        assert!(
            error.starts_with("etc/plugins/emqttd_auth_username.toml: key password_hash"),
            "{error}"
        );
    }
}
