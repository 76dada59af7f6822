//! Broker gauges with their high-water marks (emqttd_stats): clients, sessions, topics,
//! subscriptions, routes and retained messages.

use crate::broker::BrokerCore;
use std::sync::atomic::Ordering;

const GAUGES: [&str; 7] = [
    "clients",
    "sessions",
    "topics",
    "subscribers",
    "subscriptions",
    "routes",
    "retained",
];

/// The latest values and the maximum seen of every gauge.
#[derive(Default)]
pub struct Stats {
    current: [u64; GAUGES.len()],
    max: [u64; GAUGES.len()],
}

impl Stats {
    /// Read every gauge from the broker.
    pub fn refresh(&mut self, core: &BrokerCore) {
        let index = core.router.index();
        let topics = index.filter_count() as u64;
        let subscriptions = index.subscription_count() as u64;
        self.current = [
            core.connected.load(Ordering::Relaxed) as u64,
            core.sessions.len() as u64,
            topics,
            subscriptions,
            subscriptions,
            topics,
            core.retainer.len() as u64,
        ];
        for (max, current) in self.max.iter_mut().zip(self.current) {
            *max = (*max).max(current);
        }
    }

    /// `("clients/count", n), ("clients/max", m), ...` as published under `stats/`.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        GAUGES
            .iter()
            .enumerate()
            .flat_map(|(i, gauge)| {
                [
                    (format!("{}/count", gauge), self.current[i]),
                    (format!("{}/max", gauge), self.max[i]),
                ]
            })
            .collect()
    }
}
