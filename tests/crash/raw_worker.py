"""A worker that speaks the sidecar protocol directly (the stubs shipped in the durabletask
package), so a test can hold a work item, present an old completion token, or see the exact gRPC
status a completion gets. Used by test_guarantees.py."""

from __future__ import annotations

import queue
import threading

import grpc
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as pb_grpc
from google.protobuf import wrappers_pb2


class RawWorker:
    """One GetWorkItems stream; received work items (health pings dropped) queue up for next()."""

    def __init__(self, address: str, max_activities: int = 0):
        self.channel = grpc.insecure_channel(address)
        self.stub = pb_grpc.TaskHubSidecarServiceStub(self.channel)
        self.items: queue.Queue = queue.Queue()
        self.call = self.stub.GetWorkItems(
            pb.GetWorkItemsRequest(maxConcurrentActivityWorkItems=max_activities))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for item in self.call:
                if not item.HasField("healthPing"):
                    self.items.put(item)
        except grpc.RpcError as e:
            self.items.put(e)

    def next(self, timeout: float = 10.0) -> pb.WorkItem:
        item = self.items.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise AssertionError(f"work-item stream ended: {item.code()} {item.details()}")
        return item

    def complete_orchestration(self, wi: pb.WorkItem, actions: list, custom_status: str = ""):
        resp = pb.OrchestratorResponse(instanceId=wi.orchestratorRequest.instanceId,
                                       completionToken=wi.completionToken, actions=actions)
        if custom_status:
            resp.customStatus.CopyFrom(wrappers_pb2.StringValue(value=custom_status))
        return self.stub.CompleteOrchestratorTask(resp, timeout=30)

    def complete_activity(self, wi: pb.WorkItem, result: str):
        req = wi.activityRequest
        return self.stub.CompleteActivityTask(pb.ActivityResponse(
            instanceId=req.orchestrationInstance.instanceId, taskId=req.taskId,
            result=wrappers_pb2.StringValue(value=result), completionToken=wi.completionToken),
            timeout=30)

    def close(self) -> None:
        self.call.cancel()
        self.channel.close()


def complete_action(action_id: int, result: str) -> pb.OrchestratorAction:
    return pb.OrchestratorAction(id=action_id, completeOrchestration=pb.CompleteOrchestrationAction(
        orchestrationStatus=pb.ORCHESTRATION_STATUS_COMPLETED,
        result=wrappers_pb2.StringValue(value=result)))


def schedule_task(action_id: int, name: str, inp: str = "") -> pb.OrchestratorAction:
    task = pb.ScheduleTaskAction(name=name)
    if inp:
        task.input.CopyFrom(wrappers_pb2.StringValue(value=inp))
    return pb.OrchestratorAction(id=action_id, scheduleTask=task)


def start(address: str, instance_id: str, name: str = "raw_orch", inp: str = "") -> None:
    with grpc.insecure_channel(address) as ch:
        req = pb.CreateInstanceRequest(instanceId=instance_id, name=name)
        if inp:
            req.input.CopyFrom(wrappers_pb2.StringValue(value=inp))
        pb_grpc.TaskHubSidecarServiceStub(ch).StartInstance(req, timeout=30)


def state(address: str, instance_id: str) -> pb.OrchestrationState | None:
    with grpc.insecure_channel(address) as ch:
        r = pb_grpc.TaskHubSidecarServiceStub(ch).GetInstance(
            pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True), timeout=30)
    return r.orchestrationState if r.exists else None
