"""Hostile input over real gRPC: requests the SDK would never send, made with raw stubs.

Each test reproduces a crash or corruption that taskhubd had before its fix: a crafted
continuation token aborted the daemon; a completion without a token completed another
connection's work item; an id with a NUL byte in a worker's rewind history wrote into
another instance's keys; tags and reasons bypassed --max-payload-bytes; one response
could carry any number of actions.
"""

from __future__ import annotations

import queue
import threading
import uuid

import grpc
import pytest
from google.protobuf import wrappers_pb2

from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as pb_grpc


def _stub(address: str) -> tuple[grpc.Channel, pb_grpc.TaskHubSidecarServiceStub]:
    # A channel of its own: without a local subchannel pool, gRPC shares one TCP
    # connection between channels to the same address (and the server sees one peer).
    channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
    return channel, pb_grpc.TaskHubSidecarServiceStub(channel)


def _code(fn) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value.code()


class RawWorker:
    """A GetWorkItems stream on its own channel; work items are queued for the test."""

    def __init__(self, address: str):
        self.channel, self.stub = _stub(address)
        self.items: queue.Queue[pb.WorkItem] = queue.Queue()
        self._call = self.stub.GetWorkItems(pb.GetWorkItemsRequest())
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self._call:
                if not item.HasField("healthPing"):
                    self.items.put(item)
        except grpc.RpcError:
            pass

    def next_for(self, instance_id: str, timeout: float = 30.0) -> pb.WorkItem:
        while True:
            item = self.items.get(timeout=timeout)
            if item.HasField("orchestratorRequest") and \
                    item.orchestratorRequest.instanceId == instance_id:
                return item
            if item.HasField("activityRequest") and \
                    item.activityRequest.orchestrationInstance.instanceId == instance_id:
                return item

    def close(self) -> None:
        self._call.cancel()
        self.channel.close()


def _start(stub, instance_id: str, name: str = "HostileOrch", **kw) -> None:
    stub.StartInstance(pb.CreateInstanceRequest(instanceId=instance_id, name=name, **kw))


def _complete(status=pb.ORCHESTRATION_STATUS_COMPLETED, action_id: int = 0) -> pb.OrchestratorAction:
    return pb.OrchestratorAction(id=action_id, completeOrchestration=pb.CompleteOrchestrationAction(
        orchestrationStatus=status))


def _state(stub, instance_id: str) -> pb.GetInstanceResponse:
    return stub.GetInstance(pb.GetInstanceRequest(instanceId=instance_id))


def test_crafted_continuation_tokens_get_invalid_argument(taskhub_server, uid):
    channel, stub = _stub(taskhub_server.address)
    try:
        _start(stub, uid)
        for token in ["c99999999999999999999999/x", "c-99999999999999999999/x", "c--/x", "zz"]:
            q = pb.QueryInstancesRequest(query=pb.InstanceQuery(
                continuationToken=wrappers_pb2.StringValue(value=token)))
            assert _code(lambda: stub.QueryInstances(q)) == grpc.StatusCode.INVALID_ARGUMENT
            ids = pb.ListInstanceIdsRequest(lastInstanceKey=wrappers_pb2.StringValue(value=token))
            assert _code(lambda: stub.ListInstanceIds(ids)) == grpc.StatusCode.INVALID_ARGUMENT
        assert _state(stub, uid).exists  # the daemon is still serving
    finally:
        channel.close()


def test_tokenless_completion_only_on_the_work_items_connection(server_factory):
    server = server_factory()
    worker = RawWorker(server.address)
    other_channel, other = _stub(server.address)
    try:
        iid = f"tokenless-{uuid.uuid4().hex[:8]}"
        _start(worker.stub, iid)
        item = worker.next_for(iid)
        assert item.completionToken  # the server sends one; older SDKs ignore it
        resp = pb.OrchestratorResponse(instanceId=iid, actions=[pb.OrchestratorAction(
            id=1, scheduleTask=pb.ScheduleTaskAction(name="HostileAct"))])
        # Another connection cannot complete it without the token...
        with pytest.raises(grpc.RpcError) as info:
            other.CompleteOrchestratorTask(resp)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "completionToken" in info.value.details()
        # ...the connection it was sent on can (Java 1.5.0 and dapr JS 1.0.0 do this).
        worker.stub.CompleteOrchestratorTask(resp)
        act = worker.next_for(iid)
        assert act.HasField("activityRequest")
        ar = pb.ActivityResponse(instanceId=iid, taskId=1,
                                 result=wrappers_pb2.StringValue(value='"forged"'))
        with pytest.raises(grpc.RpcError) as info:
            other.CompleteActivityTask(ar)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        ar.result.value = '"real"'
        worker.stub.CompleteActivityTask(ar)
        nxt = worker.next_for(iid)
        events = nxt.orchestratorRequest.newEvents
        assert events[1].taskCompleted.result.value == '"real"'
        # A stale token completes nothing (the episode above was completed).
        stale = pb.OrchestratorResponse(instanceId=iid, completionToken=item.completionToken,
                                        actions=[_complete()])
        other.CompleteOrchestratorTask(stale)
        assert _state(other, iid).orchestrationState.orchestrationStatus == \
            pb.ORCHESTRATION_STATUS_RUNNING
    finally:
        worker.close()
        other_channel.close()


