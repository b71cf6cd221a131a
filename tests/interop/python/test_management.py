"""Management RPCs end to end: terminate, suspend/resume, restart, rewind, scheduled start,
id reuse, payload cap, history, waits and error codes, durability across a server restart."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import grpc
import pytest

import durabletask.internal.orchestrator_service_pb2 as pb
from durabletask import history, task

from _helpers import Status, complete, rpc_code, wait_episode_with, wait_for_status, wait_until

_calls: Counter[str] = Counter()
_calls_lock = threading.Lock()


def _count(key: str) -> int:
    with _calls_lock:
        _calls[key] += 1
        return _calls[key]


def wait_event_orch(ctx: task.OrchestrationContext, _):
    value = yield ctx.wait_for_external_event("go")
    return {"got": value}


# ---------------------------------------------------------------- terminate

def term_parent(ctx: task.OrchestrationContext, _):
    result = yield ctx.call_sub_orchestrator(wait_event_orch, instance_id=f"{ctx.instance_id}-child")
    return result


def _start_parent_with_running_child(client, start_worker, uid):
    start_worker([term_parent, wait_event_orch])
    iid = client.schedule_new_orchestration(term_parent, instance_id=uid)
    wait_for_status(client, iid, Status.RUNNING)
    wait_for_status(client, f"{uid}-child", Status.RUNNING)
    return iid, f"{uid}-child"


def test_terminate_recursive_keeps_output(client, start_worker, uid):
    parent, child = _start_parent_with_running_child(client, start_worker, uid)
    client.terminate_orchestration(parent, output={"reason": "operator stop"})  # recursive by default
    st = complete(client, parent)
    assert st.runtime_status == Status.TERMINATED
    assert st.get_output() == {"reason": "operator stop"}
    cst = complete(client, child)
    assert cst.runtime_status == Status.TERMINATED
    # terminating a terminal instance is a no-op: status and output unchanged. The server
    # applies terminate itself (no worker involved) and a read runs after every write queued
    # before it, so no wait is needed.
    client.terminate_orchestration(parent, output="second")
    st = client.get_orchestration_state(parent)
    assert st.runtime_status == Status.TERMINATED and st.get_output() == {"reason": "operator stop"}


def test_terminate_non_recursive_leaves_child_running(client, start_worker, uid):
    parent, child = _start_parent_with_running_child(client, start_worker, uid)
    client.terminate_orchestration(parent, output="parent only", recursive=False)
    st = complete(client, parent)
    assert st.runtime_status == Status.TERMINATED and st.get_output() == "parent only"
    assert client.get_orchestration_state(child).runtime_status == Status.RUNNING
    # Deterministic proof: a (wrongly) propagated terminate would be in the child's inbox ahead
    # of this event, so the child would end TERMINATED instead of completing with it.
    client.raise_orchestration_event(child, "go", data=1)
    cst = complete(client, child)
    assert cst.runtime_status == Status.COMPLETED and cst.get_output() == {"got": 1}


# ---------------------------------------------------------------- suspend / resume

def test_suspend_resume(client, start_worker, uid):
    start_worker([wait_event_orch])
    iid = client.schedule_new_orchestration(wait_event_orch, instance_id=uid)
    wait_for_status(client, iid, Status.RUNNING)

    client.suspend_orchestration(iid, reason="pause 1")
    wait_for_status(client, iid, Status.SUSPENDED)
    client.resume_orchestration(iid, reason="resume 1")
    wait_for_status(client, iid, Status.RUNNING)

    client.suspend_orchestration(iid)
    wait_for_status(client, iid, Status.SUSPENDED)
    client.raise_orchestration_event(iid, "go", data="while-suspended")
    # Barrier: the episode that delivered the event to the worker is committed.
    wait_episode_with(client, iid, "EventRaisedEvent")
    st = client.get_orchestration_state(iid)
    assert st.runtime_status == Status.SUSPENDED, "a suspended instance must not progress on an event"
    assert st.get_output() is None

    client.resume_orchestration(iid)
    st = complete(client, iid)
    assert st.runtime_status == Status.COMPLETED
    assert st.get_output() == {"got": "while-suspended"}
    kinds = [type(e).__name__ for e in client.get_orchestration_history(iid)]
    assert kinds.count("ExecutionSuspendedEvent") == 2 and kinds.count("ExecutionResumedEvent") == 2, kinds


def test_resume_of_running_instance_is_harmless(client, start_worker, uid):
    start_worker([wait_event_orch])
    iid = client.schedule_new_orchestration(wait_event_orch, instance_id=uid)
    wait_for_status(client, iid, Status.RUNNING)
    client.resume_orchestration(iid)  # not suspended: must not reach the worker (the SDK would fail)
    # No wait needed: a (wrongly) queued resume event is ahead of "go" in the inbox, so it
    # reaches the worker no later than "go" and the completion check below sees the failure.
    client.raise_orchestration_event(iid, "go", data=3)
    st = complete(client, iid)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == {"got": 3}


# ---------------------------------------------------------------- restart

def counting_activity(ctx: task.ActivityContext, key: str) -> int:
    return _count(key)


def restartable_orch(ctx: task.OrchestrationContext, key: str):
    n = yield ctx.call_activity(counting_activity, input=key)
    return {"key": key, "run": n, "id": ctx.instance_id}


def test_restart_same_and_new_id(client, start_worker, uid):
    start_worker([restartable_orch], [counting_activity])
    iid = client.schedule_new_orchestration(restartable_orch, input=uid, instance_id=uid)
    assert complete(client, iid).get_output() == {"key": uid, "run": 1, "id": uid}

    same = client.restart_orchestration(iid)
    assert same == iid
    st = wait_until(lambda: (s := client.get_orchestration_state(iid)) and s.runtime_status == Status.COMPLETED
                    and s.get_output()["run"] == 2 and s, timeout=30, what="restarted run to complete")
    assert st.get_output() == {"key": uid, "run": 2, "id": uid}, "restart must reuse the original input"

    new_id = client.restart_orchestration(iid, restart_with_new_instance_id=True)
    assert new_id and new_id != iid
    st = complete(client, new_id)
    assert st.runtime_status == Status.COMPLETED
    assert st.get_output() == {"key": uid, "run": 3, "id": new_id}
    assert st.name == "restartable_orch"


def test_restart_errors(client, start_worker, uid):
    with pytest.raises(grpc.RpcError) as ei:
        client.restart_orchestration(f"{uid}-missing")
    assert rpc_code(ei.value) == grpc.StatusCode.NOT_FOUND
    start_worker([wait_event_orch])
    iid = client.schedule_new_orchestration(wait_event_orch, instance_id=uid)
    wait_for_status(client, iid, Status.RUNNING)
    with pytest.raises(grpc.RpcError) as ei:
        client.restart_orchestration(iid)
    assert rpc_code(ei.value) == grpc.StatusCode.FAILED_PRECONDITION
    client.terminate_orchestration(iid)
    complete(client, iid)


# ---------------------------------------------------------------- rewind

def fails_once(ctx: task.ActivityContext, key: str) -> str:
    if _count(key) == 1:
        raise RuntimeError("transient failure")
    return "recovered"


def rewind_orch(ctx: task.OrchestrationContext, key: str):
    first = yield ctx.call_activity(counting_activity, input=f"{key}-good")
    second = yield ctx.call_activity(fails_once, input=f"{key}-flaky")
    return [first, second]


def test_rewind_failed_orchestration(client, start_worker, uid):
    start_worker([rewind_orch], [counting_activity, fails_once])
    iid = client.schedule_new_orchestration(rewind_orch, input=uid, instance_id=uid)
    st = complete(client, iid)
    assert st.runtime_status == Status.FAILED
    assert st.failure_details.inner_failure.message == "transient failure"

    client.rewind_orchestration(iid, reason="try again")
    st = wait_until(lambda: (s := client.get_orchestration_state(iid)) and s.runtime_status != Status.FAILED and s,
                    timeout=30, what="rewind to take effect")
    st = complete(client, iid)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == [1, "recovered"]
    assert st.failure_details is None
    assert _calls[f"{uid}-good"] == 1, "a succeeded activity must not re-run after rewind"
    assert _calls[f"{uid}-flaky"] == 2


def rewind_parent_orch(ctx: task.OrchestrationContext, key: str):
    before = yield ctx.call_activity(counting_activity, input=f"{key}-parent")
    child = yield ctx.call_sub_orchestrator(rewind_orch, input=key, instance_id=f"{key}-child")
    return {"before": before, "child": child}


def test_rewind_recurses_into_failed_sub_orchestration(client, start_worker, uid):
    start_worker([rewind_parent_orch, rewind_orch], [counting_activity, fails_once])
    iid = client.schedule_new_orchestration(rewind_parent_orch, input=uid, instance_id=uid)
    assert complete(client, iid).runtime_status == Status.FAILED
    assert client.get_orchestration_state(f"{uid}-child").runtime_status == Status.FAILED

    client.rewind_orchestration(iid, reason="fixed")
    st = complete(client, iid)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == {"before": 1, "child": [1, "recovered"]}
    assert client.get_orchestration_state(f"{uid}-child").runtime_status == Status.COMPLETED
    # Work that had succeeded, in the parent and in the child, did not run again.
    assert _calls[f"{uid}-parent"] == 1
    assert _calls[f"{uid}-good"] == 1
    assert _calls[f"{uid}-flaky"] == 2


def test_rewind_errors(client, start_worker, uid):
    with pytest.raises(grpc.RpcError) as ei:
        client.rewind_orchestration(f"{uid}-missing")
    assert rpc_code(ei.value) == grpc.StatusCode.NOT_FOUND
    start_worker([restartable_orch], [counting_activity])
    iid = client.schedule_new_orchestration(restartable_orch, input=uid, instance_id=uid)
    assert complete(client, iid).runtime_status == Status.COMPLETED
    with pytest.raises(grpc.RpcError) as ei:
        client.rewind_orchestration(iid)
    assert rpc_code(ei.value) == grpc.StatusCode.FAILED_PRECONDITION


# ---------------------------------------------------------------- scheduled start

def clock_orch(ctx: task.OrchestrationContext, _):
    return ctx.current_utc_datetime.replace(tzinfo=timezone.utc).isoformat()


def test_scheduled_start(client, start_worker, uid):
    start_worker([clock_orch])
    start_at = datetime.now(timezone.utc) + timedelta(seconds=3)
    iid = client.schedule_new_orchestration(clock_orch, instance_id=uid, start_at=start_at)
    assert client.get_orchestration_state(iid).runtime_status == Status.PENDING
    # Deterministic "not before start_at" check: the output is the episode's own clock.
    st = complete(client, iid, timeout=30)
    assert st.runtime_status == Status.COMPLETED
    ran_at = datetime.fromisoformat(st.get_output())
    assert ran_at >= start_at - timedelta(milliseconds=50), f"ran at {ran_at}, scheduled for {start_at}"
    assert datetime.now(timezone.utc) >= start_at


# ---------------------------------------------------------------- instance id reuse

def _policy(*statuses: Status) -> pb.OrchestrationIdReusePolicy:
    return pb.OrchestrationIdReusePolicy(replaceableStatus=[s.value for s in statuses])


def test_id_reuse_without_policy(client, start_worker, uid):
    start_worker([wait_event_orch])
    iid = client.schedule_new_orchestration(wait_event_orch, instance_id=uid)
    wait_for_status(client, iid, Status.RUNNING)
    with pytest.raises(grpc.RpcError) as ei:
        client.schedule_new_orchestration(wait_event_orch, instance_id=uid)
    assert rpc_code(ei.value) == grpc.StatusCode.ALREADY_EXISTS
    client.raise_orchestration_event(iid, "go", data="first")
    assert complete(client, iid).get_output() == {"got": "first"}
    # completed instance: starting the same id again replaces it (documented server default)
    assert client.schedule_new_orchestration(wait_event_orch, instance_id=uid, input="v2") == uid
    wait_for_status(client, iid, Status.RUNNING)
    st = client.get_orchestration_state(iid)
    assert st.get_input() == "v2", "the replaced instance must carry the new input"
    client.raise_orchestration_event(iid, "go", data="second")
    assert complete(client, iid).get_output() == {"got": "second"}


def test_id_reuse_with_policy(client, start_worker, uid):
    start_worker([wait_event_orch])
    terminal = _policy(Status.COMPLETED, Status.FAILED, Status.TERMINATED)
    iid = client.schedule_new_orchestration(wait_event_orch, instance_id=uid, reuse_id_policy=terminal)
    wait_for_status(client, iid, Status.RUNNING)
    # running is not in replaceableStatus -> ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as ei:
        client.schedule_new_orchestration(wait_event_orch, instance_id=uid, reuse_id_policy=terminal)
    assert rpc_code(ei.value) == grpc.StatusCode.ALREADY_EXISTS
    # RUNNING in replaceableStatus -> the running instance is replaced by a new one
    client.schedule_new_orchestration(wait_event_orch, instance_id=uid, input="replacement",
                                      reuse_id_policy=_policy(Status.RUNNING, Status.PENDING))
    wait_until(lambda: (s := client.get_orchestration_state(iid)) and s.get_input() == "replacement",
               timeout=15, what="running instance to be replaced")
    client.raise_orchestration_event(iid, "go", data="r")
    assert complete(client, iid).get_output() == {"got": "r"}
    # completed is replaceable under the terminal policy
    client.schedule_new_orchestration(wait_event_orch, instance_id=uid, input="third", reuse_id_policy=terminal)
    wait_for_status(client, iid, Status.RUNNING)
    assert client.get_orchestration_state(iid).get_input() == "third"
    # completed but only FAILED is replaceable -> ALREADY_EXISTS
    client.raise_orchestration_event(iid, "go", data=3)
    complete(client, iid)
    with pytest.raises(grpc.RpcError) as ei:
        client.schedule_new_orchestration(wait_event_orch, instance_id=uid, reuse_id_policy=_policy(Status.FAILED))
    assert rpc_code(ei.value) == grpc.StatusCode.ALREADY_EXISTS
    assert client.get_orchestration_state(iid).get_output() == {"got": 3}


# ---------------------------------------------------------------- payload cap

def test_payload_over_cap_rejected(server_factory, client_factory, uid):
    server = server_factory(["--max-payload-bytes", "65536"])
    c = client_factory(server.address)
    small = c.schedule_new_orchestration("capped_orch", input="x" * 1000, instance_id=f"{uid}-ok")
    assert c.get_orchestration_state(small).get_input() == "x" * 1000
    with pytest.raises(grpc.RpcError) as ei:
        c.schedule_new_orchestration("capped_orch", input="y" * 200_000, instance_id=f"{uid}-big")
    assert rpc_code(ei.value) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert c.get_orchestration_state(f"{uid}-big") is None, "a rejected start must not create an instance"
    with pytest.raises(grpc.RpcError) as ei:
        c.raise_orchestration_event(small, "evt", data="z" * 200_000)
    assert rpc_code(ei.value) == grpc.StatusCode.RESOURCE_EXHAUSTED


# ---------------------------------------------------------------- history

def hist_activity(ctx: task.ActivityContext, x: int) -> int:
    return x + 1


def hist_orch(ctx: task.OrchestrationContext, x: int):
    a = yield ctx.call_activity(hist_activity, input=x)
    yield ctx.create_timer(timedelta(milliseconds=50))
    b = yield ctx.call_activity(hist_activity, input=a)
    return b


def test_get_orchestration_history(client, start_worker, uid):
    start_worker([hist_orch], [hist_activity])
    iid = client.schedule_new_orchestration(hist_orch, input=1, instance_id=uid)
    assert complete(client, iid).get_output() == 3
    events = client.get_orchestration_history(iid)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "OrchestratorStartedEvent", kinds
    assert kinds[1] == "ExecutionStartedEvent", kinds
    started = events[1]
    assert isinstance(started, history.ExecutionStartedEvent)
    assert started.name == "hist_orch" and started.input == "1"
    assert started.orchestration_instance.instance_id == iid
    scheduled = [e for e in events if isinstance(e, history.TaskScheduledEvent)]
    completed = [e for e in events if isinstance(e, history.TaskCompletedEvent)]
    assert [e.name for e in scheduled] == ["hist_activity", "hist_activity"]
    assert [e.input for e in scheduled] == ["1", "2"]
    assert [e.result for e in completed] == ["2", "3"]
    # confirmation events carry the action id; completions point back at them
    assert [c.task_scheduled_id for c in completed] == [s.event_id for s in scheduled]
    assert kinds.index("TimerCreatedEvent") < kinds.index("TimerFiredEvent")
    assert kinds.index("TaskScheduledEvent") < kinds.index("TaskCompletedEvent") < kinds.index("TimerCreatedEvent")
    done = [e for e in events if isinstance(e, history.ExecutionCompletedEvent)]
    assert len(done) == 1 and done[0].result == "3"
    assert done[0].orchestration_status == pb.ORCHESTRATION_STATUS_COMPLETED
    assert all(k != "ExecutionCompletedEvent" for k in kinds[kinds.index("ExecutionCompletedEvent") + 1:])
    assert kinds.count("OrchestratorStartedEvent") >= 4, kinds  # one per episode
    episode_clock = [e.timestamp for e in events if isinstance(e, history.OrchestratorStartedEvent)]
    assert episode_clock == sorted(episode_clock), "the orchestration clock must not go backwards"
    assert episode_clock[0].year >= 2020, f"orchestratorStarted must carry the real time: {episode_clock[0]}"


def test_history_of_unknown_instance(client, uid):
    with pytest.raises(grpc.RpcError) as ei:
        client.get_orchestration_history(f"{uid}-nope")
    assert rpc_code(ei.value) == grpc.StatusCode.NOT_FOUND


# ---------------------------------------------------------------- waits and error codes

def test_wait_for_completion_timeout(client, start_worker, uid):
    start_worker([wait_event_orch])
    iid = client.schedule_new_orchestration(wait_event_orch, instance_id=uid)
    st = client.wait_for_orchestration_start(iid, timeout=30)
    assert st is not None and st.runtime_status == Status.RUNNING
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        client.wait_for_orchestration_completion(iid, timeout=1.5)
    assert 1.0 <= time.monotonic() - t0 < 10
    client.raise_orchestration_event(iid, "go", data="late")
    assert complete(client, iid).get_output() == {"got": "late"}


def test_wait_for_start_timeout_on_pending(client, uid):
    iid = client.schedule_new_orchestration("never_started_orch", instance_id=uid,
                                            start_at=datetime.now(timezone.utc) + timedelta(hours=1))
    with pytest.raises(TimeoutError):
        client.wait_for_orchestration_start(iid, timeout=1)
    assert client.get_orchestration_state(iid).runtime_status == Status.PENDING


def test_raise_event_unknown_instance(client, uid):
    with pytest.raises(grpc.RpcError) as ei:
        client.raise_orchestration_event(f"{uid}-nobody", "evt", data=1)
    assert rpc_code(ei.value) == grpc.StatusCode.NOT_FOUND


def test_get_unknown_instance_is_none(client, uid):
    assert client.get_orchestration_state(f"{uid}-nobody") is None
    assert client.get_orchestration_state(f"{uid}-nobody", fetch_payloads=False) is None


def test_terminate_unknown_instance_creates_nothing(client, uid):
    try:
        client.terminate_orchestration(f"{uid}-nobody")
    except grpc.RpcError as e:  # NOT_FOUND and a silent no-op are both acceptable
        assert rpc_code(e) == grpc.StatusCode.NOT_FOUND, e
    assert client.get_orchestration_state(f"{uid}-nobody") is None


def test_suspend_resume_unknown_instance(client, uid):
    for op in (client.suspend_orchestration, client.resume_orchestration):
        with pytest.raises(grpc.RpcError) as ei:
            op(f"{uid}-nobody")
        assert rpc_code(ei.value) == grpc.StatusCode.NOT_FOUND
    assert client.get_orchestration_state(f"{uid}-nobody") is None


# ---------------------------------------------------------------- durability across restart

def test_state_survives_server_restart(restartable_server, client_factory, start_worker, uid):
    srv = restartable_server
    c = client_factory(srv.address)
    w = start_worker([wait_event_orch, restartable_orch], [counting_activity], address=srv.address)
    done = c.schedule_new_orchestration(restartable_orch, input=uid, instance_id=f"{uid}-done")
    assert complete(c, done).get_output()["run"] == 1
    waiting = c.schedule_new_orchestration(wait_event_orch, instance_id=f"{uid}-wait")
    wait_for_status(c, waiting, Status.RUNNING)
    w.stop()

    srv.restart()
    c = client_factory(srv.address)
    st = c.get_orchestration_state(done)
    assert st.runtime_status == Status.COMPLETED
    assert st.get_output() == {"key": uid, "run": 1, "id": done}
    assert c.get_orchestration_state(waiting).runtime_status == Status.RUNNING
    start_worker([wait_event_orch], address=srv.address)
    c.raise_orchestration_event(waiting, "go", data="after restart")
    assert complete(c, waiting).get_output() == {"got": "after restart"}
