//! Broker-wide counters: packets, messages and bytes (replaces emqttd_metrics.erl). Names are
//! the `$SYS/brokers/<node>/metrics/...` suffixes emqttd publishes.

use crate::mqtt::packet::{Packet, QoS};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

macro_rules! metrics {
    ($($variant:ident => $name:literal,)*) => {
        /// One counter of the broker.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Metric { $($variant,)* }

        impl Metric {
            /// Every metric, in `$SYS` publishing order.
            pub const ALL: &'static [Metric] = &[$(Metric::$variant,)*];

            /// The metric's name under `$SYS/brokers/<node>/metrics/`.
            pub fn name(self) -> &'static str {
                match self { $(Metric::$variant => $name,)* }
            }
        }
    };
}

metrics! {
    BytesReceived => "bytes/received",
    BytesSent => "bytes/sent",
    PacketsReceived => "packets/received",
    PacketsSent => "packets/sent",
    PacketsConnect => "packets/connect",
    PacketsConnack => "packets/connack",
    PacketsPublishReceived => "packets/publish/received",
    PacketsPublishSent => "packets/publish/sent",
    PacketsPubackReceived => "packets/puback/received",
    PacketsPubackSent => "packets/puback/sent",
    PacketsPubackMissed => "packets/puback/missed",
    PacketsPubrecReceived => "packets/pubrec/received",
    PacketsPubrecSent => "packets/pubrec/sent",
    PacketsPubrecMissed => "packets/pubrec/missed",
    PacketsPubrelReceived => "packets/pubrel/received",
    PacketsPubrelSent => "packets/pubrel/sent",
    PacketsPubrelMissed => "packets/pubrel/missed",
    PacketsPubcompReceived => "packets/pubcomp/received",
    PacketsPubcompSent => "packets/pubcomp/sent",
    PacketsPubcompMissed => "packets/pubcomp/missed",
    PacketsSubscribe => "packets/subscribe",
    PacketsSuback => "packets/suback",
    PacketsUnsubscribe => "packets/unsubscribe",
    PacketsUnsuback => "packets/unsuback",
    PacketsPingreq => "packets/pingreq",
    PacketsPingresp => "packets/pingresp",
    PacketsDisconnect => "packets/disconnect",
    MessagesReceived => "messages/received",
    MessagesSent => "messages/sent",
    MessagesQos0Received => "messages/qos0/received",
    MessagesQos0Sent => "messages/qos0/sent",
    MessagesQos1Received => "messages/qos1/received",
    MessagesQos1Sent => "messages/qos1/sent",
    MessagesQos2Received => "messages/qos2/received",
    MessagesQos2Sent => "messages/qos2/sent",
    MessagesQos2Dropped => "messages/qos2/dropped",
    MessagesDropped => "messages/dropped",
    MessagesRetained => "messages/retained",
    // PUBLISH and SUBSCRIBE requests the ACL denied (a denied PUBLISH also counts in
    // messages/dropped).
    AclDeny => "acl/deny",
    HooksEventsDropped => "hooks/events/dropped",
    // Plugins unloaded because their code panicked (a hook callback, a provider, a command).
    PluginsCrashed => "plugins/crashed",
}

/// The counters, shared by every session.
///
/// Each worker thread counts into a shard of its own (one writer, plain loads and stores, no
/// locked read-modify-write and no cache line bouncing between cores on every packet); a read
/// sums the shards. Metrics that are `set` (gauges) live in `base`.
pub struct Metrics {
    /// Tells this instance's shards apart in the thread-local table (tests run several
    /// brokers in one process).
    id: usize,
    base: Vec<AtomicU64>,
    shards: Mutex<Vec<Arc<Shard>>>,
}

const COUNT: usize = Metric::ALL.len();

/// One thread's counters.
struct Shard([AtomicU64; COUNT]);

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// This thread's shard of each `Metrics` instance it counted into.
    static SHARDS: RefCell<Vec<(usize, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            base: Metric::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            shards: Mutex::default(),
        }
    }
}

impl Metrics {
    pub fn inc(&self, metric: Metric) {
        self.add(metric, 1);
    }

    pub fn add(&self, metric: Metric, n: u64) {
        self.add_all(&[(metric, n)]);
    }