def test_nul_id_in_rewind_history_is_refused_and_other_instances_survive(server_factory):
    server = server_factory()
    worker = RawWorker(server.address)
    try:
        victim, parent = f"victim-{uuid.uuid4().hex[:6]}", f"parent-{uuid.uuid4().hex[:6]}"
        _start(worker.stub, victim)
        w = worker.next_for(victim)
        worker.stub.CompleteOrchestratorTask(pb.OrchestratorResponse(
            instanceId=victim, completionToken=w.completionToken, actions=[_complete()]))
        _start(worker.stub, parent)
        w = worker.next_for(parent)
        worker.stub.CompleteOrchestratorTask(pb.OrchestratorResponse(
            instanceId=parent, completionToken=w.completionToken,
            actions=[_complete(pb.ORCHESTRATION_STATUS_FAILED)]))
        worker.stub.RewindInstance(pb.RewindInstanceRequest(instanceId=parent))
        w = worker.next_for(parent)
        history = [e for e in w.orchestratorRequest.pastEvents if e.HasField("executionStarted")]
        history.append(pb.HistoryEvent(eventId=1, subOrchestrationInstanceCreated=(
            pb.SubOrchestrationInstanceCreatedEvent(instanceId=victim + "\x00x", name="Child"))))
        rewind = pb.OrchestratorAction(id=-1, rewindOrchestration=pb.RewindOrchestrationAction(
            newHistory=history))
        with pytest.raises(grpc.RpcError) as info:
            worker.stub.CompleteOrchestratorTask(pb.OrchestratorResponse(
                instanceId=parent, completionToken=w.completionToken, actions=[rewind]))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "instanceId" in info.value.details()
        worker.close()
        server.restart()
        channel, stub = _stub(server.address)
        try:
            assert _state(stub, victim).orchestrationState.orchestrationStatus == \
                pb.ORCHESTRATION_STATUS_COMPLETED
            chunks = list(stub.StreamInstanceHistory(pb.StreamInstanceHistoryRequest(
                instanceId=victim)))
            assert sum(len(c.events) for c in chunks) > 0
            assert _state(stub, parent).orchestrationState.orchestrationStatus == \
                pb.ORCHESTRATION_STATUS_FAILED
        finally:
            channel.close()
    finally:
        worker.close()


def test_tags_version_and_reasons_count_against_the_payload_cap(server_factory):
    server = server_factory(["--max-payload-bytes", "1024"])
    channel, stub = _stub(server.address)
    try:
        big = "x" * 4096
        iid = f"caps-{uuid.uuid4().hex[:8]}"
        assert _code(lambda: _start(stub, iid, tags={"k": big})) == \
            grpc.StatusCode.RESOURCE_EXHAUSTED
        assert _code(lambda: _start(stub, iid, version=wrappers_pb2.StringValue(value=big))) == \
            grpc.StatusCode.INVALID_ARGUMENT
        assert _code(lambda: _start(stub, iid, executionId=wrappers_pb2.StringValue(value=big))) \
            == grpc.StatusCode.INVALID_ARGUMENT
        _start(stub, iid)
        assert _code(lambda: stub.SuspendInstance(pb.SuspendRequest(
            instanceId=iid, reason=wrappers_pb2.StringValue(value=big)))) == \
            grpc.StatusCode.RESOURCE_EXHAUSTED
        assert _code(lambda: stub.ResumeInstance(pb.ResumeRequest(
            instanceId=iid, reason=wrappers_pb2.StringValue(value=big)))) == \
            grpc.StatusCode.RESOURCE_EXHAUSTED
        assert _code(lambda: stub.SuspendInstance(pb.SuspendRequest(instanceId="a\x00b"))) == \
            grpc.StatusCode.INVALID_ARGUMENT
    finally:
        channel.close()


def test_too_many_actions_in_one_response_fail_the_orchestration(server_factory):
    server = server_factory(["--max-actions-per-response", "100"])
    worker = RawWorker(server.address)
    try:
        iid = f"actions-{uuid.uuid4().hex[:8]}"
        _start(worker.stub, iid)
        w = worker.next_for(iid)
        actions = [pb.OrchestratorAction(id=i, scheduleTask=pb.ScheduleTaskAction(name="A"))
                   for i in range(101)]
        with pytest.raises(grpc.RpcError) as info:
            worker.stub.CompleteOrchestratorTask(pb.OrchestratorResponse(
                instanceId=iid, completionToken=w.completionToken, actions=actions))
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "--max-actions-per-response" in info.value.details()
        st = _state(worker.stub, iid).orchestrationState
        assert st.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
    finally:
        worker.close()
