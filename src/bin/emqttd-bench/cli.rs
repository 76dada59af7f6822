//! Command-line parsing for emqttd-bench: the subcommands and emqtt-bench-style options.

use crate::template::Template;
use emqttd::mqtt::packet::{ProtocolLevel, QoS};
use std::net::IpAddr;
use std::time::Duration;

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Connect clients and hold them idle.
    Conn,
    /// Connect clients that subscribe and count what they receive.
    Sub,
    /// Connect clients that publish.
    Pub,
    /// Subscribers and publishers in one process: exact loss and latency.
    PubSub,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Conn => "conn",
            Mode::Sub => "sub",
            Mode::Pub => "pub",
            Mode::PubSub => "pubsub",
        }
    }
}

/// Everything a run needs, parsed and checked.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub host: String,
    pub port: u16,
    /// connecting clients (publishers in `pubsub`)
    pub clients: usize,
    /// the `%i` of the first client
    pub start_index: usize,
    /// pause between two connects; `None` = as fast as `max_connecting` allows
    pub connect_interval: Option<Duration>,
    /// handshakes (TCP + CONNACK) in flight at once
    pub max_connecting: usize,
    pub connect_timeout: Duration,
    pub topic: Template,
    /// subscribers' filter in `pubsub` (default: `topic`)
    pub sub_topic: Option<Template>,
    /// subscribers in `pubsub` (default: `clients`)
    pub sub_clients: usize,
    pub qos: QoS,
    /// subscription QoS in `pubsub` (default: `qos`)
    pub sub_qos: Option<QoS>,
    pub payload_size: usize,
    /// time between two publishes of one client; zero = flat out
    pub pub_interval: Duration,
    /// messages per publisher; 0 = no limit
    pub limit: u64,
    pub retain: bool,
    pub keepalive: u16,
    pub clean_session: bool,
    pub ifaddrs: Vec<IpAddr>,
    pub protocol: ProtocolLevel,
    pub username: Option<String>,
    pub password: Option<String>,
    /// client id prefix; the id is `<prefix>_<seq>`
    pub prefix: Option<String>,
    pub duration: Option<Duration>,
    pub json: bool,
    pub quiet: bool,
    pub threads: usize,
    pub inflight: usize,
    pub filters_per_client: usize,
    pub filters_per_packet: usize,
    /// every n-th filter of a client (n-1, 2n-1, ...) gets `/+` appended; 0 = none
    pub wildcard_every: usize,
    /// stop once this many messages were received in total
    pub expect: Option<u64>,
    /// how long to wait for in-flight acks and deliveries after publishing stops
    pub drain: Duration,
}

impl Options {
    fn defaults(mode: Mode) -> Options {
        Options {
            mode,
            host: "127.0.0.1".into(),
            port: 1883,
            clients: 1,
            start_index: 0,
            connect_interval: Some(Duration::from_millis(10)),
            max_connecting: 1000,
            connect_timeout: Duration::from_secs(30),
            topic: Template::parse("bench/%i"),
            sub_topic: None,
            sub_clients: 0,
            qos: QoS::AtMostOnce,
            sub_qos: None,
            payload_size: 256,
            pub_interval: Duration::from_secs(1),
            limit: 0,
            retain: false,
            keepalive: 300,
            clean_session: true,
            ifaddrs: Vec::new(),
            protocol: ProtocolLevel::V311,
            username: None,
            password: None,
            prefix: None,
            duration: None,
            json: false,
            quiet: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            inflight: 32,
            filters_per_client: 1,
            filters_per_packet: 100,
            wildcard_every: 0,
            expect: None,
            drain: Duration::from_secs(3),
        }
    }

    /// The subscription QoS (`--sub-qos`, else `-q`).
    pub fn subscription_qos(&self) -> QoS {
        self.sub_qos.unwrap_or(self.qos)
    }

    /// The subscribers' filter template (`--sub-topic`, else `-t`).
    pub fn filter_template(&self) -> &Template {
        self.sub_topic.as_ref().unwrap_or(&self.topic)
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Help,
    Run(Box<Options>),
}

pub const USAGE: &str = "\
emqttd-bench: MQTT 3.1/3.1.1 load generator (successor of emqtt_benchmark)

usage: emqttd-bench conn|sub|pub|pubsub [options]     (--help for this text; -h is the host)

