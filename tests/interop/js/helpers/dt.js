"use strict";
// Small helpers around the real @microsoft/durabletask-js client and worker.

const crypto = require("node:crypto");
const assert = require("node:assert/strict");
const { it, before, after } = require("node:test");
const {
  TaskHubGrpcClient,
  TaskHubGrpcWorker,
  OrchestrationStatus,
} = require("@microsoft/durabletask-js");
const { startServer } = require("./server");

const VERBOSE = !!process.env.DT_VERBOSE;

/** A Logger that keeps warnings/errors so they can be printed when a test fails. */
class CapturingLogger {
  constructor(tag) {
    this.tag = tag;
    this.lines = [];
  }
  _rec(level, message, args) {
    const line = `[${this.tag} ${level}] ${message}${args.length ? " " + args.map(String).join(" ") : ""}`;
    if (level === "error" || level === "warn") {
      this.lines.push(line);
      if (this.lines.length > 200) this.lines.shift();
    }
    if (VERBOSE) process.stderr.write(line + "\n");
  }
  error(m, ...a) { this._rec("error", m, a); }
  warn(m, ...a) { this._rec("warn", m, a); }
  info(m, ...a) { this._rec("info", m, a); }
  debug(m, ...a) { this._rec("debug", m, a); }
}

const sdkLogs = [];
// Workers still running (e.g. after a test timed out); stopped in the file's after hook.
const liveWorkers = new Set();

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Unique id/name per test, safe as instance id and orchestration name. */
function uid(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(4).toString("hex")}`;
}

function statusName(s) {
  return OrchestrationStatus[s] ?? `UNKNOWN(${s})`;
}

/**
 * Sets up one taskhubd + one client per test file (before/after hooks) and
 * returns an object whose `server`/`client` fields are filled in once started.
 * `env.test(name, opts, fn)` wraps node:test's `it` so that the server log and
 * SDK warnings are printed when a test fails.
 */
function setupFile() {
  const env = { server: null, client: null };
  before(async () => {
    env.server = await startServer();
    const logger = new CapturingLogger("client");
    sdkLogs.push(logger);
    env.client = new TaskHubGrpcClient({ hostAddress: env.server.address, logger });
  });
  after(async () => {
    for (const w of [...liveWorkers]) {
      await stopWorker(w);
    }
    if (env.client) {
      await env.client.stop();
    }
    if (env.server) {
      await env.server.stop();
    }
  });
  env.test = (name, opts, fn) => {
    if (typeof opts === "function") {
      fn = opts;
      opts = {};
    }
    it(name, { timeout: 90_000, ...opts }, async (t) => {
      const mark = sdkLogs.map((l) => l.lines.length);
      try {
        await fn(t);
      } catch (e) {
        const logs = sdkLogs.flatMap((l, i) => l.lines.slice(mark[i] ?? 0));
        if (logs.length) {
          process.stderr.write(`\n----- SDK warnings/errors during '${name}' -----\n${logs.slice(-60).join("\n")}\n`);
        }
        if (env.server) env.server.dumpLog(`test '${name}' failed`);
        throw e;
      }
    });
  };
  return env;
}

/**
 * Creates and starts a TaskHubGrpcWorker against `address`; `register(worker)`
 * adds the orchestrators/activities the test needs.
 */
async function startWorker(address, register, options = {}) {
  const logger = new CapturingLogger("worker");
  sdkLogs.push(logger);
  const worker = new TaskHubGrpcWorker({
    hostAddress: address,
    logger,
    shutdownTimeoutMs: 5_000,
    ...options,
  });
  register(worker);
  await worker.start();
  liveWorkers.add(worker);
  return worker;
}

/** Stops a worker; the JS worker can take a while, so bound the wait. */
async function stopWorker(worker) {
  if (!liveWorkers.delete(worker)) return;
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 20_000);
  });
  try {
    const r = await Promise.race([worker.stop().then(() => "stopped"), timeout]);
    if (r === "timeout") {
      process.stderr.write("warning: TaskHubGrpcWorker.stop() did not finish within 20 s\n");
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn(worker)` with a freshly started worker and always stops it. */
async function withWorker(address, register, fn, options = {}) {
  const worker = await startWorker(address, register, options);
  try {
    return await fn(worker);
  } finally {
    await stopWorker(worker);
  }
}

/** Waits for a terminal state (COMPLETED/FAILED/TERMINATED) and returns it. */
async function waitDone(client, instanceId, timeoutSeconds = 45) {
  const state = await client.waitForOrchestrationCompletion(instanceId, true, timeoutSeconds);
  assert.ok(state, `instance ${instanceId} not found when waiting for completion`);
  return state;
}

/** Asserts COMPLETED and returns the parsed output. */
async function waitOutput(client, instanceId, timeoutSeconds = 45) {
  const state = await waitDone(client, instanceId, timeoutSeconds);
  assert.equal(
    statusName(state.runtimeStatus),
    "COMPLETED",
    `instance ${instanceId} ended ${statusName(state.runtimeStatus)}; failure: ${
      state.failureDetails ? `${state.failureDetails.errorType}: ${state.failureDetails.message}` : "none"
    }`,
  );
  return state.serializedOutput === undefined || state.serializedOutput === ""
    ? undefined
    : JSON.parse(state.serializedOutput);
}

/**
 * Polls getOrchestrationState until `pred(state)` holds; returns that state.
 * Fails with the last seen state after `timeoutMs`.
 */
async function pollState(client, instanceId, pred, timeoutMs = 20_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await client.getOrchestrationState(instanceId, true);
    if (pred(last)) return last;
    await sleep(100);
  }
  assert.fail(
    `timed out after ${timeoutMs} ms waiting for ${what} on ${instanceId}; last state: ${
      last ? `${statusName(last.runtimeStatus)} customStatus=${last.serializedCustomStatus}` : "not found"
    }`,
  );
}

function waitStatus(client, instanceId, status, timeoutMs = 20_000) {
  return pollState(client, instanceId, (s) => s && s.runtimeStatus === status, timeoutMs, `status ${statusName(status)}`);
}

module.exports = {
  CapturingLogger,
  OrchestrationStatus,
  setupFile,
  startWorker,
  stopWorker,
  withWorker,
  waitDone,
  waitOutput,
  pollState,
  waitStatus,
  statusName,
  sleep,
  uid,
};
