"use strict";
// Sub-orchestrations: result propagation, failure propagation, recursive terminate.

const assert = require("node:assert/strict");
const { whenAll, HistoryEventType, TaskFailedError, terminateOptions } = require("@microsoft/durabletask-js");
const { setupFile, withWorker, waitDone, waitOutput, waitStatus, statusName, uid, OrchestrationStatus } =
  require("../helpers/dt");

const env = setupFile();

env.test("sub-orchestration results propagate to the parent", async () => {
  const parent = uid("parent");
  const child = uid("child");
  const act = uid("child-act");
  const explicitChildId = uid("child-explicit");
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, x) => x * 2);
    w.addNamedOrchestrator(child, async function* (ctx, x) {
      const doubled = yield ctx.callActivity(act, x);
      return { doubled, parentId: ctx.parent?.instanceId ?? null, parentName: ctx.parent?.name ?? null, self: ctx.instanceId };
    });
    w.addNamedOrchestrator(parent, async function* (ctx, childId) {
      const a = yield ctx.callSubOrchestrator(child, 5, { instanceId: childId });
      const rest = yield whenAll([ctx.callSubOrchestrator(child, 6), ctx.callSubOrchestrator(child, 7)]);
      return [a, ...rest];
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(parent, explicitChildId, { instanceId: uid("parent-i") });
    const out = await waitOutput(env.client, id, 60);
    assert.equal(out.length, 3);
    assert.deepEqual(out.map((r) => r.doubled), [10, 12, 14]);
    for (const r of out) {
      assert.equal(r.parentId, id, "child must see its parent instance id");
      assert.equal(r.parentName, parent, "child must see its parent orchestration name");
    }
    assert.equal(out[0].self, explicitChildId);

    // Children are real instances with their own state.
    const explicit = await env.client.getOrchestrationState(explicitChildId, true);
    assert.equal(statusName(explicit.runtimeStatus), "COMPLETED");
    assert.equal(explicit.name, child);
    assert.equal(explicit.serializedInput, "5");

    const created = (await env.client.getOrchestrationHistory(id))
      .filter((e) => e.type === HistoryEventType.SubOrchestrationInstanceCreated);
    assert.equal(created.length, 3);
    assert.equal(created[0].instanceId, explicitChildId);
    assert.equal(created[0].name, child);
    for (const c of created.slice(1)) {
      assert.ok(c.instanceId && c.instanceId !== explicitChildId);
      const s = await env.client.getOrchestrationState(c.instanceId, true);
      assert.ok(s, `default-id child ${c.instanceId} not found`);
      assert.equal(statusName(s.runtimeStatus), "COMPLETED");
      assert.equal(JSON.parse(s.serializedOutput).self, c.instanceId);
    }
    const completedEvents = (await env.client.getOrchestrationHistory(id))
      .filter((e) => e.type === HistoryEventType.SubOrchestrationInstanceCompleted);
    assert.deepEqual(completedEvents.map((e) => e.taskScheduledId).sort(), created.map((e) => e.eventId).sort());
  });
});

env.test("failing sub-orchestration is caught by the parent with type and message", async () => {
  const parent = uid("cparent");
  const child = uid("cchild");
  const childId = uid("cchild-i");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(child, async function* (ctx, n) {
      const e = new Error(`child failed: ${n}`);
      e.name = "ChildError";
      throw e;
    });
    w.addNamedOrchestrator(parent, async function* (ctx, cid) {
      try {
        yield ctx.callSubOrchestrator(child, 13, { instanceId: cid });
        return { caught: false };
      } catch (e) {
        return {
          caught: true,
          isTaskFailedError: e instanceof TaskFailedError,
          errorType: e.details?.errorType,
          message: e.details?.message,
        };
      }
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(parent, childId, { instanceId: uid("cparent-i") });
    const out = await waitOutput(env.client, id, 60);
    assert.deepEqual(out, { caught: true, isTaskFailedError: true, errorType: "ChildError", message: "child failed: 13" });
    const c = await env.client.getOrchestrationState(childId, true);
    assert.equal(statusName(c.runtimeStatus), "FAILED");
    assert.equal(c.failureDetails?.errorType, "ChildError");
    assert.equal(c.failureDetails?.message, "child failed: 13");
  });
});

env.test("uncaught sub-orchestration failure fails the parent", async () => {
  const parent = uid("uparent");
  const child = uid("uchild");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(child, async function* () {
      throw new TypeError("bad child input");
    });
    w.addNamedOrchestrator(parent, async function* (ctx) {
      return yield ctx.callSubOrchestrator(child, null);
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(parent, null, { instanceId: uid("uparent-i") });
    const state = await waitDone(env.client, id, 60);
    assert.equal(statusName(state.runtimeStatus), "FAILED");
    assert.ok(state.failureDetails);
    assert.match(state.failureDetails.message, /bad child input/);
  });
});

function waitingTree(w, parent, child) {
  w.addNamedOrchestrator(child, async function* (ctx) {
    yield ctx.waitForExternalEvent("never");
    return "child done";
  });
  w.addNamedOrchestrator(parent, async function* (ctx, childId) {
    return yield ctx.callSubOrchestrator(child, null, { instanceId: childId });
  });
}

env.test("recursive terminate also terminates running sub-orchestrations", async () => {
  const parent = uid("rtparent");
  const child = uid("rtchild");
  const childId = uid("rtchild-i");
  await withWorker(env.server.address, (w) => waitingTree(w, parent, child), async () => {
    const id = await env.client.scheduleNewOrchestration(parent, childId, { instanceId: uid("rtparent-i") });
    await waitStatus(env.client, childId, OrchestrationStatus.RUNNING);
    await env.client.terminateOrchestration(id, terminateOptions({ output: "tree stop", recursive: true }));
    const p = await waitDone(env.client, id, 30);
    assert.equal(statusName(p.runtimeStatus), "TERMINATED");
    assert.equal(JSON.parse(p.serializedOutput), "tree stop");
    const c = await waitDone(env.client, childId, 30);
    assert.equal(statusName(c.runtimeStatus), "TERMINATED");
  });
});

env.test("non-recursive terminate leaves the sub-orchestration running", async () => {
  const parent = uid("ntparent");
  const child = uid("ntchild");
  const childId = uid("ntchild-i");
  await withWorker(env.server.address, (w) => waitingTree(w, parent, child), async () => {
    const id = await env.client.scheduleNewOrchestration(parent, childId, { instanceId: uid("ntparent-i") });
    await waitStatus(env.client, childId, OrchestrationStatus.RUNNING);
    await env.client.terminateOrchestration(id, terminateOptions({ output: "parent only", recursive: false }));
    const p = await waitDone(env.client, id, 30);
    assert.equal(statusName(p.runtimeStatus), "TERMINATED");
    // No sleep: a (wrongly) propagated terminate would sit in the child's inbox ahead of the
    // event raised below, so the child could not finish with "child done".
    const c = await env.client.getOrchestrationState(childId);
    assert.equal(statusName(c.runtimeStatus), "RUNNING", "child must not be terminated by a non-recursive terminate");
    // The orphaned child still works and can finish on its own.
    await env.client.raiseOrchestrationEvent(childId, "never", 1);
    assert.equal(await waitOutput(env.client, childId, 30), "child done");
  });
});
