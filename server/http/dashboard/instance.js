// The instance page: status and timestamps, input / output / custom status /
// failure, the Gantt chart and the history timeline, and the actions (each behind a
// confirmation). While the instance is active the page refreshes itself.
import * as api from "./api.js";
import { confirmAction } from "./dialog.js";
import { buildModel, renderTimeline } from "./history.js";
import { renderGantt, summarize } from "./gantt.js";
import { el, clear, fill, fmtTime, fmtDuration, ms, statusPill, prettyJson, ACTIVE_STATUSES, toast }
  from "./util.js";

const REFRESH_MS = 1500;
const FULL_EVERY = 6;

function valueBlock(title, v, cls = "") {
  const empty = v === undefined || v === null || v === "";
  return el(`div.value${cls}`, el("h3", title),
    empty ? el("p.muted", "none") : el("pre", { "data-field": title.toLowerCase() }, prettyJson(v)));
}

/** What a refresh compares to decide whether the history must be fetched again. */
function keyOf(status) {
  return `${status.runtimeStatus}|${status.lastUpdatedTime}|${JSON.stringify(status.customStatus ?? null)}`;
}

function failureOf(status) {
  const fd = status.failureDetails ?? status.FailureDetails;
  if (fd) return fd;
  if (status.runtimeStatus === "Failed") return status.output;
  return undefined;
}

/** The actions that apply to an instance in `st`. */
function actionsFor(st) {
  const active = st === "Running" || st === "Pending";
  return {
    raise: active || st === "Suspended",
    suspend: active,
    resume: st === "Suspended",
    terminate: active || st === "Suspended",
    rewind: st === "Failed",
    restart: !active && st !== "Suspended",
    purge: !active && st !== "Suspended",
  };
}

