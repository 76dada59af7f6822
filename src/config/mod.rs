//! Typed broker configuration: defaults in code, `etc/emqttd.toml` + `EMQTTD_*` environment overrides, validated once at boot (replaces emqttd 2.x's cuttlefish schema and `etc/emq.conf`).
//!
//! Loading is: read the TOML file into a `toml::Table` (missing listeners get the default
//! `external` one) → apply `EMQTTD_*` variables to that tree ([`env`]) → deserialize with a
//! path-tracking deserializer ([`de`], every section `deny_unknown_fields` + `default`) →
//! [`validate`]. Every failure is one [`ConfigError`] line naming the file or variable and the key.

mod addr;
mod de;
pub mod env;
mod error;
mod modules;
mod plugins;
mod transport;
pub mod units;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use log::LevelFilter;
use serde::de::{Deserializer, Unexpected, Visitor};
use serde::Deserialize;
use toml::{Table, Value};

pub use addr::{parse_bind, BIND_EXPECTED};
pub use env::{env_var_for, ENV_PREFIX, ENV_SEPARATOR};
pub use error::{ConfigError, ErrorKind, Origin};
pub use modules::{
    AutosubConfig, AutosubTopic, ModulesConfig, PresenceConfig, Rewrite, RewriteConfig, RewriteRule,
};
pub use plugins::{PluginsConfig, LOADED_PLUGINS_FILE};
pub use transport::{
    HttpConfig, SslListenerConfig, TlsOptions, WsListenerConfig, WssListenerConfig, DEFAULT_ADMIN,
    PEER_CERT_AS_USERNAME, TLS_VERSIONS, VERIFY_NONE, VERIFY_PEER,
};
pub use units::{format_duration, format_size, parse_duration, parse_size};
pub use validate::MQTT_MAX_PACKET_SIZE;

/// Where the broker looks for its configuration when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "etc/emqttd.toml";

/// The whole configuration. `Config::default()` is exactly what the shipped `etc/emqttd.toml` says.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub node: NodeConfig,
    pub log: LogConfig,
    pub listener: ListenersConfig,
    pub mqtt: MqttConfig,
    pub retainer: RetainerConfig,
    pub sys: SysConfig,
    pub http: HttpConfig,
    /// `[module.*]`: the built-in modules.
    pub module: ModulesConfig,
    /// `[plugins]`: the plugin host's directories.
    pub plugins: PluginsConfig,
}

/// `[node]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// `name@host`; default `emqttd@127.0.0.1`.
    pub name: String,
    /// Run-time data directory; default `data`.
    pub data_dir: PathBuf,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            name: "emqttd@127.0.0.1".into(),
            data_dir: PathBuf::from("data"),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `off|error|warn|info|debug|trace`; default `info`.
    #[serde(deserialize_with = "de_level")]
    pub level: LevelFilter,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: LevelFilter::Info,
        }
    }
}

/// `[listener]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenersConfig {
    /// `[listener.tcp.<name>]`; default: one listener named `external`.
    pub tcp: BTreeMap<String, TcpListenerConfig>,
    /// `[listener.ssl.<name>]`; default: one listener named `external`.
    pub ssl: BTreeMap<String, SslListenerConfig>,
    /// `[listener.ws.<name>]`; default: one listener named `external`.
    pub ws: BTreeMap<String, WsListenerConfig>,
    /// `[listener.wss.<name>]`; default: one listener named `external`.
    pub wss: BTreeMap<String, WssListenerConfig>,
}

impl Default for ListenersConfig {
    fn default() -> Self {
        let external = || DEFAULT_LISTENER.to_string();
        ListenersConfig {
            tcp: BTreeMap::from([(external(), TcpListenerConfig::default())]),
            ssl: BTreeMap::from([(external(), SslListenerConfig::default())]),
            ws: BTreeMap::from([(external(), WsListenerConfig::default())]),
            wss: BTreeMap::from([(external(), WssListenerConfig::default())]),
        }
    }
}

/// The listener protocols, as they appear in `listener.<proto>.<name>`.
pub const LISTENER_PROTOCOLS: [&str; 4] = ["tcp", "ssl", "ws", "wss"];

/// Name of the listener present when the configuration defines none.
pub const DEFAULT_LISTENER: &str = "external";

