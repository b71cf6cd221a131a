"use strict";
// Critical sections and routing with @microsoft/durabletask-js 0.4.0 against taskhubd:
// overlapping lock sets in a cycle (no deadlock, no lost update), locks of an orchestration
// that continues as new, an orchestration terminated while its lock request waits behind
// another holder, entity work-item filters (each worker gets only its own entities), and
// PurgeInstances of an entity id.

const assert = require("node:assert/strict");
const { EntityInstanceId, TaskEntity } = require("@microsoft/durabletask-js");
const { setupFile, startWorker, stopWorker, withWorker, waitDone, waitOutput, sleep, statusName, uid } =
  require("../helpers/dt");
const { pollEntity, stateOf } = require("../helpers/entities");

const env = setupFile();

class Counter extends TaskEntity {
  initializeState() {
    return 0;
  }
  get() {
    return this.state;
  }
  set(v) {
    this.state = v;
  }
  add(n) {
    this.state += n;
    return this.state;
  }
}

env.test("overlapping lock sets in a cycle (ab, bc, ca): no deadlock, no lost update", { timeout: 180_000 }, async () => {
  const name = uid("ring");
  const orch = uid("ring-orch");
  const ids = ["a", "b", "c"].map((k) => new EntityInstanceId(name, k));
  const N = 15;
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Counter());
    w.addNamedOrchestrator(orch, async function* (ctx, i) {
      // Pair i: (a,b), (b,c), (c,a), ... listed in a rotating order.
      const first = ids[i % 3];
      const second = ids[(i + 1) % 3];
      const lock = yield ctx.entities.lockEntities(second, first);
      try {
        // Read-modify-write on both: only mutual exclusion keeps every increment.
        const x = yield ctx.entities.callEntity(first, "get");
        const y = yield ctx.entities.callEntity(second, "get");
        yield ctx.entities.callEntity(first, "set", x + 1);
        yield ctx.entities.callEntity(second, "set", y + 1);
      } finally {
        lock.release();
      }
      return i;
    });
  }, async () => {
    const instances = [];
    for (let i = 0; i < N; i++) {
      instances.push(await env.client.scheduleNewOrchestration(orch, i, { instanceId: `${orch}-${i}` }));
    }
    const outs = await Promise.all(instances.map((id) => waitOutput(env.client, id, 150)));
    assert.deepEqual(outs, Array.from({ length: N }, (_, i) => i));
    // Each of a, b, c is in two of every three pairs: 2N/3 increments each.
    for (const id of ids) {
      const m = await pollEntity(env.client, id, (e) => e.lockedBy === undefined, `${id} unlocked`);
      assert.equal(stateOf(m), (2 * N) / 3, `${id}: every increment kept`);
    }
  });
});

env.test("continue-as-new inside a critical section releases the lock for the next generation", async () => {
  const name = uid("gen");
  const orch = uid("gen-orch");
  const id = new EntityInstanceId(name, "g");
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Counter());
    w.addNamedOrchestrator(orch, async function* (ctx, generation) {
      yield ctx.entities.lockEntities(id); // not released: the execution ends while holding it
      const v = yield ctx.entities.callEntity(id, "add", 1);
      if (generation < 3) {
        ctx.continueAsNew(generation + 1, false);
        return undefined;
      }
      return v;
    });
  }, async () => {
    const instanceId = await env.client.scheduleNewOrchestration(orch, 1, { instanceId: uid("gen-i") });
    // Generations 2 and 3 can only lock the entity if the server released generation 1's and
    // 2's locks when they continued as new.
    assert.equal(await waitOutput(env.client, instanceId, 60), 3);
    const m = await pollEntity(env.client, id, (e) => e.lockedBy === undefined, "unlocked after completion");
    assert.equal(stateOf(m), 3);
  });
});

env.test("an orchestration terminated while its lock request waits never holds the lock", async () => {
  const name = uid("queue");
  const holder = uid("queue-holder");
  const waiter = uid("queue-waiter");
  const id = new EntityInstanceId(name, "q");
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Counter());
    w.addNamedOrchestrator(holder, async function* (ctx) {
      const lock = yield ctx.entities.lockEntities(id);
      try {
        yield ctx.waitForExternalEvent("go");
        return yield ctx.entities.callEntity(id, "add", 1);
      } finally {
        lock.release();
      }
    });
    w.addNamedOrchestrator(waiter, async function* (ctx) {
      const lock = yield ctx.entities.lockEntities(id);
      try {
        return yield ctx.entities.callEntity(id, "add", 10);
      } finally {
        lock.release();
      }
    });
  }, async () => {
    const holderId = await env.client.scheduleNewOrchestration(holder, undefined, { instanceId: uid("queue-h") });
    await pollEntity(env.client, id, (e) => e.lockedBy === holderId, "lock held by the holder");
    const waiterId = await env.client.scheduleNewOrchestration(waiter, undefined, { instanceId: uid("queue-w") });
    await pollEntity(env.client, id, (e) => e.backlogQueueSize >= 1, "the waiter's lock request queued");
    await env.client.terminateOrchestration(waiterId, "gave up");
    assert.equal(statusName((await waitDone(env.client, waiterId)).runtimeStatus), "TERMINATED");
    await env.client.raiseOrchestrationEvent(holderId, "go");
    assert.equal(await waitOutput(env.client, holderId), 1);
    // The terminated waiter's request must not leave the entity locked; a later signal runs.
    await env.client.signalEntity(id, "add", 100);
    const m = await pollEntity(env.client, id, (e) => stateOf(e) === 101, "state 101");
    assert.equal(m.lockedBy, undefined);
    assert.equal(m.backlogQueueSize, 0);
  });
});

