"use strict";
// Management APIs: query + paging, listInstanceIds, purge, restart, rewind,
// duplicate instance ids.

const assert = require("node:assert/strict");
const { PurgeInstanceCriteria, HistoryEventType } = require("@microsoft/durabletask-js");
const { setupFile, withWorker, waitDone, waitOutput, waitStatus, statusName, sleep, uid, OrchestrationStatus } =
  require("../helpers/dt");

const env = setupFile();

/** Registers an orchestrator that echoes its input, and one that waits forever. */
function echoAndWait(w, echo, wait) {
  w.addNamedOrchestrator(echo, async function* (ctx, x) {
    return { echo: x };
  });
  if (wait) {
    w.addNamedOrchestrator(wait, async function* (ctx) {
      return yield ctx.waitForExternalEvent("release");
    });
  }
}

async function collectPages(pageable, pageSize, maxPages = 50) {
  const pages = [];
  for await (const page of pageable.asPages(undefined, pageSize)) {
    pages.push(page);
    if (pages.length > maxPages) assert.fail(`paging did not terminate after ${maxPages} pages`);
  }
  return pages;
}

env.test("getAllInstances: filters by prefix, status and created time; pages with continuation tokens", async () => {
  const echo = uid("q-echo");
  const wait = uid("q-wait");
  const prefix = uid("qry");
  await withWorker(env.server.address, (w) => echoAndWait(w, echo, wait), async () => {
    const early = [];
    for (let i = 0; i < 4; i++) {
      early.push(await env.client.scheduleNewOrchestration(echo, i, { instanceId: `${prefix}-a${i}` }));
    }
    for (const id of early) await waitOutput(env.client, id);
    await sleep(50);
    const middle = new Date();
    await sleep(50);
    const late = [];
    for (let i = 0; i < 3; i++) {
      late.push(await env.client.scheduleNewOrchestration(echo, 10 + i, { instanceId: `${prefix}-b${i}` }));
    }
    for (const id of late) await waitOutput(env.client, id);
    const runningId = await env.client.scheduleNewOrchestration(wait, null, { instanceId: `${prefix}-r0` });
    await waitStatus(env.client, runningId, OrchestrationStatus.RUNNING);
    // Something that must never match the prefix.
    const otherId = await env.client.scheduleNewOrchestration(echo, -1, { instanceId: uid("other") });
    await waitOutput(env.client, otherId);

    const completed = [...early, ...late];

    // Status + prefix filter, page size 3 => 7 results over >= 3 pages.
    const pages = await collectPages(
      env.client.getAllInstances({ instanceIdPrefix: prefix, statuses: [OrchestrationStatus.COMPLETED], pageSize: 3 }),
      3,
    );
    const ids = pages.flatMap((p) => p.values.map((s) => s.instanceId));
    for (const p of pages) assert.ok(p.values.length <= 3, `page of ${p.values.length} exceeds pageSize 3`);
    assert.ok(pages.length >= 3, `expected at least 3 pages, got ${pages.length}`);
    assert.equal(new Set(ids).size, ids.length, `duplicate ids across pages: ${ids}`);
    assert.deepEqual([...ids].sort(), [...completed].sort());
    for (const p of pages) {
      for (const s of p.values) {
        assert.equal(s.runtimeStatus, OrchestrationStatus.COMPLETED);
        assert.equal(s.name, echo);
      }
    }

    // Item iteration over all statuses with the prefix includes the running one.
    const all = [];
    for await (const s of env.client.getAllInstances({ instanceIdPrefix: prefix, pageSize: 2 })) all.push(s);
    assert.deepEqual(all.map((s) => s.instanceId).sort(), [...completed, runningId].sort());

    // Status filter alone picks just the running instance.
    const running = [];
    for await (const s of env.client.getAllInstances({ instanceIdPrefix: prefix, statuses: [OrchestrationStatus.RUNNING] })) {
      running.push(s);
    }
    assert.deepEqual(running.map((s) => [s.instanceId, s.runtimeStatus]), [[runningId, OrchestrationStatus.RUNNING]]);

    // Created-time range.
    const recent = [];
    for await (const s of env.client.getAllInstances({
      instanceIdPrefix: prefix, createdFrom: middle, statuses: [OrchestrationStatus.COMPLETED],
    })) recent.push(s.instanceId);
    assert.deepEqual(recent.sort(), [...late].sort());
    const old = [];
    for await (const s of env.client.getAllInstances({ instanceIdPrefix: prefix, createdTo: middle })) old.push(s.instanceId);
    assert.deepEqual(old.sort(), [...early].sort());

    // Inputs/outputs are returned when asked for.
    const withPayloads = [];
    for await (const s of env.client.getAllInstances({
      instanceIdPrefix: `${prefix}-b`, fetchInputsAndOutputs: true,
    })) withPayloads.push(s);
    assert.equal(withPayloads.length, 3);
    for (const s of withPayloads) {
      const n = Number(s.instanceId.slice(-1));
      assert.equal(s.serializedInput, String(10 + n));
      assert.deepEqual(JSON.parse(s.serializedOutput), { echo: 10 + n });
    }

    // A prefix that matches nothing yields one empty page and stops.
    const none = await collectPages(env.client.getAllInstances({ instanceIdPrefix: uid("zz-none") }), 10);
    assert.equal(none.flatMap((p) => p.values).length, 0);

    await env.client.raiseOrchestrationEvent(runningId, "release", "ok");
    assert.equal(await waitOutput(env.client, runningId), "ok");
  });
});