  -h, --host HOST              broker host (127.0.0.1)
  -p, --port PORT              broker port (1883)
  -c, --count N                clients; publishers in pubsub (1)
  -n, --startnumber N          %i of the first client (0)
  -i, --interval MS            pause between connects, ms (10); 0 = as fast as possible
  -R, --connrate N             connects per second (instead of -i); 0 = as fast as possible
      --max-connecting N       handshakes in flight at once (1000)
      --connect-timeout SECS   give up on a handshake after this (30)
  -t, --topic TEMPLATE         topic; %i client seq, %c client id, %j filter index, %n message seq
  -q, --qos 0|1|2              QoS of publishes and subscriptions (0)
  -s, --size BYTES             payload size (256); the first 8 bytes carry the send time
  -I, --interval_of_msg MS     publish interval per client, ms (1000); 0 = flat out
  -L, --limit N                messages per publisher (0 = no limit)
  -r, --retain                 publish retained
  -k, --keepalive SECS         keepalive (300)
  -C, --clean true|false       clean session (true)
  -V, --protocol-version 3|4   MQTT 3.1 or 3.1.1 (4)
  -u, --username NAME          username
  -P, --password PASS          password
      --prefix PREFIX          client id prefix (bench_<mode>_<pid>); id = <prefix>_<seq>
      --ifaddr A,B,C           local source addresses, used round-robin (bind before connect)
      --inflight N             unacknowledged QoS 1/2 publishes per client (32)
      --filters-per-client N   subscriptions per subscriber, %j = 0..N-1 (1)
      --filters-per-packet N   filters per SUBSCRIBE packet (100)
      --wildcard-every N       every N-th filter gets '/+' appended (0 = none)
      --expect N               stop once N messages were received in total
      --sub-clients N          pubsub: subscribers (default -c)
      --sub-topic TEMPLATE     pubsub: subscribers' filter (default -t)
      --sub-qos 0|1|2          pubsub: subscription QoS (default -q)
      --drain SECS             wait this long for acks/deliveries after publishing stops (3)
      --duration SECS          stop by itself after this many seconds
      --threads N              worker threads (the CPUs this process may use)
      --json                   print a final JSON summary line
      --quiet                  no per-second lines
";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut iter = args.iter();
    let mode = match iter.next().map(String::as_str) {
        None | Some("--help") | Some("help") => return Ok(Command::Help),
        Some("conn") => Mode::Conn,
        Some("sub") => Mode::Sub,
        Some("pub") => Mode::Pub,
        Some("pubsub") => Mode::PubSub,
        Some(other) => {
            return Err(format!(
                "unknown subcommand `{other}` (conn, sub, pub, pubsub)"
            ))
        }
    };
    let mut o = Options::defaults(mode);
    let mut connect_rate: Option<f64> = None;
    let mut connect_interval: Option<f64> = None;
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs {what}")),
            }
        };
        match name {
            "--help" => return Ok(Command::Help),
            "-h" | "--host" => o.host = value("a host")?,
            "-p" | "--port" => o.port = number(name, &value("a port")?)?,
            "-c" | "--count" => o.clients = number(name, &value("a count")?)?,
            "-n" | "--startnumber" => o.start_index = number(name, &value("a number")?)?,
            "-i" | "--interval" => connect_interval = Some(float(name, &value("ms")?)?),
            "-R" | "--connrate" => connect_rate = Some(float(name, &value("a rate")?)?),
            "--max-connecting" => o.max_connecting = number(name, &value("a count")?)?,
            "--connect-timeout" => o.connect_timeout = seconds(name, &value("seconds")?)?,
            "-t" | "--topic" => o.topic = template(name, &value("a topic")?)?,
            "--sub-topic" => o.sub_topic = Some(template(name, &value("a filter")?)?),
            "--sub-clients" => o.sub_clients = number(name, &value("a count")?)?,
            "-q" | "--qos" => o.qos = qos(name, &value("a QoS")?)?,
            "--sub-qos" => o.sub_qos = Some(qos(name, &value("a QoS")?)?),
            "-s" | "--size" => o.payload_size = number(name, &value("bytes")?)?,
            "-I" | "--interval_of_msg" => o.pub_interval = millis(name, &value("ms")?)?,
            "-L" | "--limit" => o.limit = number(name, &value("a count")?)?,
            "-r" | "--retain" => o.retain = true,
            "-k" | "--keepalive" => o.keepalive = number(name, &value("seconds")?)?,
            "-C" | "--clean" => o.clean_session = boolean(name, &value("true or false")?)?,
            "-V" | "--protocol-version" => {
                o.protocol = match value("3 or 4")?.as_str() {
                    "3" => ProtocolLevel::V31,
                    "4" => ProtocolLevel::V311,
                    other => return Err(format!("{name}: `{other}` is not 3 or 4")),
                }
            }
            "-u" | "--username" => o.username = Some(value("a name")?),
            "-P" | "--password" => o.password = Some(value("a password")?),
            "--prefix" => o.prefix = Some(value("a prefix")?),
            "--ifaddr" => o.ifaddrs = ifaddrs(name, &value("addresses")?)?,
            "--inflight" => o.inflight = number(name, &value("a count")?)?,
            "--filters-per-client" => o.filters_per_client = number(name, &value("a count")?)?,
            "--filters-per-packet" => o.filters_per_packet = number(name, &value("a count")?)?,
            "--wildcard-every" => o.wildcard_every = number(name, &value("a count")?)?,
            "--expect" => o.expect = Some(number(name, &value("a count")?)?),
            "--drain" => o.drain = seconds(name, &value("seconds")?)?,
            "--duration" => o.duration = Some(seconds(name, &value("seconds")?)?),
            "--threads" => o.threads = number(name, &value("a count")?)?,
            "--json" => o.json = true,
            "--quiet" => o.quiet = true,
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    o.connect_interval = match (connect_rate, connect_interval) {
        (Some(_), Some(_)) => return Err("give -i or -R, not both".into()),
        (Some(rate), None) if rate > 0.0 => Some(Duration::from_secs_f64(1.0 / rate)),
        (Some(_), None) => None,
        (None, Some(ms)) if ms > 0.0 => Some(Duration::from_secs_f64(ms / 1000.0)),
        (None, Some(_)) => None,
        (None, None) => o.connect_interval,
    };
    if o.sub_clients == 0 {
        o.sub_clients = o.clients;
    }
    if o.clients == 0 {
        return Err("-c must be at least 1".into());
    }
    if o.threads == 0 || o.max_connecting == 0 || o.filters_per_client == 0 {
        return Err(
            "--threads, --max-connecting and --filters-per-client must be at least 1".into(),
        );
    }
    if o.filters_per_packet == 0 {
        return Err("--filters-per-packet must be at least 1".into());
    }
    if o.qos != QoS::AtMostOnce && !(1..=65535).contains(&o.inflight) {
        return Err("--inflight must be within 1..=65535".into());
    }
    Ok(Command::Run(Box::new(o)))
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{name}: `{text}` is not a valid number"))
}

