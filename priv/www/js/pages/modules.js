// Modules page: built-in modules (presence, autosub, rewrite), enable/disable them.

import { get, put, seg } from '../api.js';
import { html, render, $ } from '../dom.js';

export function mount(root) {
  render(root, html`
    <div class="toolbar"><button type="button" data-role="refresh">Refresh</button></div>
    <p class="status-msg" role="status" data-role="status"></p>
    <div class="table-wrap">
      <table aria-label="Modules">
        <thead><tr>
          <th scope="col">Name</th><th scope="col">Description</th><th scope="col">Status</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr></thead>
        <tbody data-role="rows"></tbody>
      </table>
    </div>`);
  const tbody = $('[data-role="rows"]', root);
  const status = $('[data-role="status"]', root);
  let modules = [];
  let stopped = false;

  const say = (text, isError = false) => {
    status.textContent = text;
    status.className = `status-msg ${isError ? 'error' : ''}`;
  };

  async function load() {
    try {
      const list = await get('/modules');
      if (stopped) return;
      modules = Array.isArray(list) ? list : [];
      render(tbody, modules.length ? modules.map((m, i) => html`
        <tr data-module="${m.name}" data-enabled="${m.enabled ? 'true' : 'false'}">
          <td class="mono">${m.name}</td>
          <td>${m.description}</td>
          <td><span class="badge ${m.enabled ? 'on' : 'off'}">${m.enabled ? 'enabled' : 'disabled'}</span></td>
          <td><button type="button" class="${m.enabled ? 'danger' : 'primary'}" data-index="${i}">
            ${m.enabled ? 'Disable' : 'Enable'}<span class="visually-hidden"> ${m.name}</span></button></td>
        </tr>`) : html`<tr><td class="empty" colspan="4">No modules.</td></tr>`);
    } catch (e) {
      if (!stopped) say(`Could not load modules: ${e.message}`, true);
    }
  }

  tbody.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-index]');
    if (!button) return;
    const m = modules[Number(button.dataset.index)];
    if (!m) return;
    button.disabled = true;
    try {
      const result = await put(`/modules/${seg(m.name)}`, { enabled: !m.enabled });
      say(`${m.name} ${result && result.enabled ? 'enabled' : 'disabled'}.`);
    } catch (err) {
      say(`${m.name}: ${err.message}`, true);
    }
    await load();
  });
  $('[data-role="refresh"]', root).addEventListener('click', load);
  load();
  return () => { stopped = true; };
}
