//! The MQTT/TLS listener end to end: a test CA and certificates made with rcgen at test time,
//! driven by rumqttc (rustls), `mosquitto_pub --cafile` and paho-mqtt's `tls_set`; mutual TLS,
//! `peer_cert_as_username`, and clients that never finish a handshake.

use crate::common::{start_broker, Client, Healthy, QoS, WAIT};
use emqttd::app::Broker;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rumqttc::{Event, MqttOptions, Packet, TlsConfiguration, Transport};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A test PKI in a temporary directory: a CA, a server certificate for 127.0.0.1/localhost,
/// a client certificate (CN `device-7`) and one signed by another CA.
pub struct Certs {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub rogue_cert: PathBuf,
    pub rogue_key: PathBuf,
}

pub const CLIENT_CN: &str = "device-7";

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn ca(cn: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (params.self_signed(&key).unwrap(), key)
}

fn leaf(
    cn: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &(rcgen::Certificate, KeyPair),
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &issuer.0, &issuer.1).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Certs {
    pub fn generate() -> Certs {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("emqttd-tls-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let authority = ca("emqttd test CA");
        let rogue_authority = ca("rogue CA");
        let (server_cert, server_key) = leaf(
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &authority,
        );
        let (client_cert, client_key) = leaf(
            CLIENT_CN,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            &authority,
        );
        let (rogue_cert, rogue_key) = leaf(
            "rogue",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            &rogue_authority,
        );
        Certs {
            ca: write("ca.pem", &authority.0.pem()),
            server_cert: write("server.pem", &server_cert),
            server_key: write("server.key", &server_key),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client.key", &client_key),
            rogue_cert: write("rogue.pem", &rogue_cert),
            rogue_key: write("rogue.key", &rogue_key),
            dir,
        }
    }

    /// `EMQTTD_*` pairs pointing listener `proto.external` (`SSL` or `WSS`) at these files.
    pub fn env(&self, proto: &str) -> Vec<(String, String)> {
        let key = |k: &str| format!("EMQTTD_LISTENER__{proto}__EXTERNAL__{k}");
        let path = |p: &Path| p.display().to_string();
        vec![
            (key("ENABLE"), "true".into()),
            (key("BIND"), "127.0.0.1:0".into()),
            (key("CERTFILE"), path(&self.server_cert)),
            (key("KEYFILE"), path(&self.server_key)),
            (key("CACERTFILE"), path(&self.ca)),
        ]
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A broker with its `ssl:external` listener on these certificates, plus `extra` overrides.
pub fn start_tls_broker(certs: &Certs, extra: &[(&str, &str)]) -> (Broker, SocketAddr) {
    let mut pairs = certs.env("SSL");
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let broker = start_broker(&pairs);
    let addr = broker
        .listener_addr("ssl:external")
        .expect("ssl:external is listening");
    (broker, addr)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// rumqttc options for a TLS connection trusting the test CA, with an optional client cert.
fn tls_options(
    addr: SocketAddr,
    id: &str,
    certs: &Certs,
    client: Option<(&Path, &Path)>,
) -> MqttOptions {
    let mut opts = crate::common::options(addr, id);
    opts.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: read(&certs.ca),
        alpn: None,
        client_auth: client.map(|(cert, key)| (read(cert), read(key))),
    }));
    opts
}

/// Connects and returns whether CONNACK 0 arrived (false: the handshake or connect failed).
async fn tls_connects(opts: MqttOptions) -> bool {
    let (_client, mut eventloop) = rumqttc::AsyncClient::new(opts, 8);
    match tokio::time::timeout(WAIT, eventloop.poll()).await {
        Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
            ack.code == rumqttc::ConnectReturnCode::Success
        }
        Ok(_) => false,
        Err(_) => panic!("neither CONNACK nor an error within {WAIT:?}"),
    }
}

