"""Lifecycle notifications (issue 13 item 2) end to end: a real taskhubd posting CloudEvents to a
local HTTP receiver, driven by a real Python durabletask worker and client.

Proves: every event type arrives as a structured CloudEvent with a verifying HMAC signature and the
configured header, filtered per webhook; a receiver failing for a while loses nothing and per-instance
order holds; a `kill -9` between the state change and its delivery delivers after the restart; the
dead-letter list survives a restart and `taskhub notifications retry` replays it."""

from __future__ import annotations

import json
import random
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import Receiver, verify_signature
from durabletask import task
from taskhub_harness import cli_binary, start_py_worker, unique_id

SECRET = b"webhook-s3cret"
FAST = ["--notification-initial-backoff-ms", "20", "--notification-max-backoff-seconds", "0.2"]


def echo(ctx: task.ActivityContext, x):
    return x


def boom(ctx: task.ActivityContext, x):
    raise ValueError("boom: the activity failed")


def notify_orch(ctx: task.OrchestrationContext, inp: dict):
    if inp.get("wait"):
        yield ctx.wait_for_external_event("go")
    if inp.get("fail"):
        yield ctx.call_activity(boom, input=1)
    r = yield ctx.call_activity(echo, input=inp.get("n", 0))
    return r


@pytest.fixture
def worker_for():
    workers = []

    def start(address: str):
        w = start_py_worker(address, [notify_orch], [echo, boom])
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()


def webhook(url: str, secret_file=None, events: str | None = None, header: str | None = None):
    spec = f"url={url}"
    if events:
        spec += f",events={events}"
    if secret_file:
        spec += f",secret-file={secret_file}"
    if header:
        spec += f",header={header}"
    return ["--notification-webhook", spec]


