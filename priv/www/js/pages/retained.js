// Retained messages page: server-side search and paging, delete (DELETE /retained/{topic}).

import { del, seg } from '../api.js';
import { html, formatBytes, formatTime } from '../dom.js';
import { pagedTable } from '../table.js';

function payload(m) {
  if (m.payload_encoding === 'base64') return html`<span class="badge">base64</span> <span class="mono">${m.payload}</span>`;
  return html`<span class="mono">${m.payload}</span>`;
}

export function mount(root) {
  const table = pagedTable(root, {
    path: '/retained',
    label: 'Retained messages',
    search: 'Search topic',
    empty: 'No retained messages match.',
    rowAttrs: (m) => html`data-topic="${m.topic}"`,
    columns: [
      { key: 'topic', label: 'Topic', render: (m) => html`<span class="mono">${m.topic}</span>` },
      { key: 'payload', label: 'Payload', render: (m) => html`<div class="clip" title="${m.payload}">${payload(m)}</div>` },
      { key: 'qos', label: 'QoS', num: true },
      { key: 'size', label: 'Size', num: true, render: (m) => formatBytes(m.size) },
      { key: 'from', label: 'From', render: (m) => html`<span class="mono">${m.from}</span>` },
      { key: 'ts', label: 'Stored at', render: (m) => formatTime(m.ts) },
    ],
    actions: [{
      name: 'delete',
      className: 'danger',
      label: (m) => html`Delete<span class="visually-hidden"> retained message on ${m.topic}</span>`,
      confirm: (m) => `Delete the retained message on "${m.topic}"?`,
    }],
    onAction: (name, m) => del(`/retained/${seg(m.topic)}`),
  });
  return () => table.destroy();
}
