//! A run: the worker threads (one current-thread tokio runtime each, clients spread over
//! them), connect pacing, the phases of each mode and when to stop.

use crate::cli::{Mode, Options};
use crate::client::ClientSpec;
use crate::report::Reporter;
use crate::stats::Stats;
use crate::template::{self, Vars};
use crate::{conn, publish, sub};
use emqttd::mqtt::topic;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What every client task shares.
pub struct Ctx {
    pub options: Options,
    pub broker: SocketAddr,
    pub stats: Stats,
    /// handshakes in flight at once
    pub gate: Semaphore,
    /// cancelled: publishers may start
    pub go: CancellationToken,
    /// cancelled: publishers stop publishing and wait for their acks
    pub stop_publishing: CancellationToken,
    /// cancelled: every client disconnects
    pub stop: CancellationToken,
    pub expect_reached: CancellationToken,
}

impl Ctx {
    pub fn new(options: Options, broker: SocketAddr) -> Ctx {
        Ctx {
            gate: Semaphore::new(options.max_connecting),
            options,
            broker,
            stats: Stats::new(),
            go: CancellationToken::new(),
            stop_publishing: CancellationToken::new(),
            stop: CancellationToken::new(),
            expect_reached: CancellationToken::new(),
        }
    }

    /// The client id prefix: `--prefix`, else `bench_<mode>_<pid>`.
    fn prefix(&self, role: &str) -> String {
        match &self.options.prefix {
            Some(prefix) => format!("{prefix}{role}"),
            None => format!(
                "bench_{}_{}{role}",
                self.options.mode.name(),
                std::process::id()
            ),
        }
    }
}

/// Worker threads, each running a current-thread runtime that client tasks are spawned on.
pub struct Workers {
    handles: Vec<Handle>,
    threads: Vec<std::thread::JoinHandle<()>>,
    shutdown: CancellationToken,
}

