//! Listeners: sockets accepting MQTT clients and handing each to a new session actor
//! (replaces esockd and emqttd's listener configuration).

pub mod tcp;
pub mod tls;
pub mod ws;
pub mod x509;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The close reasons a listener counts (emqttd's `shutdown_count`): every end of a connection
/// but a client's DISCONNECT (`normal`) and the broker stopping (`shutdown`).
pub const SHUTDOWN_REASONS: [&str; 6] = [
    "closed",
    "keepalive_timeout",
    "frame_error",
    "protocol_error",
    "takeover",
    "kicked",
];

/// A listener's identity and connection accounting, shared with its connections.
pub struct ListenerInfo {
    /// `proto:name`, e.g. `tcp:external`.
    pub name: Arc<str>,
    pub max_connections: usize,
    current: AtomicUsize,
    refused: AtomicU64,
    /// Connections ended, per [`SHUTDOWN_REASONS`] entry.
    shutdowns: [AtomicU64; SHUTDOWN_REASONS.len()],
}

impl ListenerInfo {
    pub fn new(name: &str, max_connections: usize) -> Arc<ListenerInfo> {
        Arc::new(ListenerInfo {
            name: name.into(),
            max_connections,
            current: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            shutdowns: Default::default(),
        })
    }

    /// Take a connection slot, or `None` when the listener is at `max_connections`.
    pub fn acquire(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let taken = self.current.fetch_add(1, Ordering::AcqRel);
        if taken >= self.max_connections {
            self.current.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(ConnectionSlot(self.clone()))
    }

    /// Open connections right now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Connections refused for being over `max_connections`.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The connections that ended, by reason (those counted so far, in [`SHUTDOWN_REASONS`]
    /// order).
    pub fn shutdowns(&self) -> Vec<(&'static str, u64)> {
        SHUTDOWN_REASONS
            .iter()
            .zip(&self.shutdowns)
            .map(|(reason, n)| (*reason, n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// One open connection of a listener; the slot is freed when this is dropped.
pub struct ConnectionSlot(Arc<ListenerInfo>);

impl ConnectionSlot {
    /// Count the end of this connection under `reason` (one of `CloseReason::as_reason`'s);
    /// `normal` and `shutdown` are not counted, as in emqttd.
    pub fn count_shutdown(&self, reason: &str) {
        if let Some(i) = SHUTDOWN_REASONS.iter().position(|r| *r == reason) {
            self.0.shutdowns[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.current.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_returned_on_drop() {
        let info = ListenerInfo::new("tcp:test", 2);
        let a = info.acquire().unwrap();
        let _b = info.acquire().unwrap();
        assert!(info.acquire().is_none());
        assert_eq!(info.refused(), 1);
        drop(a);
        assert_eq!(info.current(), 1);
        assert!(info.acquire().is_some());
    }

    #[test]
    fn shutdowns_are_counted_by_reason_but_normal_ends_are_not() {
        let info = ListenerInfo::new("tcp:test", 10);
        for reason in [
            "closed",
            "normal",
            "closed",
            "shutdown",
            "keepalive_timeout",
        ] {
            info.acquire().unwrap().count_shutdown(reason);
        }
        assert_eq!(info.shutdowns(), [("closed", 2), ("keepalive_timeout", 1)]);
        assert_eq!(info.current(), 0);
    }
}