env.test("listInstanceIds: terminal instances by completed time, paged with lastInstanceKey", async () => {
  const echo = uid("l-echo");
  const wait = uid("l-wait");
  await withWorker(env.server.address, (w) => echoAndWait(w, echo, wait), async () => {
    await sleep(20);
    const from = new Date();
    await sleep(20);
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await env.client.scheduleNewOrchestration(echo, i, { instanceId: uid(`list${i}`) }));
    }
    for (const id of ids) await waitOutput(env.client, id);
    const runningId = await env.client.scheduleNewOrchestration(wait, null, { instanceId: uid("list-run") });
    await waitStatus(env.client, runningId, OrchestrationStatus.RUNNING);
    await sleep(20);
    const to = new Date();

    const seen = [];
    let key;
    let pages = 0;
    for (;;) {
      const page = await env.client.listInstanceIds({
        runtimeStatus: [OrchestrationStatus.COMPLETED],
        completedTimeFrom: from,
        completedTimeTo: to,
        pageSize: 2,
        lastInstanceKey: key,
      });
      pages++;
      assert.ok(page.values.length <= 2, `page of ${page.values.length} exceeds pageSize 2`);
      seen.push(...page.values);
      if (!page.hasMoreResults || page.values.length === 0) break;
      assert.notEqual(page.continuationToken, key, "lastInstanceKey did not advance");
      key = page.continuationToken;
      assert.ok(pages < 20, "listInstanceIds paging did not terminate");
    }
    assert.ok(pages >= 3, `expected >= 3 pages for 5 ids with pageSize 2, got ${pages}`);
    assert.equal(new Set(seen).size, seen.length, `duplicates: ${seen}`);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.ok(!seen.includes(runningId));

    await env.client.terminateOrchestration(runningId, "cleanup");
    await waitDone(env.client, runningId);
  });
});

env.test("purge by instance id removes state and history; running instances are not purged", async () => {
  const echo = uid("p-echo");
  const wait = uid("p-wait");
  await withWorker(env.server.address, (w) => echoAndWait(w, echo, wait), async () => {
    const id = await env.client.scheduleNewOrchestration(echo, "x", { instanceId: uid("purge-i") });
    await waitOutput(env.client, id);
    const runningId = await env.client.scheduleNewOrchestration(wait, null, { instanceId: uid("purge-run") });
    await waitStatus(env.client, runningId, OrchestrationStatus.RUNNING);

    const res = await env.client.purgeOrchestration(id);
    assert.equal(res?.deletedInstanceCount, 1);
    assert.equal(await env.client.getOrchestrationState(id), undefined);
    assert.deepEqual(await env.client.getOrchestrationHistory(id), []);
    const again = await env.client.purgeOrchestration(id);
    assert.equal(again?.deletedInstanceCount, 0);

    // The id can be reused after a purge.
    await env.client.scheduleNewOrchestration(echo, "y", { instanceId: id });
    assert.deepEqual(await waitOutput(env.client, id), { echo: "y" });

    // SDK contract (purgeOrchestration docs): a non-terminal instance is not
    // purged and the result reports zero deleted instances.
    let notPurged;
    try {
      notPurged = await env.client.purgeOrchestration(runningId);
    } catch (e) {
      assert.fail(`purging a RUNNING instance by id should report deletedInstanceCount 0, but the call failed: ${e.message}`);
    } finally {
      const still = await env.client.getOrchestrationState(runningId);
      assert.ok(still, "a RUNNING instance must never be purged");
      assert.equal(statusName(still.runtimeStatus), "RUNNING");
      await env.client.terminateOrchestration(runningId, null);
      await waitDone(env.client, runningId);
    }
    assert.equal(notPurged?.deletedInstanceCount, 0);
  });
});