/// Runs a client program to completion within `deadline` (killed after it).
pub fn run_tool(program: &str, args: &[&str], hint: &str) -> Output {
    run_tool_env(program, args, &[], hint)
}

pub fn run_tool_env(program: &str, args: &[&str], env: &[(&str, &str)], hint: &str) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().copied())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed: {hint} (.ci/run installs it)")
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{program} {args:?} did not finish within 60s");
        }
    }
}

pub fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test/clients")
}

#[tokio::test]
async fn rust_client_over_tls_talks_to_tcp_clients() {
    let certs = Certs::generate();
    let (broker, addr) = start_tls_broker(&certs, &[]);
    let (mut secure, _) = Client::connect_opts(tls_options(addr, "tls-rust", &certs, None)).await;
    secure.subscribe_ok("tls/in", QoS::ExactlyOnce).await;
    let mut plain = Client::connect(broker.tcp_addr(), "tcp-peer").await;
    plain.subscribe_ok("tls/out", QoS::ExactlyOnce).await;

    plain
        .publish("tls/in", QoS::AtLeastOnce, false, "to tls")
        .await;
    let got = secure.expect_message("tls/in", "to tls").await;
    assert_eq!(got.qos, QoS::AtLeastOnce);
    secure
        .publish("tls/out", QoS::ExactlyOnce, false, "from tls")
        .await;
    let got = plain.expect_message("tls/out", "from tls").await;
    assert_eq!(got.qos, QoS::ExactlyOnce);
    let info = broker.listener_info("ssl:external").unwrap();
    assert_eq!(info.current(), 1);
}

#[tokio::test]
async fn mosquitto_pub_with_cafile() {
    let certs = Certs::generate();
    let (broker, addr) = start_tls_broker(&certs, &[]);
    let mut sub = Client::connect(broker.tcp_addr(), "mosq-tls-sub").await;
    sub.subscribe_ok("tls/mosquitto", QoS::AtLeastOnce).await;
    let port = addr.port().to_string();
    let ca = certs.ca.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        run_tool(
            "mosquitto_pub",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "--cafile",
                &ca,
                "-i",
                "mosq-tls-pub",
                "-t",
                "tls/mosquitto",
                "-m",
                "over tls",
                "-q",
                "1",
            ],
            "apt-get install mosquitto-clients",
        )
    })
    .await
    .unwrap();
    assert_success("mosquitto_pub --cafile", &out);
    let got = sub.expect_message("tls/mosquitto", "over tls").await;
    assert_eq!(got.qos, QoS::AtLeastOnce);
}

#[tokio::test]
async fn paho_tls_set_with_and_without_client_certificate() {
    let certs = Certs::generate();
    let (_broker, addr) = start_tls_broker(
        &certs,
        &[("EMQTTD_LISTENER__SSL__EXTERNAL__VERIFY", "verify_peer")],
    );
    let script = clients_dir().join("paho_transport.py");
    let port = addr.port().to_string();
    let ca = certs.ca.display().to_string();
    let cert = certs.client_cert.display().to_string();
    let key = certs.client_key.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let script = script.display().to_string();
        let hint = "pip install paho-mqtt";
        let plain = run_tool("python3", &[&script, &port, "--ca", &ca], hint);
        let mutual = run_tool(
            "python3",
            &[&script, &port, "--ca", &ca, "--cert", &cert, "--key", &key],
            hint,
        );
        (plain, mutual)
    })
    .await
    .unwrap();
    assert_success("paho tls_set", &out.0);
    assert_success("paho tls_set with a client certificate", &out.1);
}

