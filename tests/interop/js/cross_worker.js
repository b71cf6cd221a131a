"use strict";
// A JavaScript worker for the cross-language test (tests/interop/python/
// test_cross_language.py): registers `cross_js_orch` and the activity `js_reverse`
// with work-item filters, so a Python worker on the same task hub gets the rest.
// Usage: node cross_worker.js HOST:PORT   (prints "ready" once connected; SIGTERM stops it)
const { TaskHubGrpcWorker } = require("@microsoft/durabletask-js");

const address = process.argv[2];
const worker = new TaskHubGrpcWorker({ hostAddress: address, workItemFilters: "auto", shutdownTimeoutMs: 5000 });

worker.addNamedActivity("js_reverse", (_ctx, text) => `js:${[...text].reverse().join("")}`);
worker.addNamedOrchestrator("cross_js_orch", async function* (ctx, text) {
  const fromPython = yield ctx.callActivity("py_shout", text);
  const fromJs = yield ctx.callActivity("js_reverse", text);
  return { orchestrator: "js", results: [fromPython, fromJs] };
});

worker.start().then(() => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  worker.stop().finally(() => process.exit(0));
});
