//! `EMQTTD_*` environment overrides (the successor of emqttd 2.x's `EMQ_NODE_NAME`, `EMQ_TCP_PORT`, ...): `EMQTTD_MQTT__SESSION__MAX_INFLIGHT=64` sets `mqtt.session.max_inflight`, applied to the TOML tree before typing.

use std::collections::HashMap;

use toml::{Table, Value};

use super::de::join_key;
use super::error::{ConfigError, ErrorKind, Origin};

/// Only variables starting with this prefix are read; all others are ignored.
pub const ENV_PREFIX: &str = "EMQTTD_";
/// Separates key levels in a variable name (a single `_` stays part of the key: `MAX_INFLIGHT`).
pub const ENV_SEPARATOR: &str = "__";
/// Variables for `emqttd ctl` (`EMQTTD_CTL_USER`, `EMQTTD_CTL_PASSWORD`): not config keys, skipped.
pub const CTL_ENV_PREFIX: &str = "EMQTTD_CTL_";

/// One `EMQTTD_*` variable, resolved to a key path and a TOML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnvOverride {
    /// The variable name, for error messages.
    pub var: String,
    /// Lower-cased key segments: `["mqtt", "session", "max_inflight"]`.
    pub path: Vec<String>,
    /// The dotted key: `mqtt.session.max_inflight`.
    pub key: String,
    /// The variable's text as given.
    pub raw: String,
    /// The text parsed as a TOML value if it parses as one (`64`, `true`, `0.75`, `[1, 2]`),
    /// else the text as a string (`127.0.0.1:1883`, `1MB`, `20s`).
    pub value: Value,
}

/// The environment name for a dotted key: `mqtt.session.max_inflight` -> `EMQTTD_MQTT__SESSION__MAX_INFLIGHT`.
pub fn env_var_for(key: &str) -> String {
    let upper: Vec<String> = key.split('.').map(str::to_ascii_uppercase).collect();
    format!("{ENV_PREFIX}{}", upper.join(ENV_SEPARATOR))
}

/// Picks the `EMQTTD_*` variables out of `env`, in a deterministic order (shorter keys first so a
/// leaf variable wins over one that sets its whole section, then by name). A variable listed twice
/// takes its last value; two differently spelled variables for one key are an error.
pub(crate) fn parse_overrides(env: &[(String, String)]) -> Result<Vec<EnvOverride>, ConfigError> {
    let mut out: Vec<EnvOverride> = Vec::new();
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if var.starts_with(CTL_ENV_PREFIX) {
            continue;
        }
        let path: Vec<String> = rest
            .split(ENV_SEPARATOR)
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                ErrorKind::UnknownKey,
                Origin::Env(var.clone()),
                None,
                format!(
                    "malformed variable name: expected {ENV_PREFIX}<SECTION>{ENV_SEPARATOR}<KEY> with levels separated by '{ENV_SEPARATOR}', e.g. EMQTTD_MQTT__SESSION__MAX_INFLIGHT"
                ),
            ));
        }
        let key = path
            .iter()
            .fold(String::new(), |acc, seg| join_key(&acc, seg));
        // The same variable twice (a hand-made pair list): the later one wins.
        out.retain(|o| o.var != *var);
        if let Some(prev) = out.iter().find(|o| o.key == key) {
            // Two spellings of one key (EMQTTD_LOG__LEVEL, EMQTTD_LOG__level): ambiguous.
            return Err(ConfigError::new(
                ErrorKind::Invalid,
                Origin::Env(var.clone()),
                Some(key),
                format!("also set by environment variable {}; set it once", prev.var),
            ));
        }
        out.push(EnvOverride {
            var: var.clone(),
            path,
            key,
            raw: raw.clone(),
            value: parse_value(raw),
        });
    }
    out.sort_by(|a, b| {
        a.path
            .len()
            .cmp(&b.path.len())
            .then_with(|| a.var.cmp(&b.var))
    });
    Ok(out)
}

/// The variable's text as a TOML value when it is one, else as a string.
pub(crate) fn parse_value(raw: &str) -> Value {
    if let Ok(mut table) = toml::from_str::<Table>(&format!("v = {raw}")) {
        if table.len() == 1 {
            match table.remove("v") {
                // A date-time is never a config value; "2024-01-01" is more likely meant as text.
                Some(Value::Datetime(_)) | None => {}
                Some(v) => return v,
            }
        }
    }
    Value::String(raw.to_string())
}

