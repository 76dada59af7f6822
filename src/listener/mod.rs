//! Listeners: sockets accepting MQTT clients and handing each to a new session actor
//! (replaces esockd and emqttd's listener configuration).

pub mod tcp;
pub mod tls;
pub mod ws;
pub mod x509;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A listener's identity and connection accounting, shared with its connections.
pub struct ListenerInfo {
    /// `proto:name`, e.g. `tcp:external`.
    pub name: Arc<str>,
    pub max_connections: usize,
    current: AtomicUsize,
    refused: AtomicU64,
}

impl ListenerInfo {
    pub fn new(name: &str, max_connections: usize) -> Arc<ListenerInfo> {
        Arc::new(ListenerInfo {
            name: name.into(),
            max_connections,
            current: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
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
}

/// One open connection of a listener; the slot is freed when this is dropped.
pub struct ConnectionSlot(Arc<ListenerInfo>);

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
}
