//! The plugin's config, `etc/plugins/emqttd_auth_username.toml` (emq_auth_username.conf's
//! `auth.user.$N.username/password` and `auth.user.password_hash`), typed and checked: every
//! error names the file and the key.

use crate::password::{Algorithm, Hasher, Record, Stored, BCRYPT_COSTS};
use emqttd_plugin_api::toml::{Table, Value};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where ctl-managed users are kept unless `users_file` says otherwise (relative to
/// `node.data_dir`).
pub const DEFAULT_USERS_FILE: &str = "auth_username.json";
/// The provider's place in the auth chain: before emqttd_auth_clientid (emqttd's
/// `username -> clientid -> anonymous`).
pub const DEFAULT_PRIORITY: i32 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How passwords added through `users add|passwd` and plaintext `[[user]]` passwords are
    /// stored.
    pub hasher: Hasher,
    pub users_file: PathBuf,
    pub priority: i32,
    /// The `[[user]]` entries, in file order.
    pub users: Vec<(String, Stored)>,
}

/// A config error: the file, the key (e.g. `user[2].hash`, counting entries from 1) and what
/// is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: key {}: {}",
            self.file.display(),
            self.key,
            self.message
        )
    }
}

impl std::error::Error for ConfigError {}

const KEYS: &[&str] = &[
    "password_hash",
    "pbkdf2_iterations",
    "bcrypt_cost",
    "users_file",
    "priority",
    "user",
];
const USER_KEYS: &[&str] = &[
    "username",
    "password",
    "algorithm",
    "hash",
    "salt",
    "iterations",
];

/// Reads typed values out of one table, naming keys relative to `prefix`.
pub struct Keys<'a> {
    pub file: &'a Path,
    pub prefix: String,
    pub table: &'a Table,
}

