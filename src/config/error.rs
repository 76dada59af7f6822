//! `ConfigError`: one clear line naming where a bad setting came from (file, line, env var), its dotted key, what was expected and what was found.

use std::fmt;

/// Where the offending setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The configuration file, by the name given to the loader (e.g. `etc/emqttd.toml`).
    File(String),
    /// An `EMQTTD_*` environment variable, by its name.
    Env(String),
    /// Neither: the built-in defaults or a `Config` built in code (see [`crate::config::Config::validate`]).
    Config,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(name) => f.write_str(name),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Config => f.write_str("configuration"),
        }
    }
}

/// What went wrong, for callers that want to branch on it (tests, exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read (missing when named explicitly, permissions, not UTF-8).
    Io,
    /// The file is not valid TOML.
    Syntax,
    /// A key (or `EMQTTD_*` variable) that no section knows.
    UnknownKey,
    /// A key of the wrong type or a malformed duration / size / address / level.
    InvalidValue,
    /// Well-formed values that break a rule checked after loading (ranges, uniqueness).
    Invalid,
}

/// A configuration error. `Display` renders one line, for example:
///
/// ```text
/// etc/emqttd.toml: unknown key 'mqtt.sesion'
/// etc/emqttd.toml: line 3, column 8: invalid TOML: ...
/// environment variable EMQTTD_MQTT__SESSION__RETRY_INTERVAL: key 'mqtt.session.retry_interval': expected a duration like "20s", "5m", "2h", found string "soon"
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    kind: ErrorKind,
    origin: Origin,
    key: Option<String>,
    line: Option<(usize, usize)>,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(
        kind: ErrorKind,
        origin: Origin,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            kind,
            origin,
            key,
            line: None,
            message: message.into(),
        }
    }

    pub(crate) fn with_line(mut self, line: usize, column: usize) -> Self {
        self.line = Some((line, column));
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file or environment variable the bad setting came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The full dotted key, e.g. `mqtt.session.max_inflight`, when the error is about one key.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// 1-based (line, column) in the file, for TOML syntax errors.
    pub fn line(&self) -> Option<(usize, usize)> {
        self.line
    }

    /// The error text without origin and key.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        if let Some((line, column)) = self.line {
            write!(f, "line {line}, column {column}: ")?;
        }
        match (self.kind, &self.key) {
            (ErrorKind::UnknownKey, Some(key)) => {
                write!(f, "unknown key '{key}'")?;
                if !self.message.is_empty() {
                    write!(f, " ({})", self.message)?;
                }
                Ok(())
            }
            (_, Some(key)) => write!(f, "key '{key}': {}", self.message),
            (_, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        let e = ConfigError::new(
            ErrorKind::UnknownKey,
            Origin::File("etc/emqttd.toml".into()),
            Some("mqtt.sesion".into()),
            "",
        );
        assert_eq!(e.to_string(), "etc/emqttd.toml: unknown key 'mqtt.sesion'");

        let e = ConfigError::new(
            ErrorKind::InvalidValue,
            Origin::Env("EMQTTD_LOG__LEVEL".into()),
            Some("log.level".into()),
            "expected one of off, error, warn, info, debug, trace, found string \"loud\"",
        );
        assert_eq!(
            e.to_string(),
            "environment variable EMQTTD_LOG__LEVEL: key 'log.level': expected one of off, error, warn, info, debug, trace, found string \"loud\""
        );

        let e = ConfigError::new(
            ErrorKind::Syntax,
            Origin::File("a.toml".into()),
            None,
            "invalid TOML: oops",
        )
        .with_line(3, 8);
        assert_eq!(
            e.to_string(),
            "a.toml: line 3, column 8: invalid TOML: oops"
        );
        assert_eq!(e.line(), Some((3, 8)));
        assert_eq!(e.kind(), ErrorKind::Syntax);
    }
}
