"""Work-item filters: several SDK workers with use_work_item_filters() sharing one server.

A worker that receives an orchestration or activity it has not registered fails it
(OrchestratorNotRegisteredError / ActivityNotRegisteredError), so every instance completing
successfully - with outputs naming the worker that ran each step - proves the server routed
each work item only to a worker whose filters list it.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from durabletask import task
from durabletask import worker as dtworker

from _helpers import Status, complete, wait_for_status

_executed_by: dict[str, set[str]] = defaultdict(set)
_lock = threading.Lock()


def _record(name: str, tag: str) -> None:
    with _lock:
        _executed_by[name].add(tag)


def filt_act_a(ctx: task.ActivityContext, x: str) -> str:
    _record("filt_act_a", "A")
    return f"A:{x}"


def filt_act_b(ctx: task.ActivityContext, x: str) -> str:
    _record("filt_act_b", "B")
    return f"B:{x}"


def filt_orch_a(ctx: task.OrchestrationContext, x: str):
    # runs on worker A but calls an activity that only worker B has registered
    a = yield ctx.call_activity("filt_act_a", input=x)
    b = yield ctx.call_activity("filt_act_b", input=x)
    return ["orch:A", a, b]


def filt_orch_b(ctx: task.OrchestrationContext, x: str):
    b = yield ctx.call_activity("filt_act_b", input=x)
    return ["orch:B", b]


def test_two_filtered_workers_share_one_server(server_factory, client_factory, start_worker, uid):
    srv = server_factory()  # private server: no foreign work items reach these workers
    c = client_factory(srv.address)
    start_worker([filt_orch_a], [filt_act_a], address=srv.address, filters=True)
    start_worker([filt_orch_b], [filt_act_b], address=srv.address, filters=True)

    a_ids = [c.schedule_new_orchestration(filt_orch_a, input=str(i), instance_id=f"{uid}-a{i}") for i in range(8)]
    b_ids = [c.schedule_new_orchestration(filt_orch_b, input=str(i), instance_id=f"{uid}-b{i}") for i in range(8)]
    for i, iid in enumerate(a_ids):
        st = complete(c, iid)
        assert st.runtime_status == Status.COMPLETED, (iid, st.failure_details)
        assert st.get_output() == ["orch:A", f"A:{i}", f"B:{i}"]
    for i, iid in enumerate(b_ids):
        st = complete(c, iid)
        assert st.runtime_status == Status.COMPLETED, (iid, st.failure_details)
        assert st.get_output() == ["orch:B", f"B:{i}"]
    assert _executed_by["filt_act_a"] == {"A"} and _executed_by["filt_act_b"] == {"B"}


def filt_lonely(ctx: task.OrchestrationContext, _):
    return "ran"


def test_unmatched_work_stays_pending_until_a_matching_worker_connects(server_factory, client_factory,
                                                                       start_worker, uid):
    srv = server_factory()
    c = client_factory(srv.address)
    start_worker([filt_orch_b], [filt_act_b], address=srv.address, filters=True)
    iid = c.schedule_new_orchestration(filt_lonely, instance_id=uid)
    # Barrier instead of a sleep: the server dispatches ready instances in FIFO order at the
    # commit that made them ready, so had filt_lonely been sent to worker B it was sent before
    # this instance; B fails an unregistered orchestrator at once, while the barrier needs an
    # activity round trip first.
    barrier = c.schedule_new_orchestration(filt_orch_b, input="barrier", instance_id=f"{uid}-barrier")
    assert complete(c, barrier).runtime_status == Status.COMPLETED
    st = c.get_orchestration_state(iid)
    assert st.runtime_status == Status.PENDING, \
        f"work not matching any filter must not be dispatched (got {st.runtime_status}, {st.failure_details})"
    start_worker([filt_lonely], address=srv.address, filters=True)
    st = complete(c, iid, timeout=30)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == "ran"


def filt_explicit_yes(ctx: task.OrchestrationContext, _):
    return "yes"


def filt_explicit_no(ctx: task.OrchestrationContext, _):
    return "no"


def test_explicit_filters_narrow_the_registry(server_factory, client_factory, start_worker, uid):
    srv = server_factory()
    c = client_factory(srv.address)
    filters = dtworker.WorkItemFilters(
        orchestrations=[dtworker.OrchestrationWorkItemFilter(name="filt_explicit_yes")])
    start_worker([filt_explicit_yes, filt_explicit_no], address=srv.address, filters=filters)
    yes = c.schedule_new_orchestration(filt_explicit_yes, instance_id=f"{uid}-yes")
    no = c.schedule_new_orchestration(filt_explicit_no, instance_id=f"{uid}-no")
    assert complete(c, yes).get_output() == "yes"
    # Barrier (see above): an instance started after `no` and served by the same worker.
    barrier = c.schedule_new_orchestration(filt_explicit_yes, instance_id=f"{uid}-barrier")
    assert complete(c, barrier).get_output() == "yes"
    assert c.get_orchestration_state(no).runtime_status == Status.PENDING
    # an unfiltered worker picks up everything, including the held-back instance
    start_worker([filt_explicit_no], address=srv.address)
    st = complete(c, no, timeout=30)
    assert st.runtime_status == Status.COMPLETED and st.get_output() == "no"


def test_unfiltered_worker_receives_everything(server_factory, client_factory, start_worker, uid):
    # control: without filters the server dispatches any orchestration to any worker,
    # and a worker that lacks the orchestrator fails it
    srv = server_factory()
    c = client_factory(srv.address)
    start_worker([filt_orch_b], [filt_act_b], address=srv.address)
    iid = c.schedule_new_orchestration(filt_lonely, instance_id=uid)
    st = complete(c, iid, timeout=30)
    assert st.runtime_status == Status.FAILED
    assert "filt_lonely" in st.failure_details.message
    ok = c.schedule_new_orchestration(filt_orch_b, input="z", instance_id=f"{uid}-b")
    wait_for_status(c, ok, Status.COMPLETED)
    assert c.get_orchestration_state(ok).get_output() == ["orch:B", "B:z"]
