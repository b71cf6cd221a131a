"use strict";
// Core orchestration patterns: chaining, fan-out/fan-in, failures, retries,
// large payloads, custom status, history and scheduled start.

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { whenAll, RetryPolicy, TaskFailedError, HistoryEventType } = require("@microsoft/durabletask-js");
const { setupFile, withWorker, waitDone, waitOutput, pollState, statusName, uid, OrchestrationStatus } =
  require("../helpers/dt");

const env = setupFile();

env.test("function chaining: three activities in sequence", async () => {
  const orch = uid("chain");
  const act = uid("chain-greet");
  const calls = [];
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, name) => {
      calls.push(name);
      return `Hello, ${name}!`;
    });
    w.addNamedOrchestrator(orch, async function* (ctx, cities) {
      const out = [];
      for (const c of cities) {
        out.push(yield ctx.callActivity(act, c));
      }
      return out;
    });
  }, async () => {
    const input = ["Tokyo", "Seattle", "London"];
    const id = await env.client.scheduleNewOrchestration(orch, input, { instanceId: uid("chain-i") });
    const state = await waitDone(env.client, id);
    assert.equal(statusName(state.runtimeStatus), "COMPLETED");
    assert.equal(state.name, orch);
    assert.equal(state.instanceId, id);
    assert.equal(state.serializedInput, JSON.stringify(input));
    assert.deepEqual(JSON.parse(state.serializedOutput), ["Hello, Tokyo!", "Hello, Seattle!", "Hello, London!"]);
    assert.equal(state.failureDetails, undefined);
    assert.ok(state.createdAt.getTime() > 0 && state.lastUpdatedAt >= state.createdAt);
    // Each activity ran exactly once, in order.
    assert.deepEqual(calls, input);
  });
});

env.test("fan-out/fan-in: 500 activities, results summed", { timeout: 240_000 }, async () => {
  const orch = uid("fan");
  const act = uid("fan-square");
  const N = 500;
  let executions = 0;
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, async (ctx, i) => {
      executions++;
      return i * i;
    });
    w.addNamedOrchestrator(orch, async function* (ctx, n) {
      const tasks = [];
      for (let i = 1; i <= n; i++) tasks.push(ctx.callActivity(act, i));
      const results = yield whenAll(tasks);
      return { count: results.length, sum: results.reduce((a, b) => a + b, 0), first: results[0], last: results[n - 1] };
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, N, { instanceId: uid("fan-i") });
    const out = await waitOutput(env.client, id, 200);
    // sum of squares 1..500 = n(n+1)(2n+1)/6
    assert.deepEqual(out, { count: N, sum: (N * (N + 1) * (2 * N + 1)) / 6, first: 1, last: N * N });
    assert.equal(executions, N, "every activity should run exactly once");
  });
});

env.test("activity failure is caught by the orchestrator with type and message", async () => {
  const orch = uid("actfail");
  const act = uid("actfail-act");
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, input) => {
      const e = new Error(`out of stock: ${input.sku}`);
      e.name = "InventoryError";
      throw e;
    });
    w.addNamedOrchestrator(orch, async function* (ctx, input) {
      try {
        yield ctx.callActivity(act, input);
        return { caught: false };
      } catch (e) {
        return {
          caught: true,
          isTaskFailedError: e instanceof TaskFailedError,
          errorType: e.details?.errorType,
          message: e.details?.message,
          hasStack: typeof e.details?.stackTrace === "string" && e.details.stackTrace.length > 0,
        };
      }
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, { sku: "A-17" }, { instanceId: uid("actfail-i") });
    const out = await waitOutput(env.client, id);
    assert.deepEqual(out, {
      caught: true,
      isTaskFailedError: true,
      errorType: "InventoryError",
      message: "out of stock: A-17",
      hasStack: true,
    });
  });
});

