"use strict";
// Async HTTP API through taskhubd's Durable Functions HTTP management API: a plain HTTP client
// (fetch, no SDK) starts a long-running report with POST .../orchestrators/{name}, gets
// "202 Accepted" with a Location (the status URL) at once, then polls that URL, as told by
// Retry-After, until it answers 200 with the output. The worker here is the JS SDK.
// Needs taskhubd started with `--http-listen HOST:PORT`.
// Run: node sdk/examples/js/async_http_api.js [--address localhost:4001] [--http-url http://localhost:8080]

const { args, newId, withWorkerAndClient, finish, main, sleep } = require("./common");

const BASE = "/runtime/webhooks/durabletask";
let markAccepted;
// Resolved once the client has seen a 202 for the running report.
const seenAccepted = new Promise((resolve) => { markAccepted = resolve; });

// A slow query. It returns only after the HTTP client has seen the report in progress (202),
// so the sample shows both answers on every run without relying on timing.
async function queryRows(ctx, period) {
  await seenAccepted;
  return 42;
}
const renderReport = (ctx, rows) => `report with ${rows} rows`;

async function* generateReport(ctx, period) {
  const rows = yield ctx.callActivity(queryRows, period);
  ctx.setCustomStatus("rendering");
  const report = yield ctx.callActivity(renderReport, rows);
  return { period, report };
}

async function http(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
}

main(async () => {
  const a = args({ "http-url": { type: "string", default: process.env.TASKHUB_HTTP_URL || "http://localhost:8080" } });
  const id = newId("report");
  const polls = [];
  let last;
  let firstAnswer;
  await withWorkerAndClient(a.address, (w) => {
    w.addOrchestrator(generateReport);
    w.addActivity(queryRows);
    w.addActivity(renderReport);
  }, async () => {
    const start = await http("POST", `${a["http-url"]}${BASE}/orchestrators/generateReport/${id}`, "2026-Q4");
    const location = start.headers.get("location");
    firstAnswer = start.status;
    console.log(`POST -> ${start.status} Location: ${location}`);
    if (start.status !== 202) throw new Error(`start answered ${start.status}: ${JSON.stringify(start.body)}`);
    if (start.body.id !== id || start.body.statusQueryGetUri !== location) {
      throw new Error(`unexpected management payload ${JSON.stringify(start.body)}`);
    }
    const deadline = Date.now() + a.timeout * 1000;
    for (;;) {
      last = await http("GET", location);
      polls.push(last.status);
      console.log(`GET status -> ${last.status} ${last.body ? last.body.runtimeStatus : ""}`);
      if (last.status === 200) break;
      if (last.status !== 202) throw new Error(`status answered ${last.status}: ${JSON.stringify(last.body)}`);
      markAccepted();
      if (Date.now() > deadline) throw new Error("the report did not finish in time");
      // Retry-After is in whole seconds; poll sooner here so the sample is quick.
      await sleep(Math.min(Number(last.headers.get("retry-after") || 1), 0.2) * 1000);
    }
  });
  return finish(
    { first_answer: firstAnswer, polled_202: polls.includes(202), final: polls[polls.length - 1],
      runtimeStatus: last.body.runtimeStatus, output: last.body.output },
    { first_answer: 202, polled_202: true, final: 200, runtimeStatus: "Completed",
      output: { period: "2026-Q4", report: "report with 42 rows" } },
  );
});