def cli(address: str, *args: str) -> dict | list:
    out = subprocess.run([str(cli_binary()), "--address", address, *args, "-o", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_type_arrives_signed_and_filtered(request, tmp_path, receiver, server_factory,
                                                worker_for, client_factory):
    only_done = Receiver()
    request.addfinalizer(only_done.close)
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET + b"\n")
    srv = server_factory(*webhook(receiver.url, secret_file, header="X-Env: test"),
                         *webhook(only_done.url, events="Completed|Failed"), *FAST)
    worker_for(srv.address)
    c = client_factory(srv.address)
    base = unique_id(request, "nt")
    ok, failed, killed = f"{base}-ok", f"{base}-fail", f"{base}-term"
    c.schedule_new_orchestration(notify_orch, input={"wait": True, "n": 7}, instance_id=ok)
    c.schedule_new_orchestration(notify_orch, input={"fail": True}, instance_id=failed)
    c.schedule_new_orchestration(notify_orch, input={"wait": True}, instance_id=killed)
    c.wait_for_orchestration_start(ok, timeout=60)
    receiver.wait_for(lambda r: "Started" in r.types_of(ok), "Started of ok")
    c.suspend_orchestration(ok)
    receiver.wait_for(lambda r: "Suspended" in r.types_of(ok), "Suspended")
    c.resume_orchestration(ok)
    receiver.wait_for(lambda r: "Resumed" in r.types_of(ok), "Resumed")
    c.raise_orchestration_event(ok, "go", data=1)
    assert c.wait_for_orchestration_completion(ok, timeout=60).runtime_status.name == "COMPLETED"
    assert c.wait_for_orchestration_completion(failed, timeout=60).runtime_status.name == "FAILED"
    c.wait_for_orchestration_start(killed, timeout=60)
    c.terminate_orchestration(killed, output="stopped by the test")
    c.wait_for_orchestration_completion(killed, timeout=60)

    receiver.wait_for(lambda r: r.types_of(ok)[-1:] == ["Completed"] and
                      r.types_of(failed)[-1:] == ["Failed"] and
                      r.types_of(killed)[-1:] == ["Terminated"], "the terminal events")
    assert receiver.types_of(ok) == ["Started", "Suspended", "Resumed", "Completed"]
    assert receiver.types_of(failed) == ["Started", "Failed"]
    assert receiver.types_of(killed) == ["Started", "Terminated"]
    ids = set()
    for status, headers, body in receiver.attempts:
        assert status == 200
        assert headers["Content-Type"] == "application/cloudevents+json"
        assert headers["X-Env"] == "test"
        assert verify_signature(SECRET, headers, body), headers
        ev = json.loads(body)
        assert ev["specversion"] == "1.0"
        assert ev["source"].startswith("taskhubd/")
        assert ev["type"].startswith("taskhub.orchestration.")
        assert ev["data"]["name"] == "notify_orch"
        assert ev["data"]["instanceId"] == ev["subject"]
        assert ev["data"]["runtimeStatus"] == ev["type"].rsplit(".", 1)[1].replace(
            "Started", "Running").replace("Resumed", "Running")
        assert ev["id"] not in ids
        ids.add(ev["id"])
    by_type = {(d["subject"], d["type"].rsplit(".", 1)[1]): d for d in receiver.delivered}
    assert "boom" in by_type[(failed, "Failed")]["data"]["reason"]
    assert by_type[(killed, "Terminated")]["data"]["reason"] == "stopped by the test"
    assert "completedTime" in by_type[(ok, "Completed")]["data"]
    # Tampering is detected: the signature covers the body.
    _, headers, body = receiver.attempts[0]
    assert not verify_signature(SECRET, headers, body.replace(b"notify_orch", b"other_orch"))

    # The filtered webhook got the same events of its types (same ids), unsigned.
    only_done.wait_for(lambda r: len(r.delivered) == 2, "two terminal events")
    assert sorted(d["type"] for d in only_done.delivered) == [
        "taskhub.orchestration.Completed", "taskhub.orchestration.Failed"]
    assert all("X-Taskhub-Signature-256" not in h for _, h, _ in only_done.attempts)
    assert {d["id"] for d in only_done.delivered} <= ids


def test_failing_receiver_loses_nothing_and_keeps_order(request, seed, receiver, server_factory,
                                                         worker_for, client_factory):
    rng = random.Random(seed)
    plan = [rng.choice([200, 503, 500, 404]) for _ in range(60)]  # then 200 forever
    receiver.respond = lambda n: plan[n] if n < len(plan) else 200
    srv = server_factory(*webhook(receiver.url), *FAST, "--notification-max-attempts", "1000")
    worker_for(srv.address)
    c = client_factory(srv.address)
    base = unique_id(request, "nf")
    ids = [f"{base}-{i}" for i in range(8)]
    for i in ids:
        c.schedule_new_orchestration(notify_orch, input={"wait": True}, instance_id=i)
    for i in ids:
        c.wait_for_orchestration_start(i, timeout=60)
    for i in ids[:4]:
        c.suspend_orchestration(i)
        c.resume_orchestration(i)
    for i in ids:
        c.raise_orchestration_event(i, "go", data=1)
    for i in ids:
        assert c.wait_for_orchestration_completion(i, timeout=60).runtime_status.name == "COMPLETED"
    expected = {i: ["Started", "Suspended", "Resumed", "Completed"] if n < 4 else
                ["Started", "Completed"] for n, i in enumerate(ids)}
    receiver.wait_for(lambda r: all(r.types_of(i)[-1:] == ["Completed"] for i in ids),
                      "every Completed")
    assert sum(1 for s, _, _ in receiver.attempts if s != 200) > 0  # it did fail for a while
    for i in ids:
        assert receiver.types_of(i) == expected[i], i  # nothing lost, no reordering, no dupes


def test_kill9_before_delivery_delivers_after_restart(request, receiver, server_factory,
                                                      worker_for, client_factory):
    receiver.respond = lambda n: 503  # down while the state changes
    srv = server_factory(*webhook(receiver.url), *FAST, "--notification-max-attempts", "1000")
    worker = worker_for(srv.address)
    c = client_factory(srv.address)
    iid = unique_id(request, "nk")
    c.schedule_new_orchestration(notify_orch, input={"n": 3}, instance_id=iid)
    assert c.wait_for_orchestration_completion(iid, timeout=60).runtime_status.name == "COMPLETED"
    # Started is at the head of the instance's queue and being refused: Completed waits behind.
    receiver.wait_for(lambda r: len(r.attempts) >= 3, "refused attempts")
    assert receiver.delivered == []
    worker.stop()
    srv.kill9()
    receiver.respond = lambda n: 200
    srv.start()
    receiver.wait_for(lambda r: r.types_of(iid)[-1:] == ["Completed"], "delivery after restart")
    assert receiver.types_of(iid) == ["Started", "Completed"]


def notification_metrics(port_file: Path) -> dict[str, float]:
    """The taskhub_notification* samples of GET /metrics."""
    port = int(port_file.read_text())
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        text = r.read().decode()
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
            if line.startswith("taskhub_notification")}


