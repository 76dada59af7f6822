// Overview page: node facts and live charts (connections, message rates), polled every 2 s.

import { get } from '../api.js';
import { html, render, $, formatBytes, formatNumber, formatRate } from '../dom.js';
import { LineChart } from '../chart.js';

const POLL_MS = 2000;
const COLORS = { connections: '#0b6e4f', received: '#1a73e8', sent: '#d9822b' };

function stat(label, value, role) {
  return html`<div class="card stat"><div class="label">${label}</div><div class="value" data-stat="${role}">${value}</div></div>`;
}

export function mount(root) {
  render(root, html`
    <p class="status-msg error" role="alert" data-role="error" hidden></p>
    <div class="cards" data-role="stats" aria-live="off">
      ${stat('Node', '—', 'node')}
      ${stat('Version', '—', 'version')}
      ${stat('Uptime', '—', 'uptime')}
      ${stat('Status', '—', 'status')}
      ${stat('Memory (broker / machine)', '—', 'memory')}
      ${stat('CPU', '—', 'cpu')}
      ${stat('Load (1 / 5 / 15)', '—', 'load')}
      ${stat('Connections', '—', 'connections')}
      ${stat('Sessions', '—', 'sessions')}
      ${stat('Subscriptions', '—', 'subscriptions')}
      ${stat('Topics', '—', 'topics')}
      ${stat('Retained', '—', 'retained')}
    </div>
    <div class="charts">
      <section class="card chart" aria-labelledby="chart-conn-title">
        <h2 id="chart-conn-title">Connections</h2>
        <canvas data-chart="connections" role="img" aria-label="Connections over the last two minutes"></canvas>
        <div class="legend">
          <span><span class="swatch" style="background:${COLORS.connections}"></span>connections: <b data-latest="connections">—</b></span>
        </div>
      </section>
      <section class="card chart" aria-labelledby="chart-rate-title">
        <h2 id="chart-rate-title">Messages per second</h2>
        <canvas data-chart="rates" role="img" aria-label="Messages received and sent per second over the last two minutes"></canvas>
        <div class="legend">
          <span><span class="swatch" style="background:${COLORS.received}"></span>received: <b data-latest="received">—</b></span>
          <span><span class="swatch" style="background:${COLORS.sent}"></span>sent: <b data-latest="sent">—</b></span>
        </div>
      </section>
    </div>`);

  const connChart = new LineChart($('[data-chart="connections"]', root),
    [{ label: 'connections', color: COLORS.connections }], { format: (v) => formatNumber(Math.round(v)), integer: true });
  const rateChart = new LineChart($('[data-chart="rates"]', root),
    [{ label: 'received', color: COLORS.received }, { label: 'sent', color: COLORS.sent }],
    { format: (v) => (v >= 10 ? formatNumber(Math.round(v)) : String(Number(v.toFixed(2)))) });

  const errorEl = $('[data-role="error"]', root);
  const set = (role, value) => { $(`[data-stat="${role}"]`, root).textContent = value; };
  const latest = (role, value) => { $(`[data-latest="${role}"]`, root).textContent = value; };
  let previous = null; // { at, received, sent } from the last metrics sample
  let timer = 0;
  let stopped = false;
  const abort = new AbortController();

  async function poll() {
    const opts = { signal: abort.signal };
    try {
      const [nodes, monitors, metrics, stats] = await Promise.all([
        get('/management/nodes', opts),
        get('/monitoring/nodes', opts),
        get('/monitoring/metrics', opts),
        get('/monitoring/stats', opts),
      ]);
      if (stopped) return;
      const at = performance.now();
      const node = (Array.isArray(nodes) ? nodes[0] : nodes) || {};
      const mon = (Array.isArray(monitors) ? monitors[0] : monitors) || {};
      set('node', node.name ?? '—');
      set('version', node.version ?? '—');
      set('uptime', node.uptime ?? '—');
      set('status', node.node_status ?? '—');
      set('memory', `${formatBytes(mon.memory_used)} / ${formatBytes(mon.memory_total)}`);
      set('cpu', Number.isFinite(Number(mon.cpu_usage)) ? `${Number(mon.cpu_usage).toFixed(1)} %` : '—');
      set('load', [mon.load1, mon.load5, mon.load15].map((l) => l ?? '—').join(' / '));
      const connections = Number(mon.connections ?? node.connections ?? stats['clients/count']) || 0;
      set('connections', formatNumber(connections));
      set('sessions', formatNumber(stats['sessions/count']));
      set('subscriptions', formatNumber(stats['subscriptions/count']));
      set('topics', formatNumber(stats['topics/count']));
      set('retained', formatNumber(stats['retained/count']));
      connChart.push([connections]);
      latest('connections', formatNumber(connections));

      const received = Number(metrics['messages/received']) || 0;
      const sent = Number(metrics['messages/sent']) || 0;
      if (previous) {
        const secs = Math.max(0.001, (at - previous.at) / 1000);
        // A restarted broker resets its counters: never chart a negative rate.
        const rx = Math.max(0, received - previous.received) / secs;
        const tx = Math.max(0, sent - previous.sent) / secs;
        rateChart.push([rx, tx]);
        latest('received', formatRate(rx));
        latest('sent', formatRate(tx));
      }
      previous = { at, received, sent };
      errorEl.hidden = true;
    } catch (e) {
      if (e.name === 'AbortError' || stopped) return;
      errorEl.textContent = `Could not refresh: ${e.message}`;
      errorEl.hidden = false;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
    abort.abort();
    connChart.destroy();
    rateChart.destroy();
  };
}
