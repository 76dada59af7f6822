//! `[plugins]`: where the plugin host reads each plugin's config and keeps the list of loaded
//! plugins (emqttd's `plugins_etc_dir` and `data/loaded_plugins`).

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[plugins]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Directory of the plugins' config files, `<etc_dir>/<plugin name>.toml`; default
    /// `etc/plugins`.
    pub etc_dir: PathBuf,
    /// The file listing the plugins to load at start, one name per line; default `""` =
    /// `<node.data_dir>/loaded_plugins` (i.e. `data/loaded_plugins`).
    pub loaded_file: PathBuf,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            etc_dir: PathBuf::from("etc/plugins"),
            loaded_file: PathBuf::new(),
        }
    }
}

/// The name of the loaded-plugins file inside `node.data_dir`.
pub const LOADED_PLUGINS_FILE: &str = "loaded_plugins";

impl PluginsConfig {
    /// The loaded-plugins file: `loaded_file`, or `<data_dir>/loaded_plugins` when it is empty.
    pub fn loaded_file_in(&self, data_dir: &Path) -> PathBuf {
        if self.loaded_file.as_os_str().is_empty() {
            data_dir.join(LOADED_PLUGINS_FILE)
        } else {
            self.loaded_file.clone()
        }
    }

    /// `<etc_dir>/<name>.toml`.
    pub fn config_file(&self, name: &str) -> PathBuf {
        self.etc_dir.join(format!("{name}.toml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loaded_file_defaults_to_the_data_dir() {
        let config = PluginsConfig::default();
        assert_eq!(
            config.loaded_file_in(Path::new("/var/lib/emqttd")),
            PathBuf::from("/var/lib/emqttd/loaded_plugins")
        );
        let explicit = PluginsConfig {
            loaded_file: PathBuf::from("/tmp/lp"),
            ..PluginsConfig::default()
        };
        assert_eq!(
            explicit.loaded_file_in(Path::new("data")),
            PathBuf::from("/tmp/lp")
        );
        assert_eq!(
            config.config_file("emqttd_plugin_template"),
            PathBuf::from("etc/plugins/emqttd_plugin_template.toml")
        );
    }
}