/// `[listener.tcp.<name>]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpListenerConfig {
    /// Default `true`.
    pub enable: bool,
    /// Default `0.0.0.0:1883`; also accepts a bare port (`1883`, `"1883"`, `":1883"`).
    #[serde(deserialize_with = "addr::de_bind")]
    pub bind: SocketAddr,
    /// emqttd's `max_clients`; default 1_024_000.
    pub max_connections: usize,
    /// listen(2) backlog; default 1024.
    pub backlog: u32,
}

impl Default for TcpListenerConfig {
    fn default() -> Self {
        TcpListenerConfig {
            enable: true,
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 1883)),
            max_connections: 1_024_000,
            backlog: 1024,
        }
    }
}

/// `[mqtt]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// Bytes; default `1MB` (1_048_576); 2..=268_435_455.
    #[serde(deserialize_with = "units::de_size")]
    pub max_packet_size: usize,
    /// Default 1024.
    pub max_clientid_len: usize,
    /// Socket connected but no CONNECT; default 15s.
    #[serde(deserialize_with = "units::de_duration")]
    pub idle_timeout: Duration,
    /// Default `true`.
    pub allow_anonymous: bool,
    /// emqttd `acl.conf` rules; default `etc/acl.conf` (may be missing); `""` = no file.
    pub acl_file: PathBuf,
    /// What an ACL check no rule matches decides; default `allow`.
    pub acl_nomatch: AclNomatch,
    /// Cache ACL decisions per session; default `true`.
    pub cache_acl: bool,
    /// Kick after `keepalive * backoff * 2` without traffic; default 0.75; > 0.
    pub keepalive_backoff: f64,
    pub session: SessionConfig,
    pub mqueue: MqueueConfig,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            max_packet_size: 1 << 20,
            max_clientid_len: 1024,
            idle_timeout: Duration::from_secs(15),
            allow_anonymous: true,
            acl_file: PathBuf::from(DEFAULT_ACL_FILE),
            acl_nomatch: AclNomatch::Allow,
            cache_acl: true,
            keepalive_backoff: 0.75,
            session: SessionConfig::default(),
            mqueue: MqueueConfig::default(),
        }
    }
}

impl MqttConfig {
    /// How long a client with CONNECT keepalive `keepalive_secs` may stay silent before it is
    /// disconnected: `keepalive * keepalive_backoff * 2`. `None` when keepalive is 0 (disabled).
    pub fn keepalive_timeout(&self, keepalive_secs: u16) -> Option<Duration> {
        (keepalive_secs != 0).then(|| {
            Duration::from_secs_f64(f64::from(keepalive_secs) * self.keepalive_backoff * 2.0)
        })
    }
}

/// Where the broker looks for its ACL rules by default; a missing file there is only a warning.
pub const DEFAULT_ACL_FILE: &str = "etc/acl.conf";

/// `mqtt.acl_nomatch`: the decision when no ACL rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclNomatch {
    Allow,
    Deny,
}

impl<'de> Deserialize<'de> for AclNomatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AclNomatch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"allow\" or \"deny\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AclNomatch, E> {
                match v.trim().to_ascii_lowercase().as_str() {
                    "allow" => Ok(AclNomatch::Allow),
                    "deny" => Ok(AclNomatch::Deny),
                    _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// `[mqtt.session]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Default 32; 0 = unlimited.
    pub max_inflight: usize,
    /// Default 20s.
    #[serde(deserialize_with = "units::de_duration")]
    pub retry_interval: Duration,
    /// Default 100; 0 = unlimited.
    pub max_awaiting_rel: usize,
    /// Default 300s.
    #[serde(deserialize_with = "units::de_duration")]
    pub await_rel_timeout: Duration,
    /// Default 2h; 0 = never expires.
    #[serde(deserialize_with = "units::de_duration")]
    pub expiry_interval: Duration,
    /// Default `false`.
    pub upgrade_qos: bool,
    /// Default 0 = unlimited.
    pub max_subscriptions: usize,
    /// Default `false`.
    pub ignore_loop_deliver: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_inflight: 32,
            retry_interval: Duration::from_secs(20),
            max_awaiting_rel: 100,
            await_rel_timeout: Duration::from_secs(300),
            expiry_interval: Duration::from_secs(2 * 3600),
            upgrade_qos: false,
            max_subscriptions: 0,
            ignore_loop_deliver: false,
        }
    }
}

