//! The template's settings, read from `etc/plugins/emqttd_plugin_template.toml` (the table the
//! broker hands over in `PluginContext::config`). Pure: unit-tested below.

use emqttd_plugin_api::toml::{Table, Value};
use std::path::Path;

/// The keys of the config file and what they mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateConfig {
    /// Log the payload of each published message (as UTF-8, lossy). Default `false`.
    pub log_payload: bool,
    /// Leave the broker's own `$SYS` messages out of the logs and counts. Default `true`.
    pub skip_sys: bool,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            log_payload: false,
            skip_sys: true,
        }
    }
}

const KEYS: &[&str] = &["log_payload", "skip_sys"];

impl TemplateConfig {
    /// Read the settings from `table`; an error names the file and the key.
    pub fn from_table(table: &Table, file: &Path) -> Result<TemplateConfig, String> {
        let mut config = TemplateConfig::default();
        for (key, value) in table {
            let slot = match key.as_str() {
                "log_payload" => &mut config.log_payload,
                "skip_sys" => &mut config.skip_sys,
                _ => {
                    return Err(format!(
                        "{}: unknown key '{}' (known keys: {})",
                        file.display(),
                        key,
                        KEYS.join(", ")
                    ))
                }
            };
            *slot = match value {
                Value::Boolean(b) => *b,
                other => {
                    return Err(format!(
                        "{}: key '{}': expected true or false, found {} {}",
                        file.display(),
                        key,
                        other.type_str(),
                        other
                    ))
                }
            };
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TemplateConfig, String> {
        let table: Table = text.parse().unwrap();
        TemplateConfig::from_table(&table, Path::new("etc/plugins/t.toml"))
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(parse("").unwrap(), TemplateConfig::default());
    }

    #[test]
    fn keys_are_read() {
        let config = parse("log_payload = true\nskip_sys = false\n").unwrap();
        assert!(config.log_payload);
        assert!(!config.skip_sys);
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        assert_eq!(
            parse("log_payloads = true").unwrap_err(),
            "etc/plugins/t.toml: unknown key 'log_payloads' (known keys: log_payload, skip_sys)"
        );
        assert_eq!(
            parse("log_payload = \"yes\"").unwrap_err(),
            "etc/plugins/t.toml: key 'log_payload': expected true or false, found string \"yes\""
        );
    }

    #[test]
    fn the_shipped_file_is_the_defaults() {
        let shipped = include_str!("../../../etc/plugins/emqttd_plugin_template.toml");
        assert_eq!(parse(shipped).unwrap(), TemplateConfig::default());
    }
}
