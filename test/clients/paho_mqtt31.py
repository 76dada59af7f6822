"""paho-mqtt speaking MQTT 3.1 (protocol name MQIsdp, level 3): connect, subscribe, publish."""

import paho.mqtt.client as mqtt

from pahoutil import Client, log, port_arg, unique, watchdog

watchdog(60)
port = port_arg()
topic = unique("paho/v31")

# MQTT 3.1 limits client ids to 23 characters.
c31 = Client(("v31-%d" % (hash(topic) % 10**8))[:23], protocol=mqtt.MQTTv31)
c31.connect(port, expect_session_present=False)
c311 = Client(unique("paho-v311"))
c311.connect(port)

for qos in (0, 1, 2):
    t = "%s/%d" % (topic, qos)
    c31.subscribe(t, qos)
    # 3.1 -> 3.1 and 3.1.1 -> 3.1
    c31.publish(t, b"from-v31", qos)
    c31.expect_message(t, b"from-v31", qos)
    c311.publish(t, b"from-v311", qos)
    c31.expect_message(t, b"from-v311", qos)

# 3.1 -> 3.1.1
t = topic + "/to311"
c311.subscribe(t, 2)
c31.publish(t, b"cross", 2)
c311.expect_message(t, b"cross", 2)

c31.disconnect()
c311.disconnect()
log("OK paho_mqtt31")
