// Helpers shared by the entity tests (test/entities*.test.js).
const assert = require("node:assert/strict");
const { sleep } = require("./dt");

/** The state of entity metadata, or undefined when it carries none (the SDK's getter throws). */
function stateOf(m) {
  return m && m.includesState ? m.state : undefined;
}

/** Polls getEntity until `pred(metadata)` holds; returns the metadata. */
async function pollEntity(client, id, pred, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await client.getEntity(id, true);
    if (last && pred(last)) return last;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what} on ${id}; last: ${
    last ? JSON.stringify({ state: stateOf(last), backlog: last.backlogQueueSize, lockedBy: last.lockedBy }) : "not found"
  }`);
}

module.exports = { pollEntity, stateOf };
