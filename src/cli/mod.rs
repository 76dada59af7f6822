//! The command line of the `emqttd` binary (emqttd's `bin/emqttd` script): parsing only,
//! so it can be tested without starting anything. `emqttd ctl ...` is parsed by [`ctl::args`].

pub mod ctl;

use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "etc/emqttd.toml";

pub const USAGE: &str = "\
emqttd: an MQTT 3.1/3.1.1 broker

Usage:
  emqttd [start] [--config PATH]   run the broker in the foreground (default config etc/emqttd.toml)
  emqttd ctl [--config PATH] <command> [args]
                                   operate the running node: status, clients, sessions,
                                   subscriptions, plugins, ... (`emqttd ctl help`)
  emqttd --version                 print the version
  emqttd --help                    print this help

Every config key can be overridden with an environment variable: EMQTTD_ + the key's path in
upper case with __ between levels, e.g. EMQTTD_LISTENER__TCP__EXTERNAL__BIND=127.0.0.1:1883.
RUST_LOG overrides log.level.";

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the broker. `config` is `Some` when `--config` named a file explicitly.
    Start {
        config: Option<PathBuf>,
    },
    /// `emqttd ctl ...`: the arguments after `ctl`, parsed by [`ctl::args::parse`].
    Ctl {
        args: Vec<String>,
    },
    Version,
    Help,
}

/// Parse the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    match args.peek().map(String::as_str) {
        Some("--version" | "-V" | "version") => return Ok(Command::Version),
        Some("--help" | "-h" | "help") => return Ok(Command::Help),
        Some("start") => {
            args.next();
        }
        Some("ctl") => {
            args.next();
            return Ok(Command::Ctl {
                args: args.collect(),
            });
        }
        _ => {}
    }
    let mut config = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => match args.next() {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err("--config needs a file path".into()),
            },
            other => match other.strip_prefix("--config=") {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err(format!("unknown argument '{}'", other)),
            },
        }
    }
    Ok(Command::Start { config })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn no_arguments_start_on_the_default_config() {
        assert_eq!(parse_str(&[]), Ok(Command::Start { config: None }));
        assert_eq!(parse_str(&["start"]), Ok(Command::Start { config: None }));
    }

    #[test]
    fn config_path_is_taken_in_both_forms() {
        let expected = Ok(Command::Start {
            config: Some("x.toml".into()),
        });
        assert_eq!(parse_str(&["start", "--config", "x.toml"]), expected);
        assert_eq!(parse_str(&["--config=x.toml"]), expected);
    }

    #[test]
    fn version_help_and_errors() {
        assert_eq!(parse_str(&["--version"]), Ok(Command::Version));
        assert_eq!(parse_str(&["--help"]), Ok(Command::Help));
        assert!(parse_str(&["start", "--config"]).is_err());
        assert!(parse_str(&["bogus"]).unwrap_err().contains("bogus"));
    }

    #[test]
    fn ctl_takes_everything_after_it() {
        assert_eq!(
            parse_str(&["ctl", "--config", "x.toml", "clients", "list"]),
            Ok(Command::Ctl {
                args: vec![
                    "--config".into(),
                    "x.toml".into(),
                    "clients".into(),
                    "list".into()
                ]
            })
        );
        assert_eq!(parse_str(&["ctl"]), Ok(Command::Ctl { args: vec![] }));
    }
}
