"""Server-level RPCs the SDK client does not wrap: task hub management, health,
reflection, entity RPCs (not implemented yet) and malformed requests."""
from __future__ import annotations

import grpc
import pytest

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
from durabletask import task
from durabletask.internal import helpers as pbh

from _helpers import Status, complete, rpc_code


def echo_orch(ctx: task.OrchestrationContext, value):
    return value


@pytest.fixture
def private(server_factory, client_factory):
    server = server_factory()
    channel = grpc.insecure_channel(server.address)
    yield server, stubs.TaskHubSidecarServiceStub(channel), client_factory(server.address)
    channel.close()


def test_delete_and_create_task_hub(private, start_worker, uid):
    server, stub, client = private
    start_worker([echo_orch], address=server.address)
    iid = client.schedule_new_orchestration(echo_orch, input=1, instance_id=uid)
    assert complete(client, iid).runtime_status == Status.COMPLETED
    stub.DeleteTaskHub(pb.DeleteTaskHubRequest(), timeout=10)
    assert client.get_orchestration_state(iid) is None
    stub.CreateTaskHub(pb.CreateTaskHubRequest(recreateIfExists=False), timeout=10)
    # The task hub works again after being deleted, and survives a restart empty.
    iid2 = client.schedule_new_orchestration(echo_orch, input=2, instance_id=uid + "-2")
    assert complete(client, iid2).get_output() == 2
    stub.CreateTaskHub(pb.CreateTaskHubRequest(recreateIfExists=True), timeout=10)
    assert client.get_orchestration_state(iid2) is None


def test_entity_rpcs_validate_entity_ids(private):
    _, stub, _ = private
    # Entities are served (tests/interop/python/test_entities.py); a malformed id is refused.
    stub.SignalEntity(pb.SignalEntityRequest(instanceId="@counter@1", name="add"), timeout=10)
    with pytest.raises(grpc.RpcError) as ei:
        stub.SignalEntity(pb.SignalEntityRequest(instanceId="@counter", name="add"), timeout=10)
    assert rpc_code(ei.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert "instanceId" in ei.value.details()
    with pytest.raises(grpc.RpcError) as ei:
        stub.StartInstance(pb.CreateInstanceRequest(instanceId="@counter@1", name="o"), timeout=10)
    assert rpc_code(ei.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert "reserved for entities" in ei.value.details()


def test_malformed_requests_name_the_field(private):
    _, stub, client = private
    cases = [
        (lambda: stub.StartInstance(pb.CreateInstanceRequest(instanceId="x"), timeout=10), "name"),
        (lambda: stub.StartInstance(pb.CreateInstanceRequest(instanceId="a" * 300, name="n"), timeout=10),
         "instanceId"),
        (lambda: stub.StartInstance(pb.CreateInstanceRequest(instanceId="bad\nid", name="n"), timeout=10),
         "instanceId"),
        (lambda: stub.RaiseEvent(pb.RaiseEventRequest(instanceId="x", name=""), timeout=10), "name"),
        (lambda: stub.CompleteOrchestratorTask(
            pb.OrchestratorResponse(instanceId="no-such-instance", completionToken="o-x"), timeout=10),
         "instanceId"),
        (lambda: stub.QueryInstances(pb.QueryInstancesRequest(query=pb.InstanceQuery(
            continuationToken=pbh.get_string_value("not-a-token"))), timeout=10), "continuationToken"),
    ]
    for call, field in cases:
        with pytest.raises(grpc.RpcError) as ei:
            call()
        assert rpc_code(ei.value) == grpc.StatusCode.INVALID_ARGUMENT, ei.value.details()
        assert field in ei.value.details()
    # Nothing was created by the rejected calls.
    assert client.get_orchestration_state("x") is None


def test_health_service_reports_serving(private):
    server, _, _ = private
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: PLC0415
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        resp = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        resp = health.Check(health_pb2.HealthCheckRequest(service="TaskHubSidecarService"), timeout=10)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