env.test("unhandled orchestrator error -> FAILED with failureDetails kept", async () => {
  const orch = uid("orchfail");
  const act = uid("orchfail-act");
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, n) => n + 1);
    w.addNamedOrchestrator(orch, async function* (ctx, n) {
      const v = yield ctx.callActivity(act, n);
      const e = new Error(`order ${v} is invalid`);
      e.name = "OrderValidationError";
      throw e;
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, 6, { instanceId: uid("orchfail-i") });
    const state = await waitDone(env.client, id);
    assert.equal(statusName(state.runtimeStatus), "FAILED");
    assert.ok(state.failureDetails, "failureDetails must be present");
    assert.equal(state.failureDetails.errorType, "OrderValidationError");
    assert.equal(state.failureDetails.message, "order 7 is invalid");
    assert.ok(state.failureDetails.stackTrace && state.failureDetails.stackTrace.includes("order 7 is invalid"));
    assert.throws(() => state.raiseIfFailed(), /order 7 is invalid/);
  });
});

env.test("unhandled activity failure fails the orchestration", async () => {
  const orch = uid("actfail2");
  const act = uid("actfail2-act");
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, () => {
      throw new RangeError("value 99 out of range");
    });
    w.addNamedOrchestrator(orch, async function* (ctx) {
      return yield ctx.callActivity(act);
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, null, { instanceId: uid("actfail2-i") });
    const state = await waitDone(env.client, id);
    assert.equal(statusName(state.runtimeStatus), "FAILED");
    assert.ok(state.failureDetails);
    assert.match(state.failureDetails.message, /value 99 out of range/);
  });
});

env.test("retry policy: activity fails twice then succeeds; exhausted policy surfaces the failure", async () => {
  const orch = uid("retry");
  const flaky = uid("retry-flaky");
  const always = uid("retry-always");
  const attempts = new Map();
  let alwaysAttempts = 0;
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(flaky, (ctx, key) => {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (n < 3) throw new Error(`transient failure #${n}`);
      return `ok after ${n}`;
    });
    w.addNamedActivity(always, () => {
      alwaysAttempts++;
      throw new Error("permanent failure");
    });
    w.addNamedOrchestrator(orch, async function* (ctx, key) {
      const ok = yield ctx.callActivity(flaky, key, {
        retry: new RetryPolicy({ maxNumberOfAttempts: 5, firstRetryIntervalInMilliseconds: 300, backoffCoefficient: 1.5 }),
      });
      let second;
      try {
        yield ctx.callActivity(always, null, {
          retry: new RetryPolicy({ maxNumberOfAttempts: 2, firstRetryIntervalInMilliseconds: 200 }),
        });
        second = "unexpected success";
      } catch (e) {
        second = `caught: ${e.details?.message}`;
      }
      return { ok, second };
    });
  }, async () => {
    const key = uid("k");
    const id = await env.client.scheduleNewOrchestration(orch, key, { instanceId: uid("retry-i") });
    const out = await waitOutput(env.client, id);
    assert.deepEqual(out, { ok: "ok after 3", second: "caught: permanent failure" });
    assert.equal(attempts.get(key), 3);
    assert.equal(alwaysAttempts, 2);
  });
});

function makePayload(bytes) {
  // Mix of ASCII, JSON-escaped characters, 2/3/4-byte UTF-8 sequences.
  const pieces = ["abcXYZ 0123456789 ", 'quote" backslash\\ ', "tab\t nl\n ", "äöüß ", "€✓ ", "😀🚀 ", "\u0001\u001f "];
  const parts = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const p = pieces[i % pieces.length] + (i % 997).toString(36);
    parts.push(p);
    size += Buffer.byteLength(p, "utf8");
  }
  return parts.join("");
}

