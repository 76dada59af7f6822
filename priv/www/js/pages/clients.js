// Clients page: connected clients, server-side search/sort/paging, kick (DELETE /clients/{id}).

import { del, seg } from '../api.js';
import { html, formatTime } from '../dom.js';
import { pagedTable } from '../table.js';

export function mount(root) {
  const table = pagedTable(root, {
    path: '/clients',
    label: 'Connected clients',
    search: 'Search client id or username',
    sort: { key: 'client_id', order: 'asc' },
    empty: 'No connected clients match.',
    rowAttrs: (c) => html`data-client-id="${c.client_id}"`,
    columns: [
      { key: 'client_id', label: 'Client id', sortable: true, render: (c) => html`<span class="mono">${c.client_id}</span>` },
      { key: 'username', label: 'Username', sortable: true, render: (c) => c.username ?? html`<span class="muted">—</span>` },
      { key: 'ipaddress', label: 'Address', render: (c) => `${c.ipaddress}:${c.port}` },
      { key: 'listener', label: 'Listener' },
      { key: 'proto_ver', label: 'MQTT', render: (c) => (Number(c.proto_ver) === 4 ? '3.1.1' : '3.1') },
      { key: 'clean_sess', label: 'Clean session', render: (c) => (c.clean_sess ? 'yes' : 'no') },
      { key: 'keepalive', label: 'Keepalive', num: true, render: (c) => `${c.keepalive} s` },
      { key: 'connected_at', label: 'Connected at', sortable: true, render: (c) => formatTime(c.connected_at) },
    ],
    actions: [{
      name: 'kick',
      className: 'danger',
      label: (c) => html`Kick<span class="visually-hidden"> ${c.client_id}</span>`,
      confirm: (c) => `Disconnect client "${c.client_id}"?`,
    }],
    onAction: (name, c) => del(`/clients/${seg(c.client_id)}`),
  });
  return () => table.destroy();
}
