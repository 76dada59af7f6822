//! `sub` clients: subscribe N filters, acknowledge and count what arrives, and record the
//! end-to-end latency from the send time the publisher wrote into the payload.

use crate::client::{self, ClientSpec, Conn};
use crate::conn::open;
use crate::runner::Ctx;
use crate::stats::unix_nanos;
use crate::template::{self, Template};
use bytestring::ByteString;
use emqttd::mqtt::packet::Subscribe;
use emqttd::mqtt::packet::{Packet, PacketId, Publish, QoS, SubscribeReturnCode};
use futures_util::FutureExt;
use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Packets handled between two writes when they are already buffered.
const BATCH: usize = 64;

/// A subscriber of `filter` (its filters rendered for this client) at `qos`.
pub async fn run(ctx: Arc<Ctx>, spec: ClientSpec, filter: Template, qos: QoS) {
    let Some(mut conn) = open(&ctx, &spec).await else {
        return;
    };
    let o = &ctx.options;
    let filters = template::filters(
        &filter,
        spec.seq,
        &spec.client_id,
        o.filters_per_client,
        o.wildcard_every,
    );
    let mut state = State {
        ctx: &ctx,
        awaiting_suback: 0,
    };
    for (n, chunk) in filters.chunks(o.filters_per_packet).enumerate() {
        let packet_id = PacketId::new((n % 65_535) as u16 + 1).expect("non-zero");
        let topic_filters = chunk
            .iter()
            .map(|f| (ByteString::from(f.as_str()), qos))
            .collect();
        if conn
            .push(Packet::Subscribe(Subscribe {
                packet_id,
                topic_filters,
            }))
            .is_err()
        {
            eprintln!("# {}: a filter is too long to encode", spec.client_id);
            ctx.stats.settled.fetch_add(1, Relaxed);
            return;
        }
        state.awaiting_suback += 1;
    }
    ctx.stats.mark_first(&ctx.stats.first_subscribe_ns);
    let mut ping = client::ping_timer(o.keepalive);
    let alive = conn.flush().await.is_ok() && state.serve(&mut conn, &mut ping).await;
    if state.awaiting_suback > 0 {
        ctx.stats.settled.fetch_add(1, Relaxed);
    }
    if alive {
        conn.disconnect().await;
    } else {
        ctx.stats.dropped.fetch_add(1, Relaxed);
    }
}

struct State<'a> {
    ctx: &'a Ctx,
    awaiting_suback: usize,
}

impl State<'_> {
    /// Serves the connection until the run stops (true) or the connection is lost (false).
    async fn serve(&mut self, conn: &mut Conn, ping: &mut tokio::time::Interval) -> bool {
        loop {
            let step = tokio::select! {
                _ = self.ctx.stop.cancelled() => return true,
                _ = ping.tick() => conn.push(Packet::PingReq),
                packet = conn.recv() => self.handle(conn, packet),
            };
            // Handle what is already buffered before writing the acks in one go.
            let mut step = step;
            for _ in 0..BATCH {
                if step.is_err() {
                    break;
                }
                match conn.recv().now_or_never() {
                    Some(packet) => step = self.handle(conn, packet),
                    None => break,
                }
            }
            if step.is_err() || conn.flush().await.is_err() {
                return false;
            }
        }
    }

    fn handle(&mut self, conn: &mut Conn, packet: io::Result<Option<Packet>>) -> io::Result<()> {
        let stats = &self.ctx.stats;
        match packet? {
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
            Some(Packet::Publish(publish)) => {
                self.received(&publish);
                match (publish.qos, publish.packet_id) {
                    (QoS::AtLeastOnce, Some(id)) => conn.push(Packet::PubAck(id))?,
                    (QoS::ExactlyOnce, Some(id)) => conn.push(Packet::PubRec(id))?,
                    _ => {}
                }
            }
            Some(Packet::PubRel(id)) => conn.push(Packet::PubComp(id))?,
            Some(Packet::SubAck(ack)) => {
                for code in &ack.return_codes {
                    match code {
                        SubscribeReturnCode::Success(_) => stats.subscribed.fetch_add(1, Relaxed),
                        SubscribeReturnCode::Failure => {
                            stats.subscribe_failed.fetch_add(1, Relaxed)
                        }
                    };
                }
                self.awaiting_suback = self.awaiting_suback.saturating_sub(1);
                if self.awaiting_suback == 0 {
                    stats.settled.fetch_add(1, Relaxed);
                }
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn received(&self, publish: &Publish) {
        let stats = &self.ctx.stats;
        if let Some(stamp) = publish.payload.get(..8) {
            let sent = u64::from_be_bytes(stamp.try_into().expect("8 bytes"));
            let now = unix_nanos();
            // A payload without a stamp (or from another clock) would read as nonsense.
            if sent > 0 && sent <= now && now - sent < 3_600_000_000_000 {
                stats.latency.record(now - sent);
            }
        }
        stats.mark_first(&stats.first_receive_ns);
        stats.mark_last(&stats.last_receive_ns);
        let total = stats.received.fetch_add(1, Relaxed) + 1;
        if let Some(expect) = self.ctx.options.expect {
            if total == expect {
                stats.mark_first(&stats.expect_reached_ns);
                self.ctx.expect_reached.cancel();
            }
        }
    }
}
