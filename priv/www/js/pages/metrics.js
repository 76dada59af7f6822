// Metrics page: the broker's counters (/monitoring/metrics) and gauges (/monitoring/stats).

import { get } from '../api.js';
import { html, render, $, formatNumber } from '../dom.js';

function rows(object, filter) {
  const entries = Object.entries(object || {})
    .filter(([k]) => !filter || k.toLowerCase().includes(filter))
    .sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return html`<tr><td class="empty" colspan="2">Nothing matches.</td></tr>`;
  return entries.map(([k, v]) => html`<tr><td class="mono">${k}</td><td class="num">${typeof v === 'number' ? formatNumber(v) : v}</td></tr>`);
}

export function mount(root) {
  render(root, html`
    <div class="toolbar">
      <div class="field grow">
        <label for="metrics-filter">Filter by name</label>
        <input id="metrics-filter" type="search" autocomplete="off">
      </div>
      <button type="button" data-role="refresh">Refresh</button>
    </div>
    <p class="status-msg error" role="alert" data-role="error" hidden></p>
    <div class="ws-grid">
      <section aria-labelledby="stats-title">
        <h2 id="stats-title">Stats</h2>
        <div class="table-wrap"><table aria-labelledby="stats-title">
          <thead><tr><th scope="col">Name</th><th scope="col" class="num">Value</th></tr></thead>
          <tbody data-role="stats"></tbody>
        </table></div>
      </section>
      <section aria-labelledby="metrics-title">
        <h2 id="metrics-title">Metrics</h2>
        <div class="table-wrap"><table aria-labelledby="metrics-title">
          <thead><tr><th scope="col">Name</th><th scope="col" class="num">Value</th></tr></thead>
          <tbody data-role="metrics"></tbody>
        </table></div>
      </section>
    </div>`);
  const errorEl = $('[data-role="error"]', root);
  const filter = $('#metrics-filter', root);
  let data = { metrics: {}, stats: {} };
  let stopped = false;

  const show = () => {
    const f = filter.value.trim().toLowerCase();
    render($('[data-role="stats"]', root), rows(data.stats, f));
    render($('[data-role="metrics"]', root), rows(data.metrics, f));
  };

  async function load() {
    try {
      const [metrics, stats] = await Promise.all([get('/monitoring/metrics'), get('/monitoring/stats')]);
      if (stopped) return;
      data = { metrics, stats };
      errorEl.hidden = true;
      show();
    } catch (e) {
      if (stopped) return;
      errorEl.textContent = `Could not load metrics: ${e.message}`;
      errorEl.hidden = false;
    }
  }

  filter.addEventListener('input', show);
  $('[data-role="refresh"]', root).addEventListener('click', load);
  load();
  return () => { stopped = true; };
}
