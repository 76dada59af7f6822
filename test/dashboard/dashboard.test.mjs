// Browser test of the dashboard: Chromium driven by playwright-core against a running broker.
//
// Usage: node test/dashboard/dashboard.test.mjs --url http://127.0.0.1:18083 --mqtt-port 1883
//          [--ws-port 8083] [--kick-client ID] [--xss-client ID] [--plugin NAME]
//          [--topic T] [--payload P] [--screenshot FILE] [--user admin] [--password public]
// Every option can also come from the environment: DASHBOARD_URL, MQTT_PORT, WS_PORT,
// KICK_CLIENT_ID, XSS_CLIENT_ID, DASHBOARD_PLUGIN, DASHBOARD_TOPIC, DASHBOARD_PAYLOAD,
// DASHBOARD_SCREENSHOT, DASHBOARD_USER, DASHBOARD_PASSWORD, CHROMIUM (the browser binary).
// Exits 0 when every step passed; prints each step and, on failure, what was on the page.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
// playwright-core and mqtt are installed in test/clients (npm install there; .ci/run does it).
const require = createRequire(path.join(repo, 'test', 'clients', 'package.json'));
const { chromium } = require('playwright-core');
const mqtt = require('mqtt');

function options() {
  const argv = process.argv.slice(2);
  const arg = (name) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const o = {
    url: arg('url') || process.env.DASHBOARD_URL,
    mqttPort: arg('mqtt-port') || process.env.MQTT_PORT,
    wsPort: arg('ws-port') || process.env.WS_PORT,
    kickClient: arg('kick-client') || process.env.KICK_CLIENT_ID || 'dash-kick-me',
    xssClient: arg('xss-client') || process.env.XSS_CLIENT_ID,
    plugin: arg('plugin') || process.env.DASHBOARD_PLUGIN || 'emqttd_plugin_template',
    topic: arg('topic') || process.env.DASHBOARD_TOPIC || `dashboard/ws/${process.pid}`,
    payload: arg('payload') || process.env.DASHBOARD_PAYLOAD || 'hello from the dashboard',
    screenshot: arg('screenshot') || process.env.DASHBOARD_SCREENSHOT || path.join(repo, 'target', 'dashboard', 'overview.png'),
    user: arg('user') || process.env.DASHBOARD_USER || 'admin',
    password: arg('password') || process.env.DASHBOARD_PASSWORD || 'public',
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  };
  if (!o.url || !o.mqttPort) {
    console.error('usage: dashboard.test.mjs --url http://HOST:PORT --mqtt-port N [--ws-port N] ...');
    process.exit(2);
  }
  o.url = o.url.replace(/\/+$/, '');
  return o;
}

const o = options();
const WAIT = 15_000; // the deadline of each wait on the page (generous: CI runs tests in parallel)
const mqttHost = new URL(o.url).hostname;

/** A CSS attribute-selector value: "…" with quotes and backslashes escaped. */
const attr = (value) => `"${String(value).replace(/["\\]/g, '\\$&')}"`;

/** Retries `check` (which throws or returns false) until it passes or `ms` elapse. */
async function eventually(what, check, ms = WAIT) {
  const deadline = Date.now() + ms;
  let last;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => { setTimeout(r, delay); });
  }
}

/** Resolves with the first message on `topic` to `client`, or rejects after `ms`. */
function nextMessage(client, topic, ms = WAIT) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage);
      reject(new Error(`no message on ${topic} within ${ms} ms`));
    }, ms);
    function onMessage(t, payload, packet) {
      if (t !== topic) return;
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      resolve({ payload: payload.toString(), qos: packet.qos });
    }
    client.on('message', onMessage);
  });
}

function connectMqtt(clientId) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtt://${mqttHost}:${o.mqttPort}`, {
      clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: WAIT,
    });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

