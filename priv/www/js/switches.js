// A table of named things an admin switches on and off (modules, plugins): one row each with
// a state badge and a button that PUTs the flipped flag, then reloads the list.

import { get, put, seg } from './api.js';
import { escapeHtml, html, raw, render, $ } from './dom.js';

/**
 * Mounts the table in `root`; returns the page's stop function. `spec`:
 * - `label` ("Modules"), `path` ("/modules"), `kind` ("module": each row's `data-module`);
 * - `flag` ("enabled"): the item's boolean, PUT as `{[flag]: !item[flag]}`, and the row's `data-enabled`;
 * - `columns`: `[{ title, cell: (item) => text }]` between the name and the state;
 * - `words`: `{ on, off }` for the badge, `{ switchOn, switchOff }` for the button,
 *   `{ turnedOn, turnedOff }` for the message after a switch.
 */
export function mountSwitches(root, spec) {
  const { label, path, kind, flag, columns, words } = spec;
  const span = columns.length + 3;
  render(root, html`
    <div class="toolbar"><button type="button" data-role="refresh">Refresh</button></div>
    <p class="status-msg" role="status" data-role="status"></p>
    <div class="table-wrap">
      <table aria-label="${label}" aria-busy="true">
        <thead><tr>
          <th scope="col">Name</th>${columns.map((c) => html`<th scope="col">${c.title}</th>`)}
          <th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr></thead>
        <tbody data-role="rows"></tbody>
      </table>
    </div>`);
  const tbody = $('[data-role="rows"]', root);
  const status = $('[data-role="status"]', root);
  // The row's data-<kind> (its name) and data-<flag> ("true"/"false"), for scripts and tests.
  const rowAttrs = (item) =>
    raw(`data-${kind}="${escapeHtml(item.name)}" data-${flag}="${item[flag] ? 'true' : 'false'}"`);
  let items = [];
  let stopped = false;

  const say = (text, isError = false) => {
    status.textContent = text;
    status.className = `status-msg ${isError ? 'error' : ''}`;
  };

  async function load() {
    try {
      const list = await get(path);
      if (stopped) return;
      items = Array.isArray(list) ? list : [];
      render(tbody, items.length ? items.map((item, i) => html`
        <tr ${rowAttrs(item)}>
          <td class="mono">${item.name}</td>
          ${columns.map((c) => html`<td>${c.cell(item)}</td>`)}
          <td><span class="badge ${item[flag] ? 'on' : 'off'}" data-role="state">${item[flag] ? words.on : words.off}</span></td>
          <td><button type="button" class="${item[flag] ? 'danger' : 'primary'}" data-index="${i}">
            ${item[flag] ? words.switchOff : words.switchOn}<span class="visually-hidden"> ${item.name}</span></button></td>
        </tr>`) : html`<tr><td class="empty" colspan="${span}">No ${label.toLowerCase()}.</td></tr>`);
      $('table', root).setAttribute('aria-busy', 'false');
    } catch (e) {
      if (!stopped) say(`Could not load ${label.toLowerCase()}: ${e.message}`, true);
    }
  }

  tbody.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-index]');
    if (!button) return;
    const item = items[Number(button.dataset.index)];
    if (!item) return;
    button.disabled = true;
    try {
      const result = await put(`${path}/${seg(item.name)}`, { [flag]: !item[flag] });
      say(`${item.name} ${result && result[flag] ? words.turnedOn : words.turnedOff}.`);
    } catch (err) {
      say(`${item.name}: ${err.message}`, true);
    }
    await load();
  });
  $('[data-role="refresh"]', root).addEventListener('click', load);
  load();
  return () => { stopped = true; };
}
