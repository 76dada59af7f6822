//! `pub` clients: publish at a fixed interval or flat out, stamping the send time into the
//! payload, with QoS 1/2 held to an inflight window so flat out measures delivered throughput.

use crate::client::{self, ClientSpec, Conn};
use crate::conn::open;
use crate::runner::Ctx;
use crate::stats::unix_nanos;
use crate::template::Vars;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use emqttd::mqtt::packet::{Packet, PacketId, Publish, QoS};
use futures_util::FutureExt;
use std::collections::HashSet;
use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Publishes encoded per write when flat out (and at most this many acks handled per write).
const BATCH: usize = 64;

/// A publisher; `fanout` = subscribers each of its messages should reach (pubsub), else 0.
pub async fn run(ctx: Arc<Ctx>, spec: ClientSpec, fanout: u64) {
    let conn = open(&ctx, &spec).await;
    if let Some(mut conn) = conn {
        ctx.stats.settled.fetch_add(1, Relaxed);
        let started = tokio::select! {
            _ = ctx.go.cancelled() => true,
            _ = ctx.stop.cancelled() => false,
        };
        let mut publisher = Publisher::new(&ctx, &spec);
        let outcome = if started {
            publisher.serve(&mut conn).await
        } else {
            Ok(())
        };
        ctx.stats
            .expected
            .fetch_add(publisher.sent * fanout, Relaxed);
        match outcome {
            Ok(()) => conn.disconnect().await,
            Err(_) => {
                ctx.stats.dropped.fetch_add(1, Relaxed);
            }
        }
    }
    ctx.stats.publishers_done.fetch_add(1, Relaxed);
}

struct Publisher<'a> {
    ctx: &'a Ctx,
    spec: &'a ClientSpec,
    qos: QoS,
    window: usize,
    topic: Option<ByteString>,
    payload: Vec<u8>,
    sent: u64,
    next_id: u16,
    outstanding: HashSet<u16>,
}

impl<'a> Publisher<'a> {
    fn new(ctx: &'a Ctx, spec: &'a ClientSpec) -> Publisher<'a> {
        let o = &ctx.options;
        let topic = (!o.topic.per_message()).then(|| ByteString::from(render(ctx, spec, 0)));
        Publisher {
            ctx,
            spec,
            qos: o.qos,
            window: if o.qos == QoS::AtMostOnce {
                usize::MAX
            } else {
                o.inflight
            },
            topic,
            payload: vec![b'x'; o.payload_size],
            sent: 0,
            next_id: 0,
            outstanding: HashSet::new(),
        }
    }

    /// Publishes until the limit, the end of publishing or the end of the run; then waits for
    /// the acks still outstanding (until the run stops).
    async fn serve(&mut self, conn: &mut Conn) -> io::Result<()> {
        let o = &self.ctx.options;
        let mut ticker = ticker(o.pub_interval, self.spec.seq);
        let mut ping = client::ping_timer(o.keepalive);
        let stop_publishing = &self.ctx.stop_publishing;
        loop {
            let publishing =
                (o.limit == 0 || self.sent < o.limit) && !stop_publishing.is_cancelled();
            if !publishing && self.outstanding.is_empty() {
                return Ok(());
            }
            let room = publishing && self.outstanding.len() < self.window;
            tokio::select! {
                biased;
                _ = self.ctx.stop.cancelled() => return Ok(()),
                _ = stop_publishing.cancelled(), if publishing => {}
                packet = conn.recv() => self.handle(conn, packet)?,
                _ = ping.tick() => conn.push(Packet::PingReq)?,
                _ = tick(&mut ticker), if room => {
                    let budget = if ticker.is_some() { 1 } else { BATCH };
                    self.publish(conn, budget)?;
                }
            }
            for _ in 0..BATCH {
                match conn.recv().now_or_never() {
                    Some(packet) => self.handle(conn, packet)?,
                    None => break,
                }
            }
            conn.flush().await?;
            if ticker.is_none() {
                // Flat out: let the other clients of this thread have a turn.
                tokio::task::yield_now().await;
            }
        }
    }

    /// Encodes up to `budget` publishes within the window and the limit.
    fn publish(&mut self, conn: &mut Conn, budget: usize) -> io::Result<()> {
        let o = &self.ctx.options;
        let mut n = 0;
        while n < budget
            && self.outstanding.len() < self.window
            && (o.limit == 0 || self.sent < o.limit)
        {
            let topic = match &self.topic {
                Some(topic) => topic.clone(),
                None => ByteString::from(render(self.ctx, self.spec, self.sent)),
            };
            let packet_id = match self.qos {
                QoS::AtMostOnce => None,
                _ => Some(self.allocate_id()),
            };
            conn.push(Packet::Publish(Publish {
                dup: false,
                qos: self.qos,
                retain: o.retain,
                topic,
                packet_id,
                payload: self.stamped_payload(),
            }))?;
            self.sent += 1;
            n += 1;
        }
        self.ctx.stats.sent.fetch_add(n as u64, Relaxed);
        Ok(())
    }

    fn stamped_payload(&self) -> Bytes {
        let mut payload = BytesMut::from(&self.payload[..]);
        if payload.len() >= 8 {
            payload[..8].copy_from_slice(&unix_nanos().to_be_bytes());
        }
        payload.freeze()
    }

    /// The next packet id not in flight (the window is far below 65,535).
    fn allocate_id(&mut self) -> PacketId {
        loop {
            self.next_id = self.next_id.wrapping_add(1).max(1);
            if self.outstanding.insert(self.next_id) {
                return PacketId::new(self.next_id).expect("non-zero");
            }
        }
    }

    fn handle(&mut self, conn: &mut Conn, packet: io::Result<Option<Packet>>) -> io::Result<()> {
        match packet? {
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
            Some(Packet::PubAck(id)) | Some(Packet::PubComp(id)) => {
                if self.outstanding.remove(&id.get()) {
                    self.ctx.stats.acked.fetch_add(1, Relaxed);
                }
            }
            Some(Packet::PubRec(id)) => conn.push(Packet::PubRel(id))?,
            // A publisher may also be subscribed (overlapping filters): acknowledge.
            Some(Packet::Publish(publish)) => match (publish.qos, publish.packet_id) {
                (QoS::AtLeastOnce, Some(id)) => conn.push(Packet::PubAck(id))?,
                (QoS::ExactlyOnce, Some(id)) => conn.push(Packet::PubRec(id))?,
                _ => {}
            },
            Some(Packet::PubRel(id)) => conn.push(Packet::PubComp(id))?,
            Some(_) => {}
        }
        Ok(())
    }
}

fn render(ctx: &Ctx, spec: &ClientSpec, message: u64) -> String {
    ctx.options.topic.render(&Vars {
        seq: spec.seq,
        client_id: &spec.client_id,
        filter: 0,
        message,
    })
}

/// The publish timer (`None` = flat out). Clients start at spread-out phases so that many of
/// them at the same interval do not publish in lockstep; missed ticks are caught up (Burst) so
/// the rate holds on average.
fn ticker(interval: Duration, seq: usize) -> Option<Interval> {
    if interval.is_zero() {
        return None;
    }
    let phase = interval.mul_f64(((seq * 7_919) % 1_000) as f64 / 1_000.0);
    let mut timer = tokio::time::interval_at(Instant::now() + phase, interval);
    timer.set_missed_tick_behavior(MissedTickBehavior::Burst);
    Some(timer)
}

async fn tick(ticker: &mut Option<Interval>) {
    if let Some(timer) = ticker {
        timer.tick().await;
    }
}
