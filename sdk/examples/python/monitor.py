"""Monitor: check a job periodically until it is done or a deadline passes. Each check is a
fresh execution (continue-as-new), so the history stays small however long it runs.

Run: python sdk/examples/python/monitor.py [--address localhost:4001]
"""

from datetime import timedelta

from durabletask import task

from _common import finish, main, parse_args, run_to_completion, worker_and_client

DONE_AFTER = 3  # the job reports "done" on its third check


def check_job(ctx: task.ActivityContext, inp: dict) -> str:
    return "done" if inp["check"] >= DONE_AFTER else "running"


def job_monitor(ctx: task.OrchestrationContext, state: dict):
    checks = state["checks"] + 1
    status = yield ctx.call_activity(check_job, input={"job": state["job"], "check": checks})
    if status == "done" or ctx.current_utc_datetime.timestamp() >= state["deadline"]:
        return {"job": state["job"], "checks": checks,
                "status": "done" if status == "done" else "timed out"}
    ctx.set_custom_status({"checks": checks, "last": status})
    yield ctx.create_timer(timedelta(seconds=state["interval"]))
    ctx.continue_as_new({**state, "checks": checks})


def run() -> int:
    args = parse_args("monitor", lambda p: p.add_argument("--interval", type=float, default=0.5))
    import time
    state = {"job": "export-42", "checks": 0, "interval": args.interval,
             "deadline": time.time() + args.timeout}
    with worker_and_client(args.address, orchestrators=[job_monitor], activities=[check_job]) as c:
        out = run_to_completion(c, job_monitor, state, timeout=args.timeout)
    return finish(out, {"job": "export-42", "checks": DONE_AFTER, "status": "done"})


if __name__ == "__main__":
    main(run)
