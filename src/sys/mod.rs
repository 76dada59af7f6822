//! `$SYS` topics, stats and metrics (replaces emqttd_sys, emqttd_stats and emqttd_metrics).

pub mod clock;
pub mod metrics;
pub mod publisher;
pub mod stats;
