"""Bearer tokens (taskhubd --auth-tokens): every TaskHubSidecarService method checks the token and
its role, health stays open, SIGHUP reloads the file, and no token is ever logged (the
server_factory fixture checks every server log after each test)."""

from __future__ import annotations

import re
import uuid

import grpc
import pytest
from durabletask import client as dtclient
from durabletask import task
from durabletask import worker as dtworker
from grpc_health.v1 import health_pb2, health_pb2_grpc

from security_support import bearer, method_kinds, raw_call, rpc_error


def hello(ctx: task.OrchestrationContext, name: str):
    greeting = yield ctx.call_activity(greet, input=name)
    return greeting


def greet(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}"


def test_every_method_refuses_a_call_without_a_valid_token(token_server, tokens):
    methods = method_kinds()
    assert len(methods) == 29  # every rpc of proto/orchestrator_service.proto
    with grpc.insecure_channel(token_server.address) as ch:
        for name, streaming in methods:
            assert raw_call(ch, name, streaming) == grpc.StatusCode.UNAUTHENTICATED, name
            assert raw_call(ch, name, streaming, bearer("not-a-valid-token-123456")) == \
                grpc.StatusCode.UNAUTHENTICATED, name
            # A valid token without the `Bearer ` scheme is not accepted either.
            assert raw_call(ch, name, streaming, [("authorization", tokens.admin)]) == \
                grpc.StatusCode.UNAUTHENTICATED, name


def test_refusals_say_why(token_server, tokens):
    with grpc.insecure_channel(token_server.address) as ch:
        e = rpc_error(ch, "StartInstance", None)
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "authorization: Bearer <token>" in e.details()
        e = rpc_error(ch, "StartInstance", bearer("x" * 40))
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "unknown or revoked token" in e.details()
        e = rpc_error(ch, "PurgeInstances", bearer(tokens.worker))
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "PurgeInstances needs role admin; this token has role worker" in e.details()


def test_roles(token_server, tokens):
    kinds = dict(method_kinds())
    expected = {  # method -> tokens allowed (everything else must be PERMISSION_DENIED)
        "Hello": {"worker", "client", "admin", "app"},
        "GetWorkItems": {"worker", "admin", "app"},
        "AbandonTaskActivityWorkItem": {"worker", "admin", "app"},
        "GetInstance": {"client", "admin", "app"},
        "QueryInstances": {"client", "admin", "app"},
        "PurgeInstances": {"admin"},
        "RewindInstance": {"admin"},
        "DeleteTaskHub": {"admin"},
        "CreateTaskHub": {"admin"},
    }
    with grpc.insecure_channel(token_server.address) as ch:
        for method, allowed in expected.items():
            for role in ("worker", "client", "admin", "app"):
                code = raw_call(ch, method, kinds[method], bearer(getattr(tokens, role)),
                                timeout=1 if kinds[method] else 10)
                if role in allowed:
                    # Past the check: the handler ran (an empty request may still be invalid).
                    assert code not in (grpc.StatusCode.UNAUTHENTICATED,
                                        grpc.StatusCode.PERMISSION_DENIED), (method, role, code)
                else:
                    assert code == grpc.StatusCode.PERMISSION_DENIED, (method, role, code)


