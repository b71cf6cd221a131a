"use strict";
// The dashboard in a real browser against a real taskhubd and a real JS worker:
// list, filter, page, open an instance (chart and timeline), see a failure,
// terminate from the page and see the status change. Screenshots go to
// build/test-artifacts/dashboard/. Any browser console error fails the test
// (except Chrome's "Failed to load resource" line for a status the API answers on
// purpose: 400 for a failed or terminated instance's status, as Durable Functions).

const assert = require("node:assert/strict");
const path = require("node:path");
const { describe, it, before, after } = require("node:test");
const { OrchestrationStatus, EntityInstanceId, TaskEntity } = require("@microsoft/durabletask-js");
const h = require("../helpers");

const P = h.uid("dash");
const ids = {
  chain: [`${P}-chain-1`, `${P}-chain-2`],
  sub: [`${P}-sub-1`, `${P}-sub-2`],
  wait: [`${P}-wait-1`, `${P}-wait-2`, `${P}-wait-3`],
  fail: `${P}-fail-1`,
};
const ALL = [...ids.chain, ...ids.sub, ...ids.wait, ids.fail];
const ENTITY = `dashcounter${P.replace(/[^a-z0-9]/gi, "")}`.toLowerCase();

class Counter extends TaskEntity {
  initializeState() {
    return 0;
  }
  add(n) {
    this.state += n;
    return this.state;
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function register(w) {
  w.addNamedActivity("DashStep", async (ctx, x) => {
    await sleep(120);
    return String(x).toUpperCase();
  });
  w.addNamedActivity("DashBoom", () => {
    throw new Error("boom: the disk is on fire");
  });
  w.addNamedOrchestrator("DashChild", async function* (ctx, n) {
    return yield ctx.callActivity("DashStep", `child-${n}`);
  });
  w.addNamedOrchestrator("DashChain", async function* (ctx, n) {
    const out = [];
    for (const x of ["a", "b", "c"]) out.push(yield ctx.callActivity("DashStep", x));
    yield ctx.createTimer(0.3);
    out.push(yield ctx.callSubOrchestrator("DashChild", n, { instanceId: `${P}-sub-${n}` }));
    return out;
  });
  w.addNamedOrchestrator("DashWait", async function* (ctx) {
    ctx.setCustomStatus({ waitingFor: "approve" });
    return yield ctx.waitForExternalEvent("approve");
  });
  w.addNamedOrchestrator("DashFail", async function* (ctx) {
    return yield ctx.callActivity("DashBoom", null);
  });
  w.addNamedEntity(ENTITY, () => new Counter());
}

async function entityState(client, key) {
  const m = await client.getEntity(new EntityInstanceId(ENTITY, key), true);
  return m && m.includesState ? m.state : undefined;
}

// The status route answers 400 for failed and terminated instances (DF's contract).
async function expectedStatus(res) {
  if (res.status() !== 400 || !/\/runtime\/webhooks\/durabletask\/instances\/[^/?]+\?/.test(res.url())) {
    return false;
  }
  try {
    const body = await res.json();
    return body.runtimeStatus === "Failed" || body.runtimeStatus === "Terminated";
  } catch {
    return false;
  }
}

describe("dashboard", { timeout: 110_000 }, () => {
  let stack;
  let worker;
  let client;
  let b; // {browser, page, errors, allowed}
  const failures = [];

  before(async () => {
    stack = await h.startTaskhubd();
    const address = stack.server.address;
    worker = await h.startWorker(address, register);
    client = h.makeClient(address);
    for (const [i, id] of ids.chain.entries()) await client.scheduleNewOrchestration("DashChain", i + 1, { instanceId: id });
    for (const id of ids.wait) await client.scheduleNewOrchestration("DashWait", null, { instanceId: id });
    await client.scheduleNewOrchestration("DashFail", null, { instanceId: ids.fail });
    for (const id of [...ids.chain, ids.fail]) {
      const s = await client.waitForOrchestrationCompletion(id, false, 45);
      assert.ok(s, `${id} finished`);
    }
    for (const id of ids.wait) await client.waitForOrchestrationStart(id, false, 20);
    await client.signalEntity(new EntityInstanceId(ENTITY, "k1"), "add", 5);
    await client.signalEntity(new EntityInstanceId(ENTITY, "k2"), "add", 7);
    for (const [key, want] of [["k1", 5], ["k2", 7]]) {
      const deadline = Date.now() + 20_000;
      while ((await entityState(client, key)) !== want) {
        assert.ok(Date.now() < deadline, `entity ${key} reached ${want}`);
        await sleep(50);
      }
    }
    b = await h.openBrowser({ allowStatus: expectedStatus });
    console.log(`prefix ${P}; dashboard ${stack.httpBase}; artifacts ${h.ARTIFACTS}`);
  });

  after(async () => {
    if (b) {
      if (failures.length) await h.screenshot(b.page, "failure").catch(() => {});
      await b.browser.close();
    }
    if (worker) await h.stopWorker(worker);
    if (client) await client.stop();
    if (stack) {
      if (failures.length) stack.server.dumpLog("a dashboard test failed");
      await stack.server.stop();
    }
  });

  // Records failures so `after` can keep a screenshot and the server log.
  const test = (name, fn) => it(name, async () => {
    try {
      await fn();
    } catch (e) {
      failures.push(name);
      throw e;
    }
  });

  const page = () => b.page;
  const go = async (hash) => {
    await page().goto(`${stack.httpBase}${hash}`, { waitUntil: "domcontentloaded" });
  };
  const rowIds = () => page().$$eval("#instances tbody tr[data-id]", (rows) => rows.map((r) => r.dataset.id));
  const waitRows = (pred, what) =>
    page().waitForFunction(pred, { timeout: 20_000, polling: 50 }).catch((e) => {
      throw new Error(`waiting for ${what}: ${e.message}`);
    });

  test("lists every instance with its status", async () => {
    await go(`#/instances?prefix=${encodeURIComponent(P)}`);
    await waitRows(() => document.querySelectorAll("#instances tbody tr[data-id]").length === 8, "8 rows");
    assert.deepEqual((await rowIds()).sort(), [...ALL].sort());
    const statuses = Object.fromEntries(await page().$$eval("#instances tbody tr[data-id]",
      (rows) => rows.map((r) => [r.dataset.id, r.querySelector(".pill").textContent])));
    for (const id of [...ids.chain, ...ids.sub]) assert.equal(statuses[id], "Completed", id);
    for (const id of ids.wait) assert.equal(statuses[id], "Running", id);
    assert.equal(statuses[ids.fail], "Failed");
    await h.screenshot(page(), "list");
  });

  test("filters by status chip, id prefix and name", async () => {
    await page().click('.chip[data-status="Running"]');
    await waitRows(() => {
      const rows = [...document.querySelectorAll("#instances tbody tr[data-id]")];
      return rows.length === 3 && rows.every((r) => r.dataset.status === "Running");
    }, "only the 3 running instances");
    assert.deepEqual((await rowIds()).sort(), [...ids.wait].sort());
    assert.match(await page().evaluate(() => location.hash), /status=Running/);

    // Typed filters: prefix of the chains, all statuses.
    await go("#/instances");
    await page().waitForSelector("#f-prefix");
    await page().type("#f-prefix", `${P}-chain`);
    await page().click("#apply");
    await waitRows(() => document.querySelectorAll("#instances tbody tr[data-id]").length === 2, "2 chains");
    assert.deepEqual((await rowIds()).sort(), [...ids.chain].sort());

    // Name filter (with the run's prefix, so other tests' instances do not count).
    await go(`#/instances?prefix=${encodeURIComponent(P)}&name=DashFail`);
    await waitRows(() => document.querySelectorAll("#instances tbody tr[data-id]").length === 1, "1 DashFail");
    assert.deepEqual(await rowIds(), [ids.fail]);

    // A created range in the future matches nothing.
    const future = new Date(Date.now() + 3600_000).toISOString();
    await go(`#/instances?prefix=${encodeURIComponent(P)}&from=${encodeURIComponent(future)}`);
    await waitRows(() => document.querySelector("#instances tbody tr.empty") !== null, "no rows");
  });

  test("pages through the list with the continuation token", async () => {
    await go(`#/instances?prefix=${encodeURIComponent(P)}&top=3`);
    const seen = [];
    for (const expected of [3, 3, 2]) {
      await waitRows(`document.querySelectorAll("#instances tbody tr[data-id]").length === ${expected} &&
        !document.querySelector("main").classList.contains("loading")`, `a page of ${expected}`);
      const page_ = await rowIds();
      assert.ok(page_.every((id) => !seen.includes(id)), `page repeats an id: ${page_}`);
      seen.push(...page_);
      const nextDisabled = await page().$eval("#next", (n) => n.disabled);
      assert.equal(nextDisabled, seen.length === ALL.length, "Next enabled exactly while there is more");
      if (!nextDisabled) await page().click("#next");
    }
    assert.deepEqual(seen.sort(), [...ALL].sort());
    await page().click("#prev");
    await waitRows(() => document.querySelectorAll("#instances tbody tr[data-id]").length === 3 &&
      document.querySelector(".page-label").textContent === "Page 2", "back on page 2");
  });

  test("opens an instance: status, output, Gantt chart and timeline", async () => {
    await go(`#/instances?prefix=${encodeURIComponent(ids.chain[0])}`);
    await page().waitForSelector(`#instances tr[data-id="${ids.chain[0]}"] a`);
    await page().click(`#instances tr[data-id="${ids.chain[0]}"] a`);
    await page().waitForFunction(() => document.querySelector("#status")?.textContent === "Completed",
      { timeout: 20_000 });
    assert.equal(await page().evaluate(() => location.hash), `#/instance/${encodeURIComponent(ids.chain[0])}`);
    const output = await page().$eval('pre[data-field="output"]', (n) => JSON.parse(n.textContent));
    assert.deepEqual(output, ["A", "B", "C", "CHILD-1"]);

    // The chart: the orchestration, 3 activities, 1 timer, 1 sub-orchestration, each a bar
    // with a duration label; bars in order of start.
    const rows = await page().$$eval("svg.gantt g.row", (gs) => gs.map((g) => ({
      kind: g.dataset.kind,
      label: g.querySelector("text.label").textContent,
      x: Number(g.querySelector("rect.bar").getAttribute("x")),
      w: Number(g.querySelector("rect.bar").getAttribute("width")),
      dur: g.querySelector("text.dur").textContent,
    })));
    assert.deepEqual(rows.map((r) => r.kind),
      ["orchestration", "activity", "activity", "activity", "timer", "suborchestration"]);
    assert.ok(rows[1].label.includes("DashStep") && rows[5].label.includes("DashChild"), JSON.stringify(rows));
    for (const r of rows) {
      assert.ok(r.w > 0 && r.dur.length > 0, `bar ${JSON.stringify(r)}`);
      assert.match(r.dur, /\d+(\.\d+)? (ms|s)$/, `a duration: ${r.dur}`);
    }
    for (let i = 2; i < rows.length; i++) assert.ok(rows[i].x >= rows[i - 1].x, "bars start in order");
    // The timer waited ~0.3 s: its bar is the widest of the children.
    assert.ok(rows[4].w > rows[1].w, "timer bar wider than an activity bar");

    // The timeline: every completion, the timer and the sub-orchestration, with offsets.
    const types = await page().$$eval("ol.timeline li.ev", (lis) => lis.map((li) => li.dataset.type));
    assert.equal(types[0], "ExecutionStarted");
    assert.equal(types.filter((t) => t === "TaskCompleted").length, 3, types.join());
    assert.ok(types.includes("TimerFired") && types.includes("SubOrchestrationInstanceCompleted"), types.join());
    assert.equal(types.at(-1), "ExecutionCompleted");
    const offsets = await page().$$eval("ol.timeline .ev-off", (s) => s.map((n) => n.textContent));
    assert.ok(offsets.every((o) => /^\+/.test(o)), offsets.join());
    await h.screenshot(page(), "instance");
    if (process.env.TASKHUB_DOCS_SCREENSHOT) {
      await page().screenshot({ path: path.join(h.REPO_ROOT, "docs", "dashboard.png") });
    }
  });

  test("a failed instance shows its failure", async () => {
    await go(`#/instance/${encodeURIComponent(ids.fail)}`);
    await page().waitForFunction(() => document.querySelector("#status")?.textContent === "Failed",
      { timeout: 20_000 });
    const failure = await page().$eval(".value.failure pre", (n) => n.textContent);
    assert.match(failure, /boom: the disk is on fire/);
    const bars = await page().$$eval("svg.gantt g.row.s-failed", (gs) => gs.map((g) => g.dataset.kind));
    assert.ok(bars.includes("activity"), `a failed activity bar: ${bars}`);
    const actions = await page().$$eval("#actions button", (bs) => bs.map((x) => x.dataset.action));
    assert.ok(actions.includes("rewind") && !actions.includes("terminate"), actions.join());
    await h.screenshot(page(), "failed");
  });

  test("terminates a running instance from the page and shows the change", async () => {
    const id = ids.wait[0];
    await go(`#/instance/${encodeURIComponent(id)}`);
    await page().waitForFunction(() => document.querySelector("#status")?.textContent === "Running" &&
      !document.querySelector("#live").hidden, { timeout: 20_000 });
    const custom = await page().$eval('pre[data-field="custom status"]', (n) => JSON.parse(n.textContent));
    assert.deepEqual(custom, { waitingFor: "approve" });

    // Cancel first: nothing happens.
    await page().click('#actions button[data-action="terminate"]');
    await page().waitForSelector("dialog#confirm[open]");
    await page().click("#confirm-cancel");
    await page().waitForSelector("dialog#confirm:not([open])");
    let state = await client.getOrchestrationState(id, false);
    assert.equal(state.runtimeStatus, OrchestrationStatus.RUNNING, "cancel did not terminate");

    await page().click('#actions button[data-action="terminate"]');
    await page().waitForSelector("dialog#confirm[open]");
    await page().type('#confirm-fields input[name="reason"]', "stopped from the dashboard test");
    await h.screenshot(page(), "terminate-dialog");
    await page().click("#confirm-ok");
    // The page refreshes itself while the instance runs: the new status appears.
    await page().waitForFunction(() => document.querySelector("#status")?.textContent === "Terminated",
      { timeout: 20_000 });
    assert.equal(await page().$eval("#live", (n) => n.hidden), true, "live refresh stops");
    state = await client.getOrchestrationState(id, false);
    assert.equal(state.runtimeStatus, OrchestrationStatus.TERMINATED, "terminated in the server");
    const types = await page().$$eval("ol.timeline li.ev", (lis) => lis.map((li) => li.dataset.type));
    assert.ok(types.includes("ExecutionTerminated"), types.join());
    await h.screenshot(page(), "terminated");

    // The list agrees.
    await go(`#/instances?prefix=${encodeURIComponent(P)}&status=Terminated`);
    await waitRows(() => document.querySelectorAll("#instances tbody tr[data-id]").length === 1, "1 terminated");
    assert.deepEqual(await rowIds(), [id]);
  });

  test("live refresh: an instance finishing elsewhere updates the open page", async () => {
    const id = ids.wait[1];
    await go(`#/instance/${encodeURIComponent(id)}`);
    await page().waitForFunction(() => document.querySelector("#status")?.textContent === "Running",
      { timeout: 20_000 });
    await client.raiseOrchestrationEvent(id, "approve", { approvedBy: "someone else" });
    // No click, no reload: the page's own refresh shows the new status, output and history.
    await page().waitForFunction(() => document.querySelector("#status")?.textContent === "Completed",
      { timeout: 20_000 });
    const output = await page().$eval('pre[data-field="output"]', (n) => JSON.parse(n.textContent));
    assert.deepEqual(output, { approvedBy: "someone else" });
    const types = await page().$$eval("ol.timeline li.ev", (lis) => lis.map((li) => li.dataset.type));
    assert.ok(types.includes("EventRaised"), types.join());
  });

  test("suspend, resume, raise an event and purge from the page", async () => {
    const id = ids.wait[2];
    const status = (want) => page().waitForFunction((w) => document.querySelector("#status")?.textContent === w,
      { timeout: 20_000 }, want);
    const act = async (action, fill = async () => {}) => {
      await page().click(`#actions button[data-action="${action}"]`);
      await page().waitForSelector("dialog#confirm[open]");
      await fill();
      await page().click("#confirm-ok");
      await page().waitForSelector("dialog#confirm:not([open])");
    };
    await go(`#/instance/${encodeURIComponent(id)}`);
    await status("Running");
    await act("suspend");
    await status("Suspended");
    assert.equal((await client.getOrchestrationState(id, false)).runtimeStatus, OrchestrationStatus.SUSPENDED);
    await act("resume");
    await status("Running");
    // Bad JSON stays in the dialog with an error; nothing is sent.
    const raised = [];
    const onRequest = (r) => { if (r.url().includes("/raiseEvent/")) raised.push(r.postData()); };
    page().on("request", onRequest);
    await page().click('#actions button[data-action="raise"]');
    await page().waitForSelector("dialog#confirm[open]");
    await page().type('#confirm-fields input[name="event"]', "approve");
    await page().type('#confirm-fields textarea[name="data"]', "{not json");
    await page().click("#confirm-ok");
    await page().waitForSelector("#confirm-error:not([hidden])");
    assert.match(await page().$eval("#confirm-error", (n) => n.textContent), /Data \(JSON, optional\): not valid JSON/);
    assert.deepEqual(raised, [], "no request with bad JSON");
    await page().$eval('#confirm-fields textarea[name="data"]', (n) => { n.value = ""; });
    await page().type('#confirm-fields textarea[name="data"]', '{"approved": true}');
    await page().click("#confirm-ok");
    await status("Completed");
    page().off("request", onRequest);
    assert.deepEqual(raised, ['{"approved":true}']);
    assert.deepEqual(await page().$eval('pre[data-field="output"]', (n) => JSON.parse(n.textContent)),
      { approved: true });
    await act("purge");
    await page().waitForFunction(() => location.hash === "#/instances", { timeout: 20_000 });
    assert.equal(await client.getOrchestrationState(id, false), undefined, "purged in the server");
  });

  test("lists entities, shows one and signals it from the page", async () => {
    await go("#/entities");
    await page().waitForSelector("#e-name");
    await page().type("#e-name", ENTITY);
    await page().keyboard.press("Enter");
    await page().waitForFunction(() => document.querySelectorAll("#entities tbody tr td.id a").length === 2,
      { timeout: 20_000 });
    const rows = await page().$$eval("#entities tbody tr", (trs) => trs.map((tr) =>
      [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    const byKey = Object.fromEntries(rows.map((r) => [r[1], r]));
    assert.equal(byKey.k1[0], ENTITY);
    assert.equal(byKey.k1[3], "5");
    assert.equal(byKey.k2[3], "7");

    await page().click('#entities a[href$="/k1"]');
    await page().waitForFunction(() => document.querySelector("#entity-json")?.textContent === "5",
      { timeout: 20_000 });
    await page().click("#signal");
    await page().waitForSelector("dialog#confirm[open]");
    await page().type('#confirm-fields input[name="op"]', "add");
    await page().type('#confirm-fields textarea[name="input"]', "10");
    await page().click("#confirm-ok");
    await page().waitForFunction(() => document.querySelector("#entity-json")?.textContent === "15",
      { timeout: 20_000 });
    assert.equal(await entityState(client, "k1"), 15);
    await h.screenshot(page(), "entity");
  });

  test("no console errors, page errors or unexpected HTTP errors in the browser", () => {
    h.assertNoBrowserErrors(b);
  });
});
