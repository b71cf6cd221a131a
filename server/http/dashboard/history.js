// The instance history (Durable Functions' historyEvents) as a model: the events in
// order and the spans the chart draws (activities, timers, sub-orchestrations, the
// orchestration itself), plus the timeline view. Accepts both DF's merged form
// (TaskCompleted carries FunctionName and ScheduledTime; the TaskScheduled is
// dropped) and the raw form (TaskScheduled with EventId, TaskCompleted with
// TaskScheduledId), since both are plain Durable Task history.
import { el, ms, fmtTime, fmtDuration, preview, prettyJson } from "./util.js";

/** A field by its PascalCase name, or its camelCase twin. */
export function field(ev, name) {
  if (ev[name] !== undefined) return ev[name];
  const camel = name[0].toLowerCase() + name.slice(1);
  return ev[camel];
}

const typeOf = (ev) => String(field(ev, "EventType") ?? "");
const nameOf = (ev) => field(ev, "FunctionName") ?? field(ev, "Name") ?? "";

/**
 * spans: [{kind: "orchestration"|"activity"|"timer"|"suborchestration", name, start,
 * end (null = still open), state: "done"|"failed"|"open", detail}], markers: [{t, label}]
 * (events raised, suspensions). Times are epoch ms.
 */
export function buildModel(status) {
  const events = Array.isArray(status.historyEvents) ? status.historyEvents : [];
  const spans = [];
  const markers = [];
  const open = new Map(); // `${kind}:${eventId}` -> span
  const timersByFireAt = new Map();
  let orch = null;
  const openSpan = (kind, ev, extra = {}) => {
    const span = { kind, name: nameOf(ev), start: ms(field(ev, "Timestamp")), end: null,
      state: "open", ...extra };
    spans.push(span);
    const id = field(ev, "EventId");
    if (id !== undefined && id !== null && id >= 0) open.set(`${kind}:${id}`, span);
    return span;
  };
  const close = (kind, ev, failed, idField = "TaskScheduledId") => {
    const id = field(ev, idField);
    let span = id !== undefined ? open.get(`${kind}:${id}`) : undefined;
    if (span) open.delete(`${kind}:${id}`);
    else {
      const started = ms(field(ev, "ScheduledTime"));
      span = { kind, name: nameOf(ev), start: started ?? ms(field(ev, "Timestamp")), end: null };
      spans.push(span);
    }
    if (!span.name) span.name = nameOf(ev);
    span.end = ms(field(ev, "Timestamp"));
    span.state = failed ? "failed" : "done";
    span.result = failed ? failureText(ev) : field(ev, "Result");
    return span;
  };
  for (const ev of events) {
    const type = typeOf(ev);
    const t = ms(field(ev, "Timestamp"));
    switch (type) {
      case "ExecutionStarted":
        if (!orch) {
          orch = { kind: "orchestration", name: nameOf(ev) || status.name || "orchestration",
            start: t, end: null, state: "open" };
          spans.unshift(orch);
        }
        break;
      case "ExecutionCompleted":
      case "ExecutionTerminated":
      case "ContinueAsNew":
        if (orch) {
          orch.end = t;
          const st = String(field(ev, "OrchestrationStatus") ?? "");
          orch.state = type === "ExecutionTerminated" || /fail|terminat/i.test(st) ? "failed" : "done";
        }
        break;
      case "TaskScheduled":
        openSpan("activity", ev);
        break;
      case "TaskCompleted":
        close("activity", ev, false);
        break;
      case "TaskFailed":
        close("activity", ev, true);
        break;
      case "SubOrchestrationInstanceCreated":
        openSpan("suborchestration", ev, { instanceId: field(ev, "InstanceId") });
        break;
      case "SubOrchestrationInstanceCompleted":
        close("suborchestration", ev, false);
        break;
      case "SubOrchestrationInstanceFailed":
        close("suborchestration", ev, true);
        break;
      case "TimerCreated": {
        const span = openSpan("timer", ev, { fireAt: ms(field(ev, "FireAt")) });
        span.name = span.name || "timer";
        const key = String(field(ev, "FireAt"));
        if (!timersByFireAt.has(key)) timersByFireAt.set(key, []);
        timersByFireAt.get(key).push(span);
        break;
      }
      case "TimerFired": {
        const id = field(ev, "TimerId");
        let span = id !== undefined ? open.get(`timer:${id}`) : undefined;
        if (!span) span = (timersByFireAt.get(String(field(ev, "FireAt"))) || []).find((s) => s.end === null);
        if (!span) {
          span = { kind: "timer", name: "timer", start: t, fireAt: ms(field(ev, "FireAt")) };
          spans.push(span);
        }
        open.delete(`timer:${id}`);
        span.end = t;
        span.state = "done";
        break;
      }
      case "EventRaised":
        markers.push({ t, label: `event ${nameOf(ev)}` });
        break;
      case "ExecutionSuspended":
      case "ExecutionResumed":
        markers.push({ t, label: type.replace("Execution", "").toLowerCase() });
        break;
      default:
        break;
    }
  }
  if (!orch && spans.length === 0 && ms(status.createdTime)) {
    orch = { kind: "orchestration", name: status.name || "orchestration",
      start: ms(status.createdTime), end: null, state: "open" };
    spans.unshift(orch);
  }
  return { events, spans, markers };
}

