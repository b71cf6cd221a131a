"use strict";
// External events, timers, continue-as-new, suspend/resume and terminate.

const assert = require("node:assert/strict");
const { whenAny, HistoryEventType } = require("@microsoft/durabletask-js");
const { setupFile, withWorker, startWorker, stopWorker, waitDone, waitOutput, waitStatus, pollState, statusName, sleep, uid,
  OrchestrationStatus } = require("../helpers/dt");

const env = setupFile();

function approvalOrchestrator(timeoutSeconds) {
  return async function* (ctx, request) {
    ctx.setCustomStatus("awaiting approval");
    const approval = ctx.waitForExternalEvent("Approval");
    const timeout = ctx.createTimer(timeoutSeconds);
    const winner = yield whenAny([approval, timeout]);
    if (winner === approval) {
      return { request, outcome: "approved", by: approval.getResult().by };
    }
    return { request, outcome: "timed out" };
  };
}

env.test("human interaction: event wins the race against the timer", async () => {
  const orch = uid("approve");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, approvalOrchestrator(60));
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, "PO-1", { instanceId: uid("approve-i") });
    // Raise only once the orchestrator is actually waiting.
    await pollState(env.client, id, (s) => s?.serializedCustomStatus === JSON.stringify("awaiting approval"), 20_000, "waiting");
    const t0 = Date.now();
    await env.client.raiseOrchestrationEvent(id, "Approval", { by: "alice" });
    const out = await waitOutput(env.client, id, 30);
    assert.deepEqual(out, { request: "PO-1", outcome: "approved", by: "alice" });
    assert.ok(Date.now() - t0 < 30_000, "completion should not wait for the 60 s timer");
  });
});

env.test("human interaction: timer wins when no event arrives", async () => {
  const orch = uid("timeout");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, approvalOrchestrator(2));
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, "PO-2", { instanceId: uid("timeout-i") });
    const t0 = Date.now();
    const state = await waitDone(env.client, id, 30);
    const elapsed = Date.now() - t0;
    assert.equal(statusName(state.runtimeStatus), "COMPLETED");
    assert.deepEqual(JSON.parse(state.serializedOutput), { request: "PO-2", outcome: "timed out" });
    assert.ok(elapsed >= 1800, `durable timer of 2 s fired after only ${elapsed} ms`);
    const history = await env.client.getOrchestrationHistory(id);
    const created = history.find((e) => e.type === HistoryEventType.TimerCreated);
    const fired = history.find((e) => e.type === HistoryEventType.TimerFired);
    assert.ok(created && fired);
    assert.equal(fired.timerId, created.eventId);
    assert.ok(fired.timestamp.getTime() >= created.fireAt.getTime() - 5, "timer fired before its fireAt");
  });
});

env.test("events raised before the first episode are delivered", async () => {
  const orch = uid("early");
  const id = await env.client.scheduleNewOrchestration(orch, null, { instanceId: uid("early-i") });
  // No worker is connected yet: both events must be buffered.
  await env.client.raiseOrchestrationEvent(id, "first", { n: 1 });
  await env.client.raiseOrchestrationEvent(id, "second", { n: 2 });
  await env.client.raiseOrchestrationEvent(id, "first", { n: 3 });
  const pending = await env.client.getOrchestrationState(id);
  assert.equal(statusName(pending.runtimeStatus), "PENDING");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx) {
      // Wait in a different order than the events were raised.
      const b = yield ctx.waitForExternalEvent("second");
      const a1 = yield ctx.waitForExternalEvent("first");
      const a2 = yield ctx.waitForExternalEvent("first");
      return [b.n, a1.n, a2.n];
    });
  }, async () => {
    assert.deepEqual(await waitOutput(env.client, id), [2, 1, 3]);
  });
});

