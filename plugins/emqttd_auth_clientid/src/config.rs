//! The plugin's config, `etc/plugins/emqttd_auth_clientid.toml` (emqttd 1.x's clients.config
//! lines `clientid [ip-or-cidr]`, emq_auth_clientid's `auth.client.$N.clientid/password`),
//! typed and checked: every error names the file and the key.

use emqttd_auth_username::config::{ConfigError, Keys};
use emqttd_auth_username::password::{Hasher, Stored};
use emqttd_plugin_api::toml::Table;
use emqttd_plugin_api::Cidr;
use std::collections::HashMap;
use std::path::Path;

/// The provider's place in the auth chain: after emqttd_auth_username (emqttd's
/// `username -> clientid -> anonymous`).
pub const DEFAULT_PRIORITY: i32 = 10;

/// One known client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRule {
    /// The password it must give, if any.
    pub password: Option<Stored>,
    /// The address or network it must connect from, if any.
    pub ipaddr: Option<Cidr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub priority: i32,
    /// By client id.
    pub clients: HashMap<String, ClientRule>,
}

const KEYS: &[&str] = &[
    "password_hash",
    "pbkdf2_iterations",
    "bcrypt_cost",
    "priority",
    "client",
];
const CLIENT_KEYS: &[&str] = &[
    "clientid",
    "password",
    "algorithm",
    "hash",
    "salt",
    "iterations",
    "ipaddr",
];
const PASSWORD_KEYS: &[&str] = &["password", "algorithm", "hash", "salt", "iterations"];

/// Parse the plugin's config table; `file` is only used to name it in errors.
pub fn parse(table: &Table, file: &Path) -> Result<Config, ConfigError> {
    let top = Keys::top(table, file);
    top.only(KEYS)?;
    let hasher: Hasher = top.hasher()?;
    let priority = top.priority(DEFAULT_PRIORITY)?;
    let mut clients = HashMap::new();
    for entry in top.entries("client")? {
        entry.only(CLIENT_KEYS)?;
        let clientid = entry.name("clientid")?.to_string();
        let ipaddr = entry
            .string("ipaddr")?
            .map(|text| Cidr::parse(text).map_err(|m| entry.error("ipaddr", m)))
            .transpose()?;
        let password = if PASSWORD_KEYS
            .iter()
            .any(|key| entry.table.contains_key(*key))
        {
            Some(entry.password(&hasher)?)
        } else {
            None
        };
        if clients.contains_key(&clientid) {
            return Err(entry.error(
                "clientid",
                format!("client id {clientid:?} is defined twice"),
            ));
        }
        clients.insert(clientid, ClientRule { password, ipaddr });
    }
    Ok(Config { priority, clients })
}

#[cfg(test)]
mod tests {
    use super::*;
    use emqttd_auth_username::password::Algorithm;

    const FILE: &str = "etc/plugins/emqttd_auth_clientid.toml";

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        let table: Table = text.parse().expect("test toml");
        parse(&table, Path::new(FILE))
    }

    #[test]
    fn the_shipped_file_parses_and_enables_nothing() {
        let text = include_str!("../../../etc/plugins/emqttd_auth_clientid.toml");
        let config = parse_str(text).unwrap();
        assert!(config.clients.is_empty());
        assert_eq!(config.priority, DEFAULT_PRIORITY);
    }

    #[test]
    fn clients_with_and_without_password_and_network() {
        let config = parse_str(
            r#"
            password_hash = "md5"
            priority = 3

            [[client]]
            clientid = "dev1"

            [[client]]
            clientid = "dev2"
            ipaddr = "192.168.0.1/24"

            [[client]]
            clientid = "dev3"
            password = "secret"
            ipaddr = "127.0.0.1"

            [[client]]
            clientid = "dev4"
            algorithm = "sha256"
            salt = "a"
            hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            "#,
        )
        .unwrap();
        assert_eq!(config.priority, 3);
        assert_eq!(
            config.clients["dev1"],
            ClientRule {
                password: None,
                ipaddr: None
            }
        );
        let dev2 = &config.clients["dev2"];
        assert_eq!(dev2.ipaddr.unwrap().to_string(), "192.168.0.0/24");
        assert!(dev2.password.is_none());
        let dev3 = &config.clients["dev3"];
        let password = dev3.password.as_ref().unwrap();
        assert_eq!(password.algorithm(), Algorithm::Md5);
        assert!(password.verify(b"secret"));
        assert!(config.clients["dev4"]
            .password
            .as_ref()
            .unwrap()
            .verify(b"bc"));
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let error = |text: &str| parse_str(text).unwrap_err();
        let e = error("[[client]]\nclientid = \"a\"\nipaddr = \"10.0.0.0/40\"");
        assert_eq!(e.key, "client[1].ipaddr");
        assert!(e.to_string().starts_with(FILE), "{e}");
        assert_eq!(
            error("[[client]]\nipaddr = \"10.0.0.1\"").key,
            "client[1].clientid"
        );
        let two = "[[client]]\nclientid = \"a\"\n[[client]]\n";
        assert_eq!(
            error(&format!("{two}clientid = \"a\"")).key,
            "client[2].clientid"
        );
        assert_eq!(
            error(&format!("{two}clientid = \"b\"\nsalt = \"x\"")).key,
            "client[2].password"
        );
        assert_eq!(
            error(&format!("{two}clientid = \"b\"\nip = \"10.0.0.1\"")).key,
            "client[2].ip"
        );
        assert_eq!(error("password_hash = \"des\"").key, "password_hash");
        assert_eq!(error("clients = []").key, "clients");
    }
}