function failureText(ev) {
  const fd = field(ev, "FailureDetails");
  if (fd && typeof fd === "object") {
    return `${field(fd, "ErrorType") ?? ""}: ${field(fd, "ErrorMessage") ?? ""}`.replace(/^: /, "");
  }
  return field(ev, "Reason") ?? field(ev, "Details") ?? "failed";
}

const KIND = {
  ExecutionStarted: ["start", "Started"],
  ExecutionCompleted: ["end", "Completed"],
  ExecutionTerminated: ["fail", "Terminated"],
  ExecutionSuspended: ["mark", "Suspended"],
  ExecutionResumed: ["mark", "Resumed"],
  ContinueAsNew: ["end", "Continued as new"],
  TaskScheduled: ["act", "Activity scheduled"],
  TaskCompleted: ["act", "Activity completed"],
  TaskFailed: ["fail", "Activity failed"],
  SubOrchestrationInstanceCreated: ["sub", "Sub-orchestration started"],
  SubOrchestrationInstanceCompleted: ["sub", "Sub-orchestration completed"],
  SubOrchestrationInstanceFailed: ["fail", "Sub-orchestration failed"],
  TimerCreated: ["timer", "Timer created"],
  TimerFired: ["timer", "Timer fired"],
  EventRaised: ["event", "Event raised"],
  EventSent: ["event", "Event sent"],
  GenericEvent: ["mark", "Event"],
};

/** The history as a vertical list: offset from the start, what happened, details. */
export function renderTimeline(model) {
  const { events } = model;
  if (!events.length) return el("p.muted", "No history yet.");
  const t0 = ms(field(events[0], "Timestamp"));
  const list = el("ol.timeline");
  for (const ev of events) {
    const type = typeOf(ev);
    if (type === "OrchestratorStarted" || type === "OrchestratorCompleted") continue;
    let [kind, label] = KIND[type] || ["mark", type];
    const endStatus = String(field(ev, "OrchestrationStatus") ?? "");
    if (type === "ExecutionCompleted" && endStatus && endStatus !== "Completed") {
      label = "Ended";
      if (/fail|terminat/i.test(endStatus)) kind = "fail";
    }
    const t = ms(field(ev, "Timestamp"));
    const name = nameOf(ev);
    const facts = [];
    const scheduled = ms(field(ev, "ScheduledTime"));
    if (scheduled !== null && t !== null) facts.push(`took ${fmtDuration(t - scheduled)}`);
    const fireAt = field(ev, "FireAt");
    if (fireAt) facts.push(`fires at ${fmtTime(fireAt, { millis: true })}`);
    const st = field(ev, "OrchestrationStatus");
    if (st) facts.push(String(st));
    const inst = field(ev, "InstanceId");
    const details = [];
    for (const key of ["Input", "Result", "Reason", "Details", "FailureDetails"]) {
      const v = field(ev, key);
      if (v === undefined || v === null || v === "") continue;
      details.push(el("details.val", el("summary", `${key}: `, el("code", preview(v, 100))),
        el("pre", prettyJson(v))));
    }
    list.append(el(`li.ev.k-${kind}`, { "data-type": type },
      el("span.ev-off", { title: fmtTime(t, { millis: true }) },
        t0 !== null && t !== null ? `+${fmtDuration(t - t0)}` : ""),
      el("span.ev-dot"),
      el("div.ev-body",
        el("div.ev-head", el("strong", label), name ? el("span.ev-name", name) : null,
          inst ? el("a.ev-link", { href: `#/instance/${encodeURIComponent(inst)}` }, inst) : null,
          facts.length ? el("span.muted", facts.join(" · ")) : null),
        details)));
  }
  return list;
}
