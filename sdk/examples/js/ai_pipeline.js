"use strict";
// AI document pipeline: extract the text of a document, classify it, summarize it (each an
// activity with a retry policy: model endpoints fail transiently), then a human approves the
// summary before it is published, or the document goes to manual review when nobody answers
// in time. The "model" calls are deterministic local functions standing in for real
// endpoints; the extraction fails on its first attempt for every document, so the retry
// policy is exercised on each run.
// Run: node sdk/examples/js/ai_pipeline.js [--address localhost:4001] [--wait 2]

const { RetryPolicy, whenAny } = require("@microsoft/durabletask-js");
const { args, newId, withWorkerAndClient, waitOutput, finish, main, sleep } = require("./common");

const MODEL_RETRY = new RetryPolicy({
  maxNumberOfAttempts: 4,
  firstRetryIntervalInMilliseconds: 250,
  backoffCoefficient: 2,
  maxRetryIntervalInMilliseconds: 5000,
});

const DOCUMENTS = {
  invoice: "Invoice INV-2026-17 from Contoso Ltd to Fabrikam Inc. Total 1250.00 EUR due " +
    "2026-12-31. Thank you for your business.",
  complaint: "My order 7731 arrived broken and nobody answers the phone. I want a refund " +
    "for the damaged lamp.",
};

const attempts = new Map();

/** OCR / text extraction. Fails on the first attempt of each document (a transient "model
 * timeout"); the retry policy schedules it again. */
function extractText(ctx, doc) {
  const n = (attempts.get(ctx.orchestrationId) || 0) + 1;
  attempts.set(ctx.orchestrationId, n);
  if (n === 1) throw new Error("extraction model timed out (transient)");
  return { text: DOCUMENTS[doc.name], attempt: n };
}

function classify(ctx, text) {
  const words = new Set(text.toLowerCase().match(/[a-z]+/g));
  if (["invoice", "total"].some((w) => words.has(w))) return "invoice";
  if (["refund", "broken", "damaged"].some((w) => words.has(w))) return "complaint";
  return "other";
}

function summarize(ctx, inp) {
  const first = inp.text.split(". ")[0];
  return `[${inp.category}] ` + first.split(/\s+/).slice(0, 6).join(" ");
}

const publish = (ctx, inp) => `published ${inp.id}`;

async function* documentPipeline(ctx, doc) {
  const extracted = yield ctx.callActivity(extractText, doc, { retry: MODEL_RETRY });
  const category = yield ctx.callActivity(classify, extracted.text, { retry: MODEL_RETRY });
  const summary = yield ctx.callActivity(summarize, { text: extracted.text, category }, { retry: MODEL_RETRY });
  ctx.setCustomStatus({ stage: "awaiting approval", summary });
  const approval = ctx.waitForExternalEvent("approval");
  const timeout = ctx.createTimer(doc.approval_seconds);
  const winner = yield whenAny([approval, timeout]);
  const result = { id: ctx.instanceId, category, summary, extract_attempts: extracted.attempt };
  if (winner === approval && approval.getResult().approved) {
    result.outcome = yield ctx.callActivity(publish, { id: ctx.instanceId });
    result.approved_by = approval.getResult().by;
  } else if (winner === approval) {
    result.outcome = "rejected";
  } else {
    result.outcome = "manual review (no approval in time)";
  }
  return result;
}

main(async () => {
  const a = args({ wait: { type: "string", default: "2" } });
  const invoice = newId("doc-invoice");
  const complaint = newId("doc-complaint");
  const out = await withWorkerAndClient(a.address, (w) => {
    w.addOrchestrator(documentPipeline);
    for (const f of [extractText, classify, summarize, publish]) w.addActivity(f);
  }, async (c) => {
    await c.scheduleNewOrchestration("documentPipeline", { name: "invoice", approval_seconds: 60 }, { instanceId: invoice });
    await c.scheduleNewOrchestration("documentPipeline", { name: "complaint", approval_seconds: Number(a.wait) }, { instanceId: complaint });
    // The reviewer reads the summary (custom status) and approves the invoice.
    const deadline = Date.now() + a.timeout * 1000;
    let st;
    while (!(st = await c.getOrchestrationState(invoice)) || !st.serializedCustomStatus) {
      if (Date.now() > deadline) throw new Error(`${invoice} never asked for approval`);
      await sleep(100);
    }
    console.log(`${invoice} awaits approval: ${st.serializedCustomStatus}`);
    await c.raiseOrchestrationEvent(invoice, "approval", { approved: true, by: "reviewer" });
    return [await waitOutput(c, invoice, a.timeout), await waitOutput(c, complaint, a.timeout)];
  });
  return finish(out, [
    { id: invoice, category: "invoice", summary: "[invoice] Invoice INV-2026-17 from Contoso Ltd to",
      extract_attempts: 2, outcome: `published ${invoice}`, approved_by: "reviewer" },
    { id: complaint, category: "complaint", summary: "[complaint] My order 7731 arrived broken and",
      extract_attempts: 2, outcome: "manual review (no approval in time)" },
  ]);
});
