//! Typed configuration of the TLS, WebSocket and secure WebSocket listeners
//! (`[listener.ssl.<name>]`, `[listener.ws.<name>]`, `[listener.wss.<name>]`) and of the HTTP
//! listener (`[http]`), emqttd 2.x's `listener.ssl.*`, `listener.ws.*`, `listener.wss.*` and
//! `listener.api.*` keys.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{addr, units};

/// `verify` values.
pub const VERIFY_PEER: &str = "verify_peer";
pub const VERIFY_NONE: &str = "verify_none";
/// `tls_versions` values.
pub const TLS_VERSIONS: [&str; 2] = ["1.2", "1.3"];
/// `peer_cert_as_username` values.
pub const PEER_CERT_AS_USERNAME: [&str; 2] = ["off", "cn"];

/// The TLS settings shared by the `ssl` and `wss` listeners, borrowed from either.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TlsOptions<'a> {
    pub certfile: &'a Path,
    pub keyfile: &'a Path,
    /// `None` when `cacertfile` is empty.
    pub cacertfile: Option<&'a Path>,
    /// `verify = "verify_peer"`: ask for (and check) a client certificate.
    pub verify_peer: bool,
    /// With `verify_peer`: refuse clients without a certificate.
    pub fail_if_no_peer_cert: bool,
    pub tls12: bool,
    pub tls13: bool,
    pub handshake_timeout: Duration,
    /// `peer_cert_as_username = "cn"`.
    pub cn_as_username: bool,
}

macro_rules! tls_options {
    ($t:ty) => {
        impl $t {
            /// The TLS part of this listener's settings.
            pub fn tls(&self) -> TlsOptions<'_> {
                TlsOptions {
                    certfile: &self.certfile,
                    keyfile: &self.keyfile,
                    cacertfile: (!self.cacertfile.as_os_str().is_empty())
                        .then_some(self.cacertfile.as_path()),
                    verify_peer: self.verify == VERIFY_PEER,
                    fail_if_no_peer_cert: self.fail_if_no_peer_cert,
                    tls12: self.tls_versions.iter().any(|v| v == "1.2"),
                    tls13: self.tls_versions.iter().any(|v| v == "1.3"),
                    handshake_timeout: self.handshake_timeout,
                    cn_as_username: self.peer_cert_as_username == "cn",
                }
            }
        }
    };
}

/// `[listener.ssl.<name>]`: MQTT over TLS.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SslListenerConfig {
    /// Default `true` (the listener stays off, with a warning, while its files are missing).
    pub enable: bool,
    /// Default `0.0.0.0:8883`.
    #[serde(deserialize_with = "addr::de_bind")]
    pub bind: SocketAddr,
    /// Default 1_024_000.
    pub max_connections: usize,
    /// Default 1024.
    pub backlog: u32,
    /// PEM server certificate chain; default `etc/certs/cert.pem`.
    pub certfile: PathBuf,
    /// PEM private key; default `etc/certs/key.pem`.
    pub keyfile: PathBuf,
    /// PEM CA certificates that sign client certificates; default "" (none).
    pub cacertfile: PathBuf,
    /// `verify_peer` or `verify_none` (default).
    pub verify: String,
    /// Default `false`.
    pub fail_if_no_peer_cert: bool,
    /// Default `["1.2", "1.3"]`.
    pub tls_versions: Vec<String>,
    /// Default 15s.
    #[serde(deserialize_with = "units::de_duration")]
    pub handshake_timeout: Duration,
    /// `off` (default) or `cn`.
    pub peer_cert_as_username: String,
}

tls_options!(SslListenerConfig);

impl Default for SslListenerConfig {
    fn default() -> Self {
        SslListenerConfig {
            enable: true,
            bind: any_v4(8883),
            max_connections: 1_024_000,
            backlog: 1024,
            certfile: PathBuf::from("etc/certs/cert.pem"),
            keyfile: PathBuf::from("etc/certs/key.pem"),
            cacertfile: PathBuf::new(),
            verify: VERIFY_NONE.into(),
            fail_if_no_peer_cert: false,
            tls_versions: TLS_VERSIONS.iter().map(|v| v.to_string()).collect(),
            handshake_timeout: Duration::from_secs(15),
            peer_cert_as_username: "off".into(),
        }
    }
}

/// `[listener.ws.<name>]`: MQTT over WebSocket.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WsListenerConfig {
    /// Default `true`.
    pub enable: bool,
    /// Default `0.0.0.0:8083`.
    #[serde(deserialize_with = "addr::de_bind")]
    pub bind: SocketAddr,
    /// Default 1_024_000.
    pub max_connections: usize,
    /// Default 1024.
    pub backlog: u32,
    /// URL path of the WebSocket endpoint; default `/mqtt`.
    pub path: String,
    /// Largest WebSocket frame accepted; default `1MB`.
    #[serde(deserialize_with = "units::de_size")]
    pub max_frame_size: usize,
    /// Header naming the client's address behind a proxy, e.g. `X-Forwarded-For`; "" = off.
    pub proxy_address_header: String,
}

