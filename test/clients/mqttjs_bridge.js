// MQTT.js over WebSocket (ws:// or wss://) against MQTT.js over TCP (run by test/websocket.rs).
//
// usage: node mqttjs_bridge.js WS_URL TCP_URL [CA_FILE]
//
// The WebSocket client receives the TCP client's QoS 1 and QoS 2 messages and the reverse,
// each exactly once at its QoS. Prints OK and exits 0 on success.
'use strict';

const fs = require('fs');
const mqtt = require('mqtt');

const [wsUrl, tcpUrl, caFile] = process.argv.slice(2);
if (!wsUrl || !tcpUrl) {
  console.error('usage: node mqttjs_bridge.js WS_URL TCP_URL [CA_FILE]');
  process.exit(2);
}

const watchdog = setTimeout(() => {
  console.error('FAIL: deadline of 30s exceeded');
  process.exit(1);
}, 30000);

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exit(1);
}

function connect(url, clientId, extra) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10000,
      ...extra,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (e) => reject(new Error(url + ': ' + e.message)));
  });
}

function collect(client) {
  const got = [];
  const waiters = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos });
    while (waiters.length && waiters[0].n <= got.length) waiters.shift().resolve();
  });
  return {
    got,
    until(n) {
      if (got.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

function check(name, inbox, topic) {
  const want = [
    { topic, payload: 'qos 1', qos: 1 },
    { topic, payload: 'qos 2', qos: 2 },
  ];
  const sorted = inbox.got.slice().sort((a, b) => a.qos - b.qos);
  if (JSON.stringify(sorted) !== JSON.stringify(want)) {
    fail(name + ' got ' + JSON.stringify(inbox.got) + ', expected ' + JSON.stringify(want));
  }
  console.log(name + ' received ' + JSON.stringify(inbox.got));
}

async function main() {
  const tls = caFile ? { ca: fs.readFileSync(caFile), rejectUnauthorized: true } : {};
  const base = 'mqttjs/' + process.pid + '/' + Date.now();
  const ws = await connect(wsUrl, 'js-ws-' + process.pid, tls);
  const tcp = await connect(tcpUrl, 'js-tcp-' + process.pid, {});
  console.log('connected over ' + wsUrl + ' and ' + tcpUrl);
  const wsInbox = collect(ws);
  const tcpInbox = collect(tcp);
  await ws.subscribeAsync(base + '/to-ws', { qos: 2 });
  await tcp.subscribeAsync(base + '/to-tcp', { qos: 2 });

  await tcp.publishAsync(base + '/to-ws', 'qos 1', { qos: 1 });
  await tcp.publishAsync(base + '/to-ws', 'qos 2', { qos: 2 });
  await ws.publishAsync(base + '/to-tcp', 'qos 1', { qos: 1 });
  await ws.publishAsync(base + '/to-tcp', 'qos 2', { qos: 2 });
  await wsInbox.until(2);
  await tcpInbox.until(2);
  // A duplicate would arrive right behind; give it a moment to show up.
  await new Promise((resolve) => setTimeout(resolve, 200));
  check('ws client', wsInbox, base + '/to-ws');
  check('tcp client', tcpInbox, base + '/to-tcp');
  await ws.endAsync();
  await tcp.endAsync();
  clearTimeout(watchdog);
  console.log('OK');
}

main().catch((e) => fail(e.stack || String(e)));
