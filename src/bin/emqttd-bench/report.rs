//! What a run prints: a line per second (rates and interval latency), a `# ready` line once
//! every client is set up, and the final summary (text, and one JSON line with `--json`).

use crate::cli::Mode;
use crate::runner::Ctx;
use crate::stats::Histogram;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// Keeps the previous second's counters to print rates.
pub struct Reporter {
    seconds: u64,
    connected: u64,
    sent: u64,
    acked: u64,
    received: u64,
    latency: Histogram,
    publishing: Option<Instant>,
    publishing_secs: Option<f64>,
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Relaxed)
}

/// ns as a short human figure.
pub fn human(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns}ns"),
        10_000..=9_999_999 => format!("{:.1}us", ns as f64 / 1e3),
        _ => format!("{:.2}ms", ns as f64 / 1e6),
    }
}

impl Reporter {
    pub fn new(ctx: &Ctx) -> Reporter {
        Reporter {
            seconds: 0,
            connected: 0,
            sent: 0,
            acked: 0,
            received: 0,
            latency: ctx.stats.latency.snapshot(),
            publishing: None,
            publishing_secs: None,
        }
    }

    pub fn second(&mut self, ctx: &Ctx) {
        self.seconds += 1;
        let s = &ctx.stats;
        let (connected, sent, acked, received) = (
            load(&s.connected),
            load(&s.sent),
            load(&s.acked),
            load(&s.received),
        );
        let latency = s.latency.snapshot();
        let interval = latency.since(&self.latency);
        if !ctx.options.quiet {
            let mut line = format!(
                "{:>4}s conn {} (+{}/s) fail {} drop {}",
                self.seconds,
                connected,
                connected - self.connected,
                load(&s.connect_failed),
                load(&s.dropped)
            );
            let mode = ctx.options.mode;
            if matches!(mode, Mode::Sub | Mode::PubSub) {
                line += &format!(" | subs {}", load(&s.subscribed));
            }
            if matches!(mode, Mode::Pub | Mode::PubSub) {
                line += &format!(
                    " | pub {}/s ack {}/s (sent {sent})",
                    sent - self.sent,
                    acked - self.acked
                );
            }
            if matches!(mode, Mode::Sub | Mode::PubSub) {
                line += &format!(" | recv {}/s (total {received})", received - self.received);
                if interval.count() > 0 {
                    line += &format!(
                        " p50 {} p99 {} max {}",
                        human(interval.quantile(0.5)),
                        human(interval.quantile(0.99)),
                        human(interval.max())
                    );
                }
            }
            println!("{line}");
        }
        (self.connected, self.sent, self.acked, self.received) = (connected, sent, acked, received);
        self.latency = latency;
    }

    pub fn ready(&self, ctx: &Ctx) {
        let s = &ctx.stats;
        println!(
            "# ready: {} connected, {} failed, {} subscriptions, {} refused, after {:.3}s",
            load(&s.connected),
            load(&s.connect_failed),
            load(&s.subscribed),
            load(&s.subscribe_failed),
            s.started.elapsed().as_secs_f64()
        );
    }

    pub fn publishing_started(&mut self, ctx: &Ctx) {
        self.publishing = Some(Instant::now());
        // Latency percentiles cover the publishing phase only.
        self.latency = ctx.stats.latency.snapshot();
    }

    pub fn publishing_stopped(&mut self, ctx: &Ctx) {
        let since = self.publishing.unwrap_or(ctx.stats.started);
        self.publishing_secs = Some(since.elapsed().as_secs_f64());
    }

