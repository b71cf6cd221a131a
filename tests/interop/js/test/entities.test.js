"use strict";
// Durable entities with @microsoft/durabletask-js 0.4.0: 500 concurrent client signals;
// a counter signaled from the client and read back (getEntity, getEntities,
// cleanEntityStorage); an orchestration calling and signaling an entity (results and
// failures); a critical section over two entities (read-modify-write transfers that lose
// no update); a signal queued behind a lock; the server releasing the locks of an
// orchestration that failed holding them; and an entity that signals another entity (now
// and scheduled) and starts an orchestration.

const assert = require("node:assert/strict");
const { EntityInstanceId, TaskEntity } = require("@microsoft/durabletask-js");
const { setupFile, withWorker, waitDone, waitOutput, sleep, statusName, uid } = require("../helpers/dt");
const { pollEntity, stateOf } = require("../helpers/entities");

const env = setupFile();

/** A counter: add(n), get(), reset(); "explode" throws; "delete" is implicit. */
class Counter extends TaskEntity {
  initializeState() {
    return 0;
  }
  add(n) {
    this.state += n;
    return this.state;
  }
  get() {
    return this.state;
  }
  reset() {
    this.state = 0;
  }
  explode() {
    const e = new Error(`counter ${this.context.id.key} refuses`);
    e.name = "CounterError";
    throw e;
  }
}

/** An account for the critical-section test: get() and set(balance) only, so a transfer is a
 * read-modify-write that needs the lock. */
class Account extends TaskEntity {
  initializeState() {
    return 0;
  }
  get() {
    return this.state;
  }
  set(balance) {
    this.state = balance;
  }
}

async function listEntities(client, query) {
  const out = [];
  for await (const e of client.getEntities(query)) out.push(e);
  return out;
}

env.test("counter: signals from the client, read back with getEntity and getEntities", async () => {
  const name = uid("Counter"); // upper case: entity names are case-insensitive
  const keys = ["k1", "K2"];
  await withWorker(env.server.address, (w) => {
    assert.equal(w.addNamedEntity(name, () => new Counter()), name.toLowerCase());
  }, async () => {
    const id = new EntityInstanceId(name, keys[0]);
    assert.equal(id.toString(), `@${name.toLowerCase()}@k1`);
    assert.equal(await env.client.getEntity(id), undefined, "unknown entity");
    // 20 concurrent signals: every one applied exactly once.
    await Promise.all(Array.from({ length: 20 }, (_, i) => env.client.signalEntity(id, "add", i + 1)));
    await env.client.signalEntity(new EntityInstanceId(name, keys[1]), "add", 7);

    const m = await pollEntity(env.client, id, (e) => stateOf(e) === 210, "state 210");
    assert.equal(m.id.toString(), id.toString());
    assert.equal(m.id.name, name.toLowerCase());
    assert.equal(m.id.key, "k1");
    assert.equal(m.includesState, true);
    assert.equal(m.backlogQueueSize, 0);
    assert.equal(m.lockedBy, undefined);
    assert.ok(m.lastModifiedTime instanceof Date && m.lastModifiedTime.getTime() > 0);
    assert.ok(Date.now() - m.lastModifiedTime.getTime() < 10 * 60_000, "lastModifiedTime is recent");

    const noState = await env.client.getEntity(id, false);
    assert.equal(noState.includesState, false);
    // Another name with the same key is another entity.
    assert.equal(await env.client.getEntity(new EntityInstanceId(`${name}x`, "k1")), undefined);

    await pollEntity(env.client, new EntityInstanceId(name, keys[1]), (e) => stateOf(e) === 7, "state 7");
    const listed = await listEntities(env.client, { instanceIdStartsWith: name, includeState: true });
    assert.deepEqual(
      listed.map((e) => [e.id.key, e.state]).sort(),
      [["K2", 7], ["k1", 210]],
    );
    const paged = await listEntities(env.client, { instanceIdStartsWith: `${name}@`, pageSize: 1 });
    assert.deepEqual(paged.map((e) => e.id.key).sort(), ["K2", "k1"]);
    const byKey = await listEntities(env.client, { instanceIdStartsWith: `@${name}@K` });
    assert.deepEqual(byKey.map((e) => e.id.key), ["K2"]);

    // "delete" removes the state; with no state, no queue and no lock the entity is gone.
    await env.client.signalEntity(new EntityInstanceId(name, keys[1]), "delete");
    const deadline = Date.now() + 30_000;
    while (await env.client.getEntity(new EntityInstanceId(name, keys[1]))) {
      assert.ok(Date.now() < deadline, "entity with deleted state still exists");
      await sleep(100);
    }
    const cleaned = await env.client.cleanEntityStorage();
    assert.equal(cleaned.emptyEntitiesRemoved, 0);
    assert.equal(cleaned.orphanedLocksReleased, 0);
    assert.equal((await env.client.getEntity(id)).state, 210, "clean keeps live entities");
  });
});

