"""The C++ SDK's orchestration entity actions have the Python SDK's shapes: the same episodes of
one orchestration (written in both languages) through the Python SDK 1.12's own executor and
through the C++ replay engine (taskhub-test-cpp-entities --replay), actions compared field by field.
No server: the histories are built as a server records them.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import durabletask.internal.orchestrator_service_pb2 as pb
import pytest
from durabletask import worker as dtworker
from durabletask.entities import EntityInstanceId
from durabletask.serialization import JsonDataConverter
from google.protobuf import json_format, timestamp_pb2, wrappers_pb2

from sdk_support import binary, sdk_logger


def shapes(ctx, _):
    """The Python twin of the C++ orchestration `shapes` (tests/sdk_worker/cpp_entities.cc)."""
    counter = EntityInstanceId("Counter", "k")
    a, b = EntityInstanceId("account", "a"), EntityInstanceId("account", "b")
    ctx.signal_entity(counter, "add", 1)
    ctx.signal_entity(counter, "add", 2, signal_time=ctx.current_utc_datetime + timedelta(minutes=1))
    value = yield ctx.call_entity(counter, "get")
    with (yield ctx.lock_entities([b, a, b])):
        yield ctx.call_entity(a, "balance")
    return value


def drive_episodes(execute) -> list:
    """Runs `shapes` episode by episode as a server would: each episode's entity actions are
    confirmed in the history (eventId = action id), calls answered with "1", locks granted."""
    t0 = timestamp_pb2.Timestamp(seconds=1_700_000_000)

    def event(event_id=-1, **kw):
        return pb.HistoryEvent(eventId=event_id, timestamp=t0, **kw)

    old: list = []
    new = [event(orchestratorStarted=pb.OrchestratorStartedEvent()),
           event(executionStarted=pb.ExecutionStartedEvent(
               name="shapes", input=wrappers_pb2.StringValue(value="null"),
               orchestrationInstance=pb.OrchestrationInstance(instanceId="inst")))]
    actions: list = []
    for _ in range(10):
        episode = execute(old, new)
        actions += episode
        old, new = old + new, [event(orchestratorStarted=pb.OrchestratorStartedEvent())]
        if any(a.HasField("completeOrchestration") for a in episode):
            return actions
        for a in episode:
            kind = a.sendEntityMessage.WhichOneof("EntityMessageType")
            msg = getattr(a.sendEntityMessage, kind)
            old.append(event(a.id, **{kind: msg}))
            if kind == "entityOperationCalled":
                new.append(event(entityOperationCompleted=pb.EntityOperationCompletedEvent(
                    requestId=msg.requestId, output=wrappers_pb2.StringValue(value="1"))))
            elif kind == "entityLockRequested":
                new.append(event(entityLockGranted=pb.EntityLockGrantedEvent(
                    criticalSectionId=msg.criticalSectionId)))
    pytest.fail(f"shapes did not complete: {actions}")


def normalized(actions) -> list:
    """Actions as dicts, the generated ids (request / critical section) replaced by their order
    of first appearance (so only their equalities are compared)."""
    names: dict = {}

    def walk(v):
        if isinstance(v, dict):
            return {k: (names.setdefault(x, f"<id{len(names)}>")
                        if k in ("requestId", "criticalSectionId") else walk(x))
                    for k, x in v.items()}
        return [walk(x) for x in v] if isinstance(v, list) else v

    return [walk(json_format.MessageToDict(a)) for a in actions]


def test_orchestration_entity_actions_have_the_python_sdk_shapes():
    """Signal (with and without a time), call, lock (sorted, de-duplicated), the call inside the
    critical section and the unlocks: the C++ SDK sends what the Python SDK sends, with the same
    action ids, and resolves the same history events."""
    registry = dtworker._Registry()
    registry.add_orchestrator(shapes)

    def python(old, new):
        executor = dtworker._OrchestrationExecutor(registry, sdk_logger("shapes"),
                                                   JsonDataConverter())
        return list(executor.execute("inst", old, new).actions)

    def cpp(old, new):
        req = pb.OrchestratorRequest(instanceId="inst", pastEvents=old, newEvents=new)
        p = subprocess.run([str(binary("taskhub-test-cpp-entities")), "--replay"],
                           input=json_format.MessageToJson(req), capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        resp = json_format.Parse(p.stdout, pb.OrchestratorResponse(), ignore_unknown_fields=True)
        return list(resp.actions)

    py_actions, cpp_actions = normalized(drive_episodes(python)), normalized(drive_episodes(cpp))
    assert [a["id"] for a in cpp_actions] == [a["id"] for a in py_actions]
    # The unlocks of one critical section go to different entities, so their order does not
    # matter: C++ sends them in lock order; Python 1.12 in the order the entities were last
    # answered (its lock list is reordered by each call), so compare them as a set.
    def unlock_order_free(actions):
        return [{**a, "sendEntityMessage": "unlock"} if "entityUnlockSent" in a.get(
            "sendEntityMessage", {}) else a for a in actions], sorted(
            json.dumps(a["sendEntityMessage"], sort_keys=True) for a in actions
            if "entityUnlockSent" in a.get("sendEntityMessage", {}))
    assert unlock_order_free(cpp_actions) == unlock_order_free(py_actions)
    kinds = [next(iter(a.get("sendEntityMessage", {"complete": 1}))) for a in cpp_actions]
    assert kinds == ["entityOperationSignaled", "entityOperationSignaled", "entityOperationCalled",
                     "entityLockRequested", "entityOperationCalled", "entityUnlockSent",
                     "entityUnlockSent", "complete"]
