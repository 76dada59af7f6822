// Admins page: dashboard users — list, add, delete, change password.

import { get, post, put, del, seg, currentUser, storeCredentials } from '../api.js';
import { html, render, $ } from '../dom.js';

export function mount(root) {
  render(root, html`
    <p class="status-msg" role="status" data-role="status"></p>
    <div class="table-wrap">
      <table aria-label="Admin users">
        <thead><tr><th scope="col">Username</th><th scope="col">Tags</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody data-role="rows"></tbody>
      </table>
    </div>

    <h2 id="add-title">Add an admin</h2>
    <form class="card form-grid" data-role="add" aria-labelledby="add-title">
      <div class="field"><label for="add-username">Username</label>
        <input id="add-username" name="username" required autocomplete="off"></div>
      <div class="field"><label for="add-password">Password</label>
        <input id="add-password" name="password" type="password" required autocomplete="new-password"></div>
      <div class="field"><label for="add-tags">Tags</label>
        <input id="add-tags" name="tags" autocomplete="off" value="administrator"></div>
      <button type="submit" class="primary">Add</button>
    </form>

    <h2 id="pwd-title">Change a password</h2>
    <form class="card form-grid" data-role="pwd" aria-labelledby="pwd-title">
      <div class="field"><label for="pwd-username">Username</label>
        <select id="pwd-username" name="username" required></select></div>
      <div class="field"><label for="pwd-old">Current password</label>
        <input id="pwd-old" name="old_pwd" type="password" required autocomplete="current-password"></div>
      <div class="field"><label for="pwd-new">New password</label>
        <input id="pwd-new" name="new_pwd" type="password" required autocomplete="new-password"></div>
      <button type="submit" class="primary">Change password</button>
    </form>`);

  const tbody = $('[data-role="rows"]', root);
  const status = $('[data-role="status"]', root);
  const select = $('#pwd-username', root);
  let users = [];
  let stopped = false;

  const say = (text, isError = false) => {
    status.textContent = text;
    status.className = `status-msg ${isError ? 'error' : 'ok'}`;
  };

  async function load() {
    try {
      const list = await get('/users');
      if (stopped) return;
      users = Array.isArray(list) ? list : [];
      render(tbody, users.map((u, i) => html`
        <tr data-username="${u.username}">
          <td>${u.username}${u.username === currentUser() ? html` <span class="badge">you</span>` : ''}</td>
          <td>${u.tags}</td>
          <td><button type="button" class="danger" data-index="${i}">Delete<span class="visually-hidden"> ${u.username}</span></button></td>
        </tr>`));
      const chosen = select.value || currentUser();
      render(select, users.map((u) => html`<option ${u.username === chosen ? html`selected` : ''}>${u.username}</option>`));
    } catch (e) {
      if (!stopped) say(`Could not load admins: ${e.message}`, true);
    }
  }

  tbody.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-index]');
    const u = button && users[Number(button.dataset.index)];
    if (!u || !window.confirm(`Delete the admin "${u.username}"?`)) return;
    button.disabled = true;
    try {
      await del(`/users/${seg(u.username)}`);
      say(`Deleted ${u.username}.`);
    } catch (err) {
      say(`Could not delete ${u.username}: ${err.message}`, true);
    }
    load();
  });

  $('[data-role="add"]', root).addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    const username = form.username.value.trim();
    try {
      await post('/users', { username, password: form.password.value, tags: form.tags.value.trim() });
      say(`Added ${username}.`);
      form.username.value = '';
      form.password.value = '';
    } catch (err) {
      say(`Could not add ${username}: ${err.message}`, true);
    }
    load();
  });

  $('[data-role="pwd"]', root).addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    const username = select.value;
    try {
      await put(`/change_pwd/${seg(username)}`, { old_pwd: form.old_pwd.value, new_pwd: form.new_pwd.value });
      // Changing one's own password: keep the session working with the new one.
      if (username === currentUser()) storeCredentials(username, form.new_pwd.value);
      say(`Password of ${username} changed.`);
      form.old_pwd.value = '';
      form.new_pwd.value = '';
    } catch (err) {
      say(`Could not change the password of ${username}: ${err.message}`, true);
    }
  });

  load();
  return () => { stopped = true; };
}
