"""Shared helpers for the paho-mqtt end-to-end scripts (run by test/clients.rs).

Each script takes the broker's port as its first argument (host: 127.0.0.1, or $MQTT_HOST),
prints what it checks, exits 0 on success and non-zero on failure, and has its own deadline.
"""

import os
import queue
import signal
import sys
import threading
import time

try:
    import paho.mqtt.client as mqtt
except ImportError:
    print("FAIL: python module paho-mqtt is not installed (pip install paho-mqtt)", file=sys.stderr)
    sys.exit(3)

if not hasattr(mqtt, "CallbackAPIVersion"):
    print("FAIL: paho-mqtt >= 2.0 is required (pip install -U paho-mqtt), found %s"
          % getattr(mqtt, "__version__", "?"), file=sys.stderr)
    sys.exit(3)

HOST = os.environ.get("MQTT_HOST", "127.0.0.1")
WAIT = 10.0  # seconds for any single expected event


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    os._exit(1)


def log(msg):
    print(msg, flush=True)


def port_arg():
    if len(sys.argv) < 2:
        fail("usage: %s PORT" % sys.argv[0])
    return int(sys.argv[1])


def watchdog(seconds=60):
    """Kill the whole script if it has not finished in `seconds`."""
    def on_alarm(_sig, _frame):
        fail("script deadline of %ss exceeded" % seconds)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)


class Client:
    """A paho client whose callbacks feed queues, so a script can wait with a timeout."""

    def __init__(self, client_id, clean_session=True, protocol=mqtt.MQTTv311, keepalive=30,
                 will=None):
        self.id = client_id
        self.port = None
        self.keepalive = keepalive
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=clean_session, protocol=protocol)
        self.connacks = queue.Queue()
        self.messages = queue.Queue()
        self.subacks = queue.Queue()
        self.unsubacks = queue.Queue()
        self.acked = queue.Queue()   # mids whose publish flow completed (PUBACK / PUBCOMP)
        self.disconnects = queue.Queue()
        if will is not None:
            topic, payload, qos, retain = will
            self.c.will_set(topic, payload, qos=qos, retain=retain)
        self.c.on_connect = lambda c, u, flags, rc, props: self.connacks.put((flags, rc))
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_subscribe = lambda c, u, mid, rcs, props: self.subacks.put((mid, rcs))
        self.c.on_unsubscribe = lambda c, u, mid, rcs, props: self.unsubacks.put(mid)
        self.c.on_publish = lambda c, u, mid, rc, props: self.acked.put(mid)
        self.c.on_disconnect = lambda c, u, flags, rc, props: self.disconnects.put(rc)

    def connect(self, port, expect_session_present=None):
        self.port = port
        self.c.connect(HOST, port, keepalive=self.keepalive)
        self.c.loop_start()
        flags, rc = get(self.connacks, "%s: CONNACK" % self.id)
        if rc.is_failure:
            fail("%s: connection refused: %s" % (self.id, rc))
        if expect_session_present is not None and \
                bool(flags.session_present) != expect_session_present:
            fail("%s: session present = %s, expected %s"
                 % (self.id, flags.session_present, expect_session_present))
        log("%s: connected (session present = %s)" % (self.id, flags.session_present))
        return flags

    def subscribe(self, topic, qos):
        res, mid = self.c.subscribe(topic, qos)
        if res != mqtt.MQTT_ERR_SUCCESS:
            fail("%s: subscribe %s: %s" % (self.id, topic, res))
        got_mid, rcs = get(self.subacks, "%s: SUBACK for %s" % (self.id, topic))
        if got_mid != mid:
            fail("%s: SUBACK for mid %s, expected %s" % (self.id, got_mid, mid))
        granted = rcs[0]
        if granted.is_failure:
            fail("%s: subscription to %s refused: %s" % (self.id, topic, granted))
        if granted.value != qos:
            fail("%s: granted QoS %s for %s, expected %s" % (self.id, granted.value, topic, qos))
        log("%s: subscribed to %s at QoS %d" % (self.id, topic, qos))

    def publish(self, topic, payload, qos, retain=False, wait_ack=True):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            fail("%s: publish to %s: %s" % (self.id, topic, info.rc))
        if qos > 0 and wait_ack:
            # paho also reports QoS 0 sends here; skip mids until ours completes.
            what = "%s: %s for QoS %d publish to %s" % (
                self.id, "PUBACK" if qos == 1 else "PUBCOMP", qos, topic)
            deadline = time.monotonic() + WAIT
            while get(self.acked, what, max(0.01, deadline - time.monotonic())) != info.mid:
                pass
        return info

    def expect_message(self, topic, payload, qos, retain=None):
        m = get(self.messages, "%s: message on %s" % (self.id, topic))
        if m.topic != topic or m.payload != payload or m.qos != qos:
            fail("%s: got (%s, %r, qos %d), expected (%s, %r, qos %d)"
                 % (self.id, m.topic, m.payload, m.qos, topic, payload, qos))
        if retain is not None and bool(m.retain) != retain:
            fail("%s: retain flag %s on %s, expected %s" % (self.id, m.retain, topic, retain))
        log("%s: received %s %r at QoS %d" % (self.id, m.topic, m.payload, m.qos))
        return m

    def expect_message_any(self):
        m = get(self.messages, "%s: a message" % self.id)
        log("%s: received %s %r at QoS %d" % (self.id, m.topic, m.payload, m.qos))
        return m

    def expect_no_message(self, seconds):
        try:
            m = self.messages.get(timeout=seconds)
        except queue.Empty:
            return
        fail("%s: unexpected message %s %r" % (self.id, m.topic, m.payload))

    def disconnect(self):
        self.c.disconnect()
        get(self.disconnects, "%s: clean disconnect" % self.id)
        self.c.loop_stop()
        log("%s: disconnected" % self.id)


def get(q, what, timeout=WAIT):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        fail("no %s within %ss" % (what, timeout))


def unique(prefix):
    return "%s-%d-%d" % (prefix, os.getpid(), int(time.time() * 1000) % 100000)
