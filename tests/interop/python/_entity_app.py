"""The entities, orchestrations, fixtures and helpers shared by the entity interop tests
(test_entities.py: entity behaviour; test_entity_admin.py: reads, admin, formats, filters, ids).

Fixtures (import them into a test module): start_entity_worker (a real SDK worker registering
everything below), raw (the SDK's own generated gRPC stub on the shared server, for what the
SDK's client wrappers hide: EntityMetadata.from_entity_metadata lower-cases the name,
get_locked_by() parses the owner as an entity id).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import grpc
import pytest

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as pb_grpc
from durabletask import client as dtclient
from durabletask import task
from durabletask import worker as dtworker
from durabletask.entities import DurableEntity, EntityContext, EntityInstanceId

from _helpers import wait_until
from taskhub_harness import FAST_RECONNECT_OPTIONS, sdk_logger


# ================================================================ entities and orchestrations

def counter(ctx: EntityContext, inp: Any) -> Any:
    """A function entity: an integer counter, plus operations that exercise the batch result."""
    op = ctx.operation
    if op == "add":
        value = ctx.get_state(int, 0) + inp
        ctx.set_state(value)
        return value
    if op == "get":
        return ctx.get_state(int, 0)
    if op == "delete":
        ctx.set_state(None)
        return None
    if op == "boom":  # changes the state, then throws: the change must be rolled back
        ctx.set_state(-999_999)
        raise ValueError(f"boom: {inp}")
    if op == "spawn":  # starts an orchestration (OperationAction startNewOrchestration)
        return ctx.schedule_new_orchestration("ent_echo_orch", input=inp["input"],
                                              instance_id=inp["id"])
    if op == "forward":  # signals another entity (OperationAction sendSignal)
        ctx.signal_entity(EntityInstanceId("counter", inp["key"]), "add", inp["amount"])
        return None
    raise ValueError(f"unknown operation {op!r}")


def stamp(ctx: EntityContext, inp: Any) -> Any:
    """Records when each operation was applied: state = [[label, unix time], ...]."""
    marks = ctx.get_state(list, [])
    if ctx.operation == "mark":
        marks.append([inp, time.time()])
        ctx.set_state(marks)
        return None
    if ctx.operation == "mark_later":  # an entity signalling itself with a scheduled time
        at = datetime.now(timezone.utc) + timedelta(seconds=inp["delay"])
        ctx.signal_entity(ctx.entity_id, "mark", inp["label"], signal_time=at)
        marks.append(["scheduled:" + inp["label"], at.timestamp()])
        ctx.set_state(marks)
        return None
    raise ValueError(f"unknown operation {ctx.operation!r}")


class Account(DurableEntity):
    """A class entity. begin/commit bracket a transfer's critical section: begin records the
    owner (the transfer's instance id), commit checks and clears it. Any operation that runs
    while an owner is recorded and does not come from that owner is recorded as a violation:
    the server must keep other callers' operations queued while the account is locked."""

    def _load(self) -> dict:
        return self.get_state(dict, None) or {"balance": 0, "owner": None, "violations": []}

    def init(self, balance: int) -> None:
        self.set_state({"balance": balance, "owner": None, "violations": []})

    def deposit(self, amount: int) -> int:
        st = self._load()
        if st["owner"] is not None:
            st["violations"].append(f"deposit {amount} inside the section of {st['owner']}")
        st["balance"] += amount
        self.set_state(st)
        return st["balance"]

    def begin(self, owner: str) -> int:
        st = self._load()
        if st["owner"] is not None:
            st["violations"].append(f"begin by {owner} inside the section of {st['owner']}")
        st["owner"] = owner
        self.set_state(st)
        return st["balance"]

    def commit(self, arg: dict) -> None:
        st = self._load()
        if st["owner"] != arg["owner"]:
            st["violations"].append(f"commit by {arg['owner']}, section of {st['owner']}")
        st["balance"] = arg["balance"]
        st["owner"] = None
        self.set_state(st)

    def get(self) -> dict:
        return self._load()


def ent_echo_orch(ctx: task.OrchestrationContext, inp: Any):
    return {"echo": inp, "id": ctx.instance_id}


def ent_call_signal_orch(ctx: task.OrchestrationContext, key: str):
    """Signal then call the same class entity: messages from one sender arrive in order."""
    acct = EntityInstanceId("Account", key)
    ctx.signal_entity(acct, "deposit", 10)
    after_call = yield ctx.call_entity(acct, "deposit", 5)
    state = yield ctx.call_entity(acct, "get")
    fn_result = yield ctx.call_entity(EntityInstanceId("counter", key), "add", 3)
    return {"after_call": after_call, "state": state, "counter": fn_result}


def ent_boom_orch(ctx: task.OrchestrationContext, key: str):
    ent = EntityInstanceId("counter", key)
    before = yield ctx.call_entity(ent, "add", 7)
    failed = None
    try:
        yield ctx.call_entity(ent, "boom", "x")
    except task.TaskFailedError as e:
        inner = e.details.inner_failure
        failed = {"message": str(e), "inner_type": inner.error_type if inner else None,
                  "inner_message": inner.message if inner else None}
    after = yield ctx.call_entity(ent, "get")
    return {"before": before, "failed": failed, "after": after}


def ent_transfer_orch(ctx: task.OrchestrationContext, inp: dict):
    """Moves up to inp["amount"] from one account to another inside one critical section, by
    read-modify-write (begin returns the balance, commit writes the new one): a foreign operation
    between begin and commit would be a lost update and would break the total."""
    src = EntityInstanceId("account", inp["from"])
    dst = EntityInstanceId("account", inp["to"])
    owner = ctx.instance_id
    with (yield ctx.lock_entities([src, dst])):
        bal_src, bal_dst = yield task.when_all([ctx.call_entity(src, "begin", owner),
                                                ctx.call_entity(dst, "begin", owner)])
        amount = min(inp["amount"], bal_src)
        yield task.when_all([
            ctx.call_entity(src, "commit", {"owner": owner, "balance": bal_src - amount}),
            ctx.call_entity(dst, "commit", {"owner": owner, "balance": bal_dst + amount})])
    return amount


def ent_deposit_orch(ctx: task.OrchestrationContext, inp: dict):
    """A call from an orchestration that holds no lock: must wait while the account is locked."""
    return (yield ctx.call_entity(EntityInstanceId("account", inp["key"]), "deposit",
                                  inp["amount"]))


def ent_hold_lock_orch(ctx: task.OrchestrationContext, keys: list[str]):
    """Locks the counters `keys` and holds the lock until the event "release"."""
    with (yield ctx.lock_entities([EntityInstanceId("counter", k) for k in keys])):
        yield ctx.wait_for_external_event("release")
    return "released"


def ent_delayed_signal_orch(ctx: task.OrchestrationContext, inp: dict):
    at = ctx.current_utc_datetime + timedelta(seconds=inp["delay"])
    ent = EntityInstanceId("stamp", inp["key"])
    ctx.signal_entity(ent, "mark", "orch-delayed", signal_time=at)
    ctx.signal_entity(ent, "mark", "orch-now")
    return at.replace(tzinfo=timezone.utc).timestamp()


ALL_ORCHESTRATORS = [ent_echo_orch, ent_call_signal_orch, ent_boom_orch, ent_transfer_orch,
                     ent_deposit_orch, ent_hold_lock_orch, ent_delayed_signal_orch]
ALL_ENTITIES = [counter, stamp, Account]


# ================================================================ fixtures and helpers

@pytest.fixture
def start_entity_worker(request: pytest.FixtureRequest
                        ) -> Iterator[Callable[..., dtworker.TaskHubGrpcWorker]]:
    """Starts a real TaskHubGrpcWorker with every orchestrator and entity of this file (on the
    shared server unless `address` is given); stopped after the test."""
    workers: list[dtworker.TaskHubGrpcWorker] = []

    def start(address: str | None = None, *, orchestrators: Iterable = ALL_ORCHESTRATORS,
              entities: Iterable = ALL_ENTITIES,
              batches: list[tuple[str, int]] | None = None,
              filters: bool = False) -> dtworker.TaskHubGrpcWorker:
        """batches: when given, each entity work item is recorded in it as (format, number of
        operations), format "v1" (entityRequest) or "v2" (entityRequestV2). filters: send work-item
        filters generated from what this worker registers."""
        if address is None:
            address = request.getfixturevalue("taskhub_server").address
        from durabletask.grpc_options import GrpcChannelOptions
        w = dtworker.TaskHubGrpcWorker(
            host_address=address, logger=sdk_logger("entity-worker"),
            channel_options=GrpcChannelOptions(raw_options=list(FAST_RECONNECT_OPTIONS)))
        if batches is not None:
            execute = w._execute_entity_batch  # the SDK's per-work-item entry point

            def recording(req, *args, **kwargs):
                if isinstance(req, pb.EntityRequest):
                    batches.append(("v2", len(req.operationRequests)))
                else:
                    batches.append(("v1", len(req.operations)))
                return execute(req, *args, **kwargs)
            w._execute_entity_batch = recording
        if filters:
            w.use_work_item_filters()
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for e in entities:
            w.add_entity(e)
        w.start()
        workers.append(w)
        return w

    yield start
    for w in reversed(workers):
        w.stop()


class Raw:
    """The SDK's own generated gRPC stub, for what the SDK's client wrappers hide."""

    def __init__(self, address: str):
        self.channel = grpc.insecure_channel(address)
        self.stub = pb_grpc.TaskHubSidecarServiceStub(self.channel)

    def get(self, entity_id: str, include_state: bool = True) -> pb.GetEntityResponse:
        return self.stub.GetEntity(pb.GetEntityRequest(instanceId=entity_id,
                                                       includeState=include_state), timeout=30)

    def signal(self, entity_id: str, operation: str, input_json: str | None = None,
               request_id: str | None = None) -> None:
        req = pb.SignalEntityRequest(instanceId=entity_id, name=operation,
                                     requestId=request_id or str(uuid.uuid4()))
        if input_json is not None:
            req.input.value = input_json
        self.stub.SignalEntity(req, timeout=30)

    def query(self, **fields: Any) -> pb.QueryEntitiesResponse:
        return self.stub.QueryEntities(pb.QueryEntitiesRequest(query=pb.EntityQuery(**fields)),
                                       timeout=30)


@pytest.fixture
def raw(taskhub_server) -> Iterator[Raw]:
    r = Raw(taskhub_server.address)
    yield r
    r.channel.close()


def ent(name: str, key: str) -> EntityInstanceId:
    return EntityInstanceId(name, key)


def wait_entity(c: dtclient.TaskHubGrpcClient, eid: EntityInstanceId,
                pred: Callable[[Any], bool], timeout: float = 30.0, what: str = "") -> Any:
    """Polls GetEntity until the entity exists with a state and pred(its deserialized state)
    holds; returns the state."""
    last: list[Any] = [None]

    def probe():
        md = c.get_entity(eid)
        last[0] = md.get_typed_state() if md is not None else "<no entity>"
        return md is not None and last[0] is not None and pred(last[0])
    try:
        wait_until(probe, timeout, what=what or f"state of {eid}")
    except AssertionError:
        raise AssertionError(f"{eid}: {what or 'condition'} not reached within {timeout}s; "
                             f"last state {last[0]!r}") from None
    return last[0]


def wait_settled(raw: Raw, entity_id: str, timeout: float = 30.0) -> pb.GetEntityResponse:
    """Polls until the entity has no queued request and no lock (or no longer exists)."""
    def probe():
        r = raw.get(entity_id)
        settled = (not r.exists) or (r.entity.backlogQueueSize == 0 and not r.entity.lockedBy.value)
        return r if settled else None
    return wait_until(probe, timeout, what=f"{entity_id} idle (no backlog, no lock)")


def wait_locked_by(raw: Raw, entity_id: str, owner: str, timeout: float = 30.0) -> None:
    wait_until(lambda: (r := raw.get(entity_id)).exists and r.entity.lockedBy.value == owner,
               timeout, what=f"{entity_id} locked by {owner}")
