"""TLS and mutual TLS (taskhubd --tls-cert/--tls-key/--tls-client-ca) with the real SDKs (Python
durabletask, @microsoft/durabletask-js, the C++ SDK), the taskhub CLI, plus start-up errors."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import grpc
import pytest
from durabletask import client as dtclient
from durabletask import task
from durabletask import worker as dtworker
from durabletask.internal.grpc_interceptor import DefaultClientInterceptorImpl

from security_support import (BIN_DIR, CLI, JS_DIR, bearer, binary, raw_call,
                              run_daemon_expecting_failure, tail)


def hello(ctx: task.OrchestrationContext, name: str):
    greeting = yield ctx.call_activity(greet, input=name)
    return greeting


def greet(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}"


def tls_channel(pki, address: str, client_cert: bool = False, rogue: bool = False) -> grpc.Channel:
    key = cert = None
    if client_cert:
        key = (pki.rogue_client_key if rogue else pki.client_key).read_bytes()
        cert = (pki.rogue_client_cert if rogue else pki.client_cert).read_bytes()
    creds = grpc.ssl_channel_credentials(pki.ca.read_bytes(), key, cert)
    return grpc.secure_channel(address, creds)


@pytest.fixture
def mtls_server(server_factory, pki, token_file):
    return server_factory("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
                          "--tls-client-ca", str(pki.ca), "--auth-tokens", str(token_file))


def test_python_sdk_over_tls_with_tokens(secure_server, tokens):
    # The SDK's own options: secure_channel=True (roots: GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, set by
    # the pki fixture to the test CA) and metadata for the token.
    address = secure_server.address
    w = dtworker.TaskHubGrpcWorker(host_address=address, secure_channel=True,
                                   metadata=bearer(tokens.worker))
    w.add_orchestrator(hello)
    w.add_activity(greet)
    w.start()
    try:
        c = dtclient.TaskHubGrpcClient(host_address=address, secure_channel=True,
                                       metadata=bearer(tokens.client))
        iid = c.schedule_new_orchestration(hello, input="TLS",
                                           instance_id=f"tls-{uuid.uuid4().hex}")
        state = c.wait_for_orchestration_completion(iid, timeout=60)
        assert state is not None and state.runtime_status == dtclient.OrchestrationStatus.COMPLETED
        assert state.serialized_output == '"Hello TLS"'
        c.close()
    finally:
        w.stop()


def test_plaintext_client_cannot_talk_to_a_tls_port(secure_server, tokens):
    with grpc.insecure_channel(secure_server.address) as ch:
        code = raw_call(ch, "Hello", False, bearer(tokens.admin), timeout=5)
    assert code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED), code


def test_client_that_does_not_trust_the_server_ca_fails(secure_server, pki, tokens, tmp_path):
    rogue_ca = pki.dir / "rogue-ca.pem"
    creds = grpc.ssl_channel_credentials(rogue_ca.read_bytes())
    with grpc.secure_channel(secure_server.address, creds) as ch:
        assert raw_call(ch, "Hello", False, bearer(tokens.admin), timeout=5) == \
            grpc.StatusCode.UNAVAILABLE


def test_tls_still_needs_the_token(secure_server, pki, tokens):
    with tls_channel(pki, secure_server.address) as ch:
        assert raw_call(ch, "Hello", False) == grpc.StatusCode.UNAUTHENTICATED
        assert raw_call(ch, "Hello", False, bearer(tokens.worker)) == grpc.StatusCode.OK


def test_mutual_tls(mtls_server, pki, tokens):
    address = mtls_server.address
    with tls_channel(pki, address) as ch:  # no client certificate
        assert raw_call(ch, "Hello", False, bearer(tokens.admin), timeout=5) == \
            grpc.StatusCode.UNAVAILABLE
    with tls_channel(pki, address, client_cert=True, rogue=True) as ch:  # cert of another CA
        assert raw_call(ch, "Hello", False, bearer(tokens.admin), timeout=5) == \
            grpc.StatusCode.UNAVAILABLE
    with tls_channel(pki, address, client_cert=True) as ch:
        assert raw_call(ch, "Hello", False, bearer(tokens.admin)) == grpc.StatusCode.OK
        assert raw_call(ch, "Hello", False) == grpc.StatusCode.UNAUTHENTICATED
    # The Python SDK on a caller-made mTLS channel (metadata via the SDK's own interceptor).
    channel = grpc.intercept_channel(tls_channel(pki, address, client_cert=True),
                                     DefaultClientInterceptorImpl(bearer(tokens.admin)))
    c = dtclient.TaskHubGrpcClient(channel=channel)
    assert c.get_orchestration_state("no-such-instance") is None
    c.close()
    channel.close()


def run_js(*args: str, timeout: float = 90) -> dict:
    node_modules = JS_DIR / "node_modules" / "@microsoft" / "durabletask-js"
    if not node_modules.is_dir():
        pytest.fail(f"{node_modules} missing: run `npm ci` in {JS_DIR}")
    r = subprocess.run(["node", str(Path(__file__).parent / "js_roundtrip.js"), *args],
                       capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"js_roundtrip.js printed no result (rc={r.returncode}):\n{r.stdout}\n{r.stderr}"
    return json.loads(lines[-1])


def test_js_sdk_over_tls_with_tokens(secure_server, pki, tokens):
    out = run_js(secure_server.address, "--ca", str(pki.ca), "--worker-token", tokens.worker,
                 "--client-token", tokens.client)
    assert out.get("ok"), out
    assert out["output"] == '"Hello TLS from JS"'
    denied = run_js(secure_server.address, "--ca", str(pki.ca), "--expect-denied")
    assert denied == {"ok": False, "code": grpc.StatusCode.UNAUTHENTICATED.value[0],
                      "details": denied["details"]}, denied
    wrong_role = run_js(secure_server.address, "--ca", str(pki.ca), "--client-token",
                        tokens.worker, "--expect-denied")
    assert wrong_role.get("code") == grpc.StatusCode.PERMISSION_DENIED.value[0], wrong_role


def test_js_sdk_with_mutual_tls(mtls_server, pki, tokens):
    out = run_js(mtls_server.address, "--ca", str(pki.ca), "--cert", str(pki.client_cert),
                 "--key", str(pki.client_key), "--worker-token", tokens.app,
                 "--client-token", tokens.app)
    assert out.get("ok"), out


def test_cpp_sdk_worker_over_mutual_tls_with_token(mtls_server, pki, tokens, tmp_path):
    exe = binary(BIN_DIR / "taskhub-test-cpp-worker")
    out_path, err_path = tmp_path / "cpp-worker.stdout", tmp_path / "cpp-worker.log"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([str(exe), "--address", mtls_server.address, "--token",
                                 tokens.worker, "--tls-ca", str(pki.ca), "--tls-cert",
                                 str(pki.client_cert), "--tls-key", str(pki.client_key)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 40
        while "ready" not in out_path.read_text().splitlines():
            assert proc.poll() is None and time.monotonic() < deadline, (
                f"C++ worker not ready:\n{out_path.read_text()}\n{tail(err_path)}")
            assert "not connected" not in out_path.read_text(), tail(err_path)
            time.sleep(0.05)
        channel = grpc.intercept_channel(tls_channel(pki, mtls_server.address, client_cert=True),
                                         DefaultClientInterceptorImpl(bearer(tokens.client)))
        c = dtclient.TaskHubGrpcClient(channel=channel)
        iid = c.schedule_new_orchestration("cpp_greeter", input="mTLS")
        state = c.wait_for_orchestration_completion(iid, timeout=60)
        assert state is not None and state.runtime_status == dtclient.OrchestrationStatus.COMPLETED
        assert state.serialized_output == '"Hello mTLS from C++"'
        c.close()
        channel.close()
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
    full_env.update(env or {})
    return subprocess.run([str(binary(CLI)), *args], capture_output=True, text=True, timeout=60,
                          env=full_env)


def test_cli_with_token_and_tls_ca(secure_server, pki, tokens):
    a = ["--address", secure_server.address, "--tls-ca", str(pki.ca)]
    w = dtworker.TaskHubGrpcWorker(host_address=secure_server.address, secure_channel=True,
                                   metadata=bearer(tokens.worker))
    w.add_orchestrator(hello)
    w.add_activity(greet)
    w.start()
    try:
        iid = f"cli-{uuid.uuid4().hex}"
        r = cli(*a, "--token", tokens.client, "start", "hello", "--id", iid, "--input", '"CLI"',
                "--wait", "-o", "json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["output"] == "Hello CLI"
    finally:
        w.stop()
    # The token from the environment; the client role may not purge (exit 7, the server's reason).
    r = cli(*a, "purge", iid, "--yes", env={"TASKHUB_TOKEN": tokens.client})
    assert r.returncode == 7, (r.returncode, r.stderr)
    assert "PurgeInstances needs role admin; this token has role client" in r.stderr
    r = cli(*a, "status", iid)
    assert r.returncode == 7 and "authorization: Bearer <token>" in r.stderr, r.stderr
    r = cli(*a, "purge", iid, "--yes", env={"TASKHUB_TOKEN": tokens.admin})
    assert r.returncode == 0, r.stderr
    # Health needs no token, but TLS; a plaintext CLI cannot reach a TLS port.
    assert cli(*a, "health").returncode == 0
    r = cli("--address", secure_server.address, "--token", tokens.admin, "status", iid)
    assert r.returncode == 4, (r.returncode, r.stderr)
    for secret in (tokens.client, tokens.worker, tokens.admin):
        assert secret not in r.stderr + r.stdout


def test_cli_with_mutual_tls(mtls_server, pki, tokens):
    a = ["--address", mtls_server.address, "--tls-ca", str(pki.ca), "--token", tokens.client]
    r = cli(*a, "status", "no-such-instance")
    assert r.returncode == 4, (r.returncode, r.stderr)  # no client certificate: handshake fails
    r = cli(*a, "--tls-cert", str(pki.client_cert), "--tls-key", str(pki.client_key),
            "status", "no-such-instance")
    assert r.returncode == 3, (r.returncode, r.stderr)  # reached the server: not found


@pytest.mark.parametrize("case", ["key-without-cert", "client-ca-without-cert"])
def test_daemon_refuses_incomplete_tls_flags(pki, case):
    args = {"key-without-cert": ["--tls-key", str(pki.server_key)],
            "client-ca-without-cert": ["--tls-client-ca", str(pki.ca)]}[case]
    r = run_daemon_expecting_failure(args)
    assert r.returncode == 2, r
    assert "--tls-" in r.stderr


def test_daemon_start_up_errors_name_the_file(pki, tmp_path, tokens):
    missing = tmp_path / "missing.pem"
    r = run_daemon_expecting_failure(["--tls-cert", str(missing), "--tls-key", str(pki.server_key)])
    assert r.returncode == 1 and f"cannot read --tls-cert {missing}" in r.stdout + r.stderr, r
    # A key where the certificate should be.
    r = run_daemon_expecting_failure(["--tls-cert", str(pki.server_key), "--tls-key",
                                      str(pki.server_key)])
    assert r.returncode == 1 and "holds no valid certificate" in r.stdout + r.stderr, r
    bad_tokens = tmp_path / "bad-tokens.txt"
    bad_tokens.write_text(f"# ok\n{tokens.admin} admin\n{tokens.client} root\n")
    r = run_daemon_expecting_failure(["--auth-tokens", str(bad_tokens)])
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "line 3: unknown role 'root'" in out, r
    assert tokens.admin not in out and tokens.client not in out
    r = run_daemon_expecting_failure(["--auth-tokens", str(tmp_path / "none.txt")])
    assert r.returncode == 1 and "cannot read --auth-tokens file" in r.stdout + r.stderr, r


def test_bench_over_tls_with_token(secure_server, pki, tokens):
    exe = binary(BIN_DIR / "taskhub-bench")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
    env["TASKHUB_TOKEN"] = tokens.app  # worker,client: the bench runs a worker and a client
    r = subprocess.run([str(exe), "--address", secure_server.address, "--tls-ca", str(pki.ca),
                        "--quick", "--scenario", "latency", "--json"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert any(f["scenario"] == "latency" for f in figures), figures
