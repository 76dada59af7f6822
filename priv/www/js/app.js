// The app shell: login/logout, navigation and hash routing to one page module at a time.

import * as api from './api.js';
import { html, render, $ } from './dom.js';

/** Route name (after '#/') → label; each has its module in pages/<name>.js. */
const PAGES = [
  ['overview', 'Overview'],
  ['clients', 'Clients'],
  ['sessions', 'Sessions'],
  ['subscriptions', 'Subscriptions'],
  ['topics', 'Topics & routes'],
  ['retained', 'Retained'],
  ['plugins', 'Plugins'],
  ['modules', 'Modules'],
  ['listeners', 'Listeners'],
  ['metrics', 'Metrics'],
  ['admins', 'Admins'],
  ['websocket', 'WebSocket'],
];
const DEFAULT_PAGE = 'overview';

const loginSection = $('#login');
const shell = $('#shell');
const view = $('#view');
let current = { name: null, unmount: null, token: 0 };

function routeName() {
  const name = window.location.hash.replace(/^#\/?/, '').split(/[?/]/)[0];
  return PAGES.some(([n]) => n === name) ? name : DEFAULT_PAGE;
}

function unmountCurrent() {
  if (current.unmount) {
    try { current.unmount(); } catch (e) { console.error(e); }
  }
  current = { name: null, unmount: null, token: current.token + 1 };
}

function showLogin(message) {
  unmountCurrent();
  view.replaceChildren(); // nothing of the last page stays in the document
  shell.hidden = true;
  loginSection.hidden = false;
  const error = $('#login-error');
  error.textContent = message || '';
  error.hidden = !message;
  $('#login-password').value = '';
  $(api.currentUser() ? '#login-password' : '#login-username').focus();
}

async function showPage(event) {
  if (!api.loggedIn()) {
    showLogin();
    return;
  }
  loginSection.hidden = true;
  shell.hidden = false;
  $('#topbar-user').textContent = api.currentUser() || '';
  const name = routeName();
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  const label = PAGES.find(([n]) => n === name)[1];
  document.title = `${label} · emqttd dashboard`;
  unmountCurrent();
  const token = current.token;
  view.dataset.page = name;
  render(view, html`<h1>${label}</h1><p class="muted">Loading…</p>`);
  let page;
  try {
    page = await import(`./pages/${name}.js`);
  } catch (e) {
    render(view, html`<h1>${label}</h1><p class="error" role="alert">This page failed to load: ${e.message}</p>`);
    return;
  }
  if (token !== current.token) return; // another navigation won
  render(view, html`<h1>${label}</h1><div data-role="page"></div>`);
  current.name = name;
  current.unmount = page.mount($('[data-role="page"]', view)) || null;
  // After a navigation, keyboard and screen-reader users start at the new page.
  if (event && event.type === 'hashchange') view.focus({ preventScroll: true });
}

async function loadNodeName() {
  try {
    const nodes = await api.get('/management/nodes');
    const node = Array.isArray(nodes) ? nodes[0] : null;
    $('#topbar-node').textContent = node ? `${node.name} · ${node.version}` : '';
  } catch {
    $('#topbar-node').textContent = '';
  }
}

async function onLogin(event) {
  event.preventDefault();
  const username = $('#login-username').value.trim();
  const password = $('#login-password').value;
  const button = $('#login-form button[type="submit"]');
  button.disabled = true;
  try {
    if (!(await api.checkLogin(username, password))) {
      showLogin('Wrong username or password.');
      return;
    }
    api.storeCredentials(username, password);
    await showPage();
    loadNodeName();
  } catch (e) {
    showLogin(`Login failed: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

function onLogout() {
  api.clearCredentials();
  $('#topbar-node').textContent = '';
  showLogin();
}

function boot() {
  render($('#nav'), PAGES.map(([name, label]) => html`<li><a href="#/${name}" data-page="${name}">${label}</a></li>`));
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout').addEventListener('click', onLogout);
  api.setUnauthorizedHandler(() => showLogin('Your session has expired; please log in again.'));
  window.addEventListener('hashchange', showPage);
  showPage();
  if (api.loggedIn()) loadNodeName();
}

boot();
