//! Broker-wide counters: packets, messages and bytes (replaces emqttd_metrics.erl). Names are
//! the `$SYS/brokers/<node>/metrics/...` suffixes emqttd publishes.

use crate::mqtt::packet::{Packet, QoS};
use std::sync::atomic::{AtomicU64, Ordering};

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
pub struct Metrics {
    counters: Vec<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counters: Metric::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Metrics {
    pub fn inc(&self, metric: Metric) {
        self.add(metric, 1);
    }

    pub fn add(&self, metric: Metric, n: u64) {
        self.counters[metric as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn set(&self, metric: Metric, value: u64) {
        self.counters[metric as usize].store(value, Ordering::Relaxed);
    }

    pub fn get(&self, metric: Metric) -> u64 {
        self.counters[metric as usize].load(Ordering::Relaxed)
    }

    /// Count a packet read from a client, `size` bytes on the wire.
    pub fn packet_received(&self, packet: &Packet, size: usize) {
        self.add(Metric::BytesReceived, size as u64);
        self.inc(Metric::PacketsReceived);
        let specific = match packet {
            Packet::Connect(_) => Metric::PacketsConnect,
            Packet::Publish(publish) => {
                self.inc(Metric::MessagesReceived);
                self.inc(match publish.qos {
                    QoS::AtMostOnce => Metric::MessagesQos0Received,
                    QoS::AtLeastOnce => Metric::MessagesQos1Received,
                    QoS::ExactlyOnce => Metric::MessagesQos2Received,
                });
                Metric::PacketsPublishReceived
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
                return
            }
        };
        self.inc(specific);
    }

    /// Count a packet written to a client, `size` bytes on the wire.
    pub fn packet_sent(&self, packet: &Packet, size: usize) {
        self.add(Metric::BytesSent, size as u64);
        self.inc(Metric::PacketsSent);
        let specific = match packet {
            Packet::ConnAck(_) => Metric::PacketsConnack,
            Packet::Publish(publish) => {
                self.inc(Metric::MessagesSent);
                self.inc(match publish.qos {
                    QoS::AtMostOnce => Metric::MessagesQos0Sent,
                    QoS::AtLeastOnce => Metric::MessagesQos1Sent,
                    QoS::ExactlyOnce => Metric::MessagesQos2Sent,
                });
                Metric::PacketsPublishSent
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
            | Packet::Disconnect => return,
        };
        self.inc(specific);
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
    fn names_are_unique() {
        let mut names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
    }
}
