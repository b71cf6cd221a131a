"""Orchestrations and activities the CLI tests drive (run by a real durabletask worker)."""

from __future__ import annotations

import threading

from durabletask import task

_lock = threading.Lock()
_flaky_calls: dict[str, int] = {}


def hello(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}!"


def boom(ctx: task.ActivityContext, message: str) -> None:
    raise ValueError(message)


def flaky(ctx: task.ActivityContext, key: str) -> str:
    """Fails on its first call for `key`, succeeds afterwards (for rewind)."""
    with _lock:
        n = _flaky_calls.get(key, 0)
        _flaky_calls[key] = n + 1
    if n == 0:
        raise RuntimeError(f"first attempt for {key} fails")
    return f"ok {key}"


def greet(ctx: task.OrchestrationContext, cities):
    """Calls `hello` once per city, in order."""
    results = []
    for city in cities or ["Tokyo"]:
        results.append((yield ctx.call_activity(hello, input=city)))
    return results


def failing(ctx: task.OrchestrationContext, message):
    yield ctx.call_activity(boom, input=message or "kaboom")
    return "unreachable"


def rewindable(ctx: task.OrchestrationContext, key: str):
    return (yield ctx.call_activity(flaky, input=key))


def waiter(ctx: task.OrchestrationContext, _):
    """Completes with the data of the external event "go"."""
    data = yield ctx.wait_for_external_event("go")
    return {"got": data}


def parent(ctx: task.OrchestrationContext, _):
    """Starts a child that waits forever for an event (for recursive terminate)."""
    return (yield ctx.call_sub_orchestrator(waiter, input=None,
                                            instance_id=f"{ctx.instance_id}-child"))


ORCHESTRATORS = [greet, failing, rewindable, waiter, parent]
ACTIVITIES = [hello, boom, flaky]


def nested(ctx: task.OrchestrationContext, _):
    """Runs `greet` as a sub-orchestration (instance id: this one's + "-child")."""
    return (yield ctx.call_sub_orchestrator(greet, input=["Oslo"],
                                            instance_id=f"{ctx.instance_id}-child"))


ORCHESTRATORS.append(nested)