impl<'a> Keys<'a> {
    /// The file's top-level table.
    pub fn top(table: &'a Table, file: &'a Path) -> Keys<'a> {
        Keys {
            file,
            prefix: String::new(),
            table,
        }
    }

    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            key: format!("{}{}", self.prefix, key),
            message: message.into(),
        }
    }

    /// Refuse keys not in `known` (a typo would otherwise be ignored silently).
    pub fn only(&self, known: &[&str]) -> Result<(), ConfigError> {
        match self.table.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => Err(self.error(
                key,
                format!("unknown key (expected one of {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.error(
                key,
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    }

    pub fn integer(&self, key: &str, range: (i64, i64)) -> Result<Option<i64>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Integer(n)) if (range.0..=range.1).contains(n) => Ok(Some(*n)),
            Some(Value::Integer(n)) => Err(self.error(
                key,
                format!("{n} is out of range {}..={}", range.0, range.1),
            )),
            Some(other) => Err(self.error(
                key,
                format!("expected an integer, found {}", other.type_str()),
            )),
        }
    }

    /// An array of tables (`[[key]]`), empty when absent.
    pub fn tables(&self, key: &str) -> Result<Vec<&'a Table>, ConfigError> {
        let expected = || self.error(key, "expected an array of tables ([[...]] entries)");
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_table().ok_or_else(expected))
                .collect(),
            Some(_) => Err(expected()),
        }
    }

    /// The entries of an array of tables (`[[key]]`), each naming its keys `key[N].`.
    pub fn entries(&self, key: &str) -> Result<Vec<Keys<'a>>, ConfigError> {
        Ok(self
            .tables(key)?
            .into_iter()
            .enumerate()
            .map(|(index, table)| Keys {
                file: self.file,
                prefix: format!("{}{key}[{}].", self.prefix, index + 1),
                table,
            })
            .collect())
    }

    /// A string that must be present and not empty (a user name, a client id).
    pub fn name(&self, key: &str) -> Result<&'a str, ConfigError> {
        match self.string(key)? {
            Some("") => Err(self.error(key, "must not be empty")),
            Some(name) => Ok(name),
            None => Err(self.error(key, "missing")),
        }
    }

    /// `priority`: the provider's place in the auth chain, `default` when absent.
    pub fn priority(&self, default: i32) -> Result<i32, ConfigError> {
        Ok(self
            .integer("priority", (i64::from(i32::MIN), i64::from(i32::MAX)))?
            .map_or(default, |n| n as i32))
    }

    /// `password_hash`, `pbkdf2_iterations` and `bcrypt_cost`.
    pub fn hasher(&self) -> Result<Hasher, ConfigError> {
        let mut hasher = Hasher::default();
        if let Some(name) = self.string("password_hash")? {
            hasher.algorithm = Algorithm::parse(name).ok_or_else(|| {
                self.error(
                    "password_hash",
                    format!(
                        "unknown algorithm {name:?} (expected one of {})",
                        Algorithm::NAMES
                    ),
                )
            })?;
        }
        if let Some(n) = self.integer("pbkdf2_iterations", (1, i64::from(u32::MAX)))? {
            hasher.pbkdf2_iterations = n as u32;
        }
        let costs = (
            i64::from(*BCRYPT_COSTS.start()),
            i64::from(*BCRYPT_COSTS.end()),
        );
        if let Some(n) = self.integer("bcrypt_cost", costs)? {
            hasher.bcrypt_cost = n as u32;
        }
        Ok(hasher)
    }

    /// A password entry: `password` (plaintext, hashed now with `hasher`) or `hash` with
    /// `algorithm` (and `salt`, `iterations`).
    pub fn password(&self, hasher: &Hasher) -> Result<Stored, ConfigError> {
        let plain = self.string("password")?;
        let hash = self.string("hash")?;
        match (plain, hash) {
            (Some(_), Some(_)) => Err(self.error("hash", "give either password or hash, not both")),
            (Some(password), None) => {
                for key in ["algorithm", "salt", "iterations"] {
                    if self.table.contains_key(key) {
                        return Err(self.error(
                            key,
                            "only with hash (a plaintext password is stored with password_hash)",
                        ));
                    }
                }
                hasher
                    .hash(password.as_bytes())
                    .map_err(|m| self.error("password", m))
            }
            (None, Some(hash)) => {
                let algorithm = self.string("algorithm")?.ok_or_else(|| {
                    self.error("algorithm", "missing (a hash needs its algorithm)")
                })?;
                let iterations = self
                    .integer("iterations", (1, i64::from(u32::MAX)))?
                    .map(|n| n as u32);
                let record = Record {
                    algorithm: algorithm.to_string(),
                    hash: hash.to_string(),
                    salt: self.string("salt")?.unwrap_or_default().to_string(),
                    iterations,
                };
                Stored::from_record(&record).map_err(|e| self.error(e.field, e.message))
            }
            (None, None) => Err(self.error("password", "missing (give password or hash)")),
        }
    }
}