fn float(name: &str, text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{name}: `{text}` is not a non-negative number")),
    }
}

fn millis(name: &str, text: &str) -> Result<Duration, String> {
    Ok(Duration::from_secs_f64(float(name, text)? / 1000.0))
}

fn seconds(name: &str, text: &str) -> Result<Duration, String> {
    Ok(Duration::from_secs_f64(float(name, text)?))
}

fn boolean(name: &str, text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("{name}: `{text}` is not true or false")),
    }
}

fn qos(name: &str, text: &str) -> Result<QoS, String> {
    text.parse::<u8>()
        .ok()
        .and_then(QoS::from_u8)
        .ok_or_else(|| format!("{name}: `{text}` is not 0, 1 or 2"))
}

fn template(name: &str, text: &str) -> Result<Template, String> {
    if text.is_empty() {
        return Err(format!("{name}: empty topic"));
    }
    Ok(Template::parse(text))
}

fn ifaddrs(name: &str, text: &str) -> Result<Vec<IpAddr>, String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| format!("{name}: `{s}` is not an IP address"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Options {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        match parse(&args) {
            Ok(Command::Run(o)) => *o,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn error(line: &str) -> String {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args).expect_err(line)
    }

    #[test]
    fn defaults_follow_emqtt_bench() {
        let o = run("pub");
        assert_eq!(o.mode, Mode::Pub);
        assert_eq!((o.host.as_str(), o.port, o.clients), ("127.0.0.1", 1883, 1));
        assert_eq!(o.connect_interval, Some(Duration::from_millis(10)));
        assert_eq!(o.qos, QoS::AtMostOnce);
        assert_eq!(o.inflight, 32);
        assert_eq!(o.keepalive, 300);
        assert!(o.clean_session);
        assert_eq!(o.protocol, ProtocolLevel::V311);
        assert_eq!(o.sub_clients, 1);
    }

    #[test]
    fn short_and_long_options() {
        let o = run("sub -h 10.0.0.1 -p 2883 -c 50 -n 7 -t a/%i -q 2 -k 60 -C false -V 3 --json");
        assert_eq!(o.host, "10.0.0.1");
        assert_eq!(o.port, 2883);
        assert_eq!((o.clients, o.start_index), (50, 7));
        assert_eq!(o.qos, QoS::ExactlyOnce);
        assert_eq!(o.keepalive, 60);
        assert!(!o.clean_session);
        assert_eq!(o.protocol, ProtocolLevel::V31);
        assert!(o.json);
        let o = run("pub --count=3 --size=100 --interval_of_msg 0 --limit 10 -r --duration 2.5");
        assert_eq!(o.clients, 3);
        assert_eq!(o.payload_size, 100);
        assert_eq!(o.pub_interval, Duration::ZERO);
        assert_eq!(o.limit, 10);
        assert!(o.retain);
        assert_eq!(o.duration, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn connect_pacing() {
        assert_eq!(
            run("conn -R 2000").connect_interval,
            Some(Duration::from_micros(500))
        );
        assert_eq!(run("conn -R 0").connect_interval, None);
        assert_eq!(run("conn -i 0").connect_interval, None);
        assert_eq!(
            run("conn -i 2").connect_interval,
            Some(Duration::from_millis(2))
        );
        assert!(error("conn -i 2 -R 5").contains("not both"));
    }

    #[test]
    fn ifaddrs_are_a_list() {
        let o = run("conn --ifaddr 127.0.0.2,127.0.0.3,::1");
        assert_eq!(o.ifaddrs.len(), 3);
        assert_eq!(o.ifaddrs[2], "::1".parse::<IpAddr>().unwrap());
        assert!(error("conn --ifaddr 127.0.0.300").contains("not an IP"));
    }

    #[test]
    fn pubsub_defaults_mirror_the_publishers() {
        let o = run("pubsub -c 10 -t x/%i -q 1");
        assert_eq!(o.sub_clients, 10);
        assert_eq!(o.subscription_qos(), QoS::AtLeastOnce);
        assert_eq!(o.filter_template().source(), "x/%i");
        let o = run("pubsub -c 10 -t x --sub-clients 1 --sub-topic x/# --sub-qos 0");
        assert_eq!(o.sub_clients, 1);
        assert_eq!(o.filter_template().source(), "x/#");
        assert_eq!(o.subscription_qos(), QoS::AtMostOnce);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        assert!(error("bench").contains("unknown subcommand"));
        assert!(error("pub -q 3").contains("not 0, 1 or 2"));
        assert!(error("pub -C maybe").contains("true or false"));
        assert!(error("pub -V 5").contains("not 3 or 4"));
        assert!(error("pub -p").contains("needs"));
        assert!(error("pub -p 70000").contains("valid number"));
        assert!(error("pub --bogus").contains("unknown option"));
        assert!(error("pub -c 0").contains("at least 1"));
        assert!(error("pub -q 1 --inflight 0").contains("inflight"));
    }

    #[test]
    fn help_is_not_the_host() {
        assert!(matches!(parse(&["--help".into()]), Ok(Command::Help)));
        assert!(matches!(
            parse(&["pub".into(), "--help".into()]),
            Ok(Command::Help)
        ));
        assert_eq!(run("pub -h broker").host, "broker");
    }
}
