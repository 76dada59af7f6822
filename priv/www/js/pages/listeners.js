// Listeners page: every MQTT listener with its address and connection counts.

import { get } from '../api.js';
import { html, render, $, formatNumber } from '../dom.js';

/** "closed 2, keepalive_timeout 1": the connections that ended, by reason. */
function shutdownReasons(l) {
  return Object.entries(l.shutdown_reasons || {}).map(([reason, n]) => `${reason} ${n}`).join(', ');
}

export function mount(root) {
  render(root, html`
    <div class="toolbar"><button type="button" data-role="refresh">Refresh</button></div>
    <p class="status-msg error" role="alert" data-role="error" hidden></p>
    <div class="table-wrap">
      <table aria-label="Listeners">
        <thead><tr>
          <th scope="col">Protocol</th><th scope="col">Name</th><th scope="col">Listen</th>
          <th scope="col" class="num">Current clients</th><th scope="col" class="num">Max clients</th>
          <th scope="col" class="num">Refused</th><th scope="col" class="num">Shutdowns</th>
        </tr></thead>
        <tbody data-role="rows"></tbody>
      </table>
    </div>`);
  const tbody = $('[data-role="rows"]', root);
  const errorEl = $('[data-role="error"]', root);
  let stopped = false;

  async function load() {
    try {
      const list = await get('/monitoring/listeners');
      if (stopped) return;
      const rows = Array.isArray(list) ? list : [];
      render(tbody, rows.length ? rows.map((l) => html`
        <tr>
          <td>${l.protocol}</td><td>${l.name}</td><td class="mono">${l.listen}</td>
          <td class="num">${formatNumber(l.current_clients)}</td><td class="num">${formatNumber(l.max_clients)}</td>
          <td class="num">${formatNumber(l.refused)}</td><td class="num" title="${shutdownReasons(l)}">${formatNumber(l.shutdown_count)}</td>
        </tr>`) : html`<tr><td class="empty" colspan="7">No listeners.</td></tr>`);
      errorEl.hidden = true;
    } catch (e) {
      if (stopped) return;
      errorEl.textContent = `Could not load listeners: ${e.message}`;
      errorEl.hidden = false;
    }
  }

  $('[data-role="refresh"]', root).addEventListener('click', load);
  load();
  return () => { stopped = true; };
}
