"""W3C trace context (issue 13 item 3): the traceparent a client or an orchestrator action gives is
what the worker receives on the work item it leads to, checked with a raw sidecar-protocol worker
(the stubs shipped in the durabletask package): client start -> the orchestrator work item's
executionStarted; scheduleTask -> the activity work item; createSubOrchestration -> the child's
executionStarted; the orchestration trace context the worker returns -> its next episode; and the
instance's lifecycle CloudEvents carry its traceparent."""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.internal import orchestrator_service_pb2_grpc as pb_grpc
from google.protobuf import wrappers_pb2
from taskhub_harness import unique_id

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "crash"))
from raw_worker import RawWorker, complete_action  # noqa: E402

TP_CLIENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TP_TASK = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
TP_CHILD = "00-0af7651916cd43dd8448eb211c80319c-53995c3f42cd8ad8-01"


def started_event(wi: pb.WorkItem) -> pb.ExecutionStartedEvent:
    r = wi.orchestratorRequest
    for ev in [*r.pastEvents, *r.newEvents]:
        if ev.HasField("executionStarted"):
            return ev.executionStarted
    raise AssertionError(f"no executionStarted in {r}")


def next_kind(w: RawWorker, kind: str) -> pb.WorkItem:
    wi = w.next(timeout=30)
    assert wi.HasField(kind), wi
    return wi


def test_traceparent_reaches_every_work_item(request, receiver, server_factory):
    srv = server_factory("--notification-webhook", f"url={receiver.url},events=Completed")
    w = RawWorker(srv.address)
    request.addfinalizer(w.close)
    iid = unique_id(request, "tr")
    with grpc.insecure_channel(srv.address) as ch:
        pb_grpc.TaskHubSidecarServiceStub(ch).StartInstance(pb.CreateInstanceRequest(
            instanceId=iid, name="traced",
            parentTraceContext=pb.TraceContext(traceParent=TP_CLIENT,
                                               traceState=wrappers_pb2.StringValue(value="k=v"))),
            timeout=30)

    wi = next_kind(w, "orchestratorRequest")
    assert started_event(wi).parentTraceContext.traceParent == TP_CLIENT
    assert started_event(wi).parentTraceContext.traceState.value == "k=v"
    resp = pb.OrchestratorResponse(
        instanceId=iid, completionToken=wi.completionToken,
        orchestrationTraceContext=pb.OrchestrationTraceContext(
            spanID=wrappers_pb2.StringValue(value="b7ad6b7169203331")),
        actions=[
            pb.OrchestratorAction(id=0, scheduleTask=pb.ScheduleTaskAction(
                name="act", parentTraceContext=pb.TraceContext(traceParent=TP_TASK))),
            pb.OrchestratorAction(id=1, createSubOrchestration=pb.CreateSubOrchestrationAction(
                instanceId=f"{iid}-child", name="child",
                parentTraceContext=pb.TraceContext(traceParent=TP_CHILD))),
        ])
    w.stub.CompleteOrchestratorTask(resp, timeout=30)

    got = {}
    while set(got) != {"activity", "child"}:
        wi = w.next(timeout=30)
        if wi.HasField("activityRequest"):
            got["activity"] = wi
        elif wi.HasField("orchestratorRequest") and wi.orchestratorRequest.instanceId.endswith(
                "-child"):
            got["child"] = wi
    assert got["activity"].activityRequest.parentTraceContext.traceParent == TP_TASK
    assert started_event(got["child"]).parentTraceContext.traceParent == TP_CHILD

    # The child completes, then the activity: the parent's next episode echoes its trace context.
    w.complete_orchestration(got["child"], [complete_action(0, '"c"')])
    w.complete_activity(got["activity"], '"a"')
    wi = next_kind(w, "orchestratorRequest")
    if wi.orchestratorRequest.instanceId != iid:  # a stray episode of the child: none expected
        raise AssertionError(wi)
    assert wi.orchestratorRequest.orchestrationTraceContext.spanID.value == "b7ad6b7169203331"
    w.complete_orchestration(wi, [complete_action(2, '"done"')])

    receiver.wait_for(lambda r: iid in [d["subject"] for d in r.delivered], "Completed")
    ev = next(d for d in receiver.delivered if d["subject"] == iid)
    assert ev["traceparent"] == TP_CLIENT


TP_SIGNAL = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TP_ENTITY_SIGNAL = "00-4bf92f3577b34da6a3ce929d0e0e4736-a3ce929d0e0e4736-01"


def test_entity_signals_carry_traceparent_to_entity_work_items(request, server_factory):
    """Client signal -> the entity work item's operation; entity -> entity signal -> the target's.
    The V1 entity work item (EntityBatchRequest) has the slot (OperationRequest.traceContext); the
    V2 one (HistoryEvents) has none in the protocol, so only V1 can carry it."""
    srv = server_factory("--entity-work-items", "v1")
    w = RawWorker(srv.address)
    request.addfinalizer(w.close)
    key = unique_id(request, "k")
    with grpc.insecure_channel(srv.address) as ch:
        pb_grpc.TaskHubSidecarServiceStub(ch).SignalEntity(pb.SignalEntityRequest(
            instanceId=f"@counter@{key}", name="add", requestId="r1",
            parentTraceContext=pb.TraceContext(traceParent=TP_SIGNAL)), timeout=30)
    wi = next_kind(w, "entityRequest")
    ops = wi.entityRequest.operations
    assert [o.traceContext.traceParent for o in ops] == [TP_SIGNAL]
    result = pb.EntityBatchResult(
        completionToken=wi.completionToken,
        results=[pb.OperationResult(success=pb.OperationResultSuccess())],
        entityState=wrappers_pb2.StringValue(value="1"),
        actions=[pb.OperationAction(id=0, sendSignal=pb.SendSignalAction(
            instanceId=f"@audit@{key}", name="log",
            parentTraceContext=pb.TraceContext(traceParent=TP_ENTITY_SIGNAL)))])
    w.stub.CompleteEntityTask(result, timeout=30)
    wi = next_kind(w, "entityRequest")
    assert wi.entityRequest.instanceId == f"@audit@{key}"
    assert [o.traceContext.traceParent for o in wi.entityRequest.operations] == [TP_ENTITY_SIGNAL]
