//! The MQTT/TLS listener (emqttd's `listener.ssl.*`, esockd's ssl acceptor) on rustls with the
//! ring provider: certificates from PEM files, optional mutual TLS, a handshake deadline, and
//! the client certificate's CN as the username.

use crate::broker::BrokerCore;
use crate::config::TlsOptions;
use crate::listener::tcp::BoundTcp;
use crate::listener::{x509, ListenerInfo};
use crate::session::actor::{SessionActor, Transport};
use actix_server::ServerBuilder;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

/// Why a TLS listener could not be set up; names the key whose file is at fault.
#[derive(Debug)]
pub struct TlsSetupError {
    /// The key, relative to the listener: `certfile`, `keyfile`, `cacertfile`, `verify`.
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

fn setup_error(key: &'static str, message: impl fmt::Display) -> TlsSetupError {
    TlsSetupError {
        key,
        message: message.to_string(),
    }
}

/// The files `certfile`/`keyfile` that do not exist, if any: the listener is then left off.
pub fn missing_files(opts: &TlsOptions<'_>) -> Vec<String> {
    [opts.certfile, opts.keyfile]
        .into_iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect()
}

/// The rustls server configuration for `opts` (files read now).
pub fn server_config(opts: &TlsOptions<'_>) -> Result<ServerConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(opts.certfile).map_err(|e| setup_error("certfile", e))?;
    let key = PrivateKeyDer::from_pem_file(opts.keyfile).map_err(|e| {
        setup_error(
            "keyfile",
            format!("no PEM private key in {}: {e}", opts.keyfile.display()),
        )
    })?;
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    if opts.tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if opts.tls12 {
        versions.push(&rustls::version::TLS12);
    }
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| setup_error("tls_versions", e))?;
    let builder = if opts.verify_peer {
        let Some(ca) = opts.cacertfile else {
            return Err(setup_error(
                "cacertfile",
                "verify = \"verify_peer\" needs a cacertfile to check client certificates with",
            ));
        };
        let mut roots = RootCertStore::empty();
        for cert in read_certs(ca).map_err(|e| setup_error("cacertfile", e))? {
            roots
                .add(cert)
                .map_err(|e| setup_error("cacertfile", format!("{}: {e}", ca.display())))?;
        }
        let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        if !opts.fail_if_no_peer_cert {
            verifier = verifier.allow_unauthenticated();
        }
        let verifier = verifier.build().map_err(|e| setup_error("cacertfile", e))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| setup_error("keyfile", format!("does not match certfile: {e}")))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read PEM certificates from {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no PEM certificate in {}", path.display()));
    }
    Ok(certs)
}

/// What the TLS listener needs per connection.
#[derive(Clone)]
pub struct TlsListener {
    pub acceptor: TlsAcceptor,
    pub handshake_timeout: Duration,
    pub cn_as_username: bool,
}

impl TlsListener {
    pub fn new(config: ServerConfig, opts: &TlsOptions<'_>) -> TlsListener {
        TlsListener {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: opts.handshake_timeout,
            cn_as_username: opts.cn_as_username,
        }
    }
}

/// Add the TLS listener to the server: every accepted socket does the TLS handshake (bounded by
/// `handshake_timeout`) and then becomes a session actor.
pub fn serve(
    builder: ServerBuilder,
    bound: BoundTcp,
    tls: TlsListener,
    core: Arc<BrokerCore>,
) -> io::Result<ServerBuilder> {
    let info = bound.info;
    let name = info.name.to_string();
    builder.listen(name, bound.listener, move || {
        let core = core.clone();
        let info = info.clone();
        let tls = tls.clone();
        actix_service::fn_service(move |stream: actix_rt::net::TcpStream| {
            accept(core.clone(), info.clone(), tls.clone(), stream)
        })
    })
}

async fn accept(
    core: Arc<BrokerCore>,
    info: Arc<ListenerInfo>,
    tls: TlsListener,
    stream: actix_rt::net::TcpStream,
) -> Result<(), ()> {
    let Ok(peer) = stream.peer_addr() else {
        return Ok(());
    };
    let Some(slot) = info.acquire() else {
        log::warn!(
            "{}: connection from {} refused: max_connections ({}) reached",
            info.name,
            peer,
            info.max_connections
        );
        return Ok(());
    };
    let _ = stream.set_nodelay(true);
    // The handshake runs in its own task so that a slow client holds only its own memory.
    actix_rt::spawn(async move {
        let stream =
            match tokio::time::timeout(tls.handshake_timeout, tls.acceptor.accept(stream)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    log::info!(
                        "{}: TLS handshake with {} failed: {}",
                        info.name,
                        peer,
                        error
                    );
                    return;
                }
                Err(_) => {
                    log::info!(
                        "{}: TLS handshake with {} not finished within {:?}: closed",
                        info.name,
                        peer,
                        tls.handshake_timeout
                    );
                    return;
                }
            };
        let username = if tls.cn_as_username {
            client_cert_cn(stream.get_ref().1).map(Into::into)
        } else {
            None
        };
        SessionActor::start(
            core,
            Transport {
                io: stream,
                peer,
                listener: info.name.clone(),
                slot: Some(slot),
                username,
            },
        );
    });
    Ok(())
}

/// The Common Name of the client certificate a TLS session presented, if any
/// (`peer_cert_as_username = "cn"` on the ssl and wss listeners).
pub fn client_cert_cn(session: &rustls::ServerConnection) -> Option<String> {
    let cert = session.peer_certificates()?.first()?;
    x509::common_name(cert)
}
