// The Gantt-style chart of an instance: one row per activity, timer and
// sub-orchestration (and the orchestration itself on top), a bar from start to end
// with its duration, open work drawn up to now, events as ticks on the axis.
import { svg, el, fmtDuration, fmtTime } from "./util.js";

const ROW = 22;
const LABEL_W = 210;
const WIDTH = 1000;
const AXIS_H = 24;
const MAX_ROWS = 300;

function niceStep(range, target = 8) {
  const raw = range / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

function truncate(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** `now`: where open spans end (the present while running, else the last update). */
export function renderGantt(model, now) {
  const spans = model.spans.filter((s) => s.start !== null);
  if (!spans.length) return el("p.muted", "Nothing to chart yet.");
  const shown = spans.slice(0, MAX_ROWS);
  const endOf = (s) => s.end ?? (s.kind === "timer" && s.fireAt ? Math.max(s.fireAt, now) : now);
  const t0 = Math.min(...shown.map((s) => s.start));
  const t1 = Math.max(t0 + 1, ...shown.map(endOf), ...model.markers.map((m) => m.t ?? t0));
  const range = t1 - t0;
  const plotW = WIDTH - LABEL_W - 90;
  const x = (t) => LABEL_W + ((t - t0) / range) * plotW;
  const height = AXIS_H + shown.length * ROW + 8;
  const root = svg("svg", { class: "gantt", viewBox: `0 0 ${WIDTH} ${height}`, width: "100%",
    role: "img", "aria-label": "Gantt chart of the instance's work" });
  const defs = svg("defs", {},
    svg("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)" }, svg("rect", { width: 3, height: 6, class: "hatch" })));
  root.append(defs);

  // Axis and grid.
  const step = niceStep(range);
  const axis = svg("g", { class: "axis" });
  for (let v = 0; v <= range + 1e-9; v += step) {
    const gx = x(t0 + v);
    axis.append(svg("line", { x1: gx, x2: gx, y1: AXIS_H - 4, y2: height, class: "grid" }));
    axis.append(svg("text", { x: gx, y: AXIS_H - 9, "text-anchor": "middle" }, fmtDuration(v)));
  }
  for (const m of model.markers) {
    if (m.t === null) continue;
    axis.append(svg("line", { x1: x(m.t), x2: x(m.t), y1: AXIS_H - 4, y2: height, class: "marker" },
      svg("title", {}, `${m.label} at ${fmtTime(m.t, { millis: true })}`)));
  }
  root.append(axis);

  shown.forEach((s, i) => {
    const y = AXIS_H + i * ROW;
    const end = endOf(s);
    const bx = x(s.start);
    const bw = Math.max(2, x(end) - bx);
    const dur = end - s.start;
    const label = s.kind === "orchestration" ? s.name : s.name || s.kind;
    const durText = s.end === null
      ? (s.kind === "timer" ? `waits ${fmtDuration(Math.max(0, end - s.start))}` : `${fmtDuration(dur)}…`)
      : fmtDuration(dur);
    const g = svg("g", { class: `row k-${s.kind} s-${s.state}`, "data-kind": s.kind },
      svg("title", {}, `${s.kind} ${label}\n${fmtTime(s.start, { millis: true })} → ` +
        `${s.end === null ? "(open)" : fmtTime(s.end, { millis: true })}\n${durText}`),
      i % 2 ? svg("rect", { x: 0, y, width: WIDTH, height: ROW, class: "stripe" }) : null,
      svg("rect", { x: 8, y: y + ROW / 2 - 4, width: 8, height: 8, rx: 2, class: "swatch" }),
      svg("text", { x: 22, y: y + ROW / 2 + 4, class: "label" }, truncate(label, 26)),
      svg("rect", { x: bx, y: y + 4, width: bw, height: ROW - 8, rx: 3, class: "bar" }),
      s.end === null ? svg("rect", { x: bx, y: y + 4, width: bw, height: ROW - 8, rx: 3,
        class: "open", fill: "url(#hatch)" }) : null,
      svg("text", { x: bx + bw + 5, y: y + ROW / 2 + 4, class: "dur" }, durText));
    root.append(g);
  });
  const wrap = el("div.gantt-wrap", root);
  if (spans.length > shown.length) {
    wrap.append(el("p.muted", `Showing the first ${shown.length} of ${spans.length} spans.`));
  }
  return wrap;
}

/** A one-line summary: "12 activities (3.2 s busy), 2 timers, 1 sub-orchestration". */
export function summarize(model) {
  const count = { activity: 0, timer: 0, suborchestration: 0 };
  let failed = 0;
  for (const s of model.spans) {
    if (s.kind in count) count[s.kind]++;
    if (s.state === "failed" && s.kind !== "orchestration") failed++;
  }
  const parts = [];
  const n = (k, one, many) => count[k] && parts.push(`${count[k]} ${count[k] === 1 ? one : many}`);
  n("activity", "activity", "activities");
  n("timer", "timer", "timers");
  n("suborchestration", "sub-orchestration", "sub-orchestrations");
  if (failed) parts.push(`${failed} failed`);
  return parts.join(", ");
}
