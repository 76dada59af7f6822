//! `[module.*]`: the built-in modules' settings (emqttd 2.x's `module.presence`,
//! `module.subscription` and `module.rewrite` keys of `etc/emq.conf`, as TOML tables).

use serde::Deserialize;

use super::validate::Violation;
use crate::mqtt::topic::validate_filter;

/// `[module]`
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModulesConfig {
    pub presence: PresenceConfig,
    pub autosub: AutosubConfig,
    pub rewrite: RewriteConfig,
}

/// `[module.presence]`: publish `$SYS/brokers/<node>/clients/<clientid>/connected|disconnected`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceConfig {
    /// Default `false`.
    pub enable: bool,
    /// QoS of the presence messages, 0..=2; default 0.
    pub qos: u8,
}

/// `[module.autosub]`: subscribe every accepted client to `topics`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutosubConfig {
    /// Default `false`.
    pub enable: bool,
    /// Default `[{topic = "$client/%c", qos = 1}]`.
    pub topics: Vec<AutosubTopic>,
}

impl Default for AutosubConfig {
    fn default() -> Self {
        AutosubConfig {
            enable: false,
            topics: vec![AutosubTopic {
                topic: "$client/%c".into(),
                qos: 1,
            }],
        }
    }
}

/// One topic of `module.autosub.topics`: a filter where a level `%c` is the client id and a
/// level `%u` the username.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutosubTopic {
    pub topic: String,
    #[serde(default)]
    pub qos: u8,
}

/// `[module.rewrite]`: rewrite topics of PUBLISH, SUBSCRIBE and UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewriteConfig {
    /// Default `false`.
    pub enable: bool,
    /// Default `[{filter = "x/#", rewrites = [{regex = "^x/y/(.+)$", dest = "z/y/$1"}]}]`.
    pub rules: Vec<RewriteRule>,
}

impl Default for RewriteConfig {
    fn default() -> Self {
        RewriteConfig {
            enable: false,
            rules: vec![RewriteRule {
                filter: "x/#".into(),
                rewrites: vec![Rewrite {
                    regex: "^x/y/(.+)$".into(),
                    dest: "z/y/$1".into(),
                }],
            }],
        }
    }
}

/// A rule: topics matching `filter` are rewritten by the first of `rewrites` whose regex
/// matches (emqttd's `{topic, Filter, [{rewrite, Re, Dest}, ...]}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewriteRule {
    pub filter: String,
    pub rewrites: Vec<Rewrite>,
}

/// `regex` (Rust `regex` syntax) and `dest`, where `$1`..`$9`.. are its capture groups.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rewrite {
    pub regex: String,
    pub dest: String,
}

fn fail(key: String, message: String) -> Result<(), Violation> {
    Err(Violation { key, message })
}

fn check_qos(key: String, qos: u8) -> Result<(), Violation> {
    if qos > 2 {
        return fail(key, format!("expected a QoS of 0, 1 or 2, found {qos}"));
    }
    Ok(())
}

fn check_filter(key: String, filter: &str) -> Result<(), Violation> {
    if let Err(error) = validate_filter(filter) {
        return fail(
            key,
            format!("expected a valid MQTT topic filter, found {filter:?}: {error}"),
        );
    }
    Ok(())
}

/// The rules of `[module.*]`.
pub(crate) fn check(m: &ModulesConfig) -> Result<(), Violation> {
    check_qos("module.presence.qos".into(), m.presence.qos)?;
    for (i, t) in m.autosub.topics.iter().enumerate() {
        check_filter(format!("module.autosub.topics[{i}].topic"), &t.topic)?;
        check_qos(format!("module.autosub.topics[{i}].qos"), t.qos)?;
    }
    for (i, rule) in m.rewrite.rules.iter().enumerate() {
        check_filter(format!("module.rewrite.rules[{i}].filter"), &rule.filter)?;
        for (j, rw) in rule.rewrites.iter().enumerate() {
            if let Err(error) = regex::Regex::new(&rw.regex) {
                let error = error.to_string().replace('\n', " ");
                return fail(
                    format!("module.rewrite.rules[{i}].rewrites[{j}].regex"),
                    format!(
                        "expected a regular expression, found {:?}: {error}",
                        rw.regex
                    ),
                );
            }
        }
    }
    Ok(())
}
