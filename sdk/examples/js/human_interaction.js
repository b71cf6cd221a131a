"use strict";
// Human interaction with a timeout: an expense needs a manager's approval; the orchestration
// waits for the "approval" event or a durable timer, whichever comes first, and escalates on
// timeout. The sample runs two expenses: one approved by "alice", one nobody answers.
// Run: node sdk/examples/js/human_interaction.js [--address localhost:4001] [--wait 2]

const { whenAny } = require("@microsoft/durabletask-js");
const { args, newId, withWorkerAndClient, waitOutput, finish, main } = require("./common");

const requestApproval = (ctx, expense) => {
  // Stands in for an e-mail or chat message to the approver.
  console.log(`approval requested for ${expense.id} (${expense.amount} EUR)`);
  return "sent";
};
const escalate = (ctx, expense) => `escalated ${expense.id} to the finance team`;

async function* expenseApproval(ctx, expense) {
  yield ctx.callActivity(requestApproval, expense);
  ctx.setCustomStatus("waiting for approval");
  const approval = ctx.waitForExternalEvent("approval");
  const timeout = ctx.createTimer(expense.wait_seconds);
  const winner = yield whenAny([approval, timeout]);
  if (winner === approval) {
    const d = approval.getResult();
    return { id: expense.id, outcome: d.approved ? "approved" : "rejected", by: d.by };
  }
  const note = yield ctx.callActivity(escalate, expense);
  return { id: expense.id, outcome: "timed out", note };
}

main(async () => {
  const a = args({ wait: { type: "string", default: "2" } });
  const answered = newId("expense");
  const ignored = newId("expense");
  const out = await withWorkerAndClient(a.address, (w) => {
    w.addOrchestrator(expenseApproval);
    w.addActivity(requestApproval);
    w.addActivity(escalate);
  }, async (c) => {
    // The answered one waits up to a minute (the approval arrives well before).
    await c.scheduleNewOrchestration("expenseApproval", { id: answered, amount: 120, wait_seconds: 60 }, { instanceId: answered });
    await c.scheduleNewOrchestration("expenseApproval", { id: ignored, amount: 80, wait_seconds: Number(a.wait) }, { instanceId: ignored });
    await c.waitForOrchestrationStart(answered, false, a.timeout);
    await c.raiseOrchestrationEvent(answered, "approval", { approved: true, by: "alice" });
    console.log(`approval sent to ${answered}`);
    return [await waitOutput(c, answered, a.timeout), await waitOutput(c, ignored, a.timeout)];
  });
  return finish(out, [
    { id: answered, outcome: "approved", by: "alice" },
    { id: ignored, outcome: "timed out", note: `escalated ${ignored} to the finance team` },
  ]);
});
