"""start, status, wait, raise and history against a real taskhubd and worker."""

from __future__ import annotations

import json

from conftest import ISO_UTC, wait_for_status


def test_start_then_wait_prints_output(cli, uid):
    started = cli("start", "greet", "--input", '["Tokyo", "Seattle"]', "--id", uid,
                  "-o", "json").expect(0).json()
    assert started == {"instance_id": uid, "name": "greet"}
    done = cli("wait", uid, "--timeout", "30", "-o", "json").expect(0).json()
    assert done["instance_id"] == uid
    assert done["runtime_status"] == "COMPLETED"
    assert done["output"] == ["Hello Tokyo!", "Hello Seattle!"]
    assert done["failure"] is None


def test_start_wait_inline_input_human_and_json(cli, uid):
    human = cli("start", "greet", "--input", '["Oslo"]', "--id", uid + "-h", "--wait",
                "--timeout", "30").expect(0)
    assert "COMPLETED" in human.stdout
    assert '["Hello Oslo!"]' in human.stdout
    assert "\x1b[" not in human.stdout  # no colour when stdout is not a terminal
    state = cli("start", "greet", "--input", '["Lima"]', "--id", uid, "--wait",
                "-o", "json").expect(0).json()
    assert state["runtime_status"] == "COMPLETED"
    assert state["output"] == ["Hello Lima!"]


def test_start_input_from_file_tags_version_and_alias(cli, uid, tmp_path):
    f = tmp_path / "input.json"
    f.write_text('[\n  "Paris"\n]\n')
    started = cli("start-new", "greet", "--input", f"@{f}", "--id", uid, "--tag", "team=ops",
                  "--tag", "ticket=a=b", "--version", "2.1", "-o", "json").expect(0).json()
    assert started["instance_id"] == uid
    done = cli("wait", uid, "-o", "json").expect(0).json()
    assert done["output"] == ["Hello Paris!"]
    state = cli("status", uid, "--show-input", "-o", "json").expect(0).json()
    assert state["input"] == ["Paris"]
    assert state["tags"] == {"team": "ops", "ticket": "a=b"}
    assert state["version"] == "2.1"


def test_start_generates_an_id(cli):
    started = cli("start", "greet", "--input", '["Rome"]', "-o", "json").expect(0).json()
    assert started["instance_id"]
    done = cli("wait", started["instance_id"], "-o", "json").expect(0).json()
    assert done["output"] == ["Hello Rome!"]


def test_start_at_schedules_in_the_future(cli, uid):
    cli("start", "greet", "--id", uid, "--start-at", "2099-01-01T00:00:00+01:00").expect(0)
    state = cli("status", uid, "-o", "json").expect(0).json()
    assert state["runtime_status"] == "PENDING"
    assert state["scheduled_start_at"] == "2098-12-31T23:00:00.000Z"
    cli("terminate", uid).expect(0)


def test_start_existing_running_id_is_wrong_state(cli, uid):
    cli("start", "waiter", "--id", uid).expect(0)
    wait_for_status(cli, uid, ["RUNNING"])
    dup = cli("start", "waiter", "--id", uid).expect(5)
    assert dup.stderr.startswith("error: ")
    assert "already exists" in dup.stderr
    cli("terminate", uid).expect(0)


def test_status_fields_and_timestamps(cli, uid):
    cli("start", "greet", "--input", '["Kyiv"]', "--id", uid, "--wait").expect(0)
    plain = cli("status", uid, "-o", "json").expect(0).json()
    assert "input" not in plain and "output" not in plain
    full = cli("get-runtime-status", uid, "--show-input", "--show-output",
               "-o", "json").expect(0).json()
    for key in ("instance_id", "name", "version", "runtime_status", "created_at",
                "last_updated_at", "completed_at", "scheduled_start_at", "execution_id",
                "parent_instance_id", "tags", "custom_status", "failure", "input", "output"):
        assert key in full, key
    assert full["name"] == "greet"
    assert full["input"] == ["Kyiv"] and full["output"] == ["Hello Kyiv!"]
    for key in ("created_at", "last_updated_at", "completed_at"):
        assert ISO_UTC.match(full[key]), full[key]
    human = cli("status", uid).expect(0).stdout
    assert "Instance ID" in human and "COMPLETED" in human


def test_status_of_a_failed_instance_shows_the_failure(cli, uid):
    state = cli("start", "failing", "--input", '"disk full"', "--id", uid, "--wait",
                "-o", "json").expect(0).json()
    assert state["runtime_status"] == "FAILED"
    assert "disk full" in state["failure"]["message"]
    assert state["failure"]["error_type"]