env.test("1 MiB payload round-trips byte-for-byte (input -> activity -> output)", { timeout: 120_000 }, async () => {
  const orch = uid("big");
  const act = uid("big-echo");
  const payload = makePayload(1024 * 1024);
  assert.ok(Buffer.byteLength(payload, "utf8") >= 1024 * 1024);
  const digest = crypto.createHash("sha256").update(payload, "utf8").digest("hex");
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, s) => ({
      data: s,
      sha: crypto.createHash("sha256").update(s, "utf8").digest("hex"),
    }));
    w.addNamedOrchestrator(orch, async function* (ctx, s) {
      const r = yield ctx.callActivity(act, s);
      return { data: r.data, activitySha: r.sha, inputLength: s.length };
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, payload, { instanceId: uid("big-i") });
    const state = await waitDone(env.client, id, 90);
    assert.equal(statusName(state.runtimeStatus), "COMPLETED", state.failureDetails?.message);
    // The stored input is the exact JSON text the client sent.
    assert.equal(state.serializedInput, JSON.stringify(payload));
    const out = JSON.parse(state.serializedOutput);
    assert.equal(out.activitySha, digest, "activity saw a different payload");
    assert.equal(out.inputLength, payload.length);
    assert.equal(out.data.length, payload.length);
    assert.ok(out.data === payload, "output payload differs from input");
  });
});

env.test("custom status is visible while running and after completion", async () => {
  const orch = uid("cstatus");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx) {
      ctx.setCustomStatus({ stage: "waiting", progress: 50 });
      const v = yield ctx.waitForExternalEvent("proceed");
      ctx.setCustomStatus("finished");
      return v;
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, null, { instanceId: uid("cstatus-i") });
    const running = await pollState(
      env.client,
      id,
      (s) => s && s.serializedCustomStatus !== undefined && s.serializedCustomStatus !== "",
      20_000,
      "custom status",
    );
    assert.equal(statusName(running.runtimeStatus), "RUNNING");
    assert.deepEqual(JSON.parse(running.serializedCustomStatus), { stage: "waiting", progress: 50 });
    await env.client.raiseOrchestrationEvent(id, "proceed", 7);
    const state = await waitDone(env.client, id);
    assert.equal(statusName(state.runtimeStatus), "COMPLETED");
    assert.equal(state.serializedOutput, "7");
    assert.equal(state.serializedCustomStatus, JSON.stringify("finished"));
  });
});

env.test("getOrchestrationHistory returns the committed history", async () => {
  const orch = uid("hist");
  const act = uid("hist-act");
  await withWorker(env.server.address, (w) => {
    w.addNamedActivity(act, (ctx, x) => x * 10);
    w.addNamedOrchestrator(orch, async function* (ctx, x) {
      const a = yield ctx.callActivity(act, x);
      yield ctx.createTimer(0.2);
      return a + 1;
    });
  }, async () => {
    const id = await env.client.scheduleNewOrchestration(orch, 4, { instanceId: uid("hist-i") });
    assert.equal(await waitOutput(env.client, id), 41);
    const history = await env.client.getOrchestrationHistory(id);
    const types = history.map((e) => e.type);
    const first = (t) => history.find((e) => e.type === t);
    // Ordering facts every backend must respect.
    assert.equal(types[0], HistoryEventType.OrchestratorStarted, `history starts with ${types[0]}`);
    assert.equal(types[1], HistoryEventType.ExecutionStarted, `second event is ${types[1]}`);
    const started = first(HistoryEventType.ExecutionStarted);
    assert.equal(started.name, orch);
    assert.equal(started.input, "4");
    assert.equal(started.orchestrationInstance?.instanceId, id);
    const scheduled = first(HistoryEventType.TaskScheduled);
    const completed = first(HistoryEventType.TaskCompleted);
    assert.ok(scheduled && completed, `missing task events in ${types.join(",")}`);
    assert.equal(scheduled.name, act);
    assert.equal(scheduled.input, "4");
    assert.equal(completed.taskScheduledId, scheduled.eventId);
    assert.equal(completed.result, "40");
    const timerCreated = first(HistoryEventType.TimerCreated);
    const timerFired = first(HistoryEventType.TimerFired);
    assert.ok(timerCreated && timerFired, `missing timer events in ${types.join(",")}`);
    assert.equal(timerFired.timerId, timerCreated.eventId);
    assert.equal(timerFired.fireAt.getTime(), timerCreated.fireAt.getTime());
    const done = first(HistoryEventType.ExecutionCompleted);
    assert.ok(done, "ExecutionCompleted missing");
    assert.equal(done.orchestrationStatus, "ORCHESTRATION_STATUS_COMPLETED");
    assert.equal(done.result, "41");
    assert.ok(types.indexOf(HistoryEventType.TaskScheduled) < types.indexOf(HistoryEventType.TaskCompleted));
    assert.ok(types.indexOf(HistoryEventType.TaskCompleted) < types.indexOf(HistoryEventType.TimerCreated));
    assert.ok(types.indexOf(HistoryEventType.TimerFired) < types.indexOf(HistoryEventType.ExecutionCompleted));
    assert.equal(types.filter((t) => t === HistoryEventType.ExecutionStarted).length, 1);
    assert.equal(types.filter((t) => t === HistoryEventType.OrchestratorStarted).length, 3, `episodes: ${types.join(",")}`);
    for (const e of history) {
      assert.ok(e.timestamp instanceof Date && e.timestamp.getTime() > 0, `event ${e.type} lacks a timestamp`);
    }
    // Unknown instance: the SDK maps NOT_FOUND to an empty list.
    assert.deepEqual(await env.client.getOrchestrationHistory(uid("no-such-instance")), []);
  });
});

