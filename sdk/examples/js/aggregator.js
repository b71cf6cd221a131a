"use strict";
// Aggregator (durable entity): a counter updated by many one-way signals from the client,
// processed one at a time in arrival order, then read by an orchestration (an entity call,
// queued behind the signals) and by the client.
// Run: node sdk/examples/js/aggregator.js [--address localhost:4001] [--signals 100]

const { EntityInstanceId, TaskEntity } = require("@microsoft/durabletask-js");
const { args, newId, withWorkerAndClient, runToCompletion, finish, main } = require("./common");

/** Operations: add(amount), get(), reset(). */
class Counter extends TaskEntity {
  initializeState() {
    return 0;
  }
  add(amount) {
    this.state += amount;
    return this.state;
  }
  get() {
    return this.state;
  }
  reset() {
    this.state = 0;
  }
}

async function* readCounter(ctx, key) {
  return yield ctx.entities.callEntity(new EntityInstanceId("counter", key), "get");
}

main(async () => {
  const a = args({ signals: { type: "string", default: "100" } });
  const n = Number(a.signals);
  const key = newId("sample");
  const entity = new EntityInstanceId("counter", key);
  const out = await withWorkerAndClient(a.address, (w) => {
    w.addNamedEntity("counter", () => new Counter());
    w.addOrchestrator(readCounter);
  }, async (c) => {
    for (let i = 1; i <= n; i++) await c.signalEntity(entity, "add", i); // in order
    console.log(`sent ${n} signals to ${entity}`);
    const byOrchestration = await runToCompletion(c, "readCounter", key, a.timeout);
    const meta = await c.getEntity(entity);
    return { signals: n, read_by_orchestration: byOrchestration, read_by_client: meta ? meta.state : null };
  });
  const total = (n * (n + 1)) / 2;
  return finish(out, { signals: n, read_by_orchestration: total, read_by_client: total });
});