    /// Add to several counters at once (one look-up of this thread's shard).
    pub fn add_all(&self, counts: &[(Metric, u64)]) {
        let counted = SHARDS.try_with(|shards| {
            let mut shards = shards.borrow_mut();
            let shard = match shards.iter().find(|(id, _)| *id == self.id) {
                Some((_, shard)) => shard,
                None => {
                    let shard = Arc::new(Shard(std::array::from_fn(|_| AtomicU64::new(0))));
                    self.lock_shards().push(shard.clone());
                    shards.push((self.id, shard));
                    &shards.last().expect("pushed just above").1
                }
            };
            for &(metric, n) in counts {
                // This thread is the shard's only writer: a plain load and store suffice.
                let counter = &shard.0[metric as usize];
                counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
            }
        });
        if counted.is_err() {
            // The thread is exiting: count in the shared base.
            for &(metric, n) in counts {
                self.base[metric as usize].fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Set a gauge (a metric that is only ever set, never added to).
    pub fn set(&self, metric: Metric, value: u64) {
        self.base[metric as usize].store(value, Ordering::Relaxed);
    }

    pub fn get(&self, metric: Metric) -> u64 {
        let i = metric as usize;
        let sharded: u64 = self
            .lock_shards()
            .iter()
            .map(|shard| shard.0[i].load(Ordering::Relaxed))
            .sum();
        self.base[i].load(Ordering::Relaxed) + sharded
    }

    fn lock_shards(&self) -> MutexGuard<'_, Vec<Arc<Shard>>> {
        self.shards.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count a packet read from a client, `size` bytes on the wire.
    pub fn packet_received(&self, packet: &Packet, size: usize) {
        let specific = match packet {
            Packet::Connect(_) => Metric::PacketsConnect,
            Packet::Publish(publish) => {
                let qos = match publish.qos {
                    QoS::AtMostOnce => Metric::MessagesQos0Received,
                    QoS::AtLeastOnce => Metric::MessagesQos1Received,
                    QoS::ExactlyOnce => Metric::MessagesQos2Received,
                };
                return self.add_all(&[
                    (Metric::BytesReceived, size as u64),
                    (Metric::PacketsReceived, 1),
                    (Metric::PacketsPublishReceived, 1),
                    (Metric::MessagesReceived, 1),
                    (qos, 1),
                ]);
            }
            Packet::PubAck(_) => Metric::PacketsPubackReceived,
            Packet::PubRec(_) => Metric::PacketsPubrecReceived,
            Packet::PubRel(_) => Metric::PacketsPubrelReceived,
            Packet::PubComp(_) => Metric::PacketsPubcompReceived,
            Packet::Subscribe(_) => Metric::PacketsSubscribe,
            Packet::Unsubscribe(_) => Metric::PacketsUnsubscribe,
            Packet::PingReq => Metric::PacketsPingreq,
            Packet::Disconnect => Metric::PacketsDisconnect,
            // Server-only packets from a client are a protocol error; counted as received only.
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                return self.add_all(&[
                    (Metric::BytesReceived, size as u64),
                    (Metric::PacketsReceived, 1),
                ]);
            }
        };
        self.add_all(&[
            (Metric::BytesReceived, size as u64),
            (Metric::PacketsReceived, 1),
            (specific, 1),
        ]);
    }

    /// Count a packet written to a client, `size` bytes on the wire.
    pub fn packet_sent(&self, packet: &Packet, size: usize) {
        let specific = match packet {
            Packet::ConnAck(_) => Metric::PacketsConnack,
            Packet::Publish(publish) => {
                let qos = match publish.qos {
                    QoS::AtMostOnce => Metric::MessagesQos0Sent,
                    QoS::AtLeastOnce => Metric::MessagesQos1Sent,
                    QoS::ExactlyOnce => Metric::MessagesQos2Sent,
                };
                return self.add_all(&[
                    (Metric::BytesSent, size as u64),
                    (Metric::PacketsSent, 1),
                    (Metric::PacketsPublishSent, 1),
                    (Metric::MessagesSent, 1),
                    (qos, 1),
                ]);
            }
            Packet::PubAck(_) => Metric::PacketsPubackSent,
            Packet::PubRec(_) => Metric::PacketsPubrecSent,
            Packet::PubRel(_) => Metric::PacketsPubrelSent,
            Packet::PubComp(_) => Metric::PacketsPubcompSent,
            Packet::SubAck(_) => Metric::PacketsSuback,
            Packet::UnsubAck(_) => Metric::PacketsUnsuback,
            Packet::PingResp => Metric::PacketsPingresp,
            Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq
            | Packet::Disconnect => {
                return self.add_all(&[(Metric::BytesSent, size as u64), (Metric::PacketsSent, 1)]);
            }
        };
        self.add_all(&[
            (Metric::BytesSent, size as u64),
            (Metric::PacketsSent, 1),
            (specific, 1),
        ]);
    }

    /// Every counter with its name.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        Metric::ALL
            .iter()
            .map(|m| (m.name(), self.get(*m)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_received_qos1_publish_counts_packet_message_and_bytes() {
        let metrics = Metrics::default();
        let publish = Packet::Publish(crate::mqtt::packet::Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "a".into(),
            packet_id: std::num::NonZeroU16::new(1),
            payload: bytes::Bytes::from_static(b"x"),
        });
        metrics.packet_received(&publish, 8);
        assert_eq!(metrics.get(Metric::BytesReceived), 8);
        assert_eq!(metrics.get(Metric::PacketsPublishReceived), 1);
        assert_eq!(metrics.get(Metric::MessagesQos1Received), 1);
        assert_eq!(metrics.get(Metric::MessagesReceived), 1);
        assert_eq!(metrics.get(Metric::PacketsSent), 0);
    }

    #[test]
    fn counts_from_several_threads_are_summed() {
        let metrics = Arc::new(Metrics::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let metrics = metrics.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        metrics.inc(Metric::PacketsReceived);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        metrics.add(Metric::PacketsReceived, 5);
        assert_eq!(metrics.get(Metric::PacketsReceived), 4005);
        // Two instances on one thread keep their own counts.
        let other = Metrics::default();
        other.inc(Metric::PacketsReceived);
        assert_eq!(other.get(Metric::PacketsReceived), 1);
        assert_eq!(metrics.get(Metric::PacketsReceived), 4005);
        metrics.set(Metric::MessagesRetained, 7);
        assert_eq!(metrics.get(Metric::MessagesRetained), 7);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }
}