/// `[mqtt.mqueue]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqueueConfig {
    /// Default 1000; 0 = unlimited.
    pub max_length: usize,
    /// Default `true`.
    pub store_qos0: bool,
}

impl Default for MqueueConfig {
    fn default() -> Self {
        MqueueConfig {
            max_length: 1000,
            store_qos0: true,
        }
    }
}

/// `[retainer]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetainerConfig {
    /// Default 1_000_000; 0 = unlimited.
    pub max_message_num: usize,
    /// Bytes; default `1MB`; 0 = no limit.
    #[serde(deserialize_with = "units::de_size")]
    pub max_payload_size: usize,
}

impl Default for RetainerConfig {
    fn default() -> Self {
        RetainerConfig {
            max_message_num: 1_000_000,
            max_payload_size: 1 << 20,
        }
    }
}

/// `[sys]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SysConfig {
    /// `$SYS` publish interval; default 1m; > 0.
    #[serde(deserialize_with = "units::de_duration")]
    pub interval: Duration,
}

impl Default for SysConfig {
    fn default() -> Self {
        SysConfig {
            interval: Duration::from_secs(60),
        }
    }
}

/// What [`Config::load_with_source`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// The file read, or `None` when it was missing (not `explicit`) and the defaults were used:
    /// the caller should log a warning once its logger is up.
    pub source: Option<PathBuf>,
}

impl Config {
    /// Load `path` (TOML) and apply `EMQTTD_*` overrides from the process environment.
    /// With `explicit` (the user named the file, `--config`) a missing file is an error; otherwise
    /// a missing file means "start from the defaults". Use [`Config::load_with_source`] to learn
    /// which happened (to log a warning).
    pub fn load(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
        Self::load_with_source(path, explicit).map(|loaded| loaded.config)
    }

    /// [`Config::load`], also telling whether the file was read (`source: Some(path)`) or missing
    /// and skipped (`source: None`, only when not `explicit`).
    pub fn load_with_source(path: &Path, explicit: bool) -> Result<Loaded, ConfigError> {
        let env = process_env()?;
        let name = path.display().to_string();
        let io_error =
            |what: String| ConfigError::new(ErrorKind::Io, Origin::File(name.clone()), None, what);
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| {
                    io_error(format!(
                        "cannot read config file: not UTF-8 (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ))
                })?;
                let config = Self::from_sources(Some((&name, &text)), &env)?;
                Ok(Loaded {
                    config,
                    source: Some(path.to_path_buf()),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(Loaded {
                config: Self::from_sources(None, &env)?,
                source: None,
            }),
            Err(e) => Err(io_error(format!("cannot read config file: {e}"))),
        }
    }

    /// The pure core of [`Config::load`]: `file` is `(name used in messages, TOML text)`, `env` the
    /// environment as (name, value) pairs (those not starting with `EMQTTD_` are ignored).
    pub fn from_sources(
        file: Option<(&str, &str)>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let file_name = file.map(|(name, _)| name);
        let mut tree = match file {
            Some((name, text)) => parse_toml(name, text)?,
            None => Table::new(),
        };
        add_default_listeners(&mut tree);
        let overrides = env::parse_overrides(env)?;
        let created: Vec<(String, String)> = overrides
            .iter()
            .filter_map(|ov| env::apply(&mut tree, ov).map(|section| (section, ov.var.clone())))
            .collect();
        let raw = env::raw_texts(&overrides);
        let value = Value::Table(tree);
        let origin = |key: &str| match env::origin_of(key, &overrides, &created) {
            Some(var) => Origin::Env(var.to_string()),
            None => file_name.map_or(Origin::Config, |f| Origin::File(f.to_string())),
        };
        let config: Config = de::from_value(&value, &raw).map_err(|e| {
            let key = e.path.clone().filter(|p| !p.is_empty());
            let origin = key.as_deref().map_or_else(
                || file_name.map_or(Origin::Config, |f| Origin::File(f.into())),
                origin,
            );
            match &e.kind {
                de::DeErrorKind::UnknownKey { expected } => {
                    let hint = key
                        .as_deref()
                        .map(|k| unknown_key_hint(k, expected))
                        .unwrap_or_default();
                    ConfigError::new(ErrorKind::UnknownKey, origin, key, hint)
                }
                de::DeErrorKind::Invalid { .. } => {
                    ConfigError::new(ErrorKind::InvalidValue, origin, key, e.message())
                }
            }
        })?;
        validate::check(&config).map_err(|v| {
            ConfigError::new(ErrorKind::Invalid, origin(&v.key), Some(v.key), v.message)
        })?;
        Ok(config)
    }

    /// Defaults plus the given overrides, e.g.
    /// `Config::from_env_pairs(&[("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0")])`.
    pub fn from_env_pairs(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::from_sources(None, &env)
    }

    /// Checks the rules loading checks (for a `Config` built or changed in code).
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::check(self).map_err(|v| {
            ConfigError::new(ErrorKind::Invalid, Origin::Config, Some(v.key), v.message)
        })
    }
}

/// The `EMQTTD_*` variables of this process (a non-UTF-8 value of one is an error).
fn process_env() -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with(ENV_PREFIX)) else {
            continue;
        };
        let value = value.into_string().map_err(|_| {
            ConfigError::new(
                ErrorKind::InvalidValue,
                Origin::Env(name.to_string()),
                None,
                "value is not valid UTF-8",
            )
        })?;
        out.push((name.to_string(), value));
    }
    Ok(out)
}