env.test("monitor: timer loop with continueAsNew", async () => {
  const orch = uid("monitor");
  const generations = [];
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx, input) {
      if (!ctx.isReplaying) generations.push(input.count);
      ctx.setCustomStatus({ count: input.count });
      yield ctx.createTimer(new Date(ctx.currentUtcDateTime.getTime() + 300));
      if (input.count < input.max) {
        ctx.continueAsNew({ count: input.count + 1, max: input.max }, false);
        return;
      }
      return { finalCount: input.count };
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, { count: 0, max: 4 }, { instanceId: uid("monitor-i") });
    const state = await waitDone(env.client, id, 60);
    assert.equal(statusName(state.runtimeStatus), "COMPLETED", state.failureDetails?.message);
    assert.deepEqual(JSON.parse(state.serializedOutput), { finalCount: 4 });
    assert.deepEqual(JSON.parse(state.serializedCustomStatus), { count: 4 });
    // The instance input is the latest generation's input.
    assert.deepEqual(JSON.parse(state.serializedInput), { count: 4, max: 4 });
    assert.deepEqual([...new Set(generations)], [0, 1, 2, 3, 4]);
    // History holds only the final execution.
    const history = await env.client.getOrchestrationHistory(id);
    const starts = history.filter((e) => e.type === HistoryEventType.ExecutionStarted);
    assert.equal(starts.length, 1, "history should restart with each continue-as-new generation");
    assert.deepEqual(JSON.parse(starts[0].input), { count: 4, max: 4 });
  });
});

env.test("continueAsNew with saveEvents carries unprocessed events over", async () => {
  const orch = uid("carry");
  const id = uid("carry-i");
  await env.client.scheduleNewOrchestration(orch, 0, { instanceId: id });
  // Queue all events before the first episode so that one episode sees them
  // all but consumes only one; the rest must survive continue-as-new.
  for (const v of [1, 2, 3, 4]) {
    await env.client.raiseOrchestrationEvent(id, "add", v);
  }
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx, total) {
      const v = yield ctx.waitForExternalEvent("add");
      const next = total + v;
      if (next < 10) {
        ctx.continueAsNew(next, true);
        return;
      }
      return next;
    });
  }, async () => {
    assert.equal(await waitOutput(env.client, id, 30), 10);
  });
});

env.test("suspend and resume", async () => {
  const orch = uid("suspend");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx) {
      const v = yield ctx.waitForExternalEvent("go");
      return `got ${v}`;
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, null, { instanceId: uid("suspend-i") });
    await env.client.waitForOrchestrationStart(id, false, 20);
    await waitStatus(env.client, id, OrchestrationStatus.RUNNING);
    await env.client.suspendOrchestration(id);
    await waitStatus(env.client, id, OrchestrationStatus.SUSPENDED);
    // An event raised while suspended must not complete the orchestration.
    await env.client.raiseOrchestrationEvent(id, "go", "now");
    // Barrier instead of a sleep: the episode that delivered the event to the worker is
    // committed (the history holds the event and ends with OrchestratorCompleted).
    for (let i = 0; ; i++) {
      const kinds = (await env.client.getOrchestrationHistory(id)).map((e) => e.type);
      if (kinds.includes(HistoryEventType.EventRaised)
          && kinds[kinds.length - 1] === HistoryEventType.OrchestratorCompleted) break;
      assert.ok(i < 300, `the event never reached the worker: ${kinds}`);
      await sleep(100);
    }
    const still = await env.client.getOrchestrationState(id);
    assert.equal(statusName(still.runtimeStatus), "SUSPENDED");
    await env.client.resumeOrchestration(id);
    const state = await waitDone(env.client, id, 30);
    assert.equal(statusName(state.runtimeStatus), "COMPLETED");
    assert.equal(JSON.parse(state.serializedOutput), "got now");
    const types = (await env.client.getOrchestrationHistory(id)).map((e) => e.type);
    assert.ok(types.includes(HistoryEventType.ExecutionSuspended), types.join(","));
    assert.ok(types.includes(HistoryEventType.ExecutionResumed), types.join(","));
  });
});

