#!/usr/bin/env python3
"""A Durable Task Python SDK worker run as its own process by the crash tests.

It lives in a separate process so that it survives `kill -9` of taskhubd (and so that the tests
can `kill -9` the worker itself). It registers:

  load orchestrations (test_crash_recovery.py): crash_chain, crash_fanout, crash_mixed, built on
  the activities crash_step and crash_square. The tests compute the expected outputs with their own
  copy of the arithmetic, so a mismatch shows a real difference, not a shared bug.

  crash loop (test_crash_loop.py): crash_wait_event (waits for the event "go", then one
  crash_step activity on its value), crash_long (one timer, then "long-done"; the target of
  terminate and suspend) and crash_echo (returns its input; the target of purge).

  entities (test_entity_crash.py): the entity crash_ledger (op "add": appends the input marker to
  its state, a list, and returns 3 * marker + 1; op "get": the list) and the orchestration
  crash_entity_caller (calls "add" on @crash_ledger@<input key> for each input marker in turn,
  returns the results); the entity crash_account (an integer balance: "init", "get", "set") and
  the orchestrations crash_transfer (locks two accounts, reads both, writes both: a lost update
  or an operation outside the critical section would change the total) and crash_deposit (calls
  "deposit" on an account without a lock: it must wait while a transfer holds the account).

  slow_orch -> slow_marker (test_worker_disconnect.py): slow_marker creates one new file in
  input["marker_dir"] each time it starts executing, then sleeps --slow-seconds and returns
  "done-by-<worker name>".

Usage: crash_worker.py --address HOST:PORT --name NAME [--slow-seconds S]
Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import uuid
from datetime import timedelta

from durabletask import task, worker
from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.grpc_options import GrpcChannelOptions, GrpcWorkerResiliencyOptions

from crash_support import FAST_RECONNECT_OPTIONS

WORKER_NAME = "unnamed"
SLOW_SECONDS = 1.0


# ---- load: activities -------------------------------------------------------------------------

def crash_step(ctx: task.ActivityContext, inp: list[int]) -> int:
    value, k = inp
    return (value * 31 + k * 7 + 1) % 1_000_003


def crash_square(ctx: task.ActivityContext, x: int) -> int:
    return x * x


# ---- load: orchestrations ---------------------------------------------------------------------

def crash_chain(ctx: task.OrchestrationContext, inp: dict):
    """timer, then a chain of three activities each fed the previous result."""
    yield ctx.create_timer(timedelta(seconds=inp["timer"]))
    value = inp["seed"]
    for k in range(3):
        value = yield ctx.call_activity(crash_step, input=[value, k])
    return value


def crash_fanout(ctx: task.OrchestrationContext, inp: dict):
    """a fan-out of four activities, fan-in, then a timer."""
    parts = yield task.when_all(
        [ctx.call_activity(crash_square, input=inp["seed"] + j) for j in range(4)])
    yield ctx.create_timer(timedelta(seconds=inp["timer"]))
    return {"sum": sum(parts), "parts": parts}


def crash_mixed(ctx: task.OrchestrationContext, inp: dict):
    """activity, timer, activity."""
    first = yield ctx.call_activity(crash_step, input=[inp["seed"], 10])
    yield ctx.create_timer(timedelta(seconds=inp["timer"]))
    second = yield ctx.call_activity(crash_square, input=first % 1000)
    return [first, second]


def crash_wait_event(ctx: task.OrchestrationContext, inp: dict):
    """waits for the external event "go", then one activity fed its value."""
    value = yield ctx.wait_for_external_event("go")
    result = yield ctx.call_activity(crash_step, input=[value, 5])
    return {"event": value, "result": result}


def crash_long(ctx: task.OrchestrationContext, inp: dict):
    """one timer, then done: the target of terminate and suspend."""
    yield ctx.create_timer(timedelta(seconds=inp["timer"]))
    return "long-done"


def crash_echo(ctx: task.OrchestrationContext, inp):
    """returns its input: completes at once, the target of purge."""
    return inp


# ---- entities -----------------------------------------------------------------------------------

def crash_ledger(ctx: EntityContext, marker: int):
    markers = ctx.get_state(list, [])
    if ctx.operation == "get":
        return markers
    if ctx.operation != "add":
        raise ValueError(f"unknown operation {ctx.operation!r}")
    markers.append(marker)
    ctx.set_state(markers)
    return 3 * marker + 1


def crash_entity_caller(ctx: task.OrchestrationContext, inp: dict):
    ledger = EntityInstanceId("crash_ledger", inp["key"])
    results = []
    for marker in inp["markers"]:
        results.append((yield ctx.call_entity(ledger, "add", marker)))
    return results


def crash_account(ctx: EntityContext, inp):
    if ctx.operation == "get":
        return ctx.get_state(int, 0)
    if ctx.operation in ("init", "set"):
        ctx.set_state(inp)
        return None
    if ctx.operation == "deposit":
        ctx.set_state(ctx.get_state(int, 0) + inp)
        return None
    raise ValueError(f"unknown operation {ctx.operation!r}")


def crash_transfer(ctx: task.OrchestrationContext, inp: dict):
    src = EntityInstanceId("crash_account", inp["from"])
    dst = EntityInstanceId("crash_account", inp["to"])
    with (yield ctx.lock_entities([src, dst])):
        a, b = yield task.when_all([ctx.call_entity(src, "get"), ctx.call_entity(dst, "get")])
        amount = min(inp["amount"], a)
        yield task.when_all([ctx.call_entity(src, "set", a - amount),
                             ctx.call_entity(dst, "set", b + amount)])
    return amount


def crash_deposit(ctx: task.OrchestrationContext, inp: dict):
    yield ctx.call_entity(EntityInstanceId("crash_account", inp["key"]), "deposit", inp["amount"])
    return inp["amount"]


# ---- disconnect tests -------------------------------------------------------------------------

def slow_marker(ctx: task.ActivityContext, inp: dict) -> str:
    marker = os.path.join(
        inp["marker_dir"],
        f"started-{WORKER_NAME}-{os.getpid()}-{ctx.task_id}-{uuid.uuid4().hex[:8]}")
    with open(marker, "w") as f:
        f.write(f"{ctx.orchestration_id} {time.time()}\n")
    time.sleep(SLOW_SECONDS)
    return f"done-by-{WORKER_NAME}"


def slow_orch(ctx: task.OrchestrationContext, inp: dict):
    result = yield ctx.call_activity(slow_marker, input=inp)
    return result


def main() -> int:
    global WORKER_NAME, SLOW_SECONDS
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    args = parser.parse_args()
    WORKER_NAME = args.name
    SLOW_SECONDS = args.slow_seconds

    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format=f"%(asctime)s {WORKER_NAME} %(levelname)s %(message)s")
    logger = logging.getLogger("crash-worker")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    w = worker.TaskHubGrpcWorker(
        host_address=args.address,
        logger=logger,
        channel_options=GrpcChannelOptions(raw_options=list(FAST_RECONNECT_OPTIONS)),
        # Keep the SDK's own reconnect loop (Hello + GetWorkItems with full-jitter backoff) but
        # cap its backoff so a restarted server is picked up again within ~2 s.
        resiliency_options=GrpcWorkerResiliencyOptions(reconnect_backoff_base_seconds=0.5,
                                                       reconnect_backoff_cap_seconds=2.0),
        emit_trace_spans=False,
    )
    for orch in (crash_chain, crash_fanout, crash_mixed, crash_wait_event, crash_long, crash_echo,
                 slow_orch, crash_entity_caller, crash_transfer, crash_deposit):
        w.add_orchestrator(orch)
    w.add_entity(crash_ledger)
    w.add_entity(crash_account)
    for act in (crash_step, crash_square, slow_marker):
        w.add_activity(act)
    w.start()
    logger.info("worker %s started, pid %d", WORKER_NAME, os.getpid())
    stop.wait()
    logger.info("worker %s stopping", WORKER_NAME)
    # Abandon whatever is queued; do not wait for a long slow_marker to finish.
    threading.Thread(target=w.stop, daemon=True).start()
    time.sleep(3)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