/// Sets `ov.path` in `tree`, creating missing sections (a new listener name creates that listener,
/// its other keys taking their defaults). Tables merge key by key; anything else is replaced.
/// Returns the dotted key of the outermost section it created, if any, so that an error about a
/// defaulted key inside it (`listener.tcp.internal.bind`) can name this variable.
pub(crate) fn apply(tree: &mut Table, ov: &EnvOverride) -> Option<String> {
    let (leaf, parents) = ov
        .path
        .split_last()
        .expect("parse_overrides never yields an empty path");
    let mut table = tree;
    let mut created = None;
    let mut key = String::new();
    for seg in parents {
        key = join_key(&key, seg);
        let slot = table.entry(seg.clone()).or_insert_with(|| {
            created.get_or_insert_with(|| key.clone());
            Value::Table(Table::new())
        });
        if !slot.is_table() {
            // `EMQTTD_LOG__LEVEL__X` over `log.level = "info"`: the section check reports it.
            *slot = Value::Table(Table::new());
        }
        table = slot.as_table_mut().expect("just made a table");
    }
    match (table.get_mut(leaf), &ov.value) {
        (Some(Value::Table(existing)), Value::Table(new)) => merge(existing, new),
        (None, Value::Table(_)) => {
            created.get_or_insert_with(|| ov.key.clone());
            table.insert(leaf.clone(), ov.value.clone());
        }
        _ => {
            table.insert(leaf.clone(), ov.value.clone());
        }
    }
    created
}

fn merge(into: &mut Table, from: &Table) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Table(a)), Value::Table(b)) => merge(a, b),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Dotted key -> raw text, for string-typed keys (see [`super::de::from_value`]).
pub(crate) fn raw_texts(overrides: &[EnvOverride]) -> HashMap<String, String> {
    overrides
        .iter()
        .map(|o| (o.key.clone(), o.raw.clone()))
        .collect()
}

