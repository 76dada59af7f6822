// DOM helpers: HTML escaping, the escaping `html` template tag, and value formatting.

/** Escapes text for use in HTML element content and quoted attribute values. */
export function escapeHtml(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Markup that `html` inserts as it is (already escaped or static). */
class Raw {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

/** Marks trusted, already-escaped markup. Never pass server-provided strings to it. */
export function raw(text) {
  return new Raw(String(text));
}

function part(value) {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

/**
 * Template tag: every interpolated value is escaped unless it is `raw(...)` or the result of
 * another `html` template; arrays are joined. Returns a `Raw`, so templates nest.
 */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => { out += part(value) + strings[i + 1]; });
  return new Raw(out);
}

/** Replaces the children of `el` with the markup of an `html` template. */
export function render(el, template) {
  el.innerHTML = part(template);
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function formatNumber(n) {
  const v = Number(n);
  return Number.isFinite(v) ? v.toLocaleString('en-US') : '—';
}

export function formatRate(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) return '—';
  return `${v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)}/s`;
}

/** Unix seconds → "2026-11-26 08:30:00" in local time. */
export function formatTime(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return '—';
  const d = new Date(s * 1000);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatDuration(seconds) {
  let s = Math.max(0, Math.floor(Number(seconds) || 0));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return [d && `${d}d`, (d || h) && `${h}h`, (d || h || m) && `${m}m`, `${s}s`].filter(Boolean).join(' ');
}

/** Calls `fn` once `ms` after the last of a burst of calls. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
