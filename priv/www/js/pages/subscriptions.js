// Subscriptions page: every (client, topic filter, QoS), server-side search and paging.

import { html } from '../dom.js';
import { pagedTable } from '../table.js';

export function mount(root) {
  const table = pagedTable(root, {
    path: '/subscriptions',
    label: 'Subscriptions',
    search: 'Search client id or topic',
    empty: 'No subscriptions match.',
    columns: [
      { key: 'client_id', label: 'Client id', render: (s) => html`<span class="mono">${s.client_id}</span>` },
      { key: 'topic', label: 'Topic filter', render: (s) => html`<span class="mono">${s.topic}</span>` },
      { key: 'qos', label: 'QoS', num: true },
    ],
  });
  return () => table.destroy();
}