env.test("terminate a running orchestration with an output", async () => {
  const orch = uid("term");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx) {
      yield ctx.waitForExternalEvent("never");
      return "should not happen";
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, null, { instanceId: uid("term-i") });
    await env.client.waitForOrchestrationStart(id, false, 20);
    await env.client.terminateOrchestration(id, { reason: "operator request" });
    const state = await waitDone(env.client, id, 30);
    assert.equal(statusName(state.runtimeStatus), "TERMINATED");
    assert.deepEqual(JSON.parse(state.serializedOutput), { reason: "operator request" });
    assert.equal(state.failureDetails, undefined);
    // Terminating again is harmless and leaves the state as it is.
    await env.client.terminateOrchestration(id, "again").catch(() => {});
    const after = await env.client.getOrchestrationState(id);
    assert.equal(statusName(after.runtimeStatus), "TERMINATED");
    assert.deepEqual(JSON.parse(after.serializedOutput), { reason: "operator request" });
  });
});

env.test("terminate a suspended orchestration", async () => {
  const orch = uid("termsusp");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx) {
      yield ctx.waitForExternalEvent("never");
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, null, { instanceId: uid("termsusp-i") });
    await waitStatus(env.client, id, OrchestrationStatus.RUNNING);
    await env.client.suspendOrchestration(id);
    await waitStatus(env.client, id, OrchestrationStatus.SUSPENDED);
    await env.client.terminateOrchestration(id, "bye");
    const state = await waitDone(env.client, id, 30);
    assert.equal(statusName(state.runtimeStatus), "TERMINATED");
    assert.equal(JSON.parse(state.serializedOutput), "bye");
  });
});

env.test("sendEvent delivers an event from one orchestration to another", async () => {
  const receiver = uid("recv");
  const sender = uid("send");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(receiver, async function* (ctx) {
      const msg = yield ctx.waitForExternalEvent("ping");
      return { received: msg };
    });
    w.addNamedOrchestrator(sender, async function* (ctx, target) {
      ctx.sendEvent(target, "ping", { from: ctx.instanceId });
      yield ctx.createTimer(0.1);
      return "sent";
    });
  }, async () => {
    const rid = await env.client.scheduleNewOrchestration(receiver, null, { instanceId: uid("recv-i") });
    await env.client.waitForOrchestrationStart(rid, false, 20);
    const sid = await env.client.scheduleNewOrchestration(sender, rid, { instanceId: uid("send-i") });
    assert.equal(await waitOutput(env.client, sid), "sent");
    assert.deepEqual(await waitOutput(env.client, rid), { received: { from: sid } });
    const sent = (await env.client.getOrchestrationHistory(sid)).find((e) => e.type === HistoryEventType.EventSent);
    assert.ok(sent, "EventSent missing from sender history");
    assert.equal(sent.instanceId, rid);
    assert.equal(sent.name, "ping");
  });
});

env.test("a second worker continues an instance started by a stopped worker", async () => {
  const orch = uid("restartw");
  const act = uid("restartw-act");
  const id = uid("restartw-i");
  const register = (w) => {
    w.addNamedActivity(act, (ctx, x) => x * 3);
    w.addNamedOrchestrator(orch, async function* (ctx, x) {
      const first = yield ctx.callActivity(act, x);
      const v = yield ctx.waitForExternalEvent("continue");
      return first + v;
    });
  };
  const w1 = await startWorker(env.server.address, register);
  try {
    await env.client.scheduleNewOrchestration(orch, 5, { instanceId: id });
    await pollState(env.client, id, (s) => s?.runtimeStatus === OrchestrationStatus.RUNNING, 20_000, "RUNNING");
    // Make sure the activity result has been committed before swapping workers.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const h = await env.client.getOrchestrationHistory(id);
      if (h.some((e) => e.type === HistoryEventType.TaskCompleted) &&
          h.filter((e) => e.type === HistoryEventType.OrchestratorStarted).length >= 2) break;
      await sleep(100);
    }
  } finally {
    await stopWorker(w1);
  }
  await env.client.raiseOrchestrationEvent(id, "continue", 1);
  await withWorker(env.server.address, register, async () => {
    assert.equal(await waitOutput(env.client, id, 30), 16);
  });
});