def test_dead_letters_survive_restart_and_cli_retry_replays(request, tmp_path, receiver,
                                                            server_factory, worker_for,
                                                            client_factory):
    receiver.respond = lambda n: 500
    http_port = tmp_path / "http-port"
    srv = server_factory(*webhook(receiver.url), *FAST, "--notification-max-attempts", "2",
                         "--http-listen", "127.0.0.1:0", "--http-port-file", str(http_port))
    worker = worker_for(srv.address)
    c = client_factory(srv.address)
    iid = unique_id(request, "nd")
    c.schedule_new_orchestration(notify_orch, input={"n": 1}, instance_id=iid)
    c.wait_for_orchestration_completion(iid, timeout=60)
    receiver.wait_for(lambda r: len(r.attempts) >= 4, "two attempts of both events")
    failed = []
    deadline = time.monotonic() + 60
    while len(failed) < 2 and time.monotonic() < deadline:  # dead-lettered after attempt 2
        failed = cli(srv.address, "notifications", "failed")
        time.sleep(0.05)
    assert [f["type"] for f in failed] == ["taskhub.orchestration.Started",
                                           "taskhub.orchestration.Completed"]
    assert all(f["instance_id"] == iid and f["attempts"] == 2 and "500" in f["last_error"]
               for f in failed)
    m = notification_metrics(http_port)  # the operator sees them in /metrics too
    assert m["taskhub_notifications_dead"] == 2 and m["taskhub_notifications_pending"] == 0
    assert m["taskhub_notifications_dead_lettered_total"] == 2
    assert m["taskhub_notification_failed_attempts_total"] >= 4
    assert m["taskhub_notifications_delivered_total"] == 0
    worker.stop()
    srv.stop_checked()
    srv.start()
    assert [f["id"] for f in cli(srv.address, "notifications", "failed")] == [
        f["id"] for f in failed]  # durable
    receiver.respond = lambda n: 200
    assert cli(srv.address, "notifications", "retry", str(failed[0]["id"])) == {"retried": 1}
    receiver.wait_for(lambda r: r.types_of(iid) == ["Started"], "the retried Started")
    assert cli(srv.address, "notifications", "retry", "--all") == {"retried": 1}
    receiver.wait_for(lambda r: r.types_of(iid) == ["Started", "Completed"], "the retried rest")
    assert cli(srv.address, "notifications", "failed") == []
    m = notification_metrics(http_port)
    assert m["taskhub_notifications_dead"] == 0 and m["taskhub_notifications_delivered_total"] == 2
    bad = subprocess.run([str(cli_binary()), "--address", srv.address, "notifications", "retry",
                          "999999"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "999999" in bad.stderr


def test_admin_service_needs_the_admin_role(tmp_path, server_factory):
    tokens = tmp_path / "tokens"
    tokens.write_text("tok-client-0123456789abcdef client\ntok-admin-0123456789abcdef admin\n")
    tokens.chmod(0o600)
    srv = server_factory("--auth-tokens", str(tokens))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(cli_binary()), "--address", srv.address, *args],
                              capture_output=True, text=True, timeout=60)

    denied = run("--token", "tok-client-0123456789abcdef", "notifications", "failed")
    assert denied.returncode != 0 and "admin" in denied.stderr.lower(), denied.stderr
    assert run("notifications", "failed").returncode != 0  # no token
    ok = run("--token", "tok-admin-0123456789abcdef", "notifications", "failed", "-o", "json")
    assert ok.returncode == 0 and json.loads(ok.stdout) == [], ok.stderr
