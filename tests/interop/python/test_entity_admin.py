"""Durable entities end to end (reads, admin, formats, ids): the real durabletask SDK against
taskhubd.

GetEntity (with/without state, deletion of an entity without state), QueryEntities (prefix,
last-modified range, state, transient, paging), CleanEntityStorage, and the release of the locks
of a terminated owner (also while its lock request is still queued); the V1/V2 work-item formats
and the batch limit (--entity-work-items, --entity-max-batch) as seen by the SDK worker; entity
work-item filters; case-insensitive entity names; instance RPCs on entity ids. Entities and
orchestrations: _entity_app.py.

Every wait polls for a state with a deadline.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import grpc
import pytest
from durabletask import client as dtclient
from google.protobuf import wrappers_pb2

from _entity_app import (  # noqa: F401  (fixtures: pytest finds them by name in this module)
    raw, start_entity_worker)
from _entity_app import (
    Raw, ent, ent_boom_orch, ent_call_signal_orch, ent_echo_orch, ent_hold_lock_orch, wait_entity,
    wait_locked_by, wait_settled)
from _helpers import Status, complete, rpc_code, wait_for_status, wait_until


# ================================================================ get / query / clean

def test_get_entity_with_and_without_state(client, start_entity_worker, uid, raw):
    start_entity_worker()
    eid = ent("counter", uid)
    t0 = datetime.now(timezone.utc)
    client.signal_entity(eid, "add", 41)
    wait_entity(client, eid, lambda s: s == 41)
    md = client.get_entity(eid, include_state=True)
    assert md.id == eid and md.includes_state
    assert md.get_typed_state() == 41
    assert md.backlog_queue_size == 0
    assert t0 - timedelta(seconds=5) <= md.last_modified <= datetime.now(timezone.utc) + \
        timedelta(seconds=5)
    md = client.get_entity(eid, include_state=False)
    assert md.id == eid and not md.includes_state and md.get_state() is None
    r = raw.get(str(eid), include_state=False)
    assert r.exists and r.entity.instanceId == str(eid) and not r.entity.HasField("serializedState")
    r = raw.get(str(eid), include_state=True)
    assert r.entity.serializedState.value == "41"
    assert not r.entity.lockedBy.value
    assert client.get_entity(ent("counter", uid + "-nothing")) is None
    # deleting the state deletes the entity
    client.signal_entity(eid, "delete")
    wait_until(lambda: client.get_entity(eid) is None, 30, what=f"{eid} deleted")


def test_query_entities_prefix_range_state_transient_paging(client, start_entity_worker, uid, raw):
    start_entity_worker()
    prefix = f"@counter@{uid}-q-"
    group_a = [f"{uid}-q-a{i}" for i in range(4)]
    group_b = [f"{uid}-q-b{i}" for i in range(3)]
    for i, k in enumerate(group_a):
        client.signal_entity(ent("counter", k), "add", i + 1)
    client.signal_entity(ent("counter", f"{uid}-r-0"), "add", 1)  # outside the prefix
    for i, k in enumerate(group_a):
        wait_entity(client, ent("counter", k), lambda s, i=i: s == i + 1)
    wait_entity(client, ent("counter", f"{uid}-r-0"), lambda s: s == 1)
    t_mid = datetime.now(timezone.utc)
    for i, k in enumerate(group_b):
        client.signal_entity(ent("counter", k), "add", 10 + i)
    for i, k in enumerate(group_b):
        wait_entity(client, ent("counter", k), lambda s, i=i: s == 10 + i)
    all_ids = sorted(str(ent("counter", k)) for k in group_a + group_b)

    found = client.get_all_entities(dtclient.EntityQuery(instance_id_starts_with=prefix))
    assert sorted(str(m.id) for m in found) == all_ids
    assert {str(m.id): m.get_typed_state() for m in found} == {
        **{str(ent("counter", k)): i + 1 for i, k in enumerate(group_a)},
        **{str(ent("counter", k)): 10 + i for i, k in enumerate(group_b)}}
    no_state = client.get_all_entities(dtclient.EntityQuery(instance_id_starts_with=prefix,
                                                            include_state=False))
    assert sorted(str(m.id) for m in no_state) == all_ids
    resp = raw.query(instanceIdStartsWith=wrappers_pb2.StringValue(value=prefix),
                     includeState=False)
    assert len(resp.entities) == 7 and not any(e.HasField("serializedState")
                                               for e in resp.entities)

    # last-modified range
    before = client.get_all_entities(dtclient.EntityQuery(instance_id_starts_with=prefix,
                                                          last_modified_to=t_mid))
    after = client.get_all_entities(dtclient.EntityQuery(instance_id_starts_with=prefix,
                                                         last_modified_from=t_mid))
    assert sorted(str(m.id) for m in before) == sorted(str(ent("counter", k)) for k in group_a)
    assert sorted(str(m.id) for m in after) == sorted(str(ent("counter", k)) for k in group_b)

    # paging: raw pages of at most 3, every entity exactly once; and the SDK's loop
    seen: list[str] = []
    token = None
    for _ in range(10):
        fields: dict[str, Any] = {"instanceIdStartsWith": wrappers_pb2.StringValue(value=prefix),
                                  "pageSize": wrappers_pb2.Int32Value(value=3)}
        if token:
            fields["continuationToken"] = wrappers_pb2.StringValue(value=token)
        page = raw.query(**fields)
        assert len(page.entities) <= 3
        seen += [e.instanceId for e in page.entities]
        token = page.continuationToken.value if page.HasField("continuationToken") else None
        if not token:
            break
    assert sorted(seen) == all_ids and len(seen) == len(set(seen)), seen
    paged = client.get_all_entities(dtclient.EntityQuery(instance_id_starts_with=prefix,
                                                         page_size=3))
    assert sorted(str(m.id) for m in paged) == all_ids

    # a transient entity: no state, only a lock held by a running orchestration
    t_key = f"{uid}-q-t"
    holder = f"{uid}-holder"
    client.schedule_new_orchestration(ent_hold_lock_orch, input=[t_key], instance_id=holder)
    wait_locked_by(raw, str(ent("counter", t_key)), holder)
    plain = client.get_all_entities(dtclient.EntityQuery(instance_id_starts_with=prefix))
    assert sorted(str(m.id) for m in plain) == all_ids, "transient entity listed by default"
    with_transient = raw.query(instanceIdStartsWith=wrappers_pb2.StringValue(value=prefix),
                               includeTransient=True, includeState=True)
    by_id = {e.instanceId: e for e in with_transient.entities}
    assert sorted(by_id) == sorted(all_ids + [str(ent("counter", t_key))])
    t = by_id[str(ent("counter", t_key))]
    assert t.lockedBy.value == holder and not t.HasField("serializedState")
    # the lock's release leaves nothing: the entity is gone
    client.raise_orchestration_event(holder, "release")
    assert complete(client, holder).runtime_status == Status.COMPLETED
    wait_until(lambda: not raw.get(str(ent("counter", t_key))).exists, 30,
               what="the released transient entity deleted")


def test_terminated_lock_owner_releases_locks_and_clean_storage(
        server_factory, client_factory, start_entity_worker, uid):
    """On a private server (CleanEntityStorage counts are global): locks held by a terminated
    orchestration are released by the server (also a lock request still queued behind another
    owner's lock), queued operations then run, and CleanEntityStorage finds nothing left to do,
    removes nothing with state and releases no lock of a live owner."""
    srv = server_factory()
    c = client_factory(srv.address)
    raw = Raw(srv.address)
    start_entity_worker(srv.address)
    e_key, f_key, g_key = f"{uid}-e", f"{uid}-f", f"{uid}-g"  # lock order: e < f < g
    e_id, f_id, g_id = (str(ent("counter", k)) for k in (e_key, f_key, g_key))
    c.signal_entity(ent("counter", e_key), "add", 1)
    wait_entity(c, ent("counter", e_key), lambda s: s == 1)

    # o1 holds f; o2 locks [e, f]: gets e, its request waits at f behind o1
    o1, o2, o3 = f"{uid}-o1", f"{uid}-o2", f"{uid}-o3"
    c.schedule_new_orchestration(ent_hold_lock_orch, input=[f_key], instance_id=o1)
    wait_locked_by(raw, f_id, o1)
    c.schedule_new_orchestration(ent_hold_lock_orch, input=[e_key, f_key], instance_id=o2)
    wait_locked_by(raw, e_id, o2)
    # o3 holds g (no state) for the whole test: clean must not touch it
    c.schedule_new_orchestration(ent_hold_lock_orch, input=[g_key], instance_id=o3)
    wait_locked_by(raw, g_id, o3)
    c.signal_entity(ent("counter", e_key), "add", 10)  # queued behind o2's lock
    assert raw.get(e_id).entity.lockedBy.value == o2

    c.terminate_orchestration(o2)
    wait_for_status(c, o2, Status.TERMINATED)
    # e: released by the server, the queued signal runs
    wait_entity(c, ent("counter", e_key), lambda s: s == 11, what="the queued add after release")
    r = wait_settled(raw, e_id)
    assert r.exists and not r.entity.lockedBy.value
    assert raw.get(f_id).entity.lockedBy.value == o1
    # f: o1 lets go; o2's cancelled request must not lock it afterwards
    c.raise_orchestration_event(o1, "release")
    assert complete(c, o1).runtime_status == Status.COMPLETED
    c.signal_entity(ent("counter", f_key), "add", 5)
    wait_entity(c, ent("counter", f_key), lambda s: s == 5, what="an add on f after release")
    r = wait_settled(raw, f_id)
    assert r.exists and not r.entity.lockedBy.value, r
    assert raw.get(e_id).entity.lockedBy.value == ""

    result = c.clean_entity_storage(remove_empty_entities=True, release_orphaned_locks=True)
    assert (result.empty_entities_removed, result.orphaned_locks_released) == (0, 0), result
    assert c.get_entity(ent("counter", e_key)).get_typed_state() == 11
    assert c.get_entity(ent("counter", f_key)).get_typed_state() == 5
    assert raw.get(g_id).entity.lockedBy.value == o3, "clean released a live owner's lock"
    assert c.purge_orchestration(g_id).deleted_instance_count == 0, "purged a locked entity"
    assert raw.get(g_id).exists

    # a terminated owner of a state-less entity: the release deletes the entity
    c.terminate_orchestration(o3)
    wait_until(lambda: not raw.get(g_id).exists, 30, what=f"{g_id} gone after its owner ended")
    result = c.clean_entity_storage()
    assert (result.empty_entities_removed, result.orphaned_locks_released) == (0, 0), result
    raw.channel.close()


# ================================================================ work-item formats

@pytest.mark.parametrize("fmt,max_batch", [("v1", 3), ("v2", 1)])
def test_work_item_format_and_batch_limit(server_factory, client_factory, start_entity_worker,
                                          uid, fmt, max_batch):
    """--entity-work-items v1|v2 and --entity-max-batch: the worker gets that format only, never
    more operations than the limit in one batch, and results (V1: routed by the server's own
    record of each caller) still reach the right callers."""
    srv = server_factory(["--entity-work-items", fmt, "--entity-max-batch", str(max_batch)])
    c = client_factory(srv.address)
    batches: list[tuple[str, int]] = []
    start_entity_worker(srv.address, batches=batches)
    eid = ent("counter", uid)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda v: c.signal_entity(eid, "add", v), range(1, 101)))
    oids = [c.schedule_new_orchestration(ent_boom_orch, input=f"{uid}-b", instance_id=f"{uid}-b"),
            c.schedule_new_orchestration(ent_call_signal_orch, input=f"{uid}-c",
                                         instance_id=f"{uid}-c")]
    wait_entity(c, eid, lambda s: s >= 5050, what="sum 5050")
    outs = []
    for oid in oids:
        st = complete(c, oid)
        assert st.runtime_status == Status.COMPLETED, (oid, st.failure_details)
        outs.append(st.get_output())
    assert outs[0]["before"] == 7 and outs[0]["after"] == 7 and outs[0]["failed"], outs[0]
    assert (outs[1]["after_call"], outs[1]["counter"]) == (15, 3), outs[1]
    assert c.get_entity(eid).get_typed_state() == 5050
    assert batches, "no entity work item recorded"
    assert {f for f, _ in batches} == {fmt}, batches
    assert max(n for _, n in batches) <= max_batch, batches
    assert min(n for _, n in batches) >= 1, batches


def test_entity_work_item_filters(server_factory, client_factory, start_entity_worker, uid):
    """A worker whose filters list no entity gets no entity work item; the entity worker gets
    them all (a worker without the entity registered would fail its operations)."""
    srv = server_factory()
    c = client_factory(srv.address)
    orch_batches: list[tuple[str, int]] = []
    ent_batches: list[tuple[str, int]] = []
    start_entity_worker(srv.address, entities=(), batches=orch_batches, filters=True)
    start_entity_worker(srv.address, orchestrators=(), batches=ent_batches, filters=True)
    oids = [c.schedule_new_orchestration(ent_call_signal_orch, input=f"{uid}-{i}",
                                         instance_id=f"{uid}-{i}") for i in range(4)]
    for v in range(1, 21):
        c.signal_entity(ent("counter", uid), "add", v)
    for oid in oids:
        st = complete(c, oid)
        assert st.runtime_status == Status.COMPLETED, (oid, st.failure_details)
        assert st.get_output()["after_call"] == 15
    assert wait_entity(c, ent("counter", uid), lambda s: s == 210) == 210
    assert orch_batches == [], "an entity work item reached a worker that does not filter for it"
    assert ent_batches


# ================================================================ ids

def test_entity_names_are_case_insensitive_keys_are_not(client, start_entity_worker, uid, raw):
    start_entity_worker()
    key = f"{uid}-Key"
    for name, v in (("CoUnTeR", 1), ("counter", 2), ("COUNTER", 4)):
        raw.signal(f"@{name}@{key}", "add", str(v))
    eid = ent("counter", key)
    assert wait_entity(client, eid, lambda s: s == 7) == 7
    for spelled in (f"@counter@{key}", f"@Counter@{key}", f"@COUNTER@{key}"):
        r = raw.get(spelled)
        assert r.exists, spelled
        assert r.entity.instanceId == f"@counter@{key}", r.entity.instanceId
        assert r.entity.serializedState.value == "7"
    assert not raw.get(f"@counter@{key.lower()}").exists, "keys are case-sensitive"
    resp = raw.query(instanceIdStartsWith=wrappers_pb2.StringValue(value=f"@counter@{uid}"))
    assert [e.instanceId for e in resp.entities] == [f"@counter@{key}"]


def test_instance_apis_on_entity_ids(client, start_entity_worker, uid, raw):
    start_entity_worker()
    eid = ent("counter", uid)
    client.signal_entity(eid, "add", 1)
    wait_entity(client, eid, lambda s: s == 1)
    sid = str(eid)

    assert client.get_orchestration_state(sid) is None
    for wait in (client.wait_for_orchestration_completion, client.wait_for_orchestration_start):
        with pytest.raises(grpc.RpcError) as ei:
            wait(sid, timeout=10)
        assert rpc_code(ei.value) == grpc.StatusCode.NOT_FOUND, wait.__name__

    for bad in (sid, f"@counter@{uid}-new", "@nonsense"):
        with pytest.raises(grpc.RpcError) as ei:
            client.schedule_new_orchestration(ent_echo_orch, input=1, instance_id=bad)
        assert rpc_code(ei.value) == grpc.StatusCode.INVALID_ARGUMENT, bad
    assert not raw.get(f"@counter@{uid}-new").exists

    for name, call in (("raise", lambda: client.raise_orchestration_event(sid, "e", data=1)),
                       ("terminate", lambda: client.terminate_orchestration(sid)),
                       ("suspend", lambda: client.suspend_orchestration(sid)),
                       ("resume", lambda: client.resume_orchestration(sid)),
                       ("restart", lambda: client.restart_orchestration(sid))):
        with pytest.raises(grpc.RpcError) as ei:
            call()
        assert rpc_code(ei.value) == grpc.StatusCode.INVALID_ARGUMENT, name

    listed = client.get_all_orchestration_states(dtclient.OrchestrationQuery(
        instance_id_prefix="@counter@" + uid))
    assert listed == [], "QueryInstances lists an entity"
    assert client.get_entity(eid).get_typed_state() == 1, "an instance RPC changed the entity"

    # purge by id deletes an idle entity
    assert client.purge_orchestration(sid).deleted_instance_count == 1
    assert client.get_entity(eid) is None
    assert client.purge_orchestration(sid).deleted_instance_count == 0