impl Default for WsListenerConfig {
    fn default() -> Self {
        WsListenerConfig {
            enable: true,
            bind: any_v4(8083),
            max_connections: 1_024_000,
            backlog: 1024,
            path: "/mqtt".into(),
            max_frame_size: 1 << 20,
            proxy_address_header: String::new(),
        }
    }
}

/// `[listener.wss.<name>]`: MQTT over WebSocket over TLS.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WssListenerConfig {
    pub enable: bool,
    /// Default `0.0.0.0:8084`.
    #[serde(deserialize_with = "addr::de_bind")]
    pub bind: SocketAddr,
    pub max_connections: usize,
    pub backlog: u32,
    pub path: String,
    #[serde(deserialize_with = "units::de_size")]
    pub max_frame_size: usize,
    pub proxy_address_header: String,
    pub certfile: PathBuf,
    pub keyfile: PathBuf,
    pub cacertfile: PathBuf,
    pub verify: String,
    pub fail_if_no_peer_cert: bool,
    pub tls_versions: Vec<String>,
    #[serde(deserialize_with = "units::de_duration")]
    pub handshake_timeout: Duration,
    pub peer_cert_as_username: String,
}

tls_options!(WssListenerConfig);

impl Default for WssListenerConfig {
    fn default() -> Self {
        let ws = WsListenerConfig::default();
        let ssl = SslListenerConfig::default();
        WssListenerConfig {
            enable: true,
            bind: any_v4(8084),
            max_connections: ws.max_connections,
            backlog: ws.backlog,
            path: ws.path,
            max_frame_size: ws.max_frame_size,
            proxy_address_header: ws.proxy_address_header,
            certfile: ssl.certfile,
            keyfile: ssl.keyfile,
            cacertfile: ssl.cacertfile,
            verify: ssl.verify,
            fail_if_no_peer_cert: ssl.fail_if_no_peer_cert,
            tls_versions: ssl.tls_versions,
            handshake_timeout: ssl.handshake_timeout,
            peer_cert_as_username: ssl.peer_cert_as_username,
        }
    }
}

impl WssListenerConfig {
    /// The WebSocket part of this listener's settings.
    pub fn ws(&self) -> WsListenerConfig {
        WsListenerConfig {
            enable: self.enable,
            bind: self.bind,
            max_connections: self.max_connections,
            backlog: self.backlog,
            path: self.path.clone(),
            max_frame_size: self.max_frame_size,
            proxy_address_header: self.proxy_address_header.clone(),
        }
    }
}

/// `[http]`: the HTTP listener (HTTP publish API, REST API v2, dashboard).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Default `true`.
    pub enable: bool,
    /// Default `0.0.0.0:18083`.
    #[serde(deserialize_with = "addr::de_bind")]
    pub bind: SocketAddr,
    /// `[http.users]`: admin user name -> password; default `admin = "public"`. Seeds the
    /// admins file when it does not exist yet.
    pub users: BTreeMap<String, String>,
    /// The admin users' file (salted password hashes); default `""` =
    /// `<node.data_dir>/admins.json`.
    pub admins_file: PathBuf,
    /// The dashboard's files, served at `/`; relative paths are looked up in the working
    /// directory, then in the source tree; default `priv/www`.
    pub docroot: PathBuf,
}

/// The admin user present when the configuration defines none.
pub const DEFAULT_ADMIN: (&str, &str) = ("admin", "public");

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enable: true,
            bind: any_v4(18083),
            users: BTreeMap::from([(DEFAULT_ADMIN.0.to_string(), DEFAULT_ADMIN.1.to_string())]),
            admins_file: PathBuf::new(),
            docroot: PathBuf::from("priv/www"),
        }
    }
}

fn any_v4(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_read_the_strings() {
        let mut ssl = SslListenerConfig::default();
        let t = ssl.tls();
        assert!(t.tls12 && t.tls13 && !t.verify_peer && !t.cn_as_username);
        assert_eq!(t.cacertfile, None);
        ssl.cacertfile = PathBuf::from("ca.pem");
        ssl.verify = VERIFY_PEER.into();
        ssl.tls_versions = vec!["1.3".into()];
        ssl.peer_cert_as_username = "cn".into();
        let t = ssl.tls();
        assert!(!t.tls12 && t.tls13 && t.verify_peer && t.cn_as_username);
        assert_eq!(t.cacertfile, Some(Path::new("ca.pem")));
    }

    #[test]
    fn wss_defaults_share_ws_and_ssl_defaults() {
        let wss = WssListenerConfig::default();
        assert_eq!(wss.bind.port(), 8084);
        assert_eq!(
            wss.ws(),
            WsListenerConfig {
                bind: wss.bind,
                ..WsListenerConfig::default()
            }
        );
        assert_eq!(
            wss.tls(),
            SslListenerConfig::default().tls(),
            "same TLS defaults"
        );
    }
}