env.test("purge by filter: created-time window and statuses", async () => {
  const echo = uid("pf-echo");
  const wait = uid("pf-wait");
  const fail = uid("pf-fail");
  await withWorker(env.server.address, (w) => {
    echoAndWait(w, echo, wait);
    w.addNamedOrchestrator(fail, async function* () {
      throw new Error("intentional");
    });
  }, async () => {
    const before = await env.client.scheduleNewOrchestration(echo, 0, { instanceId: uid("pf-before") });
    await waitOutput(env.client, before);
    await sleep(50);
    const from = new Date();
    await sleep(50);
    const done = [];
    for (let i = 0; i < 3; i++) done.push(await env.client.scheduleNewOrchestration(echo, i, { instanceId: uid("pf-c") }));
    const failed = await env.client.scheduleNewOrchestration(fail, null, { instanceId: uid("pf-f") });
    const running = await env.client.scheduleNewOrchestration(wait, null, { instanceId: uid("pf-r") });
    for (const id of done) await waitOutput(env.client, id);
    assert.equal(statusName((await waitDone(env.client, failed)).runtimeStatus), "FAILED");
    await waitStatus(env.client, running, OrchestrationStatus.RUNNING);
    await sleep(50);
    const to = new Date();

    // Only COMPLETED first.
    const c1 = new PurgeInstanceCriteria();
    c1.setCreatedTimeFrom(from);
    c1.setCreatedTimeTo(to);
    c1.setRuntimeStatusList([OrchestrationStatus.COMPLETED]);
    const r1 = await env.client.purgeOrchestration(c1);
    assert.equal(r1?.deletedInstanceCount, 3);
    for (const id of done) assert.equal(await env.client.getOrchestrationState(id), undefined, `${id} not purged`);
    assert.ok(await env.client.getOrchestrationState(failed), "FAILED instance must survive a COMPLETED-only purge");
    assert.ok(await env.client.getOrchestrationState(before), "instance created before the window must survive");

    // Then every terminal status in the window: the failed one goes, the running one stays.
    const c2 = new PurgeInstanceCriteria();
    c2.setCreatedTimeFrom(from);
    c2.setCreatedTimeTo(to);
    c2.setRuntimeStatusList([OrchestrationStatus.COMPLETED, OrchestrationStatus.FAILED, OrchestrationStatus.TERMINATED]);
    const r2 = await env.client.purgeOrchestration(c2);
    assert.equal(r2?.deletedInstanceCount, 1);
    assert.equal(await env.client.getOrchestrationState(failed), undefined);
    const r = await env.client.getOrchestrationState(running);
    assert.equal(statusName(r.runtimeStatus), "RUNNING");
    assert.equal(statusName((await env.client.getOrchestrationState(before)).runtimeStatus), "COMPLETED");

    await env.client.terminateOrchestration(running, null);
    await waitDone(env.client, running);
  });
});

