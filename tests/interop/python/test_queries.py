"""Queries, paging, list-instance-ids and purge, through the real SDK client."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import grpc
import pytest

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
from durabletask import client as dtclient
from durabletask import task
from durabletask.internal import helpers as pbh

from _helpers import Status, complete, rpc_code, wait_for_status


def q_done(ctx: task.OrchestrationContext, x):
    return {"echo": x}


def q_fail(ctx: task.OrchestrationContext, x):
    raise ValueError(f"bad {x}")


def q_wait(ctx: task.OrchestrationContext, _):
    v = yield ctx.wait_for_external_event("go")
    return v


def q_parent(ctx: task.OrchestrationContext, _):
    r = yield ctx.call_sub_orchestrator(q_done, input="kid", instance_id=f"{ctx.instance_id}-child")
    return r


def now() -> datetime:
    return datetime.now(timezone.utc)


def _ids(states) -> list[str]:
    return [s.instance_id for s in states]


def _query(c, **kw) -> list[dtclient.OrchestrationState]:
    return c.get_all_orchestration_states(dtclient.OrchestrationQuery(**kw))


@pytest.fixture
def populated(client, start_worker, uid):
    """4 completed + 2 failed (batch A), then 3 running (batch B), plus one id outside the prefix."""
    start_worker([q_done, q_fail, q_wait])
    done = [client.schedule_new_orchestration(q_done, input=i, instance_id=f"{uid}-c{i}") for i in range(4)]
    failed = [client.schedule_new_orchestration(q_fail, input=i, instance_id=f"{uid}-f{i}") for i in range(2)]
    for iid in done + failed:
        complete(client, iid)
    time.sleep(0.3)
    mid = now()
    time.sleep(0.3)
    running = [client.schedule_new_orchestration(q_wait, instance_id=f"{uid}-r{i}") for i in range(3)]
    outsider = client.schedule_new_orchestration(q_done, input="o", instance_id=f"other-{uid}")
    for iid in running:
        wait_for_status(client, iid, Status.RUNNING)
    complete(client, outsider)
    yield {"done": done, "failed": failed, "running": running, "mid": mid, "prefix": uid}
    for iid in running:
        client.terminate_orchestration(iid)
    for iid in running:
        complete(client, iid)


def test_query_by_status_and_prefix(client, populated):
    p = populated
    assert sorted(_ids(_query(client, instance_id_prefix=p["prefix"]))) == \
        sorted(p["done"] + p["failed"] + p["running"])
    assert sorted(_ids(_query(client, instance_id_prefix=p["prefix"], runtime_status=[Status.COMPLETED]))) == \
        sorted(p["done"])
    both = _query(client, instance_id_prefix=p["prefix"], runtime_status=[Status.COMPLETED, Status.FAILED])
    assert sorted(_ids(both)) == sorted(p["done"] + p["failed"])
    running = _query(client, instance_id_prefix=p["prefix"], runtime_status=[Status.RUNNING])
    assert sorted(_ids(running)) == sorted(p["running"])
    assert all(s.runtime_status == Status.RUNNING and s.name == "q_wait" for s in running)
    assert _query(client, instance_id_prefix=p["prefix"], runtime_status=[Status.TERMINATED]) == []
    assert _query(client, instance_id_prefix=p["prefix"] + "-zzz") == []


def test_query_created_time_range(client, populated):
    p = populated
    before = _query(client, instance_id_prefix=p["prefix"], created_time_to=p["mid"])
    after = _query(client, instance_id_prefix=p["prefix"], created_time_from=p["mid"])
    assert sorted(_ids(before)) == sorted(p["done"] + p["failed"])
    assert sorted(_ids(after)) == sorted(p["running"])
    for s in before:
        assert s.created_at.replace(tzinfo=timezone.utc) < p["mid"]
    window = _query(client, instance_id_prefix=p["prefix"], created_time_from=p["mid"],
                    created_time_to=now() + timedelta(minutes=1), runtime_status=[Status.RUNNING])
    assert sorted(_ids(window)) == sorted(p["running"])
    assert _query(client, instance_id_prefix=p["prefix"], created_time_from=now() + timedelta(hours=1)) == []


def test_query_fetch_inputs_and_outputs(client, populated):
    p = populated
    lean = {s.instance_id: s for s in _query(client, instance_id_prefix=p["prefix"],
                                             runtime_status=[Status.COMPLETED])}
    assert set(lean) == set(p["done"])
    assert all(s.serialized_input is None and s.serialized_output is None for s in lean.values())
    full = {s.instance_id: s for s in _query(client, instance_id_prefix=p["prefix"],
                                             runtime_status=[Status.COMPLETED, Status.FAILED],
                                             fetch_inputs_and_outputs=True)}
    for i, iid in enumerate(p["done"]):
        assert full[iid].get_input() == i
        assert full[iid].get_output() == {"echo": i}
        assert full[iid].runtime_status == Status.COMPLETED
    for i, iid in enumerate(p["failed"]):
        assert full[iid].runtime_status == Status.FAILED
        assert full[iid].failure_details is not None and full[iid].failure_details.message == f"bad {i}"


def test_query_paging(client, taskhub_server, populated):
    p = populated
    expected = sorted(p["done"] + p["failed"] + p["running"])
    # SDK paging loop (follows continuation tokens until exhausted)
    states = _query(client, instance_id_prefix=p["prefix"], max_instance_count=4)
    assert len(_ids(states)) == len(set(_ids(states))), f"duplicates across pages: {_ids(states)}"
    assert sorted(_ids(states)) == expected
    # page by page over the raw RPC, checking the page-size contract
    channel = grpc.insecure_channel(taskhub_server.address)
    try:
        stub = stubs.TaskHubSidecarServiceStub(channel)
        token = None
        pages: list[list[str]] = []
        while True:
            query = pb.InstanceQuery(instanceIdPrefix=pbh.get_string_value(p["prefix"]), maxInstanceCount=4,
                                     continuationToken=token)
            resp = stub.QueryInstances(pb.QueryInstancesRequest(query=query), timeout=10)
            pages.append([s.instanceId for s in resp.orchestrationState])
            assert len(pages[-1]) <= 4, f"page larger than maxInstanceCount: {pages[-1]}"
            if not (resp.HasField("continuationToken") and resp.continuationToken.value
                    and resp.continuationToken.value != "0"):
                break
            assert len(pages) < 10, f"paging does not terminate: {pages}"
            token = resp.continuationToken
        flat = [i for page in pages for i in page]
        assert len(flat) == len(set(flat)), f"duplicates across pages: {pages}"
        assert sorted(flat) == expected
        assert len(pages) >= 3, f"9 results with page size 4 need at least 3 pages: {pages}"
    finally:
        channel.close()


# ---------------------------------------------------------------- purge

def test_purge_by_id(client, start_worker, uid):
    start_worker([q_done, q_wait, q_parent])
    iid = client.schedule_new_orchestration(q_done, input=1, instance_id=uid)
    complete(client, iid)
    res = client.purge_orchestration(iid)
    assert res.deleted_instance_count == 1
    assert res.is_complete in (None, True)
    assert client.get_orchestration_state(iid) is None
    with pytest.raises(grpc.RpcError) as ei:
        client.get_orchestration_history(iid)
    assert rpc_code(ei.value) == grpc.StatusCode.NOT_FOUND
    assert client.purge_orchestration(iid).deleted_instance_count == 0

    # a running instance is not purged
    running = client.schedule_new_orchestration(q_wait, instance_id=f"{uid}-run")
    wait_for_status(client, running, Status.RUNNING)
    try:  # refused (FAILED_PRECONDITION) or a no-op (count 0): either way nothing is deleted
        assert client.purge_orchestration(running).deleted_instance_count == 0
    except grpc.RpcError as e:
        assert rpc_code(e) == grpc.StatusCode.FAILED_PRECONDITION, e
    assert client.get_orchestration_state(running).runtime_status == Status.RUNNING
    client.raise_orchestration_event(running, "go", data=1)
    complete(client, running)

    # recursive purge removes the sub-orchestration as well
    parent = client.schedule_new_orchestration(q_parent, instance_id=f"{uid}-parent")
    assert complete(client, parent).get_output() == {"echo": "kid"}
    assert client.get_orchestration_state(f"{uid}-parent-child") is not None
    assert client.purge_orchestration(parent, recursive=True).deleted_instance_count == 2
    assert client.get_orchestration_state(parent) is None
    assert client.get_orchestration_state(f"{uid}-parent-child") is None


def test_purge_by_filter(server_factory, client_factory, start_worker, uid):
    srv = server_factory()  # private server: purge-by-filter is not scoped by instance id
    c = client_factory(srv.address)
    start_worker([q_done, q_fail, q_wait], address=srv.address)
    t0 = now()
    time.sleep(0.2)
    window_done = [c.schedule_new_orchestration(q_done, input=i, instance_id=f"{uid}-w{i}") for i in range(3)]
    window_failed = c.schedule_new_orchestration(q_fail, input=0, instance_id=f"{uid}-wf")
    window_running = c.schedule_new_orchestration(q_wait, instance_id=f"{uid}-wr")
    for iid in window_done + [window_failed]:
        complete(c, iid)
    wait_for_status(c, window_running, Status.RUNNING)
    time.sleep(0.2)
    t1 = now()
    time.sleep(0.2)
    later = [c.schedule_new_orchestration(q_done, input=i, instance_id=f"{uid}-l{i}") for i in range(2)]
    for iid in later:
        complete(c, iid)

    res = c.purge_orchestrations_by(created_time_from=t0, created_time_to=t1, runtime_status=[Status.COMPLETED])
    assert res.deleted_instance_count == 3
    assert res.is_complete in (None, True)
    for iid in window_done:
        assert c.get_orchestration_state(iid) is None
    for iid in later + [window_failed, window_running]:
        assert c.get_orchestration_state(iid) is not None, f"{iid} must survive the purge"

    res = c.purge_orchestrations_by(runtime_status=[Status.RUNNING])
    assert res.deleted_instance_count == 0, "a status filter naming only non-terminal statuses must purge nothing"
    assert c.get_orchestration_state(window_running).runtime_status == Status.RUNNING

    assert c.purge_orchestrations_by(created_time_from=t0, runtime_status=[Status.FAILED]).deleted_instance_count == 1
    assert c.get_orchestration_state(window_failed) is None
    assert c.purge_orchestrations_by(created_time_from=t1).deleted_instance_count == 2
    remaining = c.get_all_orchestration_states(dtclient.OrchestrationQuery(instance_id_prefix=uid))
    assert _ids(remaining) == [window_running]


# ---------------------------------------------------------------- list instance ids

def test_list_instance_ids_paging(server_factory, client_factory, start_worker, uid):
    srv = server_factory()
    c = client_factory(srv.address)
    start_worker([q_done, q_fail, q_wait], address=srv.address)
    t0 = now()
    done = []
    for i in range(5):
        done.append(c.schedule_new_orchestration(q_done, input=i, instance_id=f"{uid}-d{i}"))
        complete(c, done[-1])
    failed = c.schedule_new_orchestration(q_fail, input=1, instance_id=f"{uid}-f")
    complete(c, failed)
    running = c.schedule_new_orchestration(q_wait, instance_id=f"{uid}-r")
    wait_for_status(c, running, Status.RUNNING)

    seen: list[str] = []
    token = None
    for _ in range(10):
        page = c.list_instance_ids(runtime_status=[Status.COMPLETED], page_size=2, continuation_token=token)
        assert len(page.items) <= 2
        seen += page.items
        token = page.continuation_token
        if not token:
            break
    assert len(seen) == len(set(seen)), f"duplicates across pages: {seen}"
    assert sorted(seen) == sorted(done)

    every = c.list_instance_ids(page_size=100)
    assert sorted(every.items) == sorted(done + [failed]), "only terminal instances are listed"
    assert c.list_instance_ids(completed_time_to=t0, page_size=100).items == []
    assert sorted(c.list_instance_ids(completed_time_from=t0, runtime_status=[Status.FAILED]).items) == [failed]
