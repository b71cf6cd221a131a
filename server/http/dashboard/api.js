// The Durable Functions HTTP API under /runtime/webhooks/durabletask, the only
// server interface the dashboard uses. With a token set (the header's field,
// kept in this tab's sessionStorage) every request carries Authorization: Bearer.

const BASE = new URL("runtime/webhooks/durabletask/", document.baseURI);
const TOKEN_KEY = "taskhub.token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

const listeners = new Set();
/** f(status) is called on every 401/403, so the page can ask for a token. */
export function onAuthError(f) {
  listeners.add(f);
}

function url(path, params = {}) {
  const u = new URL(path, BASE);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u;
}

const seg = (s) => encodeURIComponent(s);

/**
 * One request. Resolves to {status, headers, body} for 2xx and for the status codes
 * in `accept` (e.g. the 400 of a failed instance's status); else throws ApiError
 * with the server's {"error": ...} message.
 */
async function request(method, path, { params, body, headers = {}, accept = [] } = {}) {
  const h = { Accept: "application/json", ...headers };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  let payload;
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url(path, params), { method, headers: h, body: payload, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, `cannot reach the server (${e.message})`);
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (res.ok || accept.includes(res.status)) {
    return { status: res.status, headers: res.headers, body: json ?? text };
  }
  if (res.status === 401 || res.status === 403) for (const f of listeners) f(res.status);
  const message = (json && (json.error || json.message || json.Message)) || text || res.statusText;
  throw new ApiError(res.status, `${res.status}: ${message}`);
}

/**
 * A page of instances. filter: {runtimeStatus: [..], instanceIdPrefix, createdTimeFrom,
 * createdTimeTo (ISO), top, continuation}. Resolves to {instances, continuation}.
 */
export async function listInstances(filter) {
  const params = {
    top: filter.top,
    instanceIdPrefix: filter.instanceIdPrefix,
    createdTimeFrom: filter.createdTimeFrom,
    createdTimeTo: filter.createdTimeTo,
    runtimeStatus: (filter.runtimeStatus || []).join(","),
    showInput: filter.showInput ? "true" : undefined,
  };
  const headers = filter.continuation ? { "x-ms-continuation-token": filter.continuation } : {};
  const r = await request("GET", "instances", { params, headers });
  const next = r.headers.get("x-ms-continuation-token");
  return {
    instances: Array.isArray(r.body) ? r.body : [],
    continuation: next && next !== "null" ? next : null,
  };
}

/**
 * The status object with input and output (and the history with its outputs when
 * `history`); null when unknown (404).
 */
export async function getInstance(id, { history = true } = {}) {
  try {
    const r = await request("GET", `instances/${seg(id)}`, {
      params: history ? { showHistory: "true", showHistoryOutput: "true", showInput: "true" }
        : { showInput: "true" },
      accept: [202, 400, 500],
    });
    return r.body;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

export function raiseEvent(id, event, data) {
  return request("POST", `instances/${seg(id)}/raiseEvent/${seg(event)}`, { body: data });
}

/** op: terminate | suspend | resume | rewind; with an optional reason. */
export function instanceCommand(id, op, reason) {
  return request("POST", `instances/${seg(id)}/${op}`, { params: { reason } });
}

export function restart(id, newInstanceId) {
  return request("POST", `instances/${seg(id)}/restart`, {
    params: { restartWithNewInstanceId: newInstanceId ? "true" : "false" },
  });
}

export function purge(id) {
  return request("DELETE", `instances/${seg(id)}`);
}

/** Entities of one name (or of every name when `name` is empty). */
export async function listEntities(name, { top, continuation } = {}) {
  const headers = continuation ? { "x-ms-continuation-token": continuation } : {};
  const r = await request("GET", name ? `entities/${seg(name)}` : "entities", {
    params: { top, fetchState: "true" },
    headers,
  });
  const next = r.headers.get("x-ms-continuation-token");
  return {
    entities: Array.isArray(r.body) ? r.body : (r.body && r.body.entities) || [],
    continuation: next && next !== "null" ? next : null,
  };
}

/** An entity's state; null when it does not exist (404). */
export async function getEntity(name, key) {
  try {
    const r = await request("GET", `entities/${seg(name)}/${seg(key)}`);
    return r.body;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

export function signalEntity(name, key, op, input) {
  return request("POST", `entities/${seg(name)}/${seg(key)}`, { params: { op }, body: input });
}