env.test("500 concurrent client signals: one hot counter and 100 others, every one applied once", { timeout: 180_000 }, async () => {
  const name = uid("hot");
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Counter());
  }, async () => {
    const hot = new EntityInstanceId(name, "hot");
    const others = Array.from({ length: 100 }, (_, i) => new EntityInstanceId(name, `k${i}`));
    const signals = [];
    for (let i = 1; i <= 400; i++) signals.push(env.client.signalEntity(hot, "add", i));
    others.forEach((id, i) => signals.push(env.client.signalEntity(id, "add", i + 1)));
    await Promise.all(signals);
    await pollEntity(env.client, hot, (e) => stateOf(e) === (400 * 401) / 2, "sum 1..400", 120_000);
    const all = new Map();
    const deadline = Date.now() + 60_000;
    while (all.size < 101 && Date.now() < deadline) {
      for (const e of await listEntities(env.client, { instanceIdStartsWith: `${name}@`, includeState: true, pageSize: 37 })) {
        all.set(e.id.key, e.state);
      }
      if (all.size < 101) await sleep(200);
    }
    assert.equal(all.size, 101, "every entity listed once created");
    await Promise.all(others.map((id, i) => pollEntity(env.client, id, (e) => stateOf(e) === i + 1, `${id} = ${i + 1}`)));
  });
});

env.test("an orchestration calls and signals an entity; a failed operation reaches the caller", async () => {
  const name = uid("calc");
  const orch = uid("calc-orch");
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Counter());
    w.addNamedOrchestrator(orch, async function* (ctx, key) {
      const id = new EntityInstanceId(name, key);
      const afterAdd = yield ctx.entities.callEntity(id, "add", 5);
      const again = yield ctx.entities.callEntity(id, "add", 10);
      let failure = null;
      try {
        yield ctx.entities.callEntity(id, "explode");
      } catch (e) {
        failure = { operation: e.operationName, type: e.failureDetails?.errorType, message: e.failureDetails?.errorMessage };
      }
      const afterFailure = yield ctx.entities.callEntity(id, "get");
      ctx.entities.signalEntity(id, "add", 100);
      return { afterAdd, again, failure, afterFailure };
    });
  }, async () => {
    const key = uid("acct");
    const instanceId = await env.client.scheduleNewOrchestration(orch, key, { instanceId: uid("calc-i") });
    const out = await waitOutput(env.client, instanceId);
    assert.equal(out.afterAdd, 5);
    assert.equal(out.again, 15);
    assert.equal(out.failure?.operation, "explode");
    assert.equal(out.failure?.type, "CounterError");
    assert.match(out.failure?.message ?? "", /refuses/);
    assert.equal(out.afterFailure, 15, "the failed operation left the state unchanged");
    // The signal sent by the orchestration is applied after it finished.
    await pollEntity(env.client, new EntityInstanceId(name, key), (e) => stateOf(e) === 115, "state 115");
  });
});

env.test("critical section over two entities: concurrent read-modify-write transfers lose no update", { timeout: 180_000 }, async () => {
  const name = uid("account");
  const transfer = uid("transfer");
  const a = new EntityInstanceId(name, "alice");
  const b = new EntityInstanceId(name, "bob");
  const N = 12;
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Account());
    w.addNamedOrchestrator(transfer, async function* (ctx, { from, to, amount }) {
      const src = new EntityInstanceId(name, from);
      const dst = new EntityInstanceId(name, to);
      // Listed in either order: the SDK sorts, the server forwards the lock in that order.
      const lock = yield ctx.entities.lockEntities(dst, src);
      const inside = ctx.entities.isInCriticalSection();
      try {
        const s = yield ctx.entities.callEntity(src, "get");
        const d = yield ctx.entities.callEntity(dst, "get");
        if (s < amount) return { moved: 0, inside: inside.inSection };
        // Two separate writes after the reads: without the lock, concurrent transfers would
        // overwrite each other's updates.
        yield ctx.entities.callEntity(src, "set", s - amount);
        yield ctx.entities.callEntity(dst, "set", d + amount);
        return { moved: amount, inside: inside.inSection };
      } finally {
        lock.release();
      }
    });
  }, async () => {
    await env.client.signalEntity(a, "set", 100);
    await env.client.signalEntity(b, "set", 100);
    await pollEntity(env.client, a, (e) => stateOf(e) === 100, "alice 100");
    await pollEntity(env.client, b, (e) => stateOf(e) === 100, "bob 100");

    const ids = [];
    for (let i = 0; i < N; i++) {
      const input = i % 2 === 0 ? { from: "alice", to: "bob", amount: 10 + i } : { from: "bob", to: "alice", amount: 3 + i };
      ids.push(await env.client.scheduleNewOrchestration(transfer, input, { instanceId: `${transfer}-${i}` }));
    }
    const results = await Promise.all(ids.map((id) => waitOutput(env.client, id, 150)));
    let expectedAlice = 100;
    for (let i = 0; i < N; i++) {
      assert.equal(results[i].inside, true, "isInCriticalSection inside the lock");
      expectedAlice += i % 2 === 0 ? -results[i].moved : results[i].moved;
    }
    const ma = await pollEntity(env.client, a, (e) => e.lockedBy === undefined, "alice unlocked");
    const mb = await pollEntity(env.client, b, (e) => e.lockedBy === undefined, "bob unlocked");
    assert.equal(ma.state + mb.state, 200, `total conserved (alice ${ma.state}, bob ${mb.state})`);
    assert.equal(ma.state, expectedAlice, "every transfer's moves applied exactly once");
    assert.ok(results.some((r) => r.moved > 0), "some transfer moved money");
  });
});

