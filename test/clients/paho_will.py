"""paho-mqtt: the will is published when a client dies (socket closed without DISCONNECT),
and not when a client disconnects cleanly.

The dying client is this script run again with --victim in a child process, killed with SIGKILL
once connected, so the broker sees the TCP connection end without a DISCONNECT packet.
"""

import subprocess
import sys

from pahoutil import Client, fail, log, port_arg, unique, watchdog

if len(sys.argv) > 2 and sys.argv[2] == "--victim":
    import time
    watchdog(60)
    port, topic, client_id = int(sys.argv[1]), sys.argv[3], sys.argv[4]
    v = Client(client_id, keepalive=60, will=(topic, b"victim died", 1, False))
    v.connect(port)
    print("VICTIM CONNECTED", flush=True)
    while True:
        time.sleep(1)

watchdog(60)
port = port_arg()
base = unique("paho/will")

watcher = Client(unique("paho-will-watch"))
watcher.connect(port)
watcher.subscribe(base + "/#", 1)

# 1. A clean DISCONNECT discards the will.
polite = Client(unique("paho-will-polite"), will=(base + "/polite", b"must not be sent", 1, False))
polite.connect(port)
polite.disconnect()

# 2. A client whose process dies: the broker must publish its will.
victim_id = unique("paho-will-victim")
victim = subprocess.Popen([sys.executable, __file__, str(port), "--victim", base + "/victim",
                           victim_id], stdout=subprocess.PIPE, text=True)
try:
    printed = []
    for line in victim.stdout:
        printed.append(line)
        if "VICTIM CONNECTED" in line:
            break
    else:
        fail("the victim client did not connect (printed %r)" % "".join(printed))
    victim.kill()
    victim.wait(10)
    log("victim killed without DISCONNECT")
    m = watcher.expect_message(base + "/victim", b"victim died", 1, retain=False)
finally:
    if victim.poll() is None:
        victim.kill()

# The polite client's will, if it had been (wrongly) sent, would have come before the victim's.
watcher.expect_no_message(0.5)
watcher.disconnect()
log("OK paho_will")