fn parse_toml(name: &str, text: &str) -> Result<Table, ConfigError> {
    toml::from_str::<Table>(text).map_err(|e| {
        let message = e.message().trim().replace('\n', "; ");
        let err = ConfigError::new(
            ErrorKind::Syntax,
            Origin::File(name.to_string()),
            None,
            format!("invalid TOML: {message}"),
        );
        match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                err.with_line(line, column)
            }
            None => err,
        }
    })
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// A file (or no file) that does not define `listener.<proto>` gets the default `external`
/// listener of that protocol, so that `EMQTTD_LISTENER__TCP__INTERNAL__BIND` adds a listener
/// instead of replacing them all; likewise `http.users` gets the default admin user.
fn add_default_listeners(tree: &mut Table) {
    let listener = tree
        .entry("listener")
        .or_insert_with(|| Value::Table(Table::new()));
    if let Some(listener) = listener.as_table_mut() {
        for proto in LISTENER_PROTOCOLS {
            listener.entry(proto).or_insert_with(|| {
                Value::Table(Table::from_iter([(
                    DEFAULT_LISTENER.to_string(),
                    Value::Table(Table::new()),
                )]))
            });
        }
    }
    let http = tree
        .entry("http")
        .or_insert_with(|| Value::Table(Table::new()));
    if let Some(http) = http.as_table_mut() {
        http.entry("users").or_insert_with(|| {
            let (user, password) = DEFAULT_ADMIN;
            Value::Table(Table::from_iter([(
                user.to_string(),
                Value::String(password.to_string()),
            )]))
        });
    }
}

/// "did you mean 'mqtt.session'?" when a known key is close, else the known keys of that section.
fn unknown_key_hint(key: &str, expected: &[&str]) -> String {
    let (parent, last) = match key.rfind('.') {
        Some(i) => (&key[..i + 1], &key[i + 1..]),
        None => ("", key),
    };
    let close = expected
        .iter()
        .map(|cand| (edit_distance(last, cand), *cand))
        .filter(|(d, cand)| *d <= 2 && *d < cand.len())
        .min();
    match close {
        Some((_, cand)) => format!("did you mean '{parent}{cand}'?"),
        None if expected.is_empty() => String::new(),
        None => format!("known keys here: {}", expected.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

const LEVELS: &str = "one of \"off\", \"error\", \"warn\", \"info\", \"debug\", \"trace\"";

fn de_level<'de, D: Deserializer<'de>>(d: D) -> Result<LevelFilter, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = LevelFilter;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(LEVELS)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LevelFilter, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "off" => Ok(LevelFilter::Off),
                "error" => Ok(LevelFilter::Error),
                "warn" => Ok(LevelFilter::Warn),
                "info" => Ok(LevelFilter::Info),
                "debug" => Ok(LevelFilter::Debug),
                "trace" => Ok(LevelFilter::Trace),
                _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
            }
        }
    }
    d.deserialize_str(V)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod transport_tests;