def test_wait_timeout_and_unknown(cli, uid):
    cli("start", "waiter", "--id", uid).expect(0)
    timed_out = cli("wait", uid, "--timeout", "0.5").expect(6)
    assert "timed out" in timed_out.stderr
    cli("wait", uid + "-nope", "--timeout", "5").expect(3)
    cli("terminate", uid).expect(0)


def test_start_wait_timeout(cli, uid):
    r = cli("start", "waiter", "--id", uid, "--wait", "--timeout", "0.5").expect(6)
    assert "timed out" in r.stderr
    cli("terminate", uid).expect(0)


def test_raise_event_inline_and_from_file(cli, uid, tmp_path):
    cli("start", "waiter", "--id", uid).expect(0)
    raised = cli("raise", uid, "go", '{"approved": true}', "-o", "json").expect(0).json()
    assert raised == {"instance_id": uid, "event": "go"}
    done = cli("wait", uid, "--timeout", "30", "-o", "json").expect(0).json()
    assert done["output"] == {"got": {"approved": True}}

    f = tmp_path / "event.json"
    f.write_text(json.dumps([1, 2, 3]))
    cli("start", "waiter", "--id", uid + "-2").expect(0)
    cli("raise-event", uid + "-2", "go", f"@{f}").expect(0)
    done = cli("wait", uid + "-2", "--timeout", "30", "-o", "json").expect(0).json()
    assert done["output"] == {"got": [1, 2, 3]}


def test_raise_errors(cli, uid):
    cli("raise", uid + "-nope", "go", "1").expect(3)
    cli("start", "waiter", "--id", uid).expect(0)
    bad = cli("raise", uid, "go", "{not json").expect(2)
    assert "not valid JSON" in bad.stderr
    cli("raise", uid, "go", "@/nonexistent/event.json").expect(2)
    cli("terminate", uid).expect(0)


def test_history_timeline_json(cli, uid):
    cli("start", "greet", "--input", '["A", "B"]', "--id", uid, "--wait").expect(0)
    history = cli("history", uid, "-o", "json").expect(0).json()
    assert history["instance_id"] == uid
    events = history["events"]
    for e in events:
        assert ISO_UTC.match(e["timestamp"])
        assert {"event_id", "timestamp", "type", "name", "task_id"} <= e.keys()
    types = [e["type"] for e in events if not e["type"].startswith("Orchestrator")]
    assert types == ["ExecutionStarted", "TaskScheduled", "TaskCompleted", "TaskScheduled",
                     "TaskCompleted", "ExecutionCompleted"]
    started = events[[e["type"] for e in events].index("ExecutionStarted")]
    assert started["name"] == "greet" and started["input"] == ["A", "B"]
    scheduled = [e for e in events if e["type"] == "TaskScheduled"]
    completed = [e for e in events if e["type"] == "TaskCompleted"]
    assert [e["name"] for e in scheduled] == ["hello", "hello"]
    assert [e["input"] for e in scheduled] == ["A", "B"]
    # Completions carry the task id and the name of the task they complete.
    assert [e["task_id"] for e in completed] == [e["task_id"] for e in scheduled]
    assert [e["name"] for e in completed] == ["hello", "hello"]
    assert [e["result"] for e in completed] == ["Hello A!", "Hello B!"]
    final = [e for e in events if e["type"] == "ExecutionCompleted"][0]
    assert final["runtime_status"] == "COMPLETED"
    assert final["result"] == ["Hello A!", "Hello B!"]


def test_history_table_and_failure(cli, uid):
    cli("start", "failing", "--input", '"no space"', "--id", uid, "--wait").expect(0)
    table = cli("get-history", uid).expect(0).stdout
    header = table.splitlines()[0].split()
    assert header == ["TIME", "EVENT", "NAME", "TASK", "ID", "DETAILS"]
    assert "TaskFailed" in table and "no space" in table
    assert "OrchestratorStarted" not in table
    assert "OrchestratorStarted" in cli("history", uid, "--all-events").expect(0).stdout
    events = cli("history", uid, "-o", "json").expect(0).json()["events"]
    failed = [e for e in events if e["type"] == "TaskFailed"][0]
    assert failed["name"] == "boom"
    assert "no space" in failed["failure"]["message"]
    assert failed["failure"]["error_type"]


def test_history_unknown_instance(cli, uid):
    r = cli("history", uid, "-o", "json").expect(3)
    assert r.stderr.startswith("error: ")