/// The variable responsible for `key`: the one that set exactly it, else one that set something
/// inside it (an unknown section), else one that set a section containing it, else one that
/// created a section containing it (`created`: section key and variable, from [`apply`]).
pub(crate) fn origin_of<'a>(
    key: &str,
    overrides: &'a [EnvOverride],
    created: &'a [(String, String)],
) -> Option<&'a str> {
    let inside = |outer: &str, inner: &str| {
        inner.len() > outer.len()
            && inner.starts_with(outer)
            && inner.as_bytes()[outer.len()] == b'.'
    };
    overrides
        .iter()
        .find(|o| o.key == key)
        .or_else(|| overrides.iter().find(|o| inside(key, &o.key)))
        .or_else(|| overrides.iter().rev().find(|o| inside(&o.key, key)))
        .map(|o| o.var.as_str())
        .or_else(|| {
            created
                .iter()
                .find(|(section, _)| inside(section, key))
                .map(|(_, var)| var.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ctl_variables_are_not_config_keys() {
        let ovs = parse_overrides(&pairs(&[
            ("EMQTTD_CTL_USER", "admin"),
            ("EMQTTD_CTL_PASSWORD", "public"),
            ("EMQTTD_LOG__LEVEL", "debug"),
        ]))
        .unwrap();
        assert_eq!(ovs.len(), 1);
        assert_eq!(ovs[0].key, "log.level");
    }

    #[test]
    fn names_split_on_double_underscore_only() {
        let ovs = parse_overrides(&pairs(&[
            ("EMQTTD_MQTT__SESSION__MAX_INFLIGHT", "64"),
            ("PATH", "/bin"),
            ("EMQTT_LOG__LEVEL", "debug"),
            ("emqttd_log__level", "debug"),
        ]))
        .unwrap();
        assert_eq!(ovs.len(), 1);
        assert_eq!(ovs[0].path, ["mqtt", "session", "max_inflight"]);
        assert_eq!(ovs[0].key, "mqtt.session.max_inflight");
        assert_eq!(ovs[0].value, Value::Integer(64));
        assert_eq!(
            env_var_for("mqtt.session.max_inflight"),
            "EMQTTD_MQTT__SESSION__MAX_INFLIGHT"
        );
    }

    #[test]
    fn malformed_and_duplicate_names() {
        let e = parse_overrides(&pairs(&[("EMQTTD_LOG__", "x")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("environment variable EMQTTD_LOG__: malformed variable name"),
            "{e}"
        );
        let e = parse_overrides(&pairs(&[("EMQTTD_", "x")])).unwrap_err();
        assert_eq!(e.origin(), &Origin::Env("EMQTTD_".into()));
        let e = parse_overrides(&pairs(&[
            ("EMQTTD_LOG__LEVEL", "x"),
            ("EMQTTD_LOG__level", "y"),
        ]))
        .unwrap_err();
        assert_eq!(e.key(), Some("log.level"));
        assert!(e.to_string().contains("EMQTTD_LOG__LEVEL"), "{e}");
        // the same name twice: the later value wins
        let ovs = parse_overrides(&pairs(&[
            ("EMQTTD_LOG__LEVEL", "warn"),
            ("EMQTTD_NODE__NAME", "a@b"),
            ("EMQTTD_LOG__LEVEL", "debug"),
        ]))
        .unwrap();
        assert_eq!(ovs.len(), 2);
        assert_eq!(
            ovs.iter().find(|o| o.key == "log.level").unwrap().raw,
            "debug"
        );
    }

    #[test]
    fn values_parse_as_toml_else_string() {
        assert_eq!(parse_value("64"), Value::Integer(64));
        assert_eq!(parse_value("true"), Value::Boolean(true));
        assert_eq!(parse_value("0.75"), Value::Float(0.75));
        assert_eq!(
            parse_value("[1,2]"),
            Value::Array(vec![Value::Integer(1), Value::Integer(2)])
        );
        assert_eq!(parse_value("\"quoted\""), Value::String("quoted".into()));
        for text in [
            "127.0.0.1:21883",
            "1MB",
            "20s",
            "debug",
            "emqttd@127.0.0.1",
            "",
            "1\n[x]",
            "2024-01-01",
        ] {
            assert_eq!(parse_value(text), Value::String(text.into()), "{text:?}");
        }
    }

    #[test]
    fn apply_creates_merges_and_replaces() {
        let mut tree: Table =
            toml::from_str("[listener.tcp.external]\nbind = \"0.0.0.0:1883\"\nenable = true")
                .unwrap();
        let ovs = parse_overrides(&pairs(&[
            ("EMQTTD_LISTENER__TCP__EXTERNAL__ENABLE", "false"),
            ("EMQTTD_LISTENER__TCP__INTERNAL__BIND", "127.0.0.1:11883"),
            ("EMQTTD_LISTENER__TCP__EXTERNAL", "{ backlog = 5 }"),
        ]))
        .unwrap();
        let created: Vec<Option<String>> = ovs.iter().map(|ov| apply(&mut tree, ov)).collect();
        assert_eq!(
            created,
            [None, None, Some("listener.tcp.internal".to_string())]
        );
        let want: Table = toml::from_str(
            "[listener.tcp.external]\nbind = \"0.0.0.0:1883\"\nenable = false\nbacklog = 5\n[listener.tcp.internal]\nbind = \"127.0.0.1:11883\"",
        )
        .unwrap();
        assert_eq!(tree, want);
    }

    #[test]
    fn origin_lookup() {
        let ovs = parse_overrides(&pairs(&[
            ("EMQTTD_MQTT__SESION__MAX_INFLIGHT", "1"),
            ("EMQTTD_LOG", "{ level = 1 }"),
            ("EMQTTD_NODE__NAME", "x"),
        ]))
        .unwrap();
        let created = vec![(
            "listener.tcp.b".to_string(),
            "EMQTTD_LISTENER__TCP__B__ENABLE".to_string(),
        )];
        assert_eq!(
            origin_of("node.name", &ovs, &created),
            Some("EMQTTD_NODE__NAME")
        );
        assert_eq!(
            origin_of("mqtt.sesion", &ovs, &created),
            Some("EMQTTD_MQTT__SESION__MAX_INFLIGHT")
        );
        assert_eq!(origin_of("log.level", &ovs, &created), Some("EMQTTD_LOG"));
        assert_eq!(origin_of("node.data_dir", &ovs, &created), None);
        assert_eq!(origin_of("mqtt.session", &ovs, &created), None);
        assert_eq!(
            origin_of("listener.tcp.b.bind", &ovs, &created),
            Some("EMQTTD_LISTENER__TCP__B__ENABLE")
        );
        assert_eq!(origin_of("listener.tcp.bb", &ovs, &created), None);
    }
}
