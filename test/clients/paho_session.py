"""paho-mqtt: a persistent session (clean session 0) keeps its subscriptions and queues QoS 1
and 2 messages while the client is away; on resume session present = 1 and the queued messages
arrive without subscribing again. Clean session 1 then discards the session."""

from pahoutil import Client, fail, log, port_arg, unique, watchdog

watchdog(60)
port = port_arg()
base = unique("paho/session")
cid = unique("paho-persist")

# First connection: no session yet.
s = Client(cid, clean_session=False)
s.connect(port, expect_session_present=False)
s.subscribe(base + "/q1", 1)
s.subscribe(base + "/q2", 2)
s.disconnect()

# While it is away.
pub = Client(unique("paho-session-pub"))
pub.connect(port)
expected = []
for i in range(3):
    for qos in (1, 2):
        topic = "%s/q%d" % (base, qos)
        payload = ("queued-%d-%d" % (qos, i)).encode()
        pub.publish(topic, payload, qos)
        expected.append((topic, payload, qos))

# Resume: session present, queued messages delivered (per topic in order), no re-subscribe.
s = Client(cid, clean_session=False)
s.connect(port, expect_session_present=True)
got = []
for _ in expected:
    m = s.expect_message_any()
    got.append((m.topic, m.payload, m.qos))
for topic in (base + "/q1", base + "/q2"):
    want = [e for e in expected if e[0] == topic]
    have = [g for g in got if g[0] == topic]
    if want != have:
        fail("queued messages on %s: got %r, expected %r" % (topic, have, want))
s.expect_no_message(0.5)

# Still subscribed after resume.
pub.publish(base + "/q1", b"live", 1)
s.expect_message(base + "/q1", b"live", 1)
s.disconnect()

# Clean session 1 discards it: no session present, and the old subscription is gone.
s = Client(cid, clean_session=True)
s.connect(port, expect_session_present=False)
s.disconnect()
s = Client(cid, clean_session=False)
s.connect(port, expect_session_present=False)
pub.publish(base + "/q1", b"after-clean", 1)
s.expect_no_message(0.5)
s.disconnect()
s = Client(cid, clean_session=True)
s.connect(port, expect_session_present=False)
s.disconnect()

pub.disconnect()
log("OK paho_session")