def test_health_and_reflection_stay_open(token_server):
    with grpc.insecure_channel(token_server.address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for service in ("", "TaskHubSidecarService"):
            resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_python_sdk_with_tokens(token_server, tokens):
    address = token_server.address
    w = dtworker.TaskHubGrpcWorker(host_address=address, metadata=bearer(tokens.worker))
    w.add_orchestrator(hello)
    w.add_activity(greet)
    w.start()
    try:
        c = dtclient.TaskHubGrpcClient(host_address=address, metadata=bearer(tokens.client))
        iid = c.schedule_new_orchestration(hello, input="tokens",
                                           instance_id=f"tok-{uuid.uuid4().hex}")
        state = c.wait_for_orchestration_completion(iid, timeout=60)
        assert state is not None and state.runtime_status == dtclient.OrchestrationStatus.COMPLETED
        assert state.serialized_output == '"Hello tokens"'
        # The client role may not purge; admin may.
        with pytest.raises(grpc.RpcError) as e:
            c.purge_orchestration(iid)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        admin = dtclient.TaskHubGrpcClient(host_address=address, metadata=bearer(tokens.admin))
        assert admin.purge_orchestration(iid).deleted_instance_count == 1
        # A worker token cannot start orchestrations; no token cannot do anything.
        wc = dtclient.TaskHubGrpcClient(host_address=address, metadata=bearer(tokens.worker))
        with pytest.raises(grpc.RpcError) as e:
            wc.schedule_new_orchestration(hello, input="x")
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        anon = dtclient.TaskHubGrpcClient(host_address=address)
        with pytest.raises(grpc.RpcError) as e:
            anon.get_orchestration_state(iid)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        for cl in (c, admin, wc, anon):
            cl.close()
    finally:
        w.stop()


def test_sighup_reloads_the_token_file(server_factory, tmp_path, tokens):
    path = tmp_path / "reload-tokens.txt"
    path.write_text(f"{tokens.client} client\n")
    srv = server_factory("--auth-tokens", str(path))
    with grpc.insecure_channel(srv.address) as ch:
        assert raw_call(ch, "Hello", False, bearer(tokens.client)) == grpc.StatusCode.OK
        assert raw_call(ch, "Hello", False, bearer(tokens.admin)) == grpc.StatusCode.UNAUTHENTICATED

        # Add admin, remove client.
        path.write_text(f"# rotated\n{tokens.admin} admin\n")
        srv.sighup_and_wait(r"reloaded 1 token\(s\)")
        assert raw_call(ch, "Hello", False, bearer(tokens.admin)) == grpc.StatusCode.OK
        assert raw_call(ch, "Hello", False, bearer(tokens.client)) == \
            grpc.StatusCode.UNAUTHENTICATED

        # A broken file is refused with a reason; the previous tokens stay in force.
        path.write_text(f"{tokens.client} client\n{tokens.admin} superuser\n")
        srv.sighup_and_wait(r"reload of --auth-tokens file .* failed, keeping the previous tokens")
        assert re.search(r"line 2: unknown role 'superuser'", srv.log_text())
        assert raw_call(ch, "Hello", False, bearer(tokens.admin)) == grpc.StatusCode.OK
        assert raw_call(ch, "Hello", False, bearer(tokens.client)) == \
            grpc.StatusCode.UNAUTHENTICATED

        path.unlink()
        srv.sighup_and_wait(r"reload of --auth-tokens file .* failed")
        assert raw_call(ch, "Hello", False, bearer(tokens.admin)) == grpc.StatusCode.OK
    assert srv.proc.poll() is None, "SIGHUP must not stop taskhubd"


def test_refusals_are_logged_by_fingerprint_never_by_token(token_server, tokens, server_factory):
    unknown = "unknown-" + uuid.uuid4().hex
    server_factory.secrets.append(unknown)
    with grpc.insecure_channel(token_server.address) as ch:
        raw_call(ch, "StartInstance", False, bearer(unknown))
        raw_call(ch, "PurgeInstances", False, bearer(tokens.worker))
        raw_call(ch, "Hello", False, bearer(tokens.app))  # allowed: a trace line
    log = token_server.log_text()
    assert re.search(r"refused StartInstance from \S+: unknown token sha256:[0-9a-f]{8}", log)
    assert re.search(r"refused PurgeInstances from \S+: token sha256:[0-9a-f]{8} has role worker, "
                     r"needs admin", log)
    assert re.search(r"Hello from \S+ allowed for token sha256:[0-9a-f]{8}", log)
    # (server_factory then checks that no token, including `unknown`, is in the log.)


def test_revoked_token_ends_an_open_work_item_stream(server_factory, tmp_path, tokens):
    """SIGHUP that removes a worker's token cuts its open GetWorkItems stream (UNAUTHENTICATED at
    its next item) and the work items it held or would have got go to a worker still allowed."""
    from durabletask.internal import orchestrator_service_pb2 as pb
    from durabletask.internal import orchestrator_service_pb2_grpc as stubs
    path = tmp_path / "stream-tokens.txt"
    path.write_text(f"{tokens.worker} worker\n{tokens.client} client\n{tokens.admin} admin\n")
    srv = server_factory("--auth-tokens", str(path))
    with grpc.insecure_channel(srv.address) as ch:
        stub = stubs.TaskHubSidecarServiceStub(ch)
        revoked = stub.GetWorkItems(pb.GetWorkItemsRequest(), metadata=bearer(tokens.worker),
                                    timeout=30)
        stub.StartInstance(pb.CreateInstanceRequest(instanceId="held", name="orch"),
                           metadata=bearer(tokens.client))
        assert next(revoked).orchestratorRequest.instanceId == "held"  # authorized: served

        path.write_text(f"{tokens.client} client\n{tokens.admin} admin\n")
        srv.sighup_and_wait(r"reloaded 2 token\(s\)")
        stub.StartInstance(pb.CreateInstanceRequest(instanceId="after", name="orch"),
                           metadata=bearer(tokens.client))
        with pytest.raises(grpc.RpcError) as err:
            for item in revoked:
                pytest.fail(f"a stream whose token was revoked got a work item: {item}")
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, err.value

        allowed = stub.GetWorkItems(pb.GetWorkItemsRequest(), metadata=bearer(tokens.admin),
                                    timeout=30)
        got = {next(allowed).orchestratorRequest.instanceId for _ in range(2)}
        allowed.cancel()
        assert got == {"held", "after"}
    assert re.search(r"refused GetWorkItems from \S+: unknown token sha256:[0-9a-f]{8}",
                     srv.log_text())
