//! The `emqttd` binary: `emqttd start` runs the broker in the foreground until SIGINT/SIGTERM;
//! `emqttd ctl ...` operates a running node over its HTTP API.

use emqttd::app::Broker;
use emqttd::cli::{self, Command, DEFAULT_CONFIG, USAGE};
use emqttd::config::Config;
use std::path::Path;
use std::process::ExitCode;
use tokio::signal::unix::{signal, Signal, SignalKind};

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Version) => {
            println!("emqttd {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Help) => {
            println!("{}", USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::Start { config }) => start(config.as_deref()),
        Ok(Command::Ctl { args }) => ExitCode::from(cli::ctl::run(args, Path::new(DEFAULT_CONFIG))),
        Err(error) => {
            eprintln!("emqttd: {}\n\n{}", error, USAGE);
            ExitCode::from(2)
        }
    }
}

fn start(explicit: Option<&Path>) -> ExitCode {
    let path = explicit.unwrap_or(Path::new(DEFAULT_CONFIG));
    let loaded = match Config::load_with_source(path, explicit.is_some()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("emqttd: config error: {}", error);
            return ExitCode::from(1);
        }
    };
    init_logging(loaded.config.log.level);
    match &loaded.source {
        Some(source) => log::info!("config loaded from {}", source.display()),
        None => log::warn!(
            "{} not found: running on the built-in defaults",
            path.display()
        ),
    }
    let node = loaded.config.node.name.clone();
    // Signals are caught from before the first listener is bound, so a SIGTERM at any time
    // after start-up stops the broker gracefully.
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("emqttd: cannot install signal handlers: {}", error);
            return ExitCode::from(1);
        }
    };
    let broker = match Broker::start(loaded.config) {
        Ok(broker) => broker,
        Err(error) => {
            log::error!("{}", error);
            eprintln!("emqttd: {}", error);
            return ExitCode::from(1);
        }
    };
    log::info!(
        "emqttd {} is running as {}",
        env!("CARGO_PKG_VERSION"),
        node
    );
    signals.wait(&broker);
    broker.stop();
    ExitCode::SUCCESS
}

fn init_logging(level: log::LevelFilter) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    builder.init();
}

/// SIGINT and SIGTERM (stop) and SIGHUP (reload the acl file) handlers, installed before the
/// broker starts.
struct Signals {
    runtime: tokio::runtime::Runtime,
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (interrupt, terminate, hangup) = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
            ))
        })?;
        Ok(Signals {
            runtime,
            interrupt,
            terminate,
            hangup,
        })
    }

    /// Block until SIGINT or SIGTERM; on SIGHUP reload the acl file (all or nothing).
    fn wait(mut self, broker: &Broker) {
        self.runtime.block_on(async {
            loop {
                tokio::select! {
                    _ = self.interrupt.recv() => return log::info!("SIGINT received"),
                    _ = self.terminate.recv() => return log::info!("SIGTERM received"),
                    _ = self.hangup.recv() => {
                        log::info!("SIGHUP received: reloading the acl file");
                        if let Err(error) = broker.core().access.reload_acl() {
                            log::error!("acl reload failed, the previous rules stay: {}", error);
                        }
                    }
                }
            }
        });
    }
}
