// Sessions page: connected and persistent sessions, server-side search, type filter and paging.

import { html, formatNumber, formatTime, $ } from '../dom.js';
import { pagedTable } from '../table.js';

export function mount(root) {
  const table = pagedTable(root, {
    path: '/sessions',
    label: 'Sessions',
    search: 'Search client id',
    empty: 'No sessions match.',
    filters: html`
      <div class="field">
        <label for="sessions-type">Type</label>
        <select id="sessions-type">
          <option value="">All</option>
          <option value="persistent">Persistent</option>
          <option value="transient">Transient</option>
        </select>
      </div>`,
    params: () => ({ type: $('#sessions-type', root)?.value || '' }),
    rowAttrs: (s) => html`data-client-id="${s.client_id}"`,
    columns: [
      { key: 'client_id', label: 'Client id', render: (s) => html`<span class="mono">${s.client_id}</span>` },
      { key: 'connected', label: 'Connected', render: (s) => html`<span class="badge ${s.connected ? 'on' : 'off'}">${s.connected ? 'online' : 'offline'}</span>` },
      { key: 'clean_sess', label: 'Clean session', render: (s) => (s.clean_sess ? 'yes' : 'no') },
      { key: 'subscriptions', label: 'Subscriptions', num: true, render: (s) => formatNumber(s.subscriptions) },
      { key: 'inflight_len', label: 'Inflight', num: true, render: (s) => `${formatNumber(s.inflight_len)} / ${formatNumber(s.max_inflight)}` },
      { key: 'mqueue_len', label: 'Queued', num: true, render: (s) => formatNumber(s.mqueue_len) },
      { key: 'mqueue_dropped', label: 'Dropped', num: true, render: (s) => formatNumber(s.mqueue_dropped) },
      { key: 'awaiting_rel_len', label: 'Awaiting PUBREL', num: true, render: (s) => formatNumber(s.awaiting_rel_len) },
      { key: 'created_at', label: 'Created at', render: (s) => formatTime(s.created_at) },
    ],
  });
  $('#sessions-type', root).addEventListener('change', () => table.reload());
  return () => table.destroy();
}
