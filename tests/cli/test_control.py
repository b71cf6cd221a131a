"""terminate, suspend, resume, rewind and restart."""

from __future__ import annotations

from conftest import wait_for_status


def test_terminate_with_reason(cli, uid):
    cli("start", "waiter", "--id", uid).expect(0)
    wait_for_status(cli, uid, ["RUNNING"])
    r = cli("terminate", uid, "--reason", "operator said so", "-o", "json").expect(0).json()
    assert r == {"instance_id": uid, "operation": "terminate"}
    state = wait_for_status(cli, uid, ["TERMINATED"])
    full = cli("status", uid, "--show-output", "-o", "json").expect(0).json()
    assert full["output"] == "operator said so"
    assert state["completed_at"]


def test_terminate_recursive_and_not(cli, uid):
    cli("start", "parent", "--id", uid).expect(0)
    wait_for_status(cli, uid + "-child", ["RUNNING"])
    cli("terminate", uid).expect(0)
    wait_for_status(cli, uid, ["TERMINATED"])
    wait_for_status(cli, uid + "-child", ["TERMINATED"])

    other = uid + "-nr"
    cli("start", "parent", "--id", other).expect(0)
    wait_for_status(cli, other + "-child", ["RUNNING"])
    cli("terminate", other, "--no-recursive").expect(0)
    wait_for_status(cli, other, ["TERMINATED"])
    assert cli("status", other + "-child", "-o", "json").expect(0).json()[
        "runtime_status"] == "RUNNING"
    cli("terminate", other + "-child").expect(0)


def test_terminate_unknown(cli, uid):
    r = cli("terminate", uid).expect(3)
    assert r.stderr == f"error: no orchestration instance with id '{uid}'\n"


def test_suspend_resume(cli, uid):
    cli("start", "waiter", "--id", uid).expect(0)
    wait_for_status(cli, uid, ["RUNNING"])
    r = cli("suspend", uid, "--reason", "maintenance", "-o", "json").expect(0).json()
    assert r == {"instance_id": uid, "operation": "suspend"}
    wait_for_status(cli, uid, ["SUSPENDED"])
    assert "Resumed instance" in cli("resume", uid, "--reason", "done").expect(0).stdout
    wait_for_status(cli, uid, ["RUNNING"])
    cli("raise", uid, "go", '"now"').expect(0)
    assert cli("wait", uid, "-o", "json").expect(0).json()["output"] == {"got": "now"}
    events = cli("history", uid, "-o", "json").expect(0).json()["events"]
    suspended = [e for e in events if e["type"] == "ExecutionSuspended"]
    assert suspended and suspended[0]["reason"] == "maintenance"
    # A finished instance can no longer be suspended.
    wrong = cli("suspend", uid).expect(5)
    assert wrong.stderr.startswith("error: ")


def test_rewind_failed_instance(cli, uid):
    failed = cli("start", "rewindable", "--input", f'"{uid}"', "--id", uid, "--wait",
                 "-o", "json").expect(0).json()
    assert failed["runtime_status"] == "FAILED"
    r = cli("rewind", uid, "--reason", "flaky dependency", "-o", "json").expect(0).json()
    assert r == {"instance_id": uid, "operation": "rewind"}
    done = cli("wait", uid, "--timeout", "30", "-o", "json").expect(0).json()
    assert done["runtime_status"] == "COMPLETED"
    assert done["output"] == f"ok {uid}"


def test_rewind_completed_instance_is_wrong_state(cli, uid):
    cli("start", "greet", "--id", uid, "--wait").expect(0)
    r = cli("rewind", uid).expect(5)
    assert r.stderr.startswith("error: ") and "COMPLETED" in r.stderr
    cli("rewind", uid + "-nope").expect(3)


def test_restart_same_and_new_id(cli, uid):
    cli("start", "greet", "--input", '["Bern"]', "--id", uid, "--wait").expect(0)
    same = cli("restart", uid, "-o", "json").expect(0).json()
    assert same == {"instance_id": uid, "restarted_from": uid}
    assert cli("wait", uid, "-o", "json").expect(0).json()["output"] == ["Hello Bern!"]
    new = cli("restart", uid, "--new-id", "-o", "json").expect(0).json()
    assert new["instance_id"] != uid and new["restarted_from"] == uid
    done = cli("wait", new["instance_id"], "-o", "json").expect(0).json()
    assert done["name"] == "greet" and done["output"] == ["Hello Bern!"]


def test_restart_errors(cli, uid):
    cli("restart", uid).expect(3)
    cli("start", "waiter", "--id", uid).expect(0)
    cli("restart", uid).expect(5)
    cli("terminate", uid).expect(0)