#[tokio::test]
async fn mutual_tls_requires_a_certificate_from_the_ca() {
    let certs = Certs::generate();
    let (broker, addr) = start_tls_broker(
        &certs,
        &[
            ("EMQTTD_LISTENER__SSL__EXTERNAL__VERIFY", "verify_peer"),
            (
                "EMQTTD_LISTENER__SSL__EXTERNAL__FAIL_IF_NO_PEER_CERT",
                "true",
            ),
        ],
    );
    let mut healthy = Healthy::start(broker.tcp_addr()).await;
    let client = Some((certs.client_cert.as_path(), certs.client_key.as_path()));
    assert!(tls_connects(tls_options(addr, "mtls-ok", &certs, client)).await);
    assert!(!tls_connects(tls_options(addr, "mtls-none", &certs, None)).await);
    let rogue = Some((certs.rogue_cert.as_path(), certs.rogue_key.as_path()));
    assert!(!tls_connects(tls_options(addr, "mtls-rogue", &certs, rogue)).await);
    healthy.check().await;
}

#[tokio::test]
async fn verify_peer_without_fail_if_no_peer_cert_accepts_anonymous_tls() {
    let certs = Certs::generate();
    let (_broker, addr) = start_tls_broker(
        &certs,
        &[("EMQTTD_LISTENER__SSL__EXTERNAL__VERIFY", "verify_peer")],
    );
    assert!(tls_connects(tls_options(addr, "opt-none", &certs, None)).await);
    let client = Some((certs.client_cert.as_path(), certs.client_key.as_path()));
    assert!(tls_connects(tls_options(addr, "opt-cert", &certs, client)).await);
    let rogue = Some((certs.rogue_cert.as_path(), certs.rogue_key.as_path()));
    assert!(!tls_connects(tls_options(addr, "opt-rogue", &certs, rogue)).await);
}

#[tokio::test]
async fn plain_mqtt_and_stalled_handshakes_do_not_hang_the_listener() {
    let certs = Certs::generate();
    let (broker, addr) = start_tls_broker(
        &certs,
        &[("EMQTTD_LISTENER__SSL__EXTERNAL__HANDSHAKE_TIMEOUT", "1s")],
    );
    // A client that connects and says nothing, and one speaking plain MQTT.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connect = [
        0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, b'p',
        b'l', b'a', b'n',
    ];
    plain.write_all(&connect).await.unwrap();
    // Meanwhile a TLS client connects and works.
    let (mut secure, _) =
        Client::connect_opts(tls_options(addr, "tls-meanwhile", &certs, None)).await;
    secure.subscribe_ok("tls/meanwhile", QoS::AtLeastOnce).await;
    let mut buf = [0u8; 256];
    // The plain client gets a TLS alert or nothing, then the connection is closed.
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match plain.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "plain MQTT on the TLS port was not closed");
    // The silent one is closed after the 1s handshake timeout.
    let closed = tokio::time::timeout(WAIT, silent.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a stalled handshake was not closed: {closed:?}"
    );
    let mut plain_pub = Client::connect(broker.tcp_addr(), "tls-meanwhile-pub").await;
    plain_pub
        .publish("tls/meanwhile", QoS::AtLeastOnce, false, "still fine")
        .await;
    secure.expect_message("tls/meanwhile", "still fine").await;
    // Both failed handshakes gave their slots back.
    let info = broker.listener_info("ssl:external").unwrap();
    assert_eq!(info.current(), 1);
}

#[tokio::test]
async fn max_connections_refuses_and_counts() {
    let certs = Certs::generate();
    let (broker, addr) = start_tls_broker(
        &certs,
        &[("EMQTTD_LISTENER__SSL__EXTERNAL__MAX_CONNECTIONS", "1")],
    );
    let (_first, _) = Client::connect_opts(tls_options(addr, "max-1", &certs, None)).await;
    assert!(!tls_connects(tls_options(addr, "max-2", &certs, None)).await);
    let info = broker.listener_info("ssl:external").unwrap();
    assert_eq!((info.current(), info.refused()), (1, 1));
}

