"""purge, create-task-hub, delete-task-hub, health."""

from __future__ import annotations

import re

from conftest import run_cli, start_worker, wait_for_status


def test_purge_by_id(cli, uid):
    cli("start", "greet", "--id", uid, "--wait").expect(0)
    refused = cli("purge", uid).expect(2)  # stdin is not a terminal and no --yes
    assert "--yes" in refused.stderr
    cli("status", uid).expect(0)  # nothing was deleted
    r = cli("purge-history", uid, "--yes", "-o", "json").expect(0).json()
    assert r == {"deleted": 1}
    cli("status", uid).expect(3)
    cli("purge", uid, "--yes").expect(3)


def test_purge_running_instance_is_wrong_state(cli, uid):
    cli("start", "waiter", "--id", uid).expect(0)
    r = cli("purge", uid, "--yes").expect(5)
    assert "RUNNING" in r.stderr or "PENDING" in r.stderr
    cli("terminate", uid).expect(0)
    wait_for_status(cli, uid, ["TERMINATED"])
    assert cli("purge", uid, "-y", "-o", "json").expect(0).json() == {"deleted": 1}


def test_purge_recursive(cli, uid):
    cli("start", "parent", "--id", uid).expect(0)
    wait_for_status(cli, uid + "-child", ["RUNNING"])
    cli("terminate", uid).expect(0)
    wait_for_status(cli, uid + "-child", ["TERMINATED"])
    wait_for_status(cli, uid, ["TERMINATED"])
    assert cli("purge", uid, "--yes", "-o", "json").expect(0).json() == {"deleted": 2}
    cli("status", uid + "-child").expect(3)


def test_purge_by_filter(server_factory):
    server = server_factory()
    w = start_worker(server.address)
    try:
        def cli(*args):
            return run_cli(*args, address=server.address)
        for i in range(3):
            cli("start", "greet", "--id", f"ok-{i}", "--wait").expect(0)
        cli("start", "failing", "--id", "bad-0", "--wait").expect(0)
        cli("start", "waiter", "--id", "live-0").expect(0)
        cli("purge", "--status", "completed").expect(2)  # needs --yes without a terminal
        cli("purge", "--status", "running", "--yes").expect(2)  # only finished ones
        cli("purge", "--created-after", "2099-01-01", "--yes").expect(0)
        r = cli("purge", "--status", "completed", "--created-before", "now", "--yes",
                "-o", "json").expect(0).json()
        assert r == {"deleted": 3}
        remaining = cli("list", "--all", "-o", "json").expect(0).json()["instances"]
        assert sorted(i["instance_id"] for i in remaining) == ["bad-0", "live-0"]
        human = cli("purge", "--all", "--yes").expect(0).stdout
        assert "Purged 1 instance" in human
        remaining = cli("list", "--all", "-o", "json").expect(0).json()["instances"]
        assert [i["instance_id"] for i in remaining] == ["live-0"]
        cli("terminate", "live-0").expect(0)
    finally:
        w.stop()


def test_purge_usage_errors(cli, uid):
    cli("purge").expect(2)
    cli("purge", uid, "--status", "completed", "--yes").expect(2)
    cli("purge", "--all", "--no-recursive", "--yes").expect(2)
    cli("purge", "--created-before", "someday", "--yes").expect(2)


def test_create_and_delete_task_hub(server_factory):
    server = server_factory()

    def cli(*args):
        return run_cli(*args, address=server.address)
    cli("start", "greet", "--id", "a", "--start-at", "2099-01-01").expect(0)
    assert cli("create-task-hub", "-o", "json").expect(0).json() == {
        "created": True, "recreated": False}
    cli("status", "a").expect(0)
    cli("create-task-hub", "--recreate").expect(2)  # confirmation needed
    cli("status", "a").expect(0)
    cli("create-task-hub", "--recreate", "--yes").expect(0)
    cli("status", "a").expect(3)
    cli("start", "greet", "--id", "b", "--start-at", "2099-01-01").expect(0)
    cli("delete-task-hub").expect(2)
    cli("status", "b").expect(0)
    assert cli("delete-task-hub", "--yes", "-o", "json").expect(0).json() == {"deleted": True}
    cli("status", "b").expect(3)


def test_health(cli, server):
    r = cli("health", "-o", "json").expect(0).json()
    assert r == {"address": server.address, "reachable": True, "serving": True,
                 "services": {"": "SERVING", "TaskHubSidecarService": "SERVING"}}
    human = cli("health").expect(0).stdout
    assert "Reachable" in human and "SERVING" in human


def test_health_of_a_stopped_server(server_factory):
    server = server_factory()
    address = server.address
    run_cli("health", address=address).expect(0)
    assert server.stop() == 0
    r = run_cli("health", "-o", "json", address=address).expect(4)
    assert r.json()["reachable"] is False
    assert r.stderr.startswith("error: cannot reach taskhubd at ")


def test_purge_older_than_with_count_and_rate(server_factory):
    """--older-than AGE purges what was created longer ago; the summary line on stderr gives the
    rate; the progress bar itself needs a terminal (tools/taskhub/purge_progress_test.cc)."""
    server = server_factory()
    w = start_worker(server.address)
    try:
        def cli(*args):
            return run_cli(*args, address=server.address)
        for i in range(3):
            cli("start", "greet", "--id", f"old-{i}", "--wait").expect(0)
        cli("start", "waiter", "--id", "live-0").expect(0)
        cli("purge", "--older-than", "7x", "--yes").expect(2)
        assert "Purged 0 instances" in cli("purge", "--older-than", "1h", "--yes").expect(0).stdout
        r = cli("purge", "--older-than", "0.001s", "--yes").expect(0)
        assert "Purged 3 instances" in r.stdout
        assert re.search(r"^3 in \d+\.\d s \([\d,]+/s\)$", r.stderr, re.M), r.stderr
        remaining = cli("list", "--all", "-o", "json").expect(0).json()["instances"]
        assert [i["instance_id"] for i in remaining] == ["live-0"]
        cli("terminate", "live-0").expect(0)
    finally:
        w.stop()
