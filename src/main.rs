//! The `emqttd` binary: `emqttd start` runs the broker in the foreground until SIGINT/SIGTERM.

use emqttd::app::Broker;
use emqttd::cli::{self, Command, DEFAULT_CONFIG, USAGE};
use emqttd::config::Config;
use std::path::Path;
use std::process::ExitCode;

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
    if let Err(error) = wait_for_signal() {
        log::error!("cannot wait for signals: {}", error);
    }
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

/// Block until SIGINT or SIGTERM.
fn wait_for_signal() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
        log::info!("signal received");
        Ok(())
    })
}
