"use strict";
// Work-item filters (TaskHubGrpcWorkerOptions.workItemFilters in 0.4.0):
// the server must only dispatch orchestrations/activities a worker asked for.

const assert = require("node:assert/strict");
const { setupFile, startWorker, stopWorker, withWorker, waitDone, waitOutput, statusName, uid, OrchestrationStatus } =
  require("../helpers/dt");

const env = setupFile();

env.test("two filtered workers each receive only their own orchestrations and activities", async () => {
  const orchA = uid("fa-orch");
  const actA = uid("fa-act");
  const orchB = uid("fb-orch");
  const actB = uid("fb-act");
  const seen = { A: [], B: [] };
  const registerA = (w) => {
    w.addNamedActivity(actA, (ctx, x) => {
      seen.A.push(`act:${ctx.orchestrationId}`);
      return `A(${x})`;
    });
    w.addNamedOrchestrator(orchA, async function* (ctx, x) {
      if (!ctx.isReplaying) seen.A.push(`orch:${ctx.instanceId}`);
      return yield ctx.callActivity(actA, x);
    });
  };
  const registerB = (w) => {
    w.addNamedActivity(actB, (ctx, x) => {
      seen.B.push(`act:${ctx.orchestrationId}`);
      return `B(${x})`;
    });
    w.addNamedOrchestrator(orchB, async function* (ctx, x) {
      if (!ctx.isReplaying) seen.B.push(`orch:${ctx.instanceId}`);
      return yield ctx.callActivity(actB, x);
    });
  };
  // Without filters a worker that receives the other worker's orchestration
  // fails it ("not registered"), so every instance completing proves routing.
  const wA = await startWorker(env.server.address, registerA, { workItemFilters: "auto" });
  const wB = await startWorker(env.server.address, registerB, {
    workItemFilters: { orchestrations: [{ name: orchB }], activities: [{ name: actB }] },
  });
  try {
    const idsA = [];
    const idsB = [];
    for (let i = 0; i < 6; i++) {
      idsA.push(await env.client.scheduleNewOrchestration(orchA, i, { instanceId: uid(`fa${i}`) }));
      idsB.push(await env.client.scheduleNewOrchestration(orchB, i, { instanceId: uid(`fb${i}`) }));
    }
    for (let i = 0; i < 6; i++) {
      assert.equal(await waitOutput(env.client, idsA[i], 30), `A(${i})`);
      assert.equal(await waitOutput(env.client, idsB[i], 30), `B(${i})`);
    }
    for (const id of idsA) {
      assert.ok(seen.A.includes(`orch:${id}`) && seen.A.includes(`act:${id}`), `${id} not handled by worker A`);
      assert.ok(!seen.B.some((s) => s.endsWith(id)), `${id} leaked to worker B`);
    }
    for (const id of idsB) {
      assert.ok(seen.B.includes(`orch:${id}`) && seen.B.includes(`act:${id}`), `${id} not handled by worker B`);
      assert.ok(!seen.A.some((s) => s.endsWith(id)), `${id} leaked to worker A`);
    }
  } finally {
    await stopWorker(wA);
    await stopWorker(wB);
  }
});

env.test("an orchestration no connected worker accepts stays PENDING until a matching worker connects", async () => {
  const wanted = uid("f-wanted");
  const other = uid("f-other");
  let otherRuns = 0;
  const id = await env.client.scheduleNewOrchestration(wanted, 41, { instanceId: uid("f-wanted-i") });
  // This worker only asks for `other`; it must never be handed `wanted`.
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(other, async function* (ctx, x) {
      otherRuns++;
      return x;
    });
  }, async () => {
    const oid = await env.client.scheduleNewOrchestration(other, "o", { instanceId: uid("f-other-i") });
    assert.equal(await waitOutput(env.client, oid), "o");
    // No sleep: `wanted` was ready before this worker connected, so had it matched it would have
    // been dispatched (and failed by the SDK) before `other` even existed.
    const s = await env.client.getOrchestrationState(id);
    assert.equal(statusName(s.runtimeStatus), "PENDING", "filtered-out orchestration must not be dispatched");
  }, { workItemFilters: "auto" });
  assert.ok(otherRuns >= 1);
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(wanted, async function* (ctx, x) {
      return x + 1;
    });
  }, async () => {
    assert.equal(await waitOutput(env.client, id, 30), 42);
  }, { workItemFilters: "auto" });
});

env.test("activity filter: activities go to the worker that registered them", async () => {
  const orch = uid("fx-orch");
  const act = uid("fx-act");
  let actRunsOnActivityWorker = 0;
  // Orchestration worker: only the orchestrator, filter asks for no activities.
  const wOrch = await startWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx, n) {
      const r = [];
      for (let i = 0; i < n; i++) r.push(yield ctx.callActivity(act, i));
      return r;
    });
  }, { workItemFilters: { orchestrations: [{ name: orch }], activities: [] } });
  // Activity worker: only the activity.
  const wAct = await startWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, i) => {
      actRunsOnActivityWorker++;
      return i * 2;
    });
  }, { workItemFilters: { orchestrations: [], activities: [{ name: act }] } });
  try {
    const id = await env.client.scheduleNewOrchestration(orch, 4, { instanceId: uid("fx-i") });
    const state = await waitDone(env.client, id, 30);
    assert.equal(state.runtimeStatus, OrchestrationStatus.COMPLETED, state.failureDetails?.message);
    assert.deepEqual(JSON.parse(state.serializedOutput), [0, 2, 4, 6]);
    assert.equal(actRunsOnActivityWorker, 4);
  } finally {
    await stopWorker(wOrch);
    await stopWorker(wAct);
  }
});