/// Parse the plugin's config table; `file` is only used to name it in errors.
pub fn parse(table: &Table, file: &Path) -> Result<Config, ConfigError> {
    let top = Keys::top(table, file);
    top.only(KEYS)?;
    let hasher = top.hasher()?;
    let users_file = match top.string("users_file")? {
        Some("") => return Err(top.error("users_file", "must not be empty")),
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(DEFAULT_USERS_FILE),
    };
    let priority = top.priority(DEFAULT_PRIORITY)?;
    let mut users = Vec::new();
    let mut seen = HashSet::new();
    for entry in top.entries("user")? {
        entry.only(USER_KEYS)?;
        let username = entry.name("username")?.to_string();
        if !seen.insert(username.clone()) {
            return Err(entry.error("username", format!("user {username:?} is defined twice")));
        }
        users.push((username, entry.password(&hasher)?));
    }
    Ok(Config {
        hasher,
        users_file,
        priority,
        users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "etc/plugins/emqttd_auth_username.toml";

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        let table: Table = text.parse().expect("test toml");
        parse(&table, Path::new(FILE))
    }

    fn error(text: &str) -> ConfigError {
        parse_str(text).unwrap_err()
    }

    #[test]
    fn an_empty_file_enables_nothing() {
        let config = parse_str("").unwrap();
        assert!(config.users.is_empty());
        assert_eq!(config.hasher, Hasher::default());
        assert_eq!(config.users_file, PathBuf::from(DEFAULT_USERS_FILE));
        assert_eq!(config.priority, DEFAULT_PRIORITY);
    }

    #[test]
    fn the_shipped_file_parses_and_enables_nothing() {
        let text = include_str!("../../../etc/plugins/emqttd_auth_username.toml");
        let config = parse_str(text).unwrap();
        assert!(config.users.is_empty());
    }

    #[test]
    fn the_shipped_examples_work_when_uncommented() {
        let text = include_str!("../../../etc/plugins/emqttd_auth_username.toml");
        let uncommented: String = text
            .lines()
            .filter_map(|line| line.strip_prefix("# "))
            .filter(|line| {
                let key = line.split(" = ").next().unwrap_or_default();
                line.starts_with("[[user]]")
                    || (key.len() < line.len()
                        && key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .filter(|line| !line.starts_with("users_file"))
            .map(|line| format!("{line}\n"))
            .collect();
        let config = parse_str(&uncommented).unwrap();
        let password = |name: &str| {
            let (_, stored) = config.users.iter().find(|(n, _)| n == name).unwrap();
            stored.clone()
        };
        assert!(password("admin").verify(b"change-me"));
        assert!(password("sensor").verify(b"sensor-pw"));
        assert!(password("gateway").verify(b"gateway-pw"));
        assert!(password("dashboard").verify(b"U*U"));
    }

    #[test]
    fn users_are_hashed_on_load_or_taken_pre_hashed() {
        let config = parse_str(
            r#"
            password_hash = "pbkdf2"
            pbkdf2_iterations = 10
            bcrypt_cost = 4
            users_file = "/tmp/x/users.json"
            priority = 5

            [[user]]
            username = "admin"
            password = "public"

            [[user]]
            username = "dev"
            algorithm = "sha256"
            salt = "a"
            hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            "#,
        )
        .unwrap();
        assert_eq!(config.hasher.algorithm, Algorithm::Pbkdf2);
        assert_eq!(config.hasher.bcrypt_cost, 4);
        assert_eq!(config.users_file, PathBuf::from("/tmp/x/users.json"));
        assert_eq!(config.priority, 5);
        let (name, admin) = &config.users[0];
        assert_eq!(name, "admin");
        assert_eq!(admin.algorithm(), Algorithm::Pbkdf2);
        assert!(admin.verify(b"public"));
        let (name, dev) = &config.users[1];
        assert_eq!(name, "dev");
        assert!(dev.verify(b"bc"));
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let e = error(r#"password_hash = "sha1""#);
        assert_eq!(e.key, "password_hash");
        assert!(e.to_string().starts_with(FILE), "{e}");
        assert!(e.to_string().contains("key password_hash"), "{e}");
        assert_eq!(error("bcrypt_cost = 3").key, "bcrypt_cost");
        assert_eq!(error("bcrypt_cost = \"10\"").key, "bcrypt_cost");
        assert_eq!(error("pbkdf2_iterations = 0").key, "pbkdf2_iterations");
        assert_eq!(error("pasword_hash = \"md5\"").key, "pasword_hash");
        assert_eq!(error("users_file = \"\"").key, "users_file");
        assert_eq!(error("user = 3").key, "user");
        let two = "[[user]]\nusername = \"a\"\npassword = \"p\"\n[[user]]\n";
        assert_eq!(error(two).key, "user[2].username");
        assert_eq!(
            error(&format!("{two}username = \"a\"\npassword = \"q\"")).key,
            "user[2].username"
        );
        assert_eq!(
            error(&format!("{two}username = \"b\"")).key,
            "user[2].password"
        );
        assert_eq!(
            error(&format!("{two}username = \"b\"\nhash = \"00\"")).key,
            "user[2].algorithm"
        );
        assert_eq!(
            error(&format!(
                "{two}username = \"b\"\nalgorithm = \"md5\"\nhash = \"00\""
            ))
            .key,
            "user[2].hash"
        );
        assert_eq!(
            error(&format!(
                "{two}username = \"b\"\npassword = \"x\"\nalgorithm = \"md5\""
            ))
            .key,
            "user[2].algorithm"
        );
        assert_eq!(
            error(&format!(
                "{two}username = \"b\"\npassword = \"x\"\nsuper = true"
            ))
            .key,
            "user[2].super"
        );
    }
}
