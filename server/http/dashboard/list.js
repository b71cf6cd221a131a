// The instance list: status chips, name / id-prefix / created-range filters (kept in
// the URL's hash, so a filtered view can be bookmarked), paging with the API's
// x-ms-continuation-token, and an optional live refresh.
import { listInstances } from "./api.js";
import { el, clear, fill, fmtTime, fmtAgo, fmtDuration, ms, statusPill, STATUSES, ACTIVE_STATUSES,
  hashUrl } from "./util.js";

const REFRESH_MS = 4000;

// datetime-local value (local time) <-> ISO (UTC).
const toIso = (local) => (local ? new Date(local).toISOString() : "");
const toLocal = (iso) => {
  const t = ms(iso);
  if (t === null) return "";
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
};

export function renderList(view, params) {
  const filter = {
    status: (params.get("status") || "").split(",").filter(Boolean),
    name: params.get("name") || "",
    prefix: params.get("prefix") || "",
    from: params.get("from") || "",
    to: params.get("to") || "",
    top: Number(params.get("top")) || 25,
    live: params.get("live") === "1",
  };
  const go = (changes) => {
    location.hash = hashUrl("/instances", {
      status: (changes.status ?? filter.status).join(","),
      name: changes.name ?? filter.name,
      prefix: changes.prefix ?? filter.prefix,
      from: changes.from ?? filter.from,
      to: changes.to ?? filter.to,
      top: (changes.top ?? filter.top) === 25 ? "" : (changes.top ?? filter.top),
      live: (changes.live ?? filter.live) ? "1" : "",
    });
  };

  const chips = el("div.chips", { role: "group", "aria-label": "Status filter" },
    el("button.chip", { type: "button", "data-status": "", "aria-pressed": String(!filter.status.length),
      onclick: () => go({ status: [] }) }, "All"),
    STATUSES.map((s) => el(`button.chip.st-${s.toLowerCase()}`, {
      type: "button", "data-status": s, "aria-pressed": String(filter.status.includes(s)),
      onclick: () => go({ status: filter.status.includes(s)
        ? filter.status.filter((x) => x !== s) : [...filter.status, s] }),
    }, s)));

  const f = {
    prefix: el("input#f-prefix", { type: "search", placeholder: "Instance id prefix", value: filter.prefix }),
    name: el("input#f-name", { type: "search", placeholder: "Orchestration name", value: filter.name }),
    from: el("input#f-from", { type: "datetime-local", value: toLocal(filter.from) }),
    to: el("input#f-to", { type: "datetime-local", value: toLocal(filter.to) }),
    top: el("select#f-top", {}, [10, 25, 50, 100, 500].map((n) =>
      el("option", { value: String(n), selected: n === filter.top }, `${n} per page`))),
    live: el("input#f-live", { type: "checkbox", checked: filter.live }),
  };
  const form = el("form.filters#filters", {
    onsubmit: (e) => {
      e.preventDefault();
      go({ prefix: f.prefix.value.trim(), name: f.name.value.trim(), from: toIso(f.from.value),
        to: toIso(f.to.value), top: Number(f.top.value) });
    },
  },
  el("label", el("span", "Id prefix"), f.prefix),
  el("label", el("span", "Name"), f.name),
  el("label", el("span", "Created from"), f.from),
  el("label", el("span", "to"), f.to),
  el("label", el("span", "Page"), f.top),
  el("div.filter-buttons",
    el("button.btn.primary#apply", { type: "submit" }, "Apply"),
    el("a.btn.ghost", { href: "#/instances" }, "Reset")));
  f.live.addEventListener("change", () => go({ live: f.live.checked }));

  const body = el("tbody");
  const info = el("span.muted#list-info");
  const prevBtn = el("button.btn.small#prev", { type: "button", disabled: true }, "← Previous");
  const nextBtn = el("button.btn.small#next", { type: "button", disabled: true }, "Next →");
  const pageLabel = el("span.page-label", "Page 1");
  const table = el("table.list#instances",
    el("thead", el("tr", el("th", "Instance"), el("th", "Name"), el("th", "Status"),
      el("th", "Created"), el("th", "Last update"), el("th.num", "Duration"))),
    body);

  fill(view,
    el("div.page-head", el("h1", "Instances"),
      el("label.live", f.live, el("span", "Live refresh"))),
    el("section.card", chips, form),
    el("section.card.flush", table,
      el("div.pager", info, el("div.spacer"), prevBtn, pageLabel, nextBtn)));

  // tokens[i] = continuation token of page i (page 0: none).
  const tokens = [null];
  let page = 0;
  let timer = null;
  let alive = true;
  let seq = 0;

  // The API has no name filter (as Durable Functions): with a name set, pages of the
  // other filters are read and matched here until a page's worth of matches is found
  // (at most MAX_SCAN requests per page shown).
  const MAX_SCAN = 20;
  const needle = filter.name.toLowerCase();
  const matches = (i) => !needle || String(i.name || "").toLowerCase().includes(needle);

  async function load({ quiet = false } = {}) {
    const mine = ++seq;
    if (!quiet) view.classList.add("loading");
    try {
      const rows = [];
      let token = tokens[page];
      let scanned = 0;
      let read = 0;
      do {
        const res = await listInstances({
          runtimeStatus: filter.status,
          instanceIdPrefix: filter.prefix,
          createdTimeFrom: filter.from,
          createdTimeTo: filter.to,
          top: needle ? Math.max(filter.top, 100) : filter.top,
          continuation: token,
        });
        if (!alive || mine !== seq) return;
        scanned++;
        read += res.instances.length;
        rows.push(...res.instances.filter(matches));
        token = res.continuation;
      } while (needle && rows.length < filter.top && token && scanned < MAX_SCAN);
      tokens.length = page + 1;
      if (token) tokens.push(token);
      showRows(rows);
      info.textContent = `${rows.length} instance${rows.length === 1 ? "" : "s"}` +
        (needle ? ` named like "${filter.name}" (of ${read} read)` : "");
      prevBtn.disabled = page === 0;
      nextBtn.disabled = !token;
      pageLabel.textContent = `Page ${page + 1}`;
    } catch (e) {
      if (!alive || mine !== seq) return;
      fill(body, el("tr", el("td.error", { colSpan: 6 }, e.message)));
      info.textContent = "";
    } finally {
      if (mine === seq) view.classList.remove("loading");
      schedule();
    }
  }

  function showRows(rows) {
    clear(body);
    const now = Date.now();
    for (const i of rows) {
      const created = ms(i.createdTime);
      const updated = ms(i.lastUpdatedTime);
      const active = ACTIVE_STATUSES.has(i.runtimeStatus);
      const dur = created === null ? null : (active ? now : updated ?? now) - created;
      const href = `#/instance/${encodeURIComponent(i.instanceId)}`;
      body.append(el("tr", { "data-id": i.instanceId, "data-status": i.runtimeStatus },
        el("td.id", el("a", { href }, i.instanceId)),
        el("td", i.name || ""),
        el("td", statusPill(i.runtimeStatus)),
        el("td", { title: fmtTime(i.createdTime) }, fmtAgo(created, now)),
        el("td", { title: fmtTime(i.lastUpdatedTime) }, fmtAgo(updated, now)),
        // Whole seconds (the API's precision).
        el("td.num", dur === null ? "" : dur < 1000 ? "< 1 s"
          : fmtDuration(dur, { coarse: true }) + (active ? "…" : ""))));
    }
    if (!rows.length) body.append(el("tr.empty", el("td", { colSpan: 6 }, "No instances match.")));
  }

  function schedule() {
    clearTimeout(timer);
    if (alive && filter.live) {
      timer = setTimeout(() => (document.hidden ? schedule() : load({ quiet: true })), REFRESH_MS);
    }
  }

  prevBtn.addEventListener("click", () => { if (page > 0) { page--; load(); } });
  nextBtn.addEventListener("click", () => { if (tokens[page + 1]) { page++; load(); } });
  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