env.test("scheduled start: instance stays PENDING until startAt", async () => {
  const orch = uid("sched");
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx) {
      return ctx.currentUtcDateTime.toISOString();
    });
  }, async () => {
    const startAt = new Date(Date.now() + 3000);
    const id = await env.client.scheduleNewOrchestration(orch, null, { instanceId: uid("sched-i"), startAt });
    // No sleep: "not before startAt" is proven by the output (the episode's own clock) below.
    const early = await env.client.getOrchestrationState(id);
    assert.ok(early, "instance must exist before its start time");
    assert.equal(statusName(early.runtimeStatus), "PENDING");
    const out = await waitOutput(env.client, id, 30);
    const ranAt = new Date(out).getTime();
    assert.ok(ranAt >= startAt.getTime() - 5, `orchestration ran at ${out}, before startAt ${startAt.toISOString()}`);
    assert.ok(ranAt < startAt.getTime() + 15_000, `orchestration ran far too late (${out})`);
    const history = await env.client.getOrchestrationHistory(id);
    const started = history.find((e) => e.type === HistoryEventType.ExecutionStarted);
    assert.ok(started?.scheduledStartTimestamp, "ExecutionStarted.scheduledStartTimestamp missing");
    assert.ok(Math.abs(started.scheduledStartTimestamp.getTime() - startAt.getTime()) <= 1);
  });
});

env.test("status enum mapping: PENDING before any worker picks the instance up", async () => {
  // No worker registered for this name on this server: the instance must be
  // created and stay PENDING (not failed) until a worker exists.
  const orch = uid("pending");
  const id = await env.client.scheduleNewOrchestration(orch, { a: 1 }, { instanceId: uid("pending-i") });
  const s = await env.client.getOrchestrationState(id, true);
  assert.ok(s);
  assert.equal(s.runtimeStatus, OrchestrationStatus.PENDING);
  assert.equal(s.name, orch);
  assert.equal(s.serializedInput, JSON.stringify({ a: 1 }));
  assert.equal(await env.client.getOrchestrationState(uid("missing")), undefined);
  await withWorker(env.server.address, (w) => {
    w.addNamedOrchestrator(orch, async function* (ctx, input) {
      return input.a + 1;
    });
  }, async () => {
    assert.equal(await waitOutput(env.client, id), 2);
  });
});