    pub fn summary(&self, ctx: &Ctx, reason: &str) {
        let o = &ctx.options;
        let s = &ctx.stats;
        let latency = s.latency.snapshot();
        let ns = |mark: &AtomicU64| load(mark) as f64 / 1e9;
        let connected = load(&s.connected);
        let connect_secs = (ns(&s.last_connack_ns) - ns(&s.first_connect_ns)).max(0.0);
        let connect_rate = rate(connected, connect_secs);
        let (sent, acked, received) = (load(&s.sent), load(&s.acked), load(&s.received));
        let pub_secs = self.publishing_secs.unwrap_or(0.0);
        let recv_secs = (ns(&s.last_receive_ns) - ns(&s.first_receive_ns)).max(0.0);
        let expected = load(&s.expected);
        let loss = match (o.mode, o.qos) {
            (Mode::PubSub, _) => Some(expected as i64 - received as i64),
            _ => None,
        };
        let expect_us = match (load(&s.expect_reached_ns), load(&s.first_subscribe_ns)) {
            (0, _) | (_, 0) => None,
            (reached, subscribed) => Some(reached.saturating_sub(subscribed) as f64 / 1e3),
        };
        let q = |p: f64| latency.quantile(p);
        let elapsed = s.started.elapsed().as_secs_f64();
        let cpu = own_cpu_secs();
        println!(
            "# summary: {} ({reason}) after {elapsed:.2}s, {cpu:.2}s of CPU ({:.0}%)",
            o.mode.name(),
            100.0 * cpu / elapsed
        );
        println!(
            "connects: {connected} ok, {} failed, {} dropped, {connect_rate:.0}/s over {connect_secs:.3}s",
            load(&s.connect_failed),
            load(&s.dropped)
        );
        let handshake = s.handshake.snapshot();
        let hq = |p: f64| handshake.quantile(p);
        if handshake.count() > 0 {
            println!(
                "handshake (TCP connect to CONNACK): p50 {} p99 {} max {}",
                human(hq(0.5)),
                human(hq(0.99)),
                human(handshake.max())
            );
        }
        if matches!(o.mode, Mode::Sub | Mode::PubSub) {
            println!(
                "subscriptions: {} ok, {} refused",
                load(&s.subscribed),
                load(&s.subscribe_failed)
            );
        }
        if matches!(o.mode, Mode::Pub | Mode::PubSub) {
            println!(
                "published: {sent} sent ({:.0}/s over {pub_secs:.2}s), {acked} acked",
                rate(sent, pub_secs)
            );
        }
        if matches!(o.mode, Mode::Sub | Mode::PubSub) {
            println!(
                "received: {received} ({:.0}/s over {recv_secs:.2}s){}",
                rate(received, recv_secs),
                match loss {
                    Some(loss) => format!(", expected {expected}, loss {loss}"),
                    None => String::new(),
                }
            );
            if latency.count() > 0 {
                println!(
                    "latency: p50 {} p99 {} p999 {} max {} mean {} ({} samples)",
                    human(q(0.5)),
                    human(q(0.99)),
                    human(q(0.999)),
                    human(latency.max()),
                    human(latency.mean() as u64),
                    latency.count()
                );
            }
            if let Some(us) = expect_us {
                println!(
                    "expect: {} messages {us:.0}us after the first SUBSCRIBE",
                    o.expect.unwrap_or(0)
                );
            }
        }
        if o.json {
            let us = |v: u64| v as f64 / 1e3;
            let line = json!({
                "mode": o.mode.name(),
                "reason": reason,
                "elapsed_s": elapsed,
                "cpu_s": cpu,
                "clients": o.clients,
                "sub_clients": if o.mode == Mode::PubSub { o.sub_clients } else { 0 },
                "connected": connected,
                "connect_failed": load(&s.connect_failed),
                "dropped": load(&s.dropped),
                "connect_s": connect_secs,
                "connect_rate": connect_rate,
                "subscribed": load(&s.subscribed),
                "subscribe_failed": load(&s.subscribe_failed),
                "sent": sent,
                "acked": acked,
                "pub_s": pub_secs,
                "pub_rate": rate(sent, pub_secs),
                "received": received,
                "recv_s": recv_secs,
                "recv_rate": rate(received, recv_secs),
                "expected": expected,
                "loss": loss,
                "expect_us": expect_us,
                "latency_us": {
                    "count": latency.count(),
                    "p50": us(q(0.5)),
                    "p99": us(q(0.99)),
                    "p999": us(q(0.999)),
                    "max": us(latency.max()),
                    "mean": latency.mean() / 1e3,
                },
                "handshake_ms": {
                    "p50": hq(0.5) as f64 / 1e6,
                    "p99": hq(0.99) as f64 / 1e6,
                    "max": handshake.max() as f64 / 1e6,
                },
            });
            println!("{line}");
        }
    }
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux; else 0).
fn own_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which ends with the last ')': state is field 3, so
    // utime (14) and stime (15) are the 12th and 13th after it. Clock ticks are 100/s on Linux.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let tick = |n: usize| {
        fields
            .get(n)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

fn rate(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human(950), "950ns");
        assert_eq!(human(12_345), "12.3us");
        assert_eq!(human(12_345_678), "12.35ms");
    }

    #[test]
    fn own_cpu_is_readable() {
        let cpu = own_cpu_secs();
        assert!((0.0..1e6).contains(&cpu));
    }

    #[test]
    fn rates_of_empty_windows_are_zero() {
        assert_eq!(rate(10, 0.0), 0.0);
        assert_eq!(rate(10, 2.0), 5.0);
    }
}
