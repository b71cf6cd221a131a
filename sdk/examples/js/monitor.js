"use strict";
// Monitor: check a job periodically until it is done or a deadline passes. Each check is a
// fresh execution (continue-as-new), so the history stays small however long it runs.
// Run: node sdk/examples/js/monitor.js [--address localhost:4001]

const { args, withWorkerAndClient, runToCompletion, finish, main } = require("./common");

const DONE_AFTER = 3; // the job reports "done" on its third check

const checkJob = (ctx, inp) => (inp.check >= DONE_AFTER ? "done" : "running");

async function* jobMonitor(ctx, state) {
  const checks = state.checks + 1;
  const status = yield ctx.callActivity(checkJob, { job: state.job, check: checks });
  if (status === "done" || ctx.currentUtcDateTime.getTime() >= state.deadline) {
    return { job: state.job, checks, status: status === "done" ? "done" : "timed out" };
  }
  ctx.setCustomStatus({ checks, last: status });
  yield ctx.createTimer(state.interval); // seconds
  ctx.continueAsNew({ ...state, checks }, false);
}

main(async () => {
  const a = args({ interval: { type: "string", default: "0.5" } });
  const state = { job: "export-42", checks: 0, interval: Number(a.interval), deadline: Date.now() + a.timeout * 1000 };
  const out = await withWorkerAndClient(a.address, (w) => {
    w.addOrchestrator(jobMonitor);
    w.addActivity(checkJob);
  }, (c) => runToCompletion(c, "jobMonitor", state, a.timeout));
  return finish(out, { job: "export-42", checks: DONE_AFTER, status: "done" });
});