env.test("restart: same id and new id, with the original input", async () => {
  const orch = uid("restart");
  const act = uid("restart-act");
  const wait = uid("restart-wait");
  let runs = 0;
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, x) => {
      runs++;
      return `${x}!`;
    });
    w.addNamedOrchestrator(orch, async function* (ctx, x) {
      return yield ctx.callActivity(act, x);
    });
    echoAndWait(w, uid("unused"), wait);
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, "again", { instanceId: uid("restart-i") });
    assert.equal(await waitOutput(env.client, id), "again!");
    assert.equal(runs, 1);

    const same = await env.client.restartOrchestration(id, false);
    assert.equal(same, id);
    const s = await waitDone(env.client, id);
    assert.equal(statusName(s.runtimeStatus), "COMPLETED");
    assert.equal(s.serializedInput, JSON.stringify("again"));
    assert.equal(JSON.parse(s.serializedOutput), "again!");
    assert.equal(runs, 2, "restart must run the orchestration again");
    const starts = (await env.client.getOrchestrationHistory(id)).filter((e) => e.type === HistoryEventType.ExecutionStarted);
    assert.equal(starts.length, 1);

    const fresh = await env.client.restartOrchestration(id, true);
    assert.ok(fresh && fresh !== id, `expected a new instance id, got ${fresh}`);
    assert.equal(await waitOutput(env.client, fresh), "again!");
    const fs = await env.client.getOrchestrationState(fresh, true);
    assert.equal(fs.name, orch);
    assert.equal(fs.serializedInput, JSON.stringify("again"));
    assert.equal(runs, 3);

    await assert.rejects(env.client.restartOrchestration(uid("missing")), /not found/);
    const runningId = await env.client.scheduleNewOrchestration(wait, null, { instanceId: uid("restart-run") });
    await waitStatus(env.client, runningId, OrchestrationStatus.RUNNING);
    await assert.rejects(env.client.restartOrchestration(runningId, false), /cannot be restarted/);
    await env.client.terminateOrchestration(runningId, null);
    await waitDone(env.client, runningId);
  });
});

env.test("rewind a failed orchestration: failed activity re-runs, successful one does not", async () => {
  const orch = uid("rewind");
  const stepA = uid("rewind-a");
  const stepB = uid("rewind-b");
  let aRuns = 0;
  let bRuns = 0;
  let healthy = false;
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(stepA, (ctx, x) => {
      aRuns++;
      return x + 1;
    });
    w.addNamedActivity(stepB, (ctx, x) => {
      bRuns++;
      if (!healthy) throw new Error("downstream unavailable");
      return x * 100;
    });
    w.addNamedOrchestrator(orch, async function* (ctx, x) {
      const a = yield ctx.callActivity(stepA, x);
      const b = yield ctx.callActivity(stepB, a);
      return { a, b };
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, 1, { instanceId: uid("rewind-i") });
    const failed = await waitDone(env.client, id);
    assert.equal(statusName(failed.runtimeStatus), "FAILED");
    assert.match(failed.failureDetails?.message ?? "", /downstream unavailable/);
    assert.equal(aRuns, 1);
    assert.equal(bRuns, 1);

    healthy = true;
    await env.client.rewindInstance(id, "dependency fixed");
    const s = await waitDone(env.client, id, 30);
    assert.equal(statusName(s.runtimeStatus), "COMPLETED", s.failureDetails?.message);
    assert.deepEqual(JSON.parse(s.serializedOutput), { a: 2, b: 200 });
    assert.equal(s.failureDetails, undefined);
    assert.equal(aRuns, 1, "successful activity must not run again after rewind");
    assert.equal(bRuns, 2, "failed activity must run again after rewind");
    const types = (await env.client.getOrchestrationHistory(id)).map((e) => e.type);
    assert.ok(types.includes(HistoryEventType.ExecutionRewound), types.join(","));

    // Only failed instances can be rewound.
    await assert.rejects(env.client.rewindInstance(id, "not failed"));
    await assert.rejects(env.client.rewindInstance(uid("missing"), "x"), /not found/);
  });
});

env.test("starting a second instance with the id of a running one fails with ALREADY_EXISTS", async () => {
  const wait = uid("dup-wait");
  await withWorker(env.server.address, (w) => echoAndWait(w, uid("dup-echo"), wait), async () => {
    const id = await env.client.scheduleNewOrchestration(wait, 1, { instanceId: uid("dup-i") });
    await waitStatus(env.client, id, OrchestrationStatus.RUNNING);
    await assert.rejects(
      env.client.scheduleNewOrchestration(wait, 2, { instanceId: id }),
      (e) => e.code === 6, // ALREADY_EXISTS
    );
    const s = await env.client.getOrchestrationState(id, true);
    assert.equal(s.serializedInput, "1", "the running instance must be untouched");
    await env.client.raiseOrchestrationEvent(id, "release", "fine");
    assert.equal(await waitOutput(env.client, id), "fine");
  });
});
