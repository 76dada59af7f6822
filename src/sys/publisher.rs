//! The `$SYS/brokers/<node>/...` publisher (emqttd_sys / emqttd_stats / emqttd_metrics
//! publishing): broker info, stats gauges and metrics counters every `sys.interval`.

use crate::broker::{BrokerCore, Message};
use crate::mqtt::packet::QoS;
use crate::sys::clock::{datetime_text, uptime_text};
use crate::sys::stats::Stats;
use actix::prelude::*;
use bytes::Bytes;
use std::sync::Arc;
use std::time::SystemTime;

pub const SYSDESCR: &str = "emqttd: an MQTT broker on the actix actor model";

pub struct SysPublisher {
    core: Arc<BrokerCore>,
    stats: Stats,
}

impl SysPublisher {
    pub fn new(core: Arc<BrokerCore>) -> SysPublisher {
        SysPublisher {
            core,
            stats: Stats::default(),
        }
    }

    fn publish(&self, suffix: &str, payload: String, retain: bool) {
        let topic = format!("{}{}", self.core.sys_prefix(), suffix);
        self.publish_topic(topic, payload, retain);
    }

    fn publish_topic(&self, topic: String, payload: String, retain: bool) {
        let mut message = Message::new(
            self.core.node.clone(),
            topic.into(),
            Bytes::from(payload),
            QoS::AtMostOnce,
            retain,
        );
        message.sys = true;
        self.core.publish(message, None);
    }

    fn tick(&mut self) {
        self.publish_topic("$SYS/brokers".into(), self.core.node.to_string(), true);
        self.publish("version", env!("CARGO_PKG_VERSION").into(), true);
        self.publish("sysdescr", SYSDESCR.into(), true);
        self.publish("uptime", uptime_text(self.core.started.elapsed()), false);
        self.publish("datetime", datetime_text(SystemTime::now()), false);
        self.stats.refresh(&self.core);
        for (name, value) in self.stats.snapshot() {
            self.publish(&format!("stats/{}", name), value.to_string(), false);
        }
        for (name, current, refused) in self.listener_counts() {
            self.publish(
                &format!("stats/listeners/{}/count", name),
                current.to_string(),
                false,
            );
            self.publish(
                &format!("stats/listeners/{}/refused", name),
                refused.to_string(),
                false,
            );
        }
        for (name, value) in self.core.metrics.snapshot() {
            self.publish(&format!("metrics/{}", name), value.to_string(), false);
        }
    }
}

impl SysPublisher {
    /// (listener name, open connections, connections refused over `max_connections`).
    fn listener_counts(&self) -> Vec<(String, usize, u64)> {
        let infos = match self.core.listener_infos.lock() {
            Ok(infos) => infos.clone(),
            Err(_) => return Vec::new(),
        };
        infos
            .iter()
            .map(|info| (info.name.to_string(), info.current(), info.refused()))
            .collect()
    }
}

impl Actor for SysPublisher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let interval = self.core.config.sys.interval;
        if interval.is_zero() {
            return;
        }
        self.tick();
        ctx.run_interval(interval, |act, _| act.tick());
    }
}
