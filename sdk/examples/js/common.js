"use strict";
// What every JavaScript sample shares: arguments, a worker + client pair, the result line.
//
// A sample's contract (tests/samples checks it): it connects to a running taskhubd
// (`--address HOST:PORT`, default $TASKHUB_ADDRESS or localhost:4001), starts its own worker
// (the real @microsoft/durabletask-js SDK) and client, prints progress lines and then exactly
// one `RESULT: <json>` line, and exits 0 only when the result checks out (1 otherwise).

const crypto = require("node:crypto");
const assert = require("node:assert/strict");
const { parseArgs } = require("node:util");
const {
  TaskHubGrpcClient,
  TaskHubGrpcWorker,
  OrchestrationStatus,
} = require("@microsoft/durabletask-js");

/** Errors only (the SDK is chatty at info level). */
const quietLogger = {
  error: (m, ...a) => process.stderr.write(`[sdk] ${m} ${a.join(" ")}\n`),
  warn: () => {},
  info: () => {},
  debug: () => {},
};

/** --address (default $TASKHUB_ADDRESS or localhost:4001), --timeout seconds, plus `extra`
 * ({name: {type: "string", default: "2"}} as node:util parseArgs takes them). */
function args(extra = {}) {
  const { values } = parseArgs({
    options: {
      address: { type: "string", default: process.env.TASKHUB_ADDRESS || "localhost:4001" },
      timeout: { type: "string", default: "60" },
      ...extra,
    },
  });
  return { ...values, timeout: Number(values.timeout) };
}

/** A fresh instance id (or entity key): samples can run any number of times. */
function newId(prefix) {
  return `${prefix}-${crypto.randomBytes(6).toString("hex")}`;
}

/** Starts a worker (`register(worker)` adds the functions), runs `body(client)`, stops both. */
async function withWorkerAndClient(address, register, body) {
  const worker = new TaskHubGrpcWorker({ hostAddress: address, logger: quietLogger, shutdownTimeoutMs: 5_000 });
  register(worker);
  await worker.start();
  const client = new TaskHubGrpcClient({ hostAddress: address, logger: quietLogger });
  try {
    return await body(client);
  } finally {
    await client.stop();
    await worker.stop();
  }
}

/** Waits for an instance to finish; returns its output, throws unless it COMPLETED. */
async function waitOutput(client, id, timeoutSeconds) {
  const st = await client.waitForOrchestrationCompletion(id, true, timeoutSeconds);
  if (!st) throw new Error(`${id}: no such instance`);
  if (st.runtimeStatus !== OrchestrationStatus.COMPLETED) {
    const why = st.failureDetails ? `${st.failureDetails.errorType}: ${st.failureDetails.message}` : "";
    throw new Error(`${id} ended ${OrchestrationStatus[st.runtimeStatus]} ${why}`);
  }
  return st.serializedOutput === undefined ? undefined : JSON.parse(st.serializedOutput);
}

/** Schedules an orchestration and returns its output (waitOutput). */
async function runToCompletion(client, name, input, timeoutSeconds, instanceId = newId("sample")) {
  const id = await client.scheduleNewOrchestration(name, input, { instanceId });
  console.log(`started ${id}`);
  return waitOutput(client, id, timeoutSeconds);
}

/** JSON with sorted keys, so RESULT lines compare the same in Python and JavaScript. */
function stableJson(v) {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(", ")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}: ${stableJson(v[k])}`).join(", ")}}`;
  }
  return JSON.stringify(v);
}

/** Prints the RESULT line; returns the exit code (0 when result deep-equals expected). */
function finish(result, expected) {
  console.log(`RESULT: ${stableJson(result)}`);
  try {
    assert.deepStrictEqual(result, expected);
    return 0;
  } catch {
    process.stderr.write(`CHECK FAILED: expected ${stableJson(expected)}\n`);
    return 1;
  }
}

/** Runs a sample's body: exits with its code, or 1 (with the reason) if it threw. */
function main(body) {
  body().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`FAILED: ${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

module.exports = { args, newId, withWorkerAndClient, waitOutput, runToCompletion, finish, main, sleep };
