// Topics and routes page: one route per distinct subscribed filter, server-side search and paging.

import { html } from '../dom.js';
import { pagedTable } from '../table.js';

export function mount(root) {
  const table = pagedTable(root, {
    path: '/routes',
    label: 'Routes',
    search: 'Search topic',
    empty: 'No routes match.',
    columns: [
      { key: 'topic', label: 'Topic', render: (r) => html`<span class="mono">${r.topic}</span>` },
      { key: 'node', label: 'Node' },
    ],
  });
  return () => table.destroy();
}
