"""Human interaction with a timeout: an expense needs a manager's approval; the orchestration
waits for the "approval" event or a durable timer, whichever comes first, and escalates on
timeout. The sample runs two expenses: one approved by "alice", one nobody answers.

Run: python sdk/examples/python/human_interaction.py [--address localhost:4001] [--wait 2]
"""

from datetime import timedelta

from durabletask import task

from _common import finish, main, new_id, parse_args, wait_output, worker_and_client


def request_approval(ctx: task.ActivityContext, expense: dict) -> str:
    # Stands in for an e-mail or chat message to the approver.
    print(f"approval requested for {expense['id']} ({expense['amount']} EUR)", flush=True)
    return "sent"


def escalate(ctx: task.ActivityContext, expense: dict) -> str:
    return f"escalated {expense['id']} to the finance team"


def expense_approval(ctx: task.OrchestrationContext, expense: dict):
    yield ctx.call_activity(request_approval, input=expense)
    ctx.set_custom_status("waiting for approval")
    approval = ctx.wait_for_external_event("approval")
    timeout = ctx.create_timer(timedelta(seconds=expense["wait_seconds"]))
    winner = yield task.when_any([approval, timeout])
    if winner == approval:
        decision = approval.get_result()
        return {"id": expense["id"], "outcome": "approved" if decision["approved"] else "rejected",
                "by": decision["by"]}
    note = yield ctx.call_activity(escalate, input=expense)
    return {"id": expense["id"], "outcome": "timed out", "note": note}


def run() -> int:
    args = parse_args("human interaction with a timeout",
                      lambda p: p.add_argument("--wait", type=float, default=2.0,
                                               help="seconds the unanswered expense waits"))
    answered, ignored = new_id("expense"), new_id("expense")
    with worker_and_client(args.address, orchestrators=[expense_approval],
                           activities=[request_approval, escalate]) as c:
        # The answered one waits up to a minute (the approval arrives well before).
        c.schedule_new_orchestration(expense_approval, instance_id=answered,
                                     input={"id": answered, "amount": 120, "wait_seconds": 60})
        c.schedule_new_orchestration(expense_approval, instance_id=ignored,
                                     input={"id": ignored, "amount": 80, "wait_seconds": args.wait})
        c.wait_for_orchestration_start(answered, timeout=int(args.timeout))
        c.raise_orchestration_event(answered, "approval", data={"approved": True, "by": "alice"})
        print(f"approval sent to {answered}", flush=True)
        out = [wait_output(c, answered, args.timeout), wait_output(c, ignored, args.timeout)]
    return finish(out, [
        {"id": answered, "outcome": "approved", "by": "alice"},
        {"id": ignored, "outcome": "timed out", "note": f"escalated {ignored} to the finance team"},
    ])


if __name__ == "__main__":
    main(run)