#[test]
fn missing_certificate_files_leave_the_listener_off() {
    let broker = start_broker(&[
        ("EMQTTD_LISTENER__SSL__EXTERNAL__ENABLE", "true"),
        ("EMQTTD_LISTENER__SSL__EXTERNAL__BIND", "127.0.0.1:0"),
        (
            "EMQTTD_LISTENER__SSL__EXTERNAL__CERTFILE",
            "/nonexistent/cert.pem",
        ),
        ("EMQTTD_LISTENER__WSS__EXTERNAL__ENABLE", "true"),
        ("EMQTTD_LISTENER__WSS__EXTERNAL__BIND", "127.0.0.1:0"),
        (
            "EMQTTD_LISTENER__WSS__EXTERNAL__KEYFILE",
            "/nonexistent/key.pem",
        ),
    ]);
    assert_eq!(broker.listener_addr("ssl:external"), None);
    assert_eq!(broker.listener_addr("wss:external"), None);
    assert!(broker.listener_addr("tcp:external").is_some());
}

#[test]
fn an_unreadable_certificate_fails_start_up_naming_the_key() {
    let certs = Certs::generate();
    std::fs::write(&certs.server_cert, "not a certificate").unwrap();
    let mut pairs = certs.env("SSL");
    pairs.push((
        "EMQTTD_LISTENER__TCP__EXTERNAL__BIND".into(),
        "127.0.0.1:0".into(),
    ));
    pairs.push(("EMQTTD_HTTP__ENABLE".into(), "false".into()));
    pairs.push((
        "EMQTTD_LISTENER__WS__EXTERNAL__ENABLE".into(),
        "false".into(),
    ));
    pairs.push((
        "EMQTTD_LISTENER__WSS__EXTERNAL__ENABLE".into(),
        "false".into(),
    ));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let config = emqttd::config::Config::from_env_pairs(&pairs).unwrap();
    let error = Broker::start(config).map(|_| ()).unwrap_err().to_string();
    assert!(
        error.starts_with(
            "listener ssl:external (key listener.ssl.external.certfile): no PEM certificate"
        ),
        "{error}"
    );
}

/// `peer_cert_as_username = "cn"`: the broker process logs the certificate's CN as the
/// username of the connection, whatever CONNECT said.
#[test]
fn peer_cert_cn_becomes_the_username() {
    let certs = Certs::generate();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emqttd"));
    cmd.current_dir(&certs.dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("EMQTTD_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in certs.env("SSL") {
        cmd.env(k, v);
    }
    cmd.env("EMQTTD_LISTENER__SSL__EXTERNAL__VERIFY", "verify_peer")
        .env(
            "EMQTTD_LISTENER__SSL__EXTERNAL__PEER_CERT_AS_USERNAME",
            "cn",
        )
        .env("EMQTTD_LISTENER__TCP__EXTERNAL__BIND", "127.0.0.1:0")
        .env("EMQTTD_LISTENER__WS__EXTERNAL__ENABLE", "false")
        .env("EMQTTD_LISTENER__WSS__EXTERNAL__ENABLE", "false")
        .env("EMQTTD_HTTP__ENABLE", "false")
        .env(
            "EMQTTD_NODE__DATA_DIR",
            certs.dir.join("data").display().to_string(),
        );
    let mut child = cmd.spawn().expect("run emqttd");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_line = |pred: &dyn Fn(&str) -> bool| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("expected line not logged; saw:\n{}", seen.join("\n")),
            }
        }
    };
    let line = wait_line(&|l| l.contains("ssl:external listening on "));
    let addr: SocketAddr = line
        .rsplit("listening on ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut opts = tls_options(
            addr,
            "cn-client",
            &certs,
            Some((certs.client_cert.as_path(), certs.client_key.as_path())),
        );
        opts.set_credentials("connect-username", "pw");
        let (client, _) = Client::connect_opts(opts).await;
        let line = wait_line(&|l| l.contains("client cn-client connected"));
        assert!(
            line.contains(&format!("username=\"{CLIENT_CN}\"")),
            "the CN must be the username: {line}"
        );
        drop(client);
    });
    let _ = child.kill();
    let _ = child.wait();
}
