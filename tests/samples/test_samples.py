"""Every Python and JavaScript sample runs end to end against a real taskhubd (the real
durabletask / durabletask-js SDKs as workers and clients). Each must exit 0 and print the result
computed independently below; the instances it reports are then read back from the server
(COMPLETED, same output), so a sample cannot pass without running its orchestrations here."""

from __future__ import annotations

import re

import pytest
from durabletask.client import OrchestrationStatus

from samples_support import run_sample

LANGUAGES = ["python", "js"]
ID = r"[0-9a-f]{12}"


def assert_ok(run):
    assert run.returncode == 0, run.describe()
    return run.result()


def kinds(client, iid) -> list[str]:
    return [type(e).__name__ for e in client.get_orchestration_history(iid)]


def assert_completed(client, iid, output):
    st = client.get_orchestration_state(iid)
    assert st is not None, f"{iid} is not on the server"
    assert st.runtime_status == OrchestrationStatus.COMPLETED, st.failure_details
    assert st.get_output() == output


@pytest.mark.parametrize("lang", LANGUAGES)
def test_chaining(server, client_factory, lang):
    run = run_sample(lang, "chaining", server.address)
    expected = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert assert_ok(run) == expected, run.describe()
    [iid] = run.started_ids()
    assert_completed(client_factory(server.address), iid, expected)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_fan_out_fan_in(server, client_factory, lang):
    run = run_sample(lang, "fan_out_fan_in", server.address, "--files", "30")
    expected = {"files": 30, "total_words": sum(range(1, 31))}  # file i has i+1 words
    assert assert_ok(run) == expected, run.describe()
    [iid] = run.started_ids()
    client = client_factory(server.address)
    assert_completed(client, iid, expected)
    assert kinds(client, iid).count("TaskScheduledEvent") == 31, "one activity listing the files, then one per file"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_monitor(server, client_factory, lang):
    run = run_sample(lang, "monitor", server.address, "--interval", "0.2")
    expected = {"job": "export-42", "checks": 3, "status": "done"}
    assert assert_ok(run) == expected, run.describe()
    [iid] = run.started_ids()
    client = client_factory(server.address)
    assert_completed(client, iid, expected)
    # continue-as-new: the last execution's history holds only its own check.
    assert kinds(client, iid).count("TaskScheduledEvent") == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_human_interaction(server, client_factory, lang):
    run = run_sample(lang, "human_interaction", server.address, "--wait", "1.5")
    answered, ignored = assert_ok(run)
    assert re.fullmatch(f"expense-{ID}", answered["id"]), run.describe()
    assert answered == {"id": answered["id"], "outcome": "approved", "by": "alice"}, run.describe()
    assert ignored == {"id": ignored["id"], "outcome": "timed out",
                       "note": f"escalated {ignored['id']} to the finance team"}, run.describe()
    client = client_factory(server.address)
    assert_completed(client, answered["id"], answered)
    assert_completed(client, ignored["id"], ignored)
    # The timeout was a durable timer, not the process's clock.
    assert "TimerFiredEvent" in kinds(client, ignored["id"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_aggregator(server, client_factory, lang):
    run = run_sample(lang, "aggregator", server.address, "--signals", "60")
    total = sum(range(1, 61))
    assert assert_ok(run) == {"signals": 60, "read_by_orchestration": total,
                              "read_by_client": total}, run.describe()
    [iid] = run.started_ids()
    assert_completed(client_factory(server.address), iid, total)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_ai_pipeline(server, client_factory, lang):
    run = run_sample(lang, "ai_pipeline", server.address, "--wait", "1.5")
    invoice, complaint = assert_ok(run)
    assert invoice == {
        "id": invoice["id"], "category": "invoice",
        "summary": "[invoice] Invoice INV-2026-17 from Contoso Ltd to", "extract_attempts": 2,
        "outcome": f"published {invoice['id']}", "approved_by": "reviewer"}, run.describe()
    assert complaint == {
        "id": complaint["id"], "category": "complaint",
        "summary": "[complaint] My order 7731 arrived broken and", "extract_attempts": 2,
        "outcome": "manual review (no approval in time)"}, run.describe()
    client = client_factory(server.address)
    for doc in (invoice, complaint):
        assert_completed(client, doc["id"], doc)
        # The retry policy ran on the server: the first extraction failed, a retry succeeded.
        k = kinds(client, doc["id"])
        assert k.count("TaskFailedEvent") == 1 and k.count("TaskScheduledEvent") >= 4, k
