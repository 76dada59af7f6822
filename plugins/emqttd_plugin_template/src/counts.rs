//! What the template has seen: one counter per hook point, shown by `emqttd ctl template`.

use emqttd_plugin_api::EventKind;
use std::sync::atomic::{AtomicU64, Ordering};

/// The filter hooks and providers the template registers, then every notify event.
pub const FILTERS: [&str; 6] = [
    "client.connect",
    "client.subscribe",
    "client.unsubscribe",
    "message.publish",
    "auth",
    "acl",
];

/// Counters, shared by the hooks, the providers, the event actor and the command.
#[derive(Default)]
pub struct Counts {
    filters: [AtomicU64; FILTERS.len()],
    events: [AtomicU64; EventKind::ALL.len()],
}

impl Counts {
    /// Count one call of filter hook or provider `name` (one of [`FILTERS`]).
    pub fn hit(&self, name: &str) {
        if let Some(i) = FILTERS.iter().position(|f| *f == name) {
            self.filters[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count one event of `kind`.
    pub fn event(&self, kind: EventKind) {
        self.events[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Every counter with its hook name.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let filters = FILTERS
            .iter()
            .zip(&self.filters)
            .map(|(name, n)| (*name, n.load(Ordering::Relaxed)));
        let events = EventKind::ALL.iter().map(|kind| {
            (
                kind.name(),
                self.events[*kind as usize].load(Ordering::Relaxed),
            )
        });
        filters.chain(events).collect()
    }

    /// Zero every counter.
    pub fn reset(&self) {
        for counter in self.filters.iter().chain(&self.events) {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// One `name count` line per counter, names aligned.
    pub fn render(&self) -> String {
        self.snapshot()
            .into_iter()
            .map(|(name, n)| format!("{name:<22}{n}\n"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_and_reset() {
        let counts = Counts::default();
        counts.hit("message.publish");
        counts.hit("message.publish");
        counts.hit("no.such.hook");
        counts.event(EventKind::ClientConnected);
        let text = counts.render();
        assert!(text.contains("message.publish       2\n"), "{text}");
        assert!(text.contains("client.connected      1\n"), "{text}");
        assert_eq!(text.lines().count(), FILTERS.len() + EventKind::ALL.len());
        counts.reset();
        assert!(counts.snapshot().iter().all(|(_, n)| *n == 0));
    }
}