impl Workers {
    pub fn start(count: usize) -> io::Result<Workers> {
        let shutdown = CancellationToken::new();
        let mut handles = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for n in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(runtime.handle().clone());
            let done = shutdown.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("bench-{n}"))
                    .spawn(move || runtime.block_on(done.cancelled()))?,
            );
        }
        Ok(Workers {
            handles,
            threads,
            shutdown,
        })
    }

    /// Runs `task` on worker `k mod count`.
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(&self, k: usize, task: F) {
        self.handles[k % self.handles.len()].spawn(task);
    }

    pub fn stop(self) {
        self.shutdown.cancel();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Spawns `count` clients paced by `-i`/`-R` (and the connect gate, inside each client).
async fn spawn_clients<F, Fut>(ctx: &Arc<Ctx>, workers: &Workers, count: usize, make: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    for k in 0..count {
        if let Some(interval) = ctx.options.connect_interval {
            tokio::select! {
                _ = tokio::time::sleep_until(start + interval.mul_f64(k as f64)) => {}
                _ = ctx.stop.cancelled() => return,
            }
        }
        workers.spawn(k, make(k));
    }
}

/// How many of the `sub_clients` subscribers' filters match each publisher's topic.
fn fanouts(ctx: &Ctx, pub_prefix: &str, sub_prefix: &str) -> Vec<u64> {
    let o = &ctx.options;
    let work = o.clients as u64 * o.sub_clients as u64 * o.filters_per_client as u64;
    if work > 50_000_000 {
        eprintln!("# too many (publisher, filter) pairs to compute the expected deliveries");
        return vec![0; o.clients];
    }
    let subscribers: Vec<Vec<String>> = (0..o.sub_clients)
        .map(|k| {
            let seq = o.start_index + k;
            template::filters(
                o.filter_template(),
                seq,
                &format!("{sub_prefix}_{seq}"),
                o.filters_per_client,
                o.wildcard_every,
            )
        })
        .collect();
    (0..o.clients)
        .map(|k| {
            let seq = o.start_index + k;
            let name = o.topic.render(&Vars {
                seq,
                client_id: &format!("{pub_prefix}_{seq}"),
                filter: 0,
                message: 0,
            });
            subscribers
                .iter()
                .filter(|filters| filters.iter().any(|f| topic::matches(f, &name)))
                .count() as u64
        })
        .collect()
}

/// Runs the whole benchmark and returns when it is over.
pub async fn run(ctx: Arc<Ctx>, workers: &Workers) {
    let o = &ctx.options;
    let mut report = Reporter::new(&ctx);
    let (subscribers, publishers) = match o.mode {
        Mode::Conn | Mode::Sub => (0, 0),
        Mode::Pub => (0, o.clients),
        Mode::PubSub => (o.sub_clients, o.clients),
    };
    let spawner = {
        let ctx = ctx.clone();
        async move {
            let sub_prefix = ctx.prefix(if ctx.options.mode == Mode::PubSub {
                "_s"
            } else {
                ""
            });
            let pub_prefix = ctx.prefix(if ctx.options.mode == Mode::PubSub {
                "_p"
            } else {
                ""
            });
            let o = &ctx.options;
            match o.mode {
                Mode::Conn => {
                    spawn_clients(&ctx, workers, o.clients, |k| {
                        conn::run(ctx.clone(), ClientSpec::new(o, ctx.broker, &sub_prefix, k))
                    })
                    .await
                }
                Mode::Sub => {
                    spawn_clients(&ctx, workers, o.clients, |k| {
                        let spec = ClientSpec::new(o, ctx.broker, &sub_prefix, k);
                        sub::run(ctx.clone(), spec, o.topic.clone(), o.qos)
                    })
                    .await
                }
                Mode::Pub => {
                    ctx.go.cancel();
                    spawn_clients(&ctx, workers, o.clients, |k| {
                        let spec = ClientSpec::new(o, ctx.broker, &pub_prefix, k);
                        publish::run(ctx.clone(), spec, 0)
                    })
                    .await
                }
                Mode::PubSub => {
                    let fanout = fanouts(&ctx, &pub_prefix, &sub_prefix);
                    spawn_clients(&ctx, workers, o.sub_clients, |k| {
                        let spec = ClientSpec::new(o, ctx.broker, &sub_prefix, k);
                        sub::run(
                            ctx.clone(),
                            spec,
                            o.filter_template().clone(),
                            o.subscription_qos(),
                        )
                    })
                    .await;
                    // Publishers connect once every subscriber is in place.
                    while ctx.stats.settled.load(Relaxed) < o.sub_clients as u64 {
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                            _ = ctx.stop.cancelled() => return,
                        }
                    }
                    spawn_clients(&ctx, workers, o.clients, |k| {
                        let spec = ClientSpec::new(o, ctx.broker, &pub_prefix, k);
                        publish::run(ctx.clone(), spec, fanout[k])
                    })
                    .await
                }
            }
        }
    };
    // Clients that settle (connect, subscribe, or fail) before the run is ready.
    let total = o.clients as u64 + subscribers as u64;
    let interrupted = shutdown_signal();
    tokio::pin!(spawner, interrupted);
    let mut spawned = false;
    let mut ticker = tokio::time::interval_at(
        Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut ready_at: Option<Instant> = None;
    let reason = loop {
        tokio::select! {
            _ = &mut spawner, if !spawned => { spawned = true; continue; }
            _ = ticker.tick() => report.second(&ctx),
            _ = &mut interrupted => break "interrupted",
            _ = ctx.expect_reached.cancelled() => break "expected messages received",
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        let stats = &ctx.stats;
        if ready_at.is_none() && stats.settled.load(Relaxed) >= total {
            ready_at = Some(Instant::now());
            report.ready(&ctx);
            if stats.connected.load(Relaxed) == 0 {
                break "no client connected";
            }
            if o.mode == Mode::PubSub {
                report.publishing_started(&ctx);
                ctx.go.cancel();
            }
        }
        if let (Some(ready), Some(duration)) = (ready_at, o.duration) {
            if ready.elapsed() >= duration {
                break "duration reached";
            }
        }
        if publishers > 0 && stats.publishers_done.load(Relaxed) >= publishers as u64 {
            break "publishers done";
        }
    };
    // Stop publishing; let the acks and the deliveries in flight arrive.
    ctx.stop_publishing.cancel();
    report.publishing_stopped(&ctx);
    let drain_until = Instant::now() + o.drain;
    while Instant::now() < drain_until && reason != "interrupted" {
        let stats = &ctx.stats;
        let publishers_done = stats.publishers_done.load(Relaxed) >= publishers as u64;
        let delivered =
            o.mode != Mode::PubSub || stats.received.load(Relaxed) >= stats.expected.load(Relaxed);
        if publishers_done && delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ctx.stop.cancel();
    // Give the clients a moment to send DISCONNECT.
    tokio::time::sleep(Duration::from_millis(if total > 1000 { 500 } else { 100 })).await;
    report.summary(&ctx, reason);
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
