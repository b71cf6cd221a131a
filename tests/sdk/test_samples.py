"""Every C++ SDK sample (sdk/examples) runs end to end against a real taskhubd.

Contract of a sample: `--address HOST:PORT`, its own C++ worker and client, progress lines, then
exactly one `RESULT: <json>` line on stdout and exit code 0. The expected results below are
computed independently of the samples (see sdk/examples/README.md for what each one does).
"""

from __future__ import annotations

import json
import re

import pytest
from durabletask.client import OrchestrationStatus

from sdk_support import run_sample


def test_hello_cities_chains_three_activities(server):
    run = run_sample("hello-cities", server.address)
    assert run.result() == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"], run.describe()


def test_fan_out_fan_in_counts_words_of_twenty_files(server):
    run = run_sample("fan-out-fan-in", server.address)
    expected_total = sum(i + 1 for i in range(20))  # file i has i+1 words
    assert expected_total == 210
    assert run.result() == {"files": 20, "total_words": expected_total}, run.describe()


def test_async_http_api_accepts_then_polls_until_completed(server, client_factory):
    run = run_sample("async-http-api", server.address)
    result = run.result()
    assert result == {"report": "ready", "rows": 42}, run.describe()

    lines = run.stdout.splitlines()
    accepted = [i for i, ln in enumerate(lines) if ln.startswith("202 Accepted: ")]
    assert len(accepted) == 1, f"expected one '202 Accepted' line\n{run.describe()}"
    m = re.fullmatch(r"202 Accepted: Location: /instances/(\S+)", lines[accepted[0]])
    assert m, f"malformed 202 line {lines[accepted[0]]!r}\n{run.describe()}"
    instance_id = m.group(1)

    statuses = [(i, ln[len("status: "):]) for i, ln in enumerate(lines) if ln.startswith("status: ")]
    assert statuses, f"no 'status:' polling lines\n{run.describe()}"
    assert all(i > accepted[0] for i, _ in statuses), f"polled before 202\n{run.describe()}"
    allowed = {"PENDING", "RUNNING", "COMPLETED"}
    assert {s for _, s in statuses} <= allowed, f"unexpected status\n{run.describe()}"
    assert statuses[-1][1] == "COMPLETED", f"last polled status is not COMPLETED\n{run.describe()}"
    assert all(s != "COMPLETED" for _, s in statuses[:-1]), f"kept polling after COMPLETED\n{run.describe()}"
    result_line = next(i for i, ln in enumerate(lines) if ln.startswith("RESULT:"))
    assert result_line > statuses[-1][0], run.describe()

    # The Location really names the instance: the Python client sees it completed, same output.
    state = client_factory(server.address).get_orchestration_state(instance_id)
    assert state is not None, f"instance {instance_id} from the Location line does not exist"
    assert state.runtime_status == OrchestrationStatus.COMPLETED
    assert json.loads(state.serialized_output) == result


def test_monitor_checks_until_done_with_continue_as_new(server):
    run = run_sample("monitor", server.address)
    assert run.result() == {"checks": 3, "status": "done"}, run.describe()


def test_human_interaction_approved(server):
    run = run_sample("human-interaction", server.address, "--approve")
    assert run.result() == {"outcome": "approved"}, run.describe()


def test_human_interaction_times_out_and_escalates(server):
    run = run_sample("human-interaction", server.address, "--no-approve")
    assert run.result() == {"outcome": "escalated", "escalated_to": "manager"}, run.describe()
    # The escalation comes from the ~2 s approval timeout (a durable timer), not from a shortcut.
    assert run.elapsed >= 1.5, f"escalated after only {run.elapsed:.2f}s\n{run.describe()}"


def test_ai_pipeline_classifies_then_enriches_in_parallel(server):
    run = run_sample("ai-pipeline", server.address)
    result = run.result()
    assert isinstance(result, dict), run.describe()
    assert set(result) == {"category", "entities", "summary", "sentiment", "keywords"}, run.describe()
    for key, value in result.items():
        assert value, f"{key} is empty\n{run.describe()}"
    assert result["category"] == "invoice", run.describe()


def test_aggregator_counter_sums_every_signal(server):
    run = run_sample("aggregator", server.address)
    expected = sum(range(1, 101))  # signals add 1..100
    assert run.result() == {"signals": 100, "read_by_orchestration": expected,
                            "read_by_client": expected}, run.describe()


def test_critical_section_transfers_lose_no_update(server):
    run = run_sample("critical-section", server.address)
    # transfer i moves 10*(i%10+1): even i alice -> bob, odd i bob -> alice; all have funds.
    to_bob = sum(10 * (i % 10 + 1) for i in range(20) if i % 2 == 0)
    to_alice = sum(10 * (i % 10 + 1) for i in range(20) if i % 2 == 1)
    assert run.result() == {
        "transfers": 20, "moved": 20, "total": 2000,
        "balances": {"alice": 1000 - to_bob + to_alice, "bob": 1000 + to_bob - to_alice},
    }, run.describe()


def test_samples_fail_with_nonzero_exit_without_a_server(tmp_path):
    """No taskhubd listening: the sample must not print a RESULT nor exit 0."""
    from sdk_support import pick_free_port

    port = pick_free_port()  # released again: nothing listens there
    run = run_sample("hello-cities", f"127.0.0.1:{port}", timeout=120)
    assert run.returncode != 0, run.describe()
    assert "RESULT:" not in run.stdout, run.describe()
