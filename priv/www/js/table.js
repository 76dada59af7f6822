// Server-paged table: search (`q`), sortable columns (`_sort`/`_order`), pages (`_page`/`_limit`).

import { get, query } from './api.js';
import { html, render, $, debounce, formatNumber } from './dom.js';

let nextId = 0;

/**
 * Renders a table over a PAGED API list into `container`. Only one page is ever fetched.
 *
 * options:
 *   path         API path of the PAGED list, e.g. '/clients'
 *   columns      [{ key, label, sortable?, num?, render?(row) → html }]
 *   rowAttrs?    (row) → html attributes for the <tr> (e.g. data-client-id)
 *   actions?     [{ name, label(row), className?, confirm?(row) → text }] one button each per row
 *   onAction?    async (name, row) → called when an action button is pressed
 *   search?      label of the search box (omit for none)
 *   filters?     html of extra toolbar controls; values read by params()
 *   params?      () → extra query parameters (filters)
 *   sort?        { key, order } initial server-side sort
 *   empty        text when there are no rows
 *   label        accessible name of the table
 */
export function pagedTable(container, options) {
  const id = `pt${nextId += 1}`;
  const state = {
    page: 1,
    limit: 20,
    q: '',
    sort: options.sort ? options.sort.key : '',
    order: options.sort ? options.sort.order : '',
    rows: [],
    seq: 0,
    abort: null,
  };
  const actions = options.actions || [];

  render(container, html`
    <div class="toolbar">
      ${options.search ? html`
        <div class="field grow">
          <label for="${id}-q">${options.search}</label>
          <input id="${id}-q" type="search" autocomplete="off" data-role="search">
        </div>` : ''}
      ${options.filters || ''}
      <div class="field">
        <label for="${id}-limit">Per page</label>
        <select id="${id}-limit" data-role="limit">
          ${[10, 20, 50, 100].map((n) => html`<option value="${n}" ${n === 20 ? html`selected` : ''}>${n}</option>`)}
        </select>
      </div>
      <button type="button" data-role="refresh">Refresh</button>
    </div>
    <p class="status-msg error" role="alert" data-role="error" hidden></p>
    <div class="table-wrap">
      <table aria-label="${options.label}" aria-busy="true">
        <thead><tr>
          ${options.columns.map((c) => html`
            <th scope="col" class="${c.num ? 'num' : ''}" data-key="${c.key}">
              ${c.sortable ? html`<button type="button" class="sort" data-sort="${c.key}">${c.label}</button>` : c.label}
            </th>`)}
          ${actions.length ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ''}
        </tr></thead>
        <tbody data-role="rows"></tbody>
      </table>
    </div>
    <div class="pager" role="navigation" aria-label="${options.label} pages">
      <button type="button" data-role="prev">Previous</button>
      <span data-role="page-info" aria-live="polite"></span>
      <button type="button" data-role="next">Next</button>
    </div>`);

  const table = $('table', container);
  const tbody = $('[data-role="rows"]', container);
  const errorEl = $('[data-role="error"]', container);
  const pageInfo = $('[data-role="page-info"]', container);
  const prev = $('[data-role="prev"]', container);
  const next = $('[data-role="next"]', container);

  function showSort() {
    container.querySelectorAll('th[data-key]').forEach((th) => {
      const key = th.dataset.key;
      if (key === state.sort) th.setAttribute('aria-sort', state.order === 'desc' ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
  }

  function showRows(result) {
    const cols = options.columns.length + (actions.length ? 1 : 0);
    if (!state.rows.length) {
      render(tbody, html`<tr><td class="empty" colspan="${cols}">${options.empty || 'Nothing here.'}</td></tr>`);
    } else {
      render(tbody, state.rows.map((row, i) => html`
        <tr ${options.rowAttrs ? options.rowAttrs(row) : ''}>
          ${options.columns.map((c) => html`<td class="${c.num ? 'num' : ''}">${c.render ? c.render(row) : row[c.key]}</td>`)}
          ${actions.length ? html`<td class="actions">${actions.map((a) => html`
            <button type="button" class="${a.className || ''}" data-action="${a.name}" data-index="${i}">${a.label(row)}</button>`)}</td>` : ''}
        </tr>`));
    }
    const pages = Math.max(1, Number(result.total_page) || 1);
    pageInfo.textContent = `Page ${state.page} of ${pages} · ${formatNumber(result.total_num)} total`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
  }

  async function load() {
    state.seq += 1;
    const seq = state.seq;
    if (state.abort) state.abort.abort();
    state.abort = new AbortController();
    table.setAttribute('aria-busy', 'true');
    const params = {
      _page: state.page,
      _limit: state.limit,
      q: state.q,
      _sort: state.sort,
      _order: state.sort ? state.order : '',
      ...(options.params ? options.params() : {}),
    };
    try {
      const result = await get(options.path + query(params), { signal: state.abort.signal });
      if (seq !== state.seq) return;
      const pages = Math.max(1, Number(result.total_page) || 1);
      if (state.page > pages) {
        // The last page emptied (a kick or delete): show the new last page.
        state.page = pages;
        load();
        return;
      }
      state.rows = Array.isArray(result.objects) ? result.objects : [];
      errorEl.hidden = true;
      showRows(result);
    } catch (e) {
      if (e.name === 'AbortError' || seq !== state.seq) return;
      errorEl.textContent = `Could not load: ${e.message}`;
      errorEl.hidden = false;
    } finally {
      if (seq === state.seq) table.setAttribute('aria-busy', 'false');
    }
  }

  const search = $('[data-role="search"]', container);
  if (search) {
    search.addEventListener('input', debounce(() => {
      state.q = search.value.trim();
      state.page = 1;
      load();
    }, 250));
  }
  $('[data-role="limit"]', container).addEventListener('change', (e) => {
    state.limit = Number(e.target.value);
    state.page = 1;
    load();
  });
  $('[data-role="refresh"]', container).addEventListener('click', () => load());
  prev.addEventListener('click', () => { if (state.page > 1) { state.page -= 1; load(); } });
  next.addEventListener('click', () => { state.page += 1; load(); });

  container.addEventListener('click', async (e) => {
    const sortButton = e.target.closest('button[data-sort]');
    if (sortButton) {
      const key = sortButton.dataset.sort;
      state.order = state.sort === key && state.order === 'asc' ? 'desc' : 'asc';
      state.sort = key;
      state.page = 1;
      showSort();
      load();
      return;
    }
    const button = e.target.closest('button[data-action]');
    if (!button || !options.onAction) return;
    const row = state.rows[Number(button.dataset.index)];
    const action = actions.find((a) => a.name === button.dataset.action);
    if (!row || !action) return;
    if (action.confirm && !window.confirm(action.confirm(row))) return;
    button.disabled = true;
    try {
      await options.onAction(action.name, row);
      errorEl.hidden = true;
    } catch (err) {
      errorEl.textContent = err.message;
      errorEl.hidden = false;
    }
    load();
  });

  showSort();
  load();

  return {
    reload: () => { state.page = 1; return load(); },
    refresh: load,
    destroy: () => { state.seq += 1; if (state.abort) state.abort.abort(); },
  };
}