env.test("entity work-item filters: each worker receives only the entities it registered", async () => {
  const alpha = uid("alpha");
  const beta = uid("beta");
  /** An entity that records which worker ran each operation. */
  const tagging = (tag) => class extends TaskEntity {
    initializeState() {
      return [];
    }
    hit() {
      this.state = [...this.state, tag];
    }
  };
  const wA = await startWorker(env.server.address, (w) => w.addNamedEntity(alpha, () => new (tagging("A"))()),
    { workItemFilters: "auto" });
  const wB = await startWorker(env.server.address, (w) => w.addNamedEntity(beta, () => new (tagging("B"))()),
    { workItemFilters: "auto" });
  try {
    const keys = ["k1", "k2", "k3"];
    // All of alpha's signals first, then beta's: a dispatcher ignoring the filters (say, round
    // robin over the two streams) would hand some of them to the wrong worker.
    for (const name of [alpha, beta]) {
      for (let i = 0; i < 3; i++) {
        await Promise.all(keys.map((k) => env.client.signalEntity(new EntityInstanceId(name, k), "hit")));
      }
    }
    // A worker handed an entity it did not register fails its operations, so every state
    // complete and tagged right proves the routing.
    for (const k of keys) {
      await pollEntity(env.client, new EntityInstanceId(alpha, k), (e) => stateOf(e)?.length === 3, `${alpha}/${k}`);
      await pollEntity(env.client, new EntityInstanceId(beta, k), (e) => stateOf(e)?.length === 3, `${beta}/${k}`);
      assert.deepEqual(stateOf(await env.client.getEntity(new EntityInstanceId(alpha, k))), ["A", "A", "A"]);
      assert.deepEqual(stateOf(await env.client.getEntity(new EntityInstanceId(beta, k))), ["B", "B", "B"]);
    }
  } finally {
    await stopWorker(wA);
    await stopWorker(wB);
  }
});

env.test("purging an entity id deletes it when idle, never while it is locked", async () => {
  const name = uid("purged");
  const holder = uid("purged-holder");
  const idle = new EntityInstanceId(name, "idle");
  const locked = new EntityInstanceId(name, "locked");
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Counter());
    w.addNamedOrchestrator(holder, async function* (ctx) {
      const lock = yield ctx.entities.lockEntities(locked);
      try {
        yield ctx.waitForExternalEvent("go");
      } finally {
        lock.release();
      }
    });
  }, async () => {
    await env.client.signalEntity(idle, "add", 5);
    await pollEntity(env.client, idle, (e) => stateOf(e) === 5, "idle = 5");
    const holderId = await env.client.scheduleNewOrchestration(holder, undefined, { instanceId: uid("purged-h") });
    await env.client.signalEntity(locked, "add", 1); // ahead of the lock request or behind it
    await pollEntity(env.client, locked, (e) => e.lockedBy === holderId, "locked by the holder");

    assert.equal((await env.client.purgeOrchestration(locked.toString()))?.deletedInstanceCount, 0,
      "a locked entity is not purged");
    assert.equal((await env.client.getEntity(locked)).lockedBy, holderId);
    assert.equal((await env.client.purgeOrchestration(idle.toString()))?.deletedInstanceCount, 1);
    assert.equal(await env.client.getEntity(idle), undefined, "the purged entity is gone");

    await env.client.raiseOrchestrationEvent(holderId, "go");
    await waitOutput(env.client, holderId);
    const m = await pollEntity(env.client, locked, (e) => e.lockedBy === undefined && stateOf(e) === 1, "unlocked, state 1");
    assert.equal(m.backlogQueueSize, 0);
    // A purged entity starts again from no state.
    await env.client.signalEntity(idle, "add", 2);
    await pollEntity(env.client, idle, (e) => stateOf(e) === 2, "idle = 2 after the purge");
  });
});
