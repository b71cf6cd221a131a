// DOM and formatting helpers shared by the pages. No innerHTML with data: every
// value reaches the page as a text node or an attribute.

/** el("div.card#x", {attr: v, onclick: f}, child, "text", [more]) */
export function el(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const node = document.createElement(m[1] || "div");
  for (const part of m[2].match(/[.#][\w-]+/g) || []) {
    if (part[0] === ".") node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** Replaces the children of `node` (null / false / undefined children are skipped). */
export function fill(node, ...children) {
  return append(clear(node), children);
}

/** Milliseconds since the epoch from an ISO string (null when absent or invalid). */
export function ms(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) || t <= 0 ? null : t;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** "2026-11-30 21:14:05.123" in local time; "" when absent. */
export function fmtTime(iso, { millis = false } = {}) {
  const t = typeof iso === "number" ? iso : ms(iso);
  if (t === null) return "";
  const d = new Date(t);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

/** "3 min ago", "in 5 s". */
export function fmtAgo(iso, now = Date.now()) {
  const t = typeof iso === "number" ? iso : ms(iso);
  if (t === null) return "";
  const d = now - t;
  const s = fmtDuration(Math.abs(d), { coarse: true });
  return d >= 0 ? `${s} ago` : `in ${s}`;
}

/** 0.8 ms, 12 ms, 1.25 s, 3 min 4 s, 2 h 5 min, 3 d 4 h. */
export function fmtDuration(d, { coarse = false } = {}) {
  if (d === null || d === undefined || Number.isNaN(d)) return "";
  if (d === 0) return "0";
  if (d < 1) return coarse ? "0 s" : `${d.toFixed(1)} ms`;
  if (d < 1000) return coarse ? "<1 s" : `${Math.round(d)} ms`;
  const s = d / 1000;
  if (s < 60) return coarse ? `${Math.round(s)} s` : `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m - h * 60} min`;
  const days = Math.floor(h / 24);
  return `${days} d ${h - days * 24} h`;
}

export const STATUSES = ["Running", "Pending", "Suspended", "Completed", "Failed", "Terminated",
  "ContinuedAsNew", "Canceled"];

export const ACTIVE_STATUSES = new Set(["Running", "Pending", "Suspended", "ContinuedAsNew"]);

export function statusPill(status) {
  const s = status || "Unknown";
  return el(`span.pill.st-${s.toLowerCase()}`, { text: s, title: s });
}

/** A JSON value (already parsed) as indented text; strings that hold JSON are parsed first. */
export function prettyJson(v) {
  if (v === undefined) return "";
  if (typeof v === "string") {
    try {
      const inner = JSON.parse(v);
      if (inner !== null && typeof inner === "object") return JSON.stringify(inner, null, 2);
    } catch {
      // a plain string
    }
    return v;
  }
  return JSON.stringify(v, null, 2);
}

/** A short one-line preview of a value. */
export function preview(v, max = 80) {
  if (v === undefined || v === null) return "";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Builds "#/path?k=v" from a path and an object of params (empty values dropped). */
export function hashUrl(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const qs = q.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

let toastTimer = null;
export function toast(text, kind = "ok") {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.className = `toast ${kind}`;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
}
