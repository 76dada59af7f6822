// Plugins page: list plugins, load/unload them (PUT /plugins/{name} {"active": bool}).

import { get, put, seg } from '../api.js';
import { html, render, $ } from '../dom.js';

export function mount(root) {
  render(root, html`
    <div class="toolbar"><button type="button" data-role="refresh">Refresh</button></div>
    <p class="status-msg" role="status" data-role="status"></p>
    <div class="table-wrap">
      <table aria-label="Plugins" aria-busy="true">
        <thead><tr>
          <th scope="col">Name</th><th scope="col">Description</th><th scope="col">Version</th>
          <th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr></thead>
        <tbody data-role="rows"></tbody>
      </table>
    </div>`);
  const tbody = $('[data-role="rows"]', root);
  const status = $('[data-role="status"]', root);
  let plugins = [];
  let stopped = false;

  const say = (text, isError = false) => {
    status.textContent = text;
    status.className = `status-msg ${isError ? 'error' : ''}`;
  };

  async function load() {
    try {
      const list = await get('/plugins');
      if (stopped) return;
      plugins = Array.isArray(list) ? list : [];
      render(tbody, plugins.length ? plugins.map((p, i) => html`
        <tr data-plugin="${p.name}" data-active="${p.active ? 'true' : 'false'}">
          <td class="mono">${p.name}</td>
          <td>${p.description}</td>
          <td>${p.version}</td>
          <td><span class="badge ${p.active ? 'on' : 'off'}" data-role="state">${p.active ? 'active' : 'inactive'}</span></td>
          <td><button type="button" class="${p.active ? 'danger' : 'primary'}" data-index="${i}">
            ${p.active ? 'Unload' : 'Load'}<span class="visually-hidden"> ${p.name}</span></button></td>
        </tr>`) : html`<tr><td class="empty" colspan="5">No plugins.</td></tr>`);
      $('table', root).setAttribute('aria-busy', 'false');
    } catch (e) {
      if (!stopped) say(`Could not load plugins: ${e.message}`, true);
    }
  }

  tbody.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-index]');
    if (!button) return;
    const p = plugins[Number(button.dataset.index)];
    if (!p) return;
    button.disabled = true;
    try {
      const result = await put(`/plugins/${seg(p.name)}`, { active: !p.active });
      say(`${p.name} ${result && result.active ? 'loaded' : 'unloaded'}.`);
    } catch (err) {
      say(`${p.name}: ${err.message}`, true);
    }
    await load();
  });
  $('[data-role="refresh"]', root).addEventListener('click', load);
  load();
  return () => { stopped = true; };
}
