"use strict";
// Runs one orchestration through taskhubd with the real @microsoft/durabletask-js SDK
// (from tests/interop/js/node_modules), over TLS and/or with a bearer token.
// Usage: node js_roundtrip.js ADDRESS [--ca PEM] [--cert PEM --key PEM]
//        [--worker-token T] [--client-token T] [--expect-denied]
// Prints one JSON line: {"ok":true,"output":...} or {"ok":false,"code":N,"details":"..."}.
// With --expect-denied only the client's first call is made (and expected to fail).
const fs = require("node:fs");
const path = require("node:path");
const jsDir = path.resolve(__dirname, "../interop/js/node_modules");
const sdk = require(path.join(jsDir, "@microsoft/durabletask-js"));
const { TaskHubGrpcClient, TaskHubGrpcWorker } = sdk;
const grpc = require(path.join(jsDir, "@grpc/grpc-js"));

const args = process.argv.slice(2);
const address = args[0];
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function credentials() {
  if (!opt("--ca")) return undefined;
  const read = (f) => (f ? fs.readFileSync(f) : null);
  return grpc.credentials.createSsl(read(opt("--ca")), read(opt("--key")), read(opt("--cert")));
}

function metadataFor(token) {
  if (!token) return undefined;
  return async () => {
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${token}`);
    return md;
  };
}

function report(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function main() {
  const client = new TaskHubGrpcClient({
    hostAddress: address,
    credentials: credentials(),
    metadataGenerator: metadataFor(opt("--client-token")),
  });
  if (args.includes("--expect-denied")) {
    try {
      await client.getOrchestrationState("no-such-instance");
      report({ ok: true });
    } catch (e) {
      report({ ok: false, code: e.code, details: e.details ?? String(e) });
    }
    await client.stop();
    return;
  }
  const worker = new TaskHubGrpcWorker({
    hostAddress: address,
    credentials: credentials(),
    metadataGenerator: metadataFor(opt("--worker-token")),
    shutdownTimeoutMs: 5000,
  });
  worker.addNamedActivity("js_sec_greet", (_ctx, name) => `Hello ${name} from JS`);
  worker.addNamedOrchestrator("js_sec_hello", async function* (ctx, name) {
    return yield ctx.callActivity("js_sec_greet", name);
  });
  await worker.start();
  try {
    const id = await client.scheduleNewOrchestration("js_sec_hello", "TLS");
    const state = await client.waitForOrchestrationCompletion(id, true, 60);
    report({ ok: true, status: state.runtimeStatus, output: state.serializedOutput });
  } catch (e) {
    report({ ok: false, code: e.code, details: e.details ?? String(e) });
  } finally {
    await worker.stop();
    await client.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    report({ ok: false, details: String(e) });
    process.exit(1);
  },
);