env.test("a client signal to a locked entity waits until the lock is released", async () => {
  const name = uid("gate");
  const holder = uid("gate-holder");
  const id = new EntityInstanceId(name, "g");
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
  }, async () => {
    const instanceId = await env.client.scheduleNewOrchestration(holder, undefined, { instanceId: uid("gate-i") });
    await pollEntity(env.client, id, (e) => e.lockedBy === instanceId, "lock held by the orchestration");
    await env.client.signalEntity(id, "add", 100);
    // The signal stays queued behind the lock: the backlog shows it, the state stays absent.
    const held = await pollEntity(env.client, id, (e) => e.backlogQueueSize >= 1, "queued signal");
    assert.equal(held.lockedBy, instanceId);
    assert.equal(held.includesState, false, "no operation ran while locked by someone else");
    await env.client.raiseOrchestrationEvent(instanceId, "go");
    // Inside the lock the holder's own call ran first (state 1 => result 1).
    assert.equal(await waitOutput(env.client, instanceId), 1);
    const done = await pollEntity(env.client, id, (e) => stateOf(e) === 101, "state 101");
    assert.equal(done.lockedBy, undefined);
  });
});

env.test("an orchestration that fails inside a critical section leaves no lock behind", async () => {
  const name = uid("vault");
  const orch = uid("vault-orch");
  const x = new EntityInstanceId(name, "x");
  const y = new EntityInstanceId(name, "y");
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(name, () => new Counter());
    w.addNamedOrchestrator(orch, async function* (ctx) {
      yield ctx.entities.lockEntities(x, y); // never released by the orchestration itself
      yield ctx.entities.callEntity(x, "add", 1);
      throw new Error("failed while holding the lock");
    });
  }, async () => {
    const instanceId = await env.client.scheduleNewOrchestration(orch, undefined, { instanceId: uid("vault-i") });
    const state = await waitDone(env.client, instanceId);
    assert.equal(statusName(state.runtimeStatus), "FAILED");
    // The server sends the unlocks the failed execution owed; later signals run.
    await env.client.signalEntity(x, "add", 10);
    await env.client.signalEntity(y, "add", 20);
    const mx = await pollEntity(env.client, x, (e) => stateOf(e) === 11, "x = 11");
    const my = await pollEntity(env.client, y, (e) => stateOf(e) === 20, "y = 20");
    assert.equal(mx.lockedBy, undefined);
    assert.equal(my.lockedBy, undefined);
    const cleaned = await env.client.cleanEntityStorage({ releaseOrphanedLocks: true });
    assert.equal(cleaned.orphanedLocksReleased, 0);
  });
});

env.test("an entity signals another entity (now and scheduled) and starts an orchestration", async () => {
  const counterName = uid("tally");
  const relayName = uid("relay");
  const orch = uid("relay-orch");
  const target = new EntityInstanceId(counterName, "t");
  class Relay extends TaskEntity {
    initializeState() {
      return { forwarded: 0 };
    }
    forward(n) {
      this.context.signalEntity(target, "add", n);
      this.state.forwarded += 1;
    }
    forwardLater(n) {
      this.context.signalEntity(target, "add", n, { signalTime: new Date(Date.now() + 500) });
      this.state.forwarded += 1;
    }
    start(instanceId) {
      return this.context.scheduleNewOrchestration(orch, 1000, { instanceId });
    }
  }
  await withWorker(env.server.address, (w) => {
    w.addNamedEntity(counterName, () => new Counter());
    w.addNamedEntity(relayName, () => new Relay());
    w.addNamedOrchestrator(orch, async function* (ctx, n) {
      return yield ctx.entities.callEntity(target, "add", n);
    });
  }, async () => {
    const relay = new EntityInstanceId(relayName, "r");
    const started = uid("relay-started");
    await env.client.signalEntity(relay, "forward", 5);
    await env.client.signalEntity(relay, "forwardLater", 7);
    await env.client.signalEntity(relay, "start", started);
    const out = await waitOutput(env.client, (await pollInstance(env.client, started)).instanceId);
    assert.ok(out >= 1000 && out <= 1012, `the orchestration's call saw ${out}`);
    await pollEntity(env.client, target, (e) => stateOf(e) === 1012, "5 + 7 (scheduled) + 1000");
    assert.deepEqual((await env.client.getEntity(relay)).state, { forwarded: 2 });
  });
});

/** Polls until the orchestration instance exists (started by an entity). */
async function pollInstance(client, instanceId, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await client.getOrchestrationState(instanceId, false);
    if (s) return s;
    await sleep(100);
  }
  assert.fail(`orchestration ${instanceId} was never started`);
}