export function renderInstance(view, id) {
  let alive = true;
  let timer = null;
  let lastKey = null;
  const head = el("div.page-head");
  const actions = el("div.actions#actions");
  const facts = el("dl.facts");
  const values = el("div.values");
  const chart = el("div#chart");
  const chartSummary = el("span.muted#chart-summary");
  const timeline = el("div#timeline");
  const liveNote = el("span.live-dot#live", { hidden: true, title: "refreshing while the instance runs" },
    "live");
  fill(view,
    el("nav.crumbs", el("a", { href: "#/instances" }, "Instances"), " / ", el("span", id)),
    head,
    el("section.card", el("div.row-between", facts, actions)),
    el("section.card", values),
    el("section.card", el("div.row-between", el("h2", "Chart"), chartSummary), chart,
      el("div.legend", ["orchestration", "activity", "timer", "suborchestration", "failed"].map((k) =>
        el(`span.lg.k-${k}`, k === "suborchestration" ? "sub-orchestration" : k)))),
    el("section.card", el("h2", "History"), timeline));

  // While the instance runs, a refresh first asks for the status without history;
  // a change (status, last update, custom status) fetches the history again, and so
  // does every FULL_EVERY-th refresh (lastUpdatedTime has whole seconds: two
  // updates within one second look the same).
  let model = null;
  let light = 0;
  async function load() {
    let status;
    try {
      const full = lastKey === null || ++light % FULL_EVERY === 0;
      status = await api.getInstance(id, { history: full });
      if (status && !full && keyOf(status) !== lastKey) {
        status = await api.getInstance(id, { history: true });
        light = 0;
      }
    } catch (e) {
      if (!alive) return;
      fill(head, el("h1", id), el("p.error", e.message));
      schedule(true);
      return;
    }
    if (!alive) return;
    if (status === null) {
      fill(head, el("h1", id), el("p.muted#not-found", "No such instance (it may have been purged)."));
      clear(facts);
      clear(actions);
      return;
    }
    const st = status.runtimeStatus;
    const active = ACTIVE_STATUSES.has(st);
    const key = keyOf(status);
    const now = Date.now();
    const created = ms(status.createdTime);
    const updated = ms(status.lastUpdatedTime);
    fill(head, el("h1", el("span.id", status.instanceId || id)),
      statusPill(st), el("span.muted.name", status.name || ""), liveNote);
    liveNote.hidden = !active;
    const grew = status.historyEvents && model && status.historyEvents.length !== model.events.length;
    if (key !== lastKey || model === null || grew) {
      lastKey = key;
      renderActions(st);
      const failure = failureOf(status);
      fill(values,
        valueBlock("Input", status.input),
        valueBlock("Output", st === "Failed" ? undefined : status.output),
        valueBlock("Custom status", status.customStatus),
        failure !== undefined ? valueBlock("Failure", failure, ".failure") : null);
      model = buildModel(status);
      fill(chart, renderGantt(model, active ? now : updated ?? now));
      chartSummary.textContent = summarize(model);
      fill(timeline, renderTimeline(model));
    } else if (active) {
      // Open bars grow with time even when nothing new happened.
      fill(chart, renderGantt(model, now));
    }
    // createdTime / lastUpdatedTime have whole seconds (as in Durable Functions): the
    // history's first and last events give the duration to the millisecond.
    const orch = model.spans.find((x) => x.kind === "orchestration" && x.start !== null);
    const dur = orch ? (orch.end ?? now) - orch.start
      : created === null ? null : (active ? now : updated ?? now) - created;
    fill(facts,
      el("dt", "Name"), el("dd", status.name || ""),
      el("dt", "Status"), el("dd#status", st || ""),
      el("dt", "Created"), el("dd", fmtTime(status.createdTime)),
      el("dt", "Last update"), el("dd", fmtTime(status.lastUpdatedTime)),
      el("dt", "Duration"), el("dd#duration", dur === null ? "" : fmtDuration(dur) + (active ? " so far" : "")));
    schedule(active);
  }

  function schedule(again) {
    clearTimeout(timer);
    if (alive && again) {
      timer = setTimeout(() => (document.hidden ? schedule(true) : load()), REFRESH_MS);
    }
  }

  const after = (verb) => async () => {
    toast(`${verb}: request accepted`);
    lastKey = null;
    await load();
  };

  function renderActions(st) {
    const can = actionsFor(st);
    const btn = (key, label, cls, onclick) =>
      can[key] ? el(`button.btn${cls}`, { type: "button", "data-action": key, onclick }, label) : null;
    fill(actions,
      btn("raise", "Raise event", "", () => confirmAction({
        title: "Raise an event",
        text: `Send an external event to ${id}.`,
        ok: "Raise event",
        fields: [{ name: "event", label: "Event name", required: true },
          { name: "data", label: "Data (JSON, optional)", kind: "json", placeholder: "{\"approved\": true}" }],
        run: (v) => {
          if (!v.event) throw new Error("Event name: required");
          return api.raiseEvent(id, v.event, v.data ?? null);
        },
      }).then((ok) => ok && after("Event raised")())),
      btn("suspend", "Suspend", "", () => reasonAction("suspend", "Suspend", false)),
      btn("resume", "Resume", "", () => reasonAction("resume", "Resume", false)),
      btn("rewind", "Rewind", "", () => reasonAction("rewind", "Rewind", false)),
      btn("restart", "Restart", "", () => confirmAction({
        title: "Restart the instance",
        text: `Start ${id} again from the beginning with its original input.`,
        ok: "Restart",
        fields: [{ name: "fresh", label: "With a new instance id", kind: "checkbox" }],
        run: async (v) => {
          const r = await api.restart(id, v.fresh);
          const newId = r.body && (r.body.id || r.body.instanceId);
          if (v.fresh && newId && newId !== id) location.hash = `#/instance/${encodeURIComponent(newId)}`;
        },
      }).then((ok) => ok && after("Restarted")())),
      btn("terminate", "Terminate", ".danger", () => reasonAction("terminate", "Terminate", true)),
      btn("purge", "Purge", ".danger", () => confirmAction({
        title: "Purge the instance",
        text: `Delete ${id} and its whole history. This cannot be undone.`,
        ok: "Purge",
        danger: true,
        run: () => api.purge(id),
      }).then((ok) => {
        if (ok) {
          toast(`Purged ${id}`);
          location.hash = "#/instances";
        }
      })));
  }

  function reasonAction(op, label, danger) {
    return confirmAction({
      title: `${label} the instance`,
      text: `${label} ${id}?`,
      ok: label,
      danger,
      fields: [{ name: "reason", label: "Reason (optional)" }],
      run: (v) => api.instanceCommand(id, op, v.reason),
    }).then((ok) => ok && after(label)());
  }

  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

