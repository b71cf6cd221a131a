"use strict";
// Durability: state written by one taskhubd process is served by the next one
// started on the same data dir (clean SIGTERM shutdown in between).

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { it, after } = require("node:test");
const { TaskHubGrpcClient } = require("@microsoft/durabletask-js");
const { startServer } = require("../helpers/server");
const { CapturingLogger, startWorker, stopWorker, waitDone, waitOutput, pollState, statusName, uid, OrchestrationStatus } =
  require("../helpers/dt");

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "taskhubd-js-durable-"));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

it("completed and in-flight instances survive a server restart", { timeout: 120_000 }, async () => {
  const orch = uid("dur");
  const act = uid("dur-act");
  const timerOrch = uid("dur-timer");
  const echo = uid("dur-echo");
  let activityRuns = 0;
  const register = (w) => {
    w.addNamedActivity(act, (ctx, x) => {
      activityRuns++;
      return x * 7;
    });
    w.addNamedOrchestrator(orch, async function* (ctx, x) {
      const a = yield ctx.callActivity(act, x);
      ctx.setCustomStatus("waiting for resume");
      const b = yield ctx.waitForExternalEvent("resume");
      return a + b;
    });
    w.addNamedOrchestrator(timerOrch, async function* (ctx) {
      yield ctx.createTimer(4);
      return "timer fired after restart";
    });
    w.addNamedOrchestrator(echo, async function* (ctx, x) {
      return x;
    });
  };

  const doneId = uid("dur-done");
  const waitingId = uid("dur-wait");
  const timerId = uid("dur-timer-i");

  // ---- first server process ----
  let server = await startServer({ dataDir });
  let client = new TaskHubGrpcClient({ hostAddress: server.address, logger: new CapturingLogger("client1") });
  let worker;
  try {
    worker = await startWorker(server.address, register);
    await client.scheduleNewOrchestration(echo, { kept: "yes" }, { instanceId: doneId });
    assert.deepEqual(await waitOutput(client, doneId), { kept: "yes" });
    await client.scheduleNewOrchestration(orch, 6, { instanceId: waitingId });
    await pollState(client, waitingId, (s) => s?.serializedCustomStatus === JSON.stringify("waiting for resume"), 20_000, "waiting");
    await client.scheduleNewOrchestration(timerOrch, null, { instanceId: timerId });
    await pollState(client, timerId, (s) => s?.runtimeStatus === OrchestrationStatus.RUNNING, 20_000, "timer RUNNING");
  } catch (e) {
    server.dumpLog("first server phase failed");
    throw e;
  } finally {
    if (worker) await stopWorker(worker);
    await client.stop();
    await server.stop(); // asserts exit code 0
  }
  assert.equal(activityRuns, 1);

  // ---- second server process on the same data dir ----
  server = await startServer({ dataDir });
  client = new TaskHubGrpcClient({ hostAddress: server.address, logger: new CapturingLogger("client2") });
  worker = undefined;
  try {
    // State is readable before any worker connects.
    const done = await client.getOrchestrationState(doneId, true);
    assert.ok(done, "completed instance lost across restart");
    assert.equal(statusName(done.runtimeStatus), "COMPLETED");
    assert.deepEqual(JSON.parse(done.serializedOutput), { kept: "yes" });
    assert.equal(done.name, echo);
    const waiting = await client.getOrchestrationState(waitingId, true);
    assert.ok(waiting, "running instance lost across restart");
    assert.equal(statusName(waiting.runtimeStatus), "RUNNING");
    assert.equal(waiting.serializedCustomStatus, JSON.stringify("waiting for resume"));

    worker = await startWorker(server.address, register);
    await client.raiseOrchestrationEvent(waitingId, "resume", 1);
    assert.equal(await waitOutput(client, waitingId, 30), 43);
    assert.equal(activityRuns, 1, "the committed activity result must be replayed, not re-executed");
    const t = await waitDone(client, timerId, 30);
    assert.equal(statusName(t.runtimeStatus), "COMPLETED");
    assert.equal(JSON.parse(t.serializedOutput), "timer fired after restart");
  } catch (e) {
    server.dumpLog("second server phase failed");
    throw e;
  } finally {
    if (worker) await stopWorker(worker);
    await client.stop();
    await server.stop();
  }
});
