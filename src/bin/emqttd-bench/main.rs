//! emqttd-bench: the MQTT load generator that succeeds emqtt_benchmark (conn, sub, pub, pubsub),
//! async on tokio with one task per client, speaking MQTT through the broker's own codec.

mod cli;
mod client;
mod conn;
mod publish;
mod report;
mod runner;
mod stats;
mod sub;
mod template;

use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match cli::parse(&args) {
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(cli::Command::Run(options)) => *options,
        Err(message) => {
            eprintln!("emqttd-bench: {message}");
            return ExitCode::from(2);
        }
    };
    let broker = match (options.host.as_str(), options.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
    {
        Some(addr) => addr,
        None => {
            eprintln!("emqttd-bench: cannot resolve {}", options.host);
            return ExitCode::from(2);
        }
    };
    let workers = match runner::Workers::start(options.threads) {
        Ok(workers) => workers,
        Err(error) => {
            eprintln!("emqttd-bench: cannot start worker threads: {error}");
            return ExitCode::FAILURE;
        }
    };
    let control = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("emqttd-bench: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = Arc::new(runner::Ctx::new(options, broker));
    control.block_on(runner::run(ctx.clone(), &workers));
    workers.stop();
    if ctx.stats.connected.load(Relaxed) == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
