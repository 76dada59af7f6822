// REST API v2 client: credentials in sessionStorage, Basic auth on every call, error envelope.

const PREFIX = '/api/v2';
const AUTH_KEY = 'emqttd.auth';
const USER_KEY = 'emqttd.user';

/** An API error: the HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Registers what happens when the server answers 401 (the app shows the login form). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** Base64 of UTF-8 text (btoa alone only takes Latin-1). */
function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  bytes.forEach((b) => { bin += String.fromCharCode(b); });
  return btoa(bin);
}

export function basicCredentials(username, password) {
  return base64Utf8(`${username}:${password}`);
}

export function currentUser() {
  return sessionStorage.getItem(USER_KEY);
}

export function loggedIn() {
  return sessionStorage.getItem(AUTH_KEY) !== null;
}

export function storeCredentials(username, password) {
  sessionStorage.setItem(AUTH_KEY, basicCredentials(username, password));
  sessionStorage.setItem(USER_KEY, username);
}

export function clearCredentials() {
  sessionStorage.removeItem(AUTH_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** Builds "?a=1&b=2" from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => {
    if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  });
  const s = search.toString();
  return s ? `?${s}` : '';
}

/** Percent-encodes one path segment (client ids and topics may contain '/', '#', '+', ' '). */
export function seg(value) {
  return encodeURIComponent(value);
}

/**
 * Calls `method path` under /api/v2 and returns the envelope's `result`. Throws ApiError on
 * a non-2xx answer or `code` != 0; on 401 also forgets the credentials and calls the handler.
 */
export async function request(method, path, body, { signal, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth) {
    const credentials = sessionStorage.getItem(AUTH_KEY);
    if (credentials) headers.Authorization = `Basic ${credentials}`;
  }
  // credentials 'omit': the Authorization header above is still sent, but a 401 carrying
  // `WWW-Authenticate: Basic` then never opens the browser's own login prompt.
  const init = { method, headers, signal, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(PREFIX + path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `cannot reach the broker (${e.message})`);
  }
  let json = null;
  const text = await response.text();
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (response.status === 401 && auth) {
    clearCredentials();
    onUnauthorized();
  }
  if (!response.ok || (json && json.code !== undefined && json.code !== 0)) {
    const message = (json && json.message) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return json ? json.result : null;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

/** POST /auth: checks the credentials without storing them; true when they are valid. */
export async function checkLogin(username, password) {
  try {
    await request('POST', '/auth', { username, password }, { auth: false });
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    throw e;
  }
}
