"""Orchestrations, activities, entities and helpers shared by the HTTP API tests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Callable

import requests

from durabletask import task
from durabletask.entities import EntityContext

_attempts: Counter[str] = Counter()
_lock = threading.Lock()


def say_hello(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}!"


def hello_orch(ctx: task.OrchestrationContext, name: str):
    greeting = yield ctx.call_activity(say_hello, input=name)
    return [greeting]


def wait_orch(ctx: task.OrchestrationContext, _):
    value = yield ctx.wait_for_external_event("go")
    return {"got": value}


def fails_once(ctx: task.ActivityContext, key: str) -> str:
    """Fails on its first call for `key`, succeeds afterwards (for rewind)."""
    with _lock:
        _attempts[key] += 1
        n = _attempts[key]
    if n == 1:
        raise ValueError(f"first attempt of {key} fails")
    return f"ok after {n}"


def flaky_orch(ctx: task.OrchestrationContext, key: str):
    result = yield ctx.call_activity(fails_once, input=key)
    return result


def failing_orch(ctx: task.OrchestrationContext, _):
    raise ValueError("this orchestration always fails")


def counter(ctx: EntityContext, inp: Any) -> Any:
    if ctx.operation == "add":
        value = ctx.get_state(int, 0) + inp
        ctx.set_state(value)
        return value
    if ctx.operation == "delete":
        ctx.set_state(None)
    return None


ALL_ORCHESTRATORS = [hello_orch, wait_orch, flaky_orch, failing_orch]
ALL_ACTIVITIES = [say_hello, fails_once]


def poll(fn: Callable[[], Any], until: Callable[[Any], bool], timeout: float = 30.0,
         what: str = "condition") -> Any:
    """Calls fn until until(result) (a deadline, not a fixed sleep); returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if until(r):
            return r
        assert time.monotonic() < deadline, f"timed out waiting for {what}; last: {r!r}"
        time.sleep(0.05)


def wait_status(http: requests.Session, url: str, status: str, timeout: float = 30.0):
    """Polls GET url until runtimeStatus == status; returns the response."""
    return poll(lambda: http.get(url), lambda r: r.status_code in (200, 202, 400, 500) and
                r.json().get("runtimeStatus") == status, timeout, f"{url} {status}")


def error_of(r: requests.Response) -> str:
    """The JSON error message of a response (asserts the JSON error shape)."""
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]
