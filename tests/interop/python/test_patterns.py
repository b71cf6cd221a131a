"""Orchestration patterns end to end: real durabletask SDK worker + client against taskhubd."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from durabletask import task

from _helpers import Status, complete, wait_for_status

_calls: Counter[str] = Counter()
_calls_lock = threading.Lock()


def _count(key: str) -> int:
    with _calls_lock:
        _calls[key] += 1
        return _calls[key]


# ---------------------------------------------------------------- chaining

def chain_step(ctx: task.ActivityContext, value: str) -> str:
    return f"{value}>{ctx.task_id}"


def chain_upper(ctx: task.ActivityContext, value: str) -> str:
    return value.upper()


def chain_orch(ctx: task.OrchestrationContext, start: str):
    a = yield ctx.call_activity(chain_step, input=start)
    b = yield ctx.call_activity(chain_step, input=a)
    c = yield ctx.call_activity(chain_upper, input=b)
    return [a, b, c]


def test_chaining_three_activities(client, start_worker, uid):
    start_worker([chain_orch], [chain_step, chain_upper])
    iid = client.schedule_new_orchestration(chain_orch, input="x", instance_id=uid)
    assert iid == uid
    st = complete(client, iid)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    # task ids are the SDK's action sequence numbers (1, 2, 3) echoed back by the server
    assert st.get_output() == ["x>1", "x>1>2", "X>1>2"]
    assert st.get_input() == "x"
    assert st.name == "chain_orch"
    assert st.failure_details is None


# ---------------------------------------------------------------- fan-out / fan-in

def fan_square(ctx: task.ActivityContext, n: int) -> int:
    return n * n


def fan_orch(ctx: task.OrchestrationContext, count: int):
    tasks = [ctx.call_activity(fan_square, input=i) for i in range(count)]
    results = yield task.when_all(tasks)
    return {"n": len(results), "sum": sum(results), "ordered": results == [i * i for i in range(count)]}


def test_fan_out_fan_in_500(client, start_worker, uid):
    start_worker([fan_orch], [fan_square])
    iid = client.schedule_new_orchestration(fan_orch, input=500, instance_id=uid)
    st = complete(client, iid, timeout=150)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == {"n": 500, "sum": sum(i * i for i in range(500)), "ordered": True}


# ---------------------------------------------------------------- human interaction

def approval_orch(ctx: task.OrchestrationContext, timeout_s: float):
    approval = ctx.wait_for_external_event("approval")
    timeout = ctx.create_timer(timedelta(seconds=timeout_s))
    winner = yield task.when_any([approval, timeout])
    if winner == approval:
        return {"result": "approved", "by": approval.get_result()}
    return {"result": "escalated"}


def test_human_interaction_event_wins(client, start_worker, uid):
    start_worker([approval_orch])
    iid = client.schedule_new_orchestration(approval_orch, input=60, instance_id=uid)
    wait_for_status(client, iid, Status.RUNNING)
    client.raise_orchestration_event(iid, "approval", data="alice")
    st = complete(client, iid, timeout=30)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == {"result": "approved", "by": "alice"}


def test_human_interaction_timer_wins(client, start_worker, uid):
    start_worker([approval_orch])
    t0 = time.monotonic()
    iid = client.schedule_new_orchestration(approval_orch, input=1.5, instance_id=uid)
    st = complete(client, iid, timeout=30)
    elapsed = time.monotonic() - t0
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == {"result": "escalated"}
    assert elapsed >= 1.4, f"durable timer fired too early ({elapsed:.2f}s < 1.5s)"
    # a late event to a completed instance is accepted and dropped; the output does not change.
    # No wait needed: the server never dispatches an episode for a terminal instance, and a read
    # runs after every write queued before it.
    n_events = len(client.get_orchestration_history(iid))
    client.raise_orchestration_event(iid, "approval", data="late")
    assert client.get_orchestration_state(iid).get_output() == {"result": "escalated"}
    assert len(client.get_orchestration_history(iid)) == n_events


# ---------------------------------------------------------------- event before the first episode

def early_event_orch(ctx: task.OrchestrationContext, _):
    first = yield ctx.wait_for_external_event("go")
    second = yield ctx.wait_for_external_event("go")
    return [first, second]


def test_event_raised_before_first_episode(client, start_worker, uid):
    # No worker is running yet: the events must be buffered with the executionStarted event.
    iid = client.schedule_new_orchestration(early_event_orch, instance_id=uid)
    client.raise_orchestration_event(iid, "go", data={"n": 1})
    client.raise_orchestration_event(iid, "go", data={"n": 2})
    st = client.get_orchestration_state(iid)
    assert st is not None and st.runtime_status == Status.PENDING
    start_worker([early_event_orch])
    st = complete(client, iid, timeout=30)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == [{"n": 1}, {"n": 2}], "events must be delivered once each, in order"


# ---------------------------------------------------------------- monitor (timer loop + continue_as_new)

def monitor_orch(ctx: task.OrchestrationContext, state: dict):
    yield ctx.create_timer(timedelta(milliseconds=200))
    state = {"i": state["i"] + 1, "seen": state["seen"] + [ctx.instance_id == state["id"]],
             "id": state["id"], "limit": state["limit"]}
    if state["i"] < state["limit"]:
        ctx.continue_as_new(state)
        return None
    return state


def test_monitor_continue_as_new(client, start_worker, uid):
    start_worker([monitor_orch])
    iid = client.schedule_new_orchestration(
        monitor_orch, input={"i": 0, "seen": [], "id": uid, "limit": 5}, instance_id=uid)
    st = complete(client, iid, timeout=60)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == {"i": 5, "seen": [True] * 5, "id": uid, "limit": 5}
    # the instance input is the last generation's input
    assert st.get_input() == {"i": 4, "seen": [True] * 4, "id": uid, "limit": 5}
    # history covers only the final execution
    events = client.get_orchestration_history(iid)
    started = [e for e in events if type(e).__name__ == "ExecutionStartedEvent"]
    assert len(started) == 1, [type(e).__name__ for e in events]


def can_events_orch(ctx: task.OrchestrationContext, n: int):
    value = yield ctx.wait_for_external_event("item")
    if n < 2:
        ctx.continue_as_new(n + 1, save_events=True)
        return None
    return [n, value]


def test_continue_as_new_carries_over_events(client, start_worker, uid):
    # three events raised up front: each generation consumes one, the rest are carried over
    iid = client.schedule_new_orchestration(can_events_orch, input=0, instance_id=uid)
    for i in range(3):
        client.raise_orchestration_event(iid, "item", data=i)
    start_worker([can_events_orch])
    st = complete(client, iid, timeout=30)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == [2, 2]


# ---------------------------------------------------------------- orchestration-to-orchestration events

def receiver_orch(ctx: task.OrchestrationContext, _):
    msg = yield ctx.wait_for_external_event("ping")
    return {"received": msg}


def sender_orch(ctx: task.OrchestrationContext, target: str):
    ctx.send_event(target, "ping", data={"from": ctx.instance_id})
    yield ctx.create_timer(timedelta(milliseconds=10))
    return "sent"


def test_send_event_between_orchestrations(client, start_worker, uid):
    start_worker([receiver_orch, sender_orch])
    rid = client.schedule_new_orchestration(receiver_orch, instance_id=f"{uid}-rx")
    wait_for_status(client, rid, Status.RUNNING)
    sid = client.schedule_new_orchestration(sender_orch, input=rid, instance_id=f"{uid}-tx")
    assert complete(client, sid).get_output() == "sent"
    st = complete(client, rid)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == {"received": {"from": f"{uid}-tx"}}
    kinds = [type(e).__name__ for e in client.get_orchestration_history(sid)]
    assert "EventSentEvent" in kinds, kinds


# ---------------------------------------------------------------- many concurrent instances

def test_many_concurrent_instances(client, start_worker, uid):
    start_worker([chain_orch], [chain_step, chain_upper])
    ids = [client.schedule_new_orchestration(chain_orch, input=f"i{i}", instance_id=f"{uid}-{i}")
           for i in range(60)]
    for i, iid in enumerate(ids):
        st = complete(client, iid, timeout=90)
        assert st.runtime_status == Status.COMPLETED, (iid, st.failure_details)
        assert st.get_output() == [f"i{i}>1", f"i{i}>1>2", f"I{i}>1>2"]


# ---------------------------------------------------------------- sub-orchestrations

def child_ok(ctx: task.OrchestrationContext, x: int):
    doubled = yield ctx.call_activity(fan_square, input=x)
    return {"child": ctx.instance_id, "parent": ctx.parent_instance_id, "value": doubled}


def child_fail(ctx: task.OrchestrationContext, msg: str):
    raise ValueError(msg)


def parent_orch(ctx: task.OrchestrationContext, _):
    ok = yield ctx.call_sub_orchestrator(child_ok, input=7, instance_id=f"{ctx.instance_id}-c1")
    try:
        yield ctx.call_sub_orchestrator(child_fail, input="child exploded", instance_id=f"{ctx.instance_id}-c2")
        caught = None
    except task.TaskFailedError as e:
        caught = {"message": e.details.message, "type": e.details.error_type}
    return {"ok": ok, "caught": caught}


def test_sub_orchestrations(client, start_worker, uid):
    start_worker([parent_orch, child_ok, child_fail], [fan_square])
    iid = client.schedule_new_orchestration(parent_orch, instance_id=uid)
    st = complete(client, iid)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    out = st.get_output()
    assert out["ok"] == {"child": f"{uid}-c1", "parent": uid, "value": 49}
    assert out["caught"] is not None, "child failure must surface as TaskFailedError in the parent"
    assert "child exploded" in out["caught"]["message"]
    c1 = client.get_orchestration_state(f"{uid}-c1")
    c2 = client.get_orchestration_state(f"{uid}-c2")
    assert c1.runtime_status == Status.COMPLETED and c1.get_output()["value"] == 49
    assert c2.runtime_status == Status.FAILED
    assert c2.failure_details.message == "child exploded"
    assert c2.failure_details.error_type.endswith("ValueError")


# ---------------------------------------------------------------- failures

def flaky_always(ctx: task.ActivityContext, msg: str):
    raise RuntimeError(msg)


def catch_orch(ctx: task.OrchestrationContext, _):
    try:
        yield ctx.call_activity(flaky_always, input="activity broke")
        return "not reached"
    except task.TaskFailedError as e:
        return {"caught": e.details.message, "type": e.details.error_type}


def test_activity_failure_caught(client, start_worker, uid):
    start_worker([catch_orch], [flaky_always])
    st = complete(client, client.schedule_new_orchestration(catch_orch, instance_id=uid))
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output()["caught"] == "activity broke"
    assert st.get_output()["type"].endswith("RuntimeError")


def unhandled_orch(ctx: task.OrchestrationContext, msg: str):
    yield ctx.create_timer(timedelta(milliseconds=10))
    raise ValueError(msg)


def test_unhandled_failure_keeps_details(client, start_worker, uid):
    start_worker([unhandled_orch])
    msg = "kaboom: ünïcode and \"quotes\" kept"
    st = complete(client, client.schedule_new_orchestration(unhandled_orch, input=msg, instance_id=uid))
    assert st.runtime_status == Status.FAILED
    fd = st.failure_details
    assert fd is not None
    assert fd.message == msg
    assert fd.error_type == "builtins.ValueError"
    assert fd.stack_trace and "unhandled_orch" in fd.stack_trace
    assert st.get_output() is None


def unhandled_activity_orch(ctx: task.OrchestrationContext, _):
    yield ctx.call_activity(flaky_always, input="deep failure")


def test_unhandled_activity_failure_nests_inner_failure(client, start_worker, uid):
    start_worker([unhandled_activity_orch], [flaky_always])
    st = complete(client, client.schedule_new_orchestration(unhandled_activity_orch, instance_id=uid))
    assert st.runtime_status == Status.FAILED
    fd = st.failure_details
    assert fd is not None and fd.error_type.endswith("TaskFailedError")
    assert fd.inner_failure is not None, "innerFailure must round-trip through the server"
    assert fd.inner_failure.error_type == "builtins.RuntimeError"
    assert fd.inner_failure.message == "deep failure"


def test_unregistered_orchestrator_fails(client, start_worker, uid):
    start_worker([chain_orch], [chain_step])
    st = complete(client, client.schedule_new_orchestration("no_such_orchestrator_xyz", instance_id=uid))
    assert st.runtime_status == Status.FAILED
    assert "no_such_orchestrator_xyz" in st.failure_details.message


# ---------------------------------------------------------------- retry policy

def flaky_twice(ctx: task.ActivityContext, key: str) -> str:
    attempt = _count(key)
    if attempt <= 2:
        raise RuntimeError(f"attempt {attempt} failed")
    return f"ok after {attempt}"


def retry_orch(ctx: task.OrchestrationContext, key: str):
    policy = task.RetryPolicy(first_retry_interval=timedelta(milliseconds=200),
                              max_number_of_attempts=5, backoff_coefficient=1.0)
    result = yield ctx.call_activity(flaky_twice, input=key, retry_policy=policy)
    return result


def test_retry_policy(client, start_worker, uid):
    start_worker([retry_orch], [flaky_twice])
    st = complete(client, client.schedule_new_orchestration(retry_orch, input=uid, instance_id=uid))
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == "ok after 3"
    assert _calls[uid] == 3


def retry_exhausted_orch(ctx: task.OrchestrationContext, key: str):
    policy = task.RetryPolicy(first_retry_interval=timedelta(milliseconds=100), max_number_of_attempts=2)
    yield ctx.call_activity(flaky_twice, input=key, retry_policy=policy)


def test_retry_policy_exhausted(client, start_worker, uid):
    start_worker([retry_exhausted_orch], [flaky_twice])
    st = complete(client, client.schedule_new_orchestration(retry_exhausted_orch, input=uid, instance_id=uid))
    assert st.runtime_status == Status.FAILED
    assert _calls[uid] == 2
    assert "attempt 2 failed" in (st.failure_details.inner_failure or st.failure_details).message


# ---------------------------------------------------------------- custom status

def custom_status_orch(ctx: task.OrchestrationContext, _):
    ctx.set_custom_status({"stage": "waiting", "n": 1})
    reply = yield ctx.wait_for_external_event("proceed")
    ctx.set_custom_status(f"done:{reply}")
    return "finished"


def test_custom_status(client, start_worker, uid):
    start_worker([custom_status_orch])
    iid = client.schedule_new_orchestration(custom_status_orch, instance_id=uid)
    st = wait_for_status(client, iid, Status.RUNNING)
    deadline = time.monotonic() + 10
    while st.get_custom_status() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        st = client.get_orchestration_state(iid)
    assert st.get_custom_status() == {"stage": "waiting", "n": 1}
    assert st.runtime_status == Status.RUNNING
    client.raise_orchestration_event(iid, "proceed", data="yes")
    st = complete(client, iid)
    assert st.runtime_status == Status.COMPLETED
    assert st.get_output() == "finished"
    assert st.get_custom_status() == "done:yes"


# ---------------------------------------------------------------- large payload (1 MiB)

def echo_activity(ctx: task.ActivityContext, payload: str) -> str:
    return payload


def echo_orch(ctx: task.OrchestrationContext, payload: str):
    result = yield ctx.call_activity(echo_activity, input=payload)
    return result


def test_one_mib_payload_roundtrip(client, start_worker, uid):
    start_worker([echo_orch], [echo_activity])
    # 1 MiB of text; a few JSON-escaped characters (quotes, backslash, non-ASCII) up front. The SDK
    # escapes non-ASCII as \uXXXX, so keep the rest ASCII: the final episode carries the payload
    # three times and the Python worker's default gRPC receive limit is 4 MiB.
    head = 'quote:" backslash:\\ slash:/ e-acute:\u00e9 euro:\u20ac clef:\U0001d11e tab:\t '
    body = "".join(chr(33 + (i * 7919) % 94) for i in range(1024 * 1024))
    payload = (head + body)[:1024 * 1024]
    iid = client.schedule_new_orchestration(echo_orch, input=payload, instance_id=uid)
    st = complete(client, iid, timeout=60)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    out = st.get_output()
    assert len(out) == len(payload)
    assert out.encode("utf-8") == payload.encode("utf-8")
    assert st.get_input() == payload
    assert st.serialized_output == st.serialized_input, "JSON text must be preserved byte for byte"
