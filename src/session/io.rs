//! The connection driver of a session actor: one actor future per connection that reads and
//! decodes packets, hands them to the actor, and writes the actor's output buffer back, with
//! backpressure both ways.
//!
//! An idle connection holds no read buffer (bytes are read into a stack buffer and only an
//! incomplete packet is kept), and the actor's output buffer is released once flushed.

use crate::mqtt::decode::decode_packet;
use crate::session::actor::{CloseReason, Phase, SessionActor};
use actix::fut::ActorFuture;
use actix::prelude::*;
use bytes::{Buf, BytesMut};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Stop reading while this many bytes wait to be written (a peer that does not read its
/// acknowledgements is not allowed to make us buffer without bound).
pub(crate) const OUT_HIGH_WATER: usize = 64 * 1024;
/// Read at most this much per poll, to stay fair to the other connections of the worker.
const READ_BUDGET: usize = 64 * 1024;
/// Output buffers above this capacity are released once flushed.
const OUT_KEEP_CAPACITY: usize = 16 * 1024;
const SCRATCH: usize = 4096;

pub(crate) struct ConnectionIo<IO> {
    /// The connection's stream, owned here (the driver is the only reader and writer).
    io: IO,
    /// Bytes of a packet not yet complete; unallocated between packets.
    partial: BytesMut,
    read_open: bool,
    /// The output was held back one scheduler turn, for the subscribers this input woke.
    write_deferred: bool,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> ConnectionIo<IO> {
    pub(crate) fn new(io: IO) -> ConnectionIo<IO> {
        ConnectionIo {
            io,
            partial: BytesMut::new(),
            read_open: true,
            write_deferred: false,
        }
    }

    /// Read and dispatch what the socket has, within the read budget.
    fn poll_read(
        &mut self,
        act: &mut SessionActor,
        ctx: &mut Context<SessionActor>,
        task: &mut TaskContext<'_>,
    ) {
        // Packets left over when the actor last waited (a SUBSCRIBE resolving its routes).
        self.dispatch(act, ctx);
        let mut budget = READ_BUDGET;
        // Not zeroed: a socket read only writes into it (4 KB of memset per wake-up showed in
        // profiles of the fan-in benchmark).
        let mut scratch = [MaybeUninit::<u8>::uninit(); SCRATCH];
        while self.read_open && act.reading() && !ctx.waiting() {
            if act.out.len() >= OUT_HIGH_WATER {
                return; // resumed by poll_write once the peer reads again
            }
            if budget == 0 {
                task.waker().wake_by_ref();
                return;
            }
            let mut buf = ReadBuf::uninit(&mut scratch);
            match Pin::new(&mut self.io).poll_read(task, &mut buf) {
                Poll::Pending => return,
                Poll::Ready(Err(error)) => {
                    self.read_open = false;
                    act.close(ctx, CloseReason::Abnormal(format!("read error: {}", error)));
                }
                Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                    self.read_open = false;
                    let why = if self.partial.is_empty() {
                        "connection closed by peer"
                    } else {
                        "connection closed by peer inside a packet"
                    };
                    act.close(ctx, CloseReason::Abnormal(why.into()));
                }
                Poll::Ready(Ok(())) => {
                    budget = budget.saturating_sub(buf.filled().len());
                    self.partial.extend_from_slice(buf.filled());
                    self.dispatch(act, ctx);
                }
            }
        }
    }

    /// Decode and hand over every complete packet; stop when the actor waits (a SUBSCRIBE
    /// resolving its routes) so packets are handled strictly in order.
    fn dispatch(&mut self, act: &mut SessionActor, ctx: &mut Context<SessionActor>) {
        let max = act.core.config.mqtt.max_packet_size;
        while !self.partial.is_empty() && act.reading() && !ctx.waiting() {
            let before = self.partial.len();
            match decode_packet(&mut self.partial, max) {
                Ok(Some(packet)) => {
                    let size = before - self.partial.len();
                    act.on_packet_received(packet, size, ctx);
                }
                Ok(None) => break,
                Err(error) => {
                    self.read_open = false;
                    act.on_decode_error(error, ctx);
                    return;
                }
            }
        }
        if self.partial.is_empty() {
            self.partial = BytesMut::new();
        }
    }

    /// Write the actor's output buffer; `Ready` once the connection is fully closed.
    fn poll_write(
        &mut self,
        act: &mut SessionActor,
        ctx: &mut Context<SessionActor>,
        task: &mut TaskContext<'_>,
    ) -> Poll<()> {
        while !act.out.is_empty() {
            match Pin::new(&mut self.io).poll_write(task, &act.out) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                    act.out.clear();
                    act.close(
                        ctx,
                        CloseReason::Abnormal("write error: connection lost".into()),
                    );
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(n)) => act.out.advance(n),
            }
        }
        if act.out.capacity() > OUT_KEEP_CAPACITY {
            act.out = BytesMut::new();
        }
        if Pin::new(&mut self.io).poll_flush(task).is_pending() {
            return Poll::Pending;
        }
        if act.writing() {
            act.on_output_flushed(ctx);
            return Poll::Pending;
        }
        // Closing: everything is written; shut the connection down.
        match Pin::new(&mut self.io).poll_shutdown(task) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(()),
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> ActorFuture<SessionActor> for ConnectionIo<IO> {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut SessionActor,
        ctx: &mut Context<SessionActor>,
        task: &mut TaskContext<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        if !act
            .io_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(task.waker()))
        {
            act.io_waker = Some(task.waker().clone());
            act.timer.set_waker(task.waker());
        }
        if act.timer.take_fired() {
            act.on_connection_timer(ctx);
        }
        let wakes = crate::session::inbox::wakes_from_this_thread();
        this.poll_read(act, ctx, task);
        // Woken by a publisher, or with room again: move deliveries onto the wire.
        if !act.drain_blocked {
            act.drain(ctx);
        }
        // This input woke subscribers (a PUBLISH routed to them) and left output of our own
        // (its PUBACK): let them write first, since a subscriber waits for its message while
        // our acknowledgement only frees the publisher's window. Held back once, one turn.
        let woke_subscribers = crate::session::inbox::wakes_from_this_thread() != wakes;
        if woke_subscribers && !this.write_deferred && !act.out.is_empty() && act.writing() {
            this.write_deferred = true;
            task.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.write_deferred = false;
        // Reading and delivering produce output; closing ends the connection.
        let done = this.poll_write(act, ctx, task);
        if done.is_ready() {
            act.io_waker = None;
            act.on_connection_closed(ctx);
        } else if act.reading()
            && this.read_open
            && act.out.len() < OUT_HIGH_WATER
            && !this.partial.is_empty()
            && !ctx.waiting()
        {
            // Output drained below the mark with input still buffered: continue.
            task.waker().wake_by_ref();
        }
        done
    }
}

impl SessionActor {
    /// True while packets from the client are read and handled.
    pub(crate) fn reading(&self) -> bool {
        matches!(
            self.phase,
            Phase::AwaitConnect | Phase::Connecting | Phase::Connected
        )
    }

    /// True while the connection stays open after the output is flushed.
    pub(crate) fn writing(&self) -> bool {
        self.reading()
    }
}
