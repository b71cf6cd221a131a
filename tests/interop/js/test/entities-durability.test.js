"use strict";
// Durable entities across a taskhubd restart (clean SIGTERM, same data dir), with
// @microsoft/durabletask-js 0.4.0: entity state, a held lock with a signal queued behind it,
// and a scheduled signal whose timer fires after the restart.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { it, after } = require("node:test");
const { TaskHubGrpcClient, EntityInstanceId, TaskEntity } = require("@microsoft/durabletask-js");
const { startServer } = require("../helpers/server");
const { CapturingLogger, startWorker, stopWorker, waitOutput, sleep, uid } = require("../helpers/dt");
const { pollEntity, stateOf } = require("../helpers/entities");

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "taskhubd-js-entities-"));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

class Counter extends TaskEntity {
  initializeState() {
    return 0;
  }
  add(n) {
    this.state += n;
    return this.state;
  }
}

it("entity state, a held lock, a queued signal and a scheduled signal survive a restart", { timeout: 150_000 }, async () => {
  const name = uid("durable-counter");
  const holder = uid("durable-holder");
  const a = new EntityInstanceId(name, "a");
  const b = new EntityInstanceId(name, "b");
  const holderId = uid("durable-holder-i");
  const register = (w) => {
    w.addNamedEntity(name, () => new Counter());
    w.addNamedOrchestrator(holder, async function* (ctx) {
      const lock = yield ctx.entities.lockEntities(b);
      try {
        yield ctx.waitForExternalEvent("go");
        return yield ctx.entities.callEntity(b, "add", 1);
      } finally {
        lock.release();
      }
    });
  };

  // ---- first server process ----
  let server = await startServer({ dataDir });
  let client = new TaskHubGrpcClient({ hostAddress: server.address, logger: new CapturingLogger("client1") });
  let worker;
  try {
    worker = await startWorker(server.address, register);
    for (let i = 1; i <= 5; i++) await client.signalEntity(a, "add", i);
    await pollEntity(client, a, (e) => stateOf(e) === 15, "a = 15");
    await client.scheduleNewOrchestration(holder, undefined, { instanceId: holderId });
    await pollEntity(client, b, (e) => e.lockedBy === holderId, "b locked by the holder");
    await client.signalEntity(b, "add", 100);
    await pollEntity(client, b, (e) => e.backlogQueueSize >= 1, "signal queued behind the lock");
    // Due after the restart (the restart takes longer than this in practice; either way the
    // signal must be applied exactly once).
    await client.signalEntity(a, "add", 1000, { signalTime: new Date(Date.now() + 3000) });
  } catch (e) {
    server.dumpLog("first server phase failed");
    throw e;
  } finally {
    if (worker) await stopWorker(worker);
    await client.stop();
    await server.stop(); // asserts exit code 0
  }

  // ---- second server process on the same data dir ----
  server = await startServer({ dataDir });
  client = new TaskHubGrpcClient({ hostAddress: server.address, logger: new CapturingLogger("client2") });
  worker = undefined;
  try {
    // Readable before any worker connects.
    const ma = await client.getEntity(a, true);
    assert.ok(ma, "entity a lost across the restart");
    assert.ok([15, 1015].includes(stateOf(ma)), `a = ${stateOf(ma)}`);
    const mb = await client.getEntity(b, true);
    assert.ok(mb, "entity b (locked, no state) lost across the restart");
    assert.equal(mb.lockedBy, holderId, "the lock survives the restart");
    assert.ok(mb.backlogQueueSize >= 1, "the queued signal survives the restart");

    worker = await startWorker(server.address, register);
    await client.raiseOrchestrationEvent(holderId, "go");
    assert.equal(await waitOutput(client, holderId), 1, "the holder's call ran first, inside its lock");
    const doneB = await pollEntity(client, b, (e) => stateOf(e) === 101, "b = 101");
    assert.equal(doneB.lockedBy, undefined);
    await pollEntity(client, a, (e) => stateOf(e) === 1015, "a = 1015 (scheduled signal applied once)");
  } catch (e) {
    server.dumpLog("second server phase failed");
    throw e;
  } finally {
    if (worker) await stopWorker(worker);
    await client.stop();
    await server.stop();
  }
});
