"""paho-mqtt over TLS or WebSocket (run by test/tls.rs and test/websocket.rs).

usage: paho_transport.py PORT [--ca CAFILE [--cert CERT --key KEY]] [--ws PATH]

Two clients on the same transport: one subscribes at QoS 2, the other publishes at QoS 0, 1
and 2; each message must arrive once at its QoS. Exits 0 on success.
"""

import argparse
import ssl

import pahoutil
from pahoutil import Client, fail, log, mqtt, unique


def transport_client(client_id, args):
    client = Client(client_id)
    if args.ws is not None:
        # Same callbacks, on a WebSocket transport.
        old = client.c
        new = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                          clean_session=True, protocol=mqtt.MQTTv311, transport="websockets")
        new.ws_set_options(path=args.ws)
        for cb in ("on_connect", "on_message", "on_subscribe", "on_unsubscribe", "on_publish",
                   "on_disconnect"):
            setattr(new, cb, getattr(old, cb))
        client.c = new
    if args.ca is not None:
        client.c.tls_set(ca_certs=args.ca, certfile=args.cert, keyfile=args.key,
                         cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return client


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ws")
    args = parser.parse_args()
    pahoutil.watchdog(60)
    base = unique("paho-transport")
    sub = transport_client(base + "-sub", args)
    sub.connect(args.port)
    sub.subscribe(base + "/#", 2)
    pub = transport_client(base + "-pub", args)
    pub.connect(args.port)
    for qos in (0, 1, 2):
        topic = "%s/q%d" % (base, qos)
        payload = ("qos %d over paho" % qos).encode()
        pub.publish(topic, payload, qos)
        sub.expect_message(topic, payload, qos)
    sub.expect_no_message(0.2)
    pub.disconnect()
    sub.disconnect()
    log("OK")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - report anything as a failure line
        fail("%s: %s" % (type(e).__name__, e))