const steps = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
  } catch (e) {
    e.message = `step "${name}": ${e.message}`;
    throw e;
  }
  const line = `ok - ${name} (${Date.now() - started} ms)`;
  steps.push(line);
  console.log(line);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: o.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const pageErrors = [];
  let page;
  let subscriber;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A 401 on a wrong password is the browser's own resource log, not a script error.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console error: ${m.text()}`);
    });
    page.on('dialog', (d) => d.accept()); // "Disconnect client …?" confirmations

    await step('open the dashboard: the login form', async () => {
      await page.goto(`${o.url}/`);
      await page.locator('#login').waitFor({ state: 'visible' });
    });

    await step('the login form refuses a wrong password', async () => {
      await page.getByLabel('Username').fill(o.user);
      await page.getByLabel('Password').fill(`${o.password}-wrong`);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#login-error', { hasText: 'Wrong username or password' }).waitFor();
      if (await page.locator('#shell').isVisible()) throw new Error('the dashboard opened with a wrong password');
    });

    await step(`log in as ${o.user}`, async () => {
      await page.getByLabel('Password').fill(o.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#shell').waitFor({ state: 'visible' });
      await page.getByRole('navigation', { name: 'Dashboard pages' }).waitFor();
      const stored = await page.evaluate(() => sessionStorage.getItem('emqttd.auth'));
      if (!stored) throw new Error('no credentials in sessionStorage after login');
    });

    await step('the overview shows the node and live rates; screenshot', async () => {
      await page.goto(`${o.url}/#/overview`);
      await page.locator('[data-stat="node"]').filter({ hasText: '@' }).waitFor();
      await page.locator('[data-stat="version"]').filter({ hasNotText: '—' }).waitFor();
      // Rates need two metric samples (one poll interval, 2 s, apart).
      await page.locator('[data-latest="received"]').filter({ hasText: '/s' }).waitFor();
      await page.locator('[data-latest="sent"]').filter({ hasText: '/s' }).waitFor();
      fs.mkdirSync(path.dirname(o.screenshot), { recursive: true });
      await page.screenshot({ path: o.screenshot, fullPage: true });
      console.log(`   screenshot: ${o.screenshot}`);
    });

    await step(`client ${o.kickClient} appears on the clients page`, async () => {
      await page.goto(`${o.url}/#/clients`);
      await page.getByLabel('Search client id or username').fill(o.kickClient);
      // The search has been applied once the list holds exactly the one client.
      await page.locator('[data-role="page-info"]', { hasText: /· 1 total$/ }).waitFor();
      await page.locator(`tr[data-client-id=${attr(o.kickClient)}]`).waitFor();
    });

    await step(`kick ${o.kickClient} and see it gone`, async () => {
      const row = page.locator(`tr[data-client-id=${attr(o.kickClient)}]`);
      await row.getByRole('button', { name: /^Kick/ }).click();
      // The connection closes asynchronously: refresh until the list no longer has it.
      await eventually(`${o.kickClient} to leave the clients list`, async () => {
        if ((await row.count()) === 0) return true;
        await page.getByRole('button', { name: 'Refresh' }).click();
        return false;
      });
      await page.locator('td.empty', { hasText: 'No connected clients match' }).waitFor();
      const error = page.locator('[data-role="error"]');
      if (await error.isVisible()) throw new Error(`the page shows an error: ${await error.textContent()}`);
    });

    if (o.xssClient) {
      await step('a client id with markup is shown as text', async () => {
        await page.getByLabel('Search client id or username').fill(o.xssClient);
        const row = page.locator(`tr[data-client-id=${attr(o.xssClient)}]`);
        await page.locator('[data-role="page-info"]', { hasText: /· 1 total$/ }).waitFor();
        await row.waitFor();
        const shown = await row.locator('td').first().textContent();
        if (shown.trim() !== o.xssClient) throw new Error(`client id shown as ${JSON.stringify(shown)}`);
        const injected = await page.evaluate(() => document.querySelectorAll('#view tbody img, #view tbody script').length);
        if (injected) throw new Error('markup from a client id was inserted into the page');
      });
    }

    await step(`load and unload plugin ${o.plugin}`, async () => {
      await page.goto(`${o.url}/#/plugins`);
      const row = page.locator(`tr[data-plugin=${attr(o.plugin)}]`);
      await row.waitFor();
      if ((await row.getAttribute('data-active')) === 'true') {
        await row.getByRole('button', { name: /^Unload/ }).click();
        await page.locator(`tr[data-plugin=${attr(o.plugin)}][data-active="false"]`).waitFor();
      }
      await row.getByRole('button', { name: /^Load/ }).click();
      await page.locator(`tr[data-plugin=${attr(o.plugin)}][data-active="true"]`).waitFor();
      await page.getByRole('status').filter({ hasText: `${o.plugin} loaded` }).waitFor();
      await row.getByRole('button', { name: /^Unload/ }).click();
      await page.locator(`tr[data-plugin=${attr(o.plugin)}][data-active="false"]`).waitFor();
      await page.getByRole('status').filter({ hasText: `${o.plugin} unloaded` }).waitFor();
    });

    await step('switch module autosub both ways, back to how it was', async () => {
      await page.goto(`${o.url}/#/modules`);
      const row = page.locator('tr[data-module="autosub"]');
      await row.waitFor();
      const before = await row.getAttribute('data-enabled');
      const flip = async (button, state, said) => {
        await row.getByRole('button', { name: button }).click();
        await page.locator(`tr[data-module="autosub"][data-enabled="${state}"]`).waitFor();
        await page.getByRole('status').filter({ hasText: `autosub ${said}` }).waitFor();
      };
      if (before === 'true') {
        await flip(/^Disable/, 'false', 'disabled');
        await flip(/^Enable/, 'true', 'enabled');
      } else {
        await flip(/^Enable/, 'true', 'enabled');
        await flip(/^Disable/, 'false', 'disabled');
      }
    });

    await step('the browser MQTT codec (priv/www/js/mqtt.js) round-trips packets', async () => {
      const problems = await page.evaluate(async () => {
        const m = await import('/js/mqtt.js');
        const bad = [];
        const lengths = [0, 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455];
        const sizes = [1, 1, 1, 2, 2, 3, 3, 4, 4];
        lengths.forEach((n, i) => {
          const enc = m.encodeRemainingLength(n);
          const dec = m.decodeRemainingLength(Uint8Array.from(enc));
          if (enc.length !== sizes[i] || !dec || dec.value !== n || dec.bytes !== sizes[i]) bad.push(`length ${n}`);
        });
        try { m.encodeRemainingLength(268435456); bad.push('length 268435456 accepted'); } catch { /* expected */ }
        try { m.decodeRemainingLength(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01)); bad.push('5-byte length accepted'); } catch { /* expected */ }
        if (m.decodeRemainingLength(Uint8Array.of(0x80)) !== null) bad.push('partial length not null');
        // A PUBLISH with a UTF-8 topic and payload, a remaining length of 2 bytes, split anywhere.
        const topic = 'caf\u00e9/\u2713/\ud83d\ude00';
        const payload = 'h\u00e9llo '.repeat(40);
        const bytes = m.encode({ type: 'publish', topic, payload, qos: 1, id: 513, retain: true });
        for (const cut of [1, 2, 3, 10, bytes.length - 1]) {
          const parser = new m.Parser();
          const got = [...parser.push(bytes.subarray(0, cut)), ...parser.push(bytes.subarray(cut))];
          const p = got[0];
          if (got.length !== 1 || p.topic !== topic || new TextDecoder().decode(p.payload) !== payload
              || p.qos !== 1 || p.id !== 513 || !p.retain) bad.push(`publish split at ${cut}`);
        }
        // Two packets in one frame.
        const two = new m.Parser().push(Uint8Array.of(0x90, 0x03, 0x00, 0x07, 0x01, 0xd0, 0x00));
        if (two.length !== 2 || two[0].type !== 'suback' || two[0].granted[0] !== 1 || two[1].type !== 'pingresp') bad.push('suback+pingresp');
        const connect = Array.from(m.encode({ type: 'connect', clientId: 'a', keepalive: 30, clean: true, username: 'u', password: 'p' }));
        const want = [0x10, 19, 0, 4, 77, 81, 84, 84, 4, 0xc2, 0, 30, 0, 1, 97, 0, 1, 117, 0, 1, 112];
        if (connect.join() !== want.join()) bad.push(`connect ${connect}`);
        if (!m.validTopicFilter('a/+/#') || m.validTopicFilter('a/#/b') || m.validTopicFilter('a+') || m.validTopicName('a/+')) bad.push('topic validation');
        return bad;
      });
      if (problems.length) throw new Error(problems.join('; '));
    });

    await step('publish from the WebSocket page to an MQTT subscriber', async () => {
      subscriber = await connectMqtt(`dashboard-test-sub-${process.pid}`);
      await new Promise((resolve, reject) => {
        subscriber.subscribe(o.topic, { qos: 1 }, (e, granted) => (e ? reject(e) : resolve(granted)));
      });
      await page.goto(`${o.url}/#/websocket`);
      const port = page.getByLabel('Port');
      await eventually('the WebSocket port from /monitoring/listeners', async () => (await port.inputValue()) !== '');
      if (o.wsPort && (await port.inputValue()) !== String(o.wsPort)) {
        throw new Error(`the page picked port ${await port.inputValue()}, the ws listener is on ${o.wsPort}`);
      }
      await page.getByLabel('Host').fill(mqttHost);
      await page.getByLabel('Client id').fill(`dashboard-test-ws-${process.pid}`);
      await page.getByRole('button', { name: 'Connect', exact: true }).click();
      await page.locator('[data-mqtt-state="connected"]').waitFor();

      await page.getByLabel('Topic filter').fill(o.topic);
      await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
      await page.locator(`[data-role="subscriptions"] li[data-topic=${attr(o.topic)}]`).waitFor();

      const received = nextMessage(subscriber, o.topic);
      await page.getByLabel('Topic', { exact: true }).fill(o.topic);
      await page.locator('#ws-pub-qos').selectOption('1');
      await page.getByLabel('Payload').fill(o.payload);
      await page.getByRole('button', { name: 'Publish', exact: true }).click();
      const got = await received;
      if (got.payload !== o.payload) throw new Error(`the subscriber got ${JSON.stringify(got.payload)}`);
      await page.locator('[data-role="published"] [data-role="payload"]', { hasText: o.payload }).waitFor();
      // The browser's own subscription delivers it back to the page.
      await page.locator('[data-role="received"] [data-role="payload"]', { hasText: o.payload }).waitFor();

      await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
      await page.locator('[data-mqtt-state="disconnected"]').waitFor();
    });

    await step('log out', async () => {
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.locator('#login').waitFor({ state: 'visible' });
      const stored = await page.evaluate(() => sessionStorage.getItem('emqttd.auth'));
      if (stored) throw new Error('credentials still in sessionStorage after logout');
      await page.reload();
      await page.locator('#login').waitFor({ state: 'visible' });
    });

    if (pageErrors.length) throw new Error(`errors in the page:\n${pageErrors.join('\n')}`);
  } catch (e) {
    console.error(`FAILED ${e.message}`);
    if (pageErrors.length) console.error(pageErrors.join('\n'));
    if (page) {
      const text = await page.locator('body').innerText().catch(() => '(no page)');
      console.error(`--- page ${page.url()} ---\n${text.slice(0, 4000)}`);
      const failShot = path.join(path.dirname(o.screenshot), 'failure.png');
      fs.mkdirSync(path.dirname(failShot), { recursive: true });
      await page.screenshot({ path: failShot, fullPage: true }).catch(() => {});
      console.error(`failure screenshot: ${failShot}`);
    }
    process.exitCode = 1;
  } finally {
    if (subscriber) subscriber.end(true);
    await browser.close();
  }
  if (!process.exitCode) console.log(`dashboard: ${steps.length} steps passed`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
