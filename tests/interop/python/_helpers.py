"""Small shared helpers for the interop tests (polling, gRPC status extraction)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from durabletask import client as dtclient

T = TypeVar("T")

Status = dtclient.OrchestrationStatus
TERMINAL = {Status.COMPLETED, Status.FAILED, Status.TERMINATED}


def wait_until(fn: Callable[[], T], timeout: float = 30.0, interval: float = 0.1,
               what: str = "condition") -> T:
    """Poll fn until it returns a truthy value; fail with the last value after timeout."""
    deadline = time.monotonic() + timeout
    last: T = fn()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
        last = fn()
    return last


def wait_for_status(c: dtclient.TaskHubGrpcClient, instance_id: str, *statuses: Status,
                    timeout: float = 30.0) -> dtclient.OrchestrationState:
    def probe():
        st = c.get_orchestration_state(instance_id)
        return st if st is not None and st.runtime_status in statuses else None
    try:
        return wait_until(probe, timeout, what=f"{instance_id} in {[str(s) for s in statuses]}")
    except AssertionError:
        st = c.get_orchestration_state(instance_id)
        raise AssertionError(f"{instance_id} never reached {[str(s) for s in statuses]}; "
                             f"now {st.runtime_status if st else None}: {st}") from None


def rpc_code(excinfo_value: BaseException) -> grpc.StatusCode | None:
    code = getattr(excinfo_value, "code", None)
    return code() if callable(code) else None


def wait_episode_with(c: dtclient.TaskHubGrpcClient, instance_id: str, event_type: str,
                      timeout: float = 30.0) -> list[str]:
    """Barrier for "nothing happened" checks: waits until an episode that delivered an event of
    `event_type` (e.g. "EventRaisedEvent") to the worker is committed, i.e. the history holds
    that event and ends with OrchestratorCompleted (an episode is appended atomically). Whatever
    the worker did with the event is then visible. Returns the history's event type names."""
    def probe():
        kinds = [type(e).__name__ for e in c.get_orchestration_history(instance_id)]
        done = event_type in kinds and kinds[-1] == "OrchestratorCompletedEvent"
        return kinds if done else None
    return wait_until(probe, timeout, what=f"an episode of {instance_id} with {event_type}")


def complete(c: dtclient.TaskHubGrpcClient, instance_id: str, timeout: float = 60.0,
             ) -> dtclient.OrchestrationState:
    """wait_for_orchestration_completion that never returns None."""
    st = c.wait_for_orchestration_completion(instance_id, timeout=timeout)
    assert st is not None, f"instance {instance_id} vanished"
    return st
