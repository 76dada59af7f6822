//! `conn` clients: connect and stay idle (answering nothing, pinging at the keepalive) until
//! the run stops; also the connect step every other client kind starts with.

use crate::client::{self, ClientSpec, Conn};
use crate::runner::Ctx;
use emqttd::mqtt::packet::Packet;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Connects `spec`, holding one of the run's connect permits during the handshake.
/// Counts the outcome; a failure also counts as settled.
pub async fn open(ctx: &Ctx, spec: &ClientSpec) -> Option<Conn> {
    let stats = &ctx.stats;
    let permit = tokio::select! {
        permit = ctx.gate.acquire() => permit.ok()?,
        _ = ctx.stop.cancelled() => return None,
    };
    stats.connect_started.fetch_add(1, Relaxed);
    stats.mark_first(&stats.first_connect_ns);
    let began = std::time::Instant::now();
    let result = tokio::select! {
        result = client::connect(&ctx.options, spec) => result,
        _ = ctx.stop.cancelled() => return None,
    };
    drop(permit);
    match result {
        Ok((conn, _session_present)) => {
            stats.connected.fetch_add(1, Relaxed);
            stats.handshake.record(began.elapsed().as_nanos() as u64);
            stats.mark_last(&stats.last_connack_ns);
            Some(conn)
        }
        Err(error) => {
            let failures = stats.connect_failed.fetch_add(1, Relaxed) + 1;
            if failures <= 3 {
                eprintln!("# connect {} failed: {error}", spec.client_id);
            }
            stats.settled.fetch_add(1, Relaxed);
            None
        }
    }
}

/// An idle client.
pub async fn run(ctx: Arc<Ctx>, spec: ClientSpec) {
    let Some(mut conn) = open(&ctx, &spec).await else {
        return;
    };
    ctx.stats.settled.fetch_add(1, Relaxed);
    let mut ping = client::ping_timer(ctx.options.keepalive);
    loop {
        let alive = tokio::select! {
            _ = ctx.stop.cancelled() => break,
            _ = ping.tick() => conn.push(Packet::PingReq).is_ok() && conn.flush().await.is_ok(),
            packet = conn.recv() => matches!(packet, Ok(Some(_))),
        };
        if !alive {
            ctx.stats.dropped.fetch_add(1, Relaxed);
            return;
        }
    }
    conn.disconnect().await;
}
