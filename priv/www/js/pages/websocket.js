// WebSocket page: an MQTT client in the browser (connect, subscribe, publish) on the ws listener.

import { get } from '../api.js';
import { html, render, $ } from '../dom.js';
import { MqttClient } from '../mqtt.js';

const MAX_LOG = 100;

/** "0.0.0.0:8083", "[::]:8083" or "8083" → 8083. */
export function listenPort(listen) {
  const m = /(\d+)\s*$/.exec(String(listen ?? ''));
  return m ? Number(m[1]) : null;
}

function time() {
  return new Date().toLocaleTimeString();
}

export function mount(root) {
  const randomId = `dashboard_${Math.random().toString(16).slice(2, 10)}`;
  render(root, html`
    <section class="card" aria-labelledby="ws-conn-title">
      <h2 id="ws-conn-title">Connection</h2>
      <form class="form-grid" data-role="connect">
        <div class="field"><label for="ws-host">Host</label>
          <input id="ws-host" name="host" required value="${window.location.hostname || 'localhost'}"></div>
        <div class="field"><label for="ws-port">Port</label>
          <input id="ws-port" name="port" type="number" min="1" max="65535" required style="width:7em"></div>
        <div class="field"><label for="ws-path">Path</label>
          <input id="ws-path" name="path" required value="/mqtt" style="width:7em"></div>
        <div class="field"><label for="ws-tls">Scheme</label>
          <select id="ws-tls" name="scheme"><option value="ws">ws://</option><option value="wss">wss://</option></select></div>
        <div class="field"><label for="ws-client-id">Client id</label>
          <input id="ws-client-id" name="clientId" value="${randomId}"></div>
        <div class="field"><label for="ws-username">Username</label>
          <input id="ws-username" name="username" autocomplete="off"></div>
        <div class="field"><label for="ws-password">Password</label>
          <input id="ws-password" name="password" type="password" autocomplete="off"></div>
        <div class="field"><label for="ws-keepalive">Keepalive (s)</label>
          <input id="ws-keepalive" name="keepalive" type="number" min="0" max="65535" value="60" style="width:6em"></div>
        <div class="inline"><input id="ws-clean" name="clean" type="checkbox" checked><label for="ws-clean">Clean session</label></div>
        <button type="submit" class="primary" data-role="connect-btn">Connect</button>
        <button type="button" data-role="disconnect-btn" disabled>Disconnect</button>
      </form>
      <p class="status-msg" role="status">Status: <b data-role="state">disconnected</b> <span data-role="detail" class="muted"></span></p>
    </section>

    <div class="ws-grid" style="margin-top:12px">
      <section class="card" aria-labelledby="ws-sub-title">
        <h2 id="ws-sub-title">Subscribe</h2>
        <form class="form-grid" data-role="subscribe">
          <div class="field grow"><label for="ws-sub-topic">Topic filter</label>
            <input id="ws-sub-topic" name="topic" required value="testtopic/#"></div>
          <div class="field"><label for="ws-sub-qos">QoS</label>
            <select id="ws-sub-qos" name="qos"><option>0</option><option>1</option></select></div>
          <button type="submit" data-needs-connection disabled>Subscribe</button>
        </form>
        <ul data-role="subscriptions" aria-label="Subscriptions of this client"></ul>
      </section>

      <section class="card" aria-labelledby="ws-pub-title">
        <h2 id="ws-pub-title">Publish</h2>
        <form data-role="publish">
          <div class="form-grid">
            <div class="field grow"><label for="ws-pub-topic">Topic</label>
              <input id="ws-pub-topic" name="topic" required value="testtopic/dashboard"></div>
            <div class="field"><label for="ws-pub-qos">QoS</label>
              <select id="ws-pub-qos" name="qos"><option>0</option><option>1</option></select></div>
            <div class="inline"><input id="ws-pub-retain" name="retain" type="checkbox"><label for="ws-pub-retain">Retain</label></div>
          </div>
          <div class="field" style="margin-top:8px"><label for="ws-pub-payload">Payload</label>
            <textarea id="ws-pub-payload" name="payload">Hello from the emqttd dashboard</textarea></div>
          <button type="submit" class="primary" data-needs-connection disabled style="margin-top:8px">Publish</button>
        </form>
      </section>
    </div>

    <div class="ws-grid" style="margin-top:12px">
      <section class="card" aria-labelledby="ws-in-title">
        <h2 id="ws-in-title">Messages received</h2>
        <div class="log"><ul data-role="received" aria-live="polite"></ul></div>
      </section>
      <section class="card" aria-labelledby="ws-out-title">
        <h2 id="ws-out-title">Messages published</h2>
        <div class="log"><ul data-role="published"></ul></div>
      </section>
    </div>`);

  const stateEl = $('[data-role="state"]', root);
  const detailEl = $('[data-role="detail"]', root);
  const connectBtn = $('[data-role="connect-btn"]', root);
  const disconnectBtn = $('[data-role="disconnect-btn"]', root);
  const subsList = $('[data-role="subscriptions"]', root);
  const subscriptions = new Map(); // filter → granted QoS
  let client = null;
  let stopped = false;

  function setState(state, detail = '') {
    stateEl.textContent = state;
    root.dataset.mqttState = state;
    detailEl.textContent = detail;
    const connected = state === 'connected';
    connectBtn.disabled = state === 'connecting' || connected;
    disconnectBtn.disabled = !(state === 'connecting' || connected);
    root.querySelectorAll('[data-needs-connection]').forEach((b) => { b.disabled = !connected; });
  }

  function logLine(list, markup) {
    const li = document.createElement('li');
    render(li, markup);
    list.prepend(li);
    while (list.children.length > MAX_LOG) list.lastElementChild.remove();
  }

  function showSubscriptions() {
    render(subsList, Array.from(subscriptions, ([topic, qos]) => html`
      <li data-topic="${topic}"><span class="mono">${topic}</span> (QoS ${qos})
        <button type="button" class="link" data-unsubscribe="${topic}">Unsubscribe<span class="visually-hidden"> ${topic}</span></button></li>`));
  }

  // The port of the broker's MQTT-over-WebSocket listener, from /monitoring/listeners.
  get('/monitoring/listeners').then((listeners) => {
    if (stopped) return;
    const ws = (listeners || []).filter((l) => l.protocol === 'mqtt:ws' || l.protocol === 'mqtt:wss');
    const chosen = ws.find((l) => l.protocol === 'mqtt:ws') || ws[0];
    const port = chosen && listenPort(chosen.listen);
    if (port && !$('#ws-port', root).value) {
      $('#ws-port', root).value = String(port);
      $('#ws-tls', root).value = chosen.protocol === 'mqtt:wss' ? 'wss' : 'ws';
    }
    if (!chosen) detailEl.textContent = 'The broker has no WebSocket listener enabled.';
  }).catch((e) => {
    if (!stopped) detailEl.textContent = `Could not read the listeners: ${e.message}`;
  });

  $('[data-role="connect"]', root).addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    const path = f.path.value.startsWith('/') ? f.path.value : `/${f.path.value}`;
    const host = f.host.value.includes(':') && !f.host.value.startsWith('[') ? `[${f.host.value}]` : f.host.value;
    const url = `${f.scheme.value}://${host}:${f.port.value}${path}`;
    if (client) client.close('replaced');
    subscriptions.clear();
    showSubscriptions();
    const c = new MqttClient(url, {
      clientId: f.clientId.value,
      username: f.username.value || undefined,
      password: f.password.value || undefined,
      keepalive: Number(f.keepalive.value) || 0,
      clean: f.clean.checked,
    });
    client = c;
    c.addEventListener('message', (ev) => {
      const m = ev.detail;
      logLine($('[data-role="received"]', root), html`
        <span class="muted">${time()}</span> <span class="mono" data-role="topic">${m.topic}</span>
        <span class="badge">QoS ${m.qos}</span>${m.retain ? html` <span class="badge">retained</span>` : ''}
        <div class="mono" data-role="payload">${m.text}</div>`);
    });
    c.addEventListener('close', (ev) => {
      if (client === c && !stopped) setState('disconnected', ev.detail.reason);
    });
    setState('connecting', url);
    try {
      const { sessionPresent } = await c.connect();
      if (client === c) setState('connected', `${url}${sessionPresent ? ' (session present)' : ''}`);
    } catch (err) {
      if (client === c) setState('disconnected', err.message);
    }
  });

  disconnectBtn.addEventListener('click', () => {
    if (client) client.end();
  });

  $('[data-role="subscribe"]', root).addEventListener('submit', async (e) => {
    e.preventDefault();
    const topic = e.target.topic.value.trim();
    const qos = Number(e.target.qos.value);
    try {
      const granted = await client.subscribe(topic, qos);
      subscriptions.set(topic, granted);
      showSubscriptions();
    } catch (err) {
      detailEl.textContent = err.message;
    }
  });

  subsList.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-unsubscribe]');
    if (!button || !client) return;
    const topic = button.dataset.unsubscribe;
    try {
      await client.unsubscribe(topic);
      subscriptions.delete(topic);
      showSubscriptions();
    } catch (err) {
      detailEl.textContent = err.message;
    }
  });

  $('[data-role="publish"]', root).addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    const topic = f.topic.value.trim();
    const qos = Number(f.qos.value);
    const payload = f.payload.value;
    try {
      await client.publish(topic, payload, { qos, retain: f.retain.checked });
      logLine($('[data-role="published"]', root), html`
        <span class="muted">${time()}</span> <span class="mono" data-role="topic">${topic}</span>
        <span class="badge">QoS ${qos}</span>${f.retain.checked ? html` <span class="badge">retained</span>` : ''}
        <div class="mono" data-role="payload">${payload}</div>`);
    } catch (err) {
      detailEl.textContent = `Publish failed: ${err.message}`;
    }
  });

  setState('disconnected');
  return () => {
    stopped = true;
    if (client) client.end();
  };
}
