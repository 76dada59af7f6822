"""paho-mqtt: publish and receive at QoS 0, 1 and 2 (MQTT 3.1.1), one subscriber per QoS."""

from pahoutil import Client, log, port_arg, unique, watchdog

watchdog(60)
port = port_arg()
base = unique("paho/qos")

sub = Client(unique("paho-qos-sub"))
sub.connect(port, expect_session_present=False)
pub = Client(unique("paho-qos-pub"))
pub.connect(port)

for qos in (0, 1, 2):
    topic = "%s/%d" % (base, qos)
    sub.subscribe(topic, qos)
    for i in range(3):
        payload = ("qos%d-msg%d" % (qos, i)).encode()
        pub.publish(topic, payload, qos)
        sub.expect_message(topic, payload, qos, retain=False)

# Delivery QoS is min(publish QoS, subscription QoS).
topic = base + "/downgrade"
sub.subscribe(topic, 1)
pub.publish(topic, b"two-to-one", 2)
sub.expect_message(topic, b"two-to-one", 1)

# A publisher that is also the subscriber gets its own QoS 2 message back exactly once.
topic = base + "/self"
sub.subscribe(topic, 2)
sub.publish(topic, b"loop", 2)
sub.expect_message(topic, b"loop", 2)
sub.expect_no_message(0.5)

pub.disconnect()
sub.disconnect()
log("OK paho_qos")
