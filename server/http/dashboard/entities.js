// Entity pages: the entities of one name (the API lists by name, as Durable
// Functions), and one entity's state with a "signal" action. Uses GET
// /entities/{name}, GET /entities/{name}/{key} and POST /entities/{name}/{key}?op=.
import * as api from "./api.js";
import { confirmAction } from "./dialog.js";
import { el, clear, fill, fmtTime, fmtAgo, ms, preview, prettyJson, hashUrl, toast } from "./util.js";

const entityHref = (name, key) =>
  `#/entity/${encodeURIComponent(name)}/${encodeURIComponent(key)}`;

/** {name, key} from DF's entityId object or a "@name@key" string. */
function entityIdOf(e) {
  const id = e.entityId ?? e.EntityId ?? e.id;
  if (id && typeof id === "object") return { name: id.name ?? id.Name, key: id.key ?? id.Key };
  const m = /^@([^@]*)@(.*)$/.exec(String(id ?? ""));
  return m ? { name: m[1], key: m[2] } : { name: String(e.name ?? ""), key: String(e.key ?? "") };
}

export function renderEntities(view, params) {
  const name = params.get("name") || "";
  const input = el("input#e-name", { type: "search", placeholder: "Entity name", value: name,
    required: true });
  const body = el("tbody");
  const more = el("button.btn.small#e-more", { type: "button", hidden: true }, "Load more");
  let alive = true;
  let continuation = null;
  fill(view,
    el("div.page-head", el("h1", "Entities")),
    el("section.card", el("form.filters", {
      onsubmit: (e) => {
        e.preventDefault();
        location.hash = hashUrl("/entities", { name: input.value.trim() });
      },
    }, el("label", el("span", "Name"), input),
    el("div.filter-buttons", el("button.btn.primary", { type: "submit" }, "Show")))),
    el("section.card.flush", el("table.list#entities",
      el("thead", el("tr", el("th", "Name"), el("th", "Key"), el("th", "Last operation"),
        el("th", "State"))), body), el("div.pager", el("div.spacer"), more)));

  async function load(first) {
    try {
      const res = await api.listEntities(name, { top: 100, continuation });
      if (!alive) return;
      if (first) clear(body);
      for (const e of res.entities) {
        const { name: n, key } = entityIdOf(e);
        const t = ms(e.lastOperationTime ?? e.lastModifiedTime);
        body.append(el("tr", el("td", n), el("td.id", el("a", { href: entityHref(n, key) }, key)),
          el("td", { title: fmtTime(t, { millis: true }) }, fmtAgo(t)),
          el("td", el("code", preview(e.state, 90)))));
      }
      if (first && !res.entities.length) {
        body.append(el("tr.empty", el("td", { colSpan: 4 }, "No entities.")));
      }
      continuation = res.continuation;
      more.hidden = !continuation;
    } catch (e) {
      if (!alive) return;
      fill(body, el("tr", el("td.error", { colSpan: 4 }, e.message)));
    }
  }
  more.addEventListener("click", () => load(false));
  if (name) load(true);
  else body.append(el("tr.empty", el("td", { colSpan: 4 }, "Enter an entity name to list its entities.")));
  return () => { alive = false; };
}

export function renderEntity(view, name, key) {
  let alive = true;
  const state = el("div#entity-state");
  const signal = el("button.btn.primary#signal", { type: "button" }, "Signal…");
  const refresh = el("button.btn#e-refresh", { type: "button" }, "Refresh");
  fill(view,
    el("nav.crumbs", el("a", { href: hashUrl("/entities", { name }) }, "Entities"), " / ",
      el("span", `${name} / ${key}`)),
    el("div.page-head", el("h1", el("span.id", key)), el("span.muted.name", name),
      el("div.spacer"), refresh, signal),
    el("section.card", el("h2", "State"), state));

  // Resolves to the state's text ("" when there is none).
  async function load() {
    try {
      const s = await api.getEntity(name, key);
      if (!alive) return "";
      const text = s === null ? "" : prettyJson(s);
      fill(state, s === null ? el("p.muted", "No such entity (or it has no state).")
        : el("pre#entity-json", text));
      return text;
    } catch (e) {
      if (alive) fill(state, el("p.error", e.message));
      return "";
    }
  }
  // A signal is one-way: refresh until the state changes (for up to ~10 s).
  async function refreshUntilChanged(before) {
    for (let i = 0; i < 20 && alive; i++) {
      await new Promise((r) => setTimeout(r, 500));
      if ((await load()) !== before) return;
    }
  }
  refresh.addEventListener("click", load);
  signal.addEventListener("click", () => confirmAction({
    title: "Signal the entity",
    text: `Send an operation to ${name}/${key}. Signals are one-way: the state changes once the entity has processed it.`,
    ok: "Signal",
    fields: [{ name: "op", label: "Operation", required: true },
      { name: "input", label: "Input (JSON, optional)", kind: "json" }],
    run: (v) => {
      if (!v.op) throw new Error("Operation: required");
      return api.signalEntity(name, key, v.op, v.input ?? null);
    },
  }).then((ok) => {
    if (ok) {
      toast("Signal sent");
      const pre = document.getElementById("entity-json");
      refreshUntilChanged(pre ? pre.textContent : "");
    }
  }));
  load();
  return () => { alive = false; };
}
