"""C++ SDK durable entities against a real taskhubd.

The scenarios run in taskhub-test-cpp-entities (tests/sdk_worker/cpp_entities.cc: its own C++
worker and client, one `RESULT: <json>` line); the expected values are computed here. The
cross-language tests mix taskhub-test-cpp-worker with a Python worker (durabletask from PyPI):
a C++ orchestration calls a Python entity, and a Python orchestration calls a C++ entity.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from durabletask import worker as dtworker
from durabletask.client import OrchestrationStatus
from durabletask.entities import EntityInstanceId

from sdk_support import Taskhubd, binary, sdk_logger


class ScenarioRun:
    def __init__(self, args: list[str], proc: subprocess.CompletedProcess, elapsed: float):
        self.args, self.proc, self.elapsed = args, proc, elapsed

    def describe(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit code {self.proc.returncode} after "
                f"{self.elapsed:.1f}s\n--- stdout ---\n{self.proc.stdout}\n--- stderr (tail) ---\n"
                + "\n".join(self.proc.stderr.splitlines()[-40:]))

    def result(self):
        assert self.proc.returncode == 0, f"scenario failed\n{self.describe()}"
        lines = [ln for ln in self.proc.stdout.splitlines() if ln.startswith("RESULT: ")]
        assert len(lines) == 1, f"expected exactly one RESULT line\n{self.describe()}"
        return json.loads(lines[0][len("RESULT: "):])


def run_scenario(address: str, scenario: str, key: str, timeout: float = 180) -> ScenarioRun:
    args = [str(binary("taskhub-test-cpp-entities")), "--address", address, "--key", key, scenario]
    start = time.monotonic()
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{scenario} did not finish within {timeout}s\n{e.stdout}\n{e.stderr}")
    return ScenarioRun(args, p, time.monotonic() - start)


@pytest.fixture(scope="module")
def server_v1(server, tmp_path_factory):
    """A taskhubd that sends the older entity work-item format (EntityBatchRequest)."""
    srv = Taskhubd(tmp_path_factory.mktemp("taskhubd-v1"), name="taskhubd-v1",
                   extra_args=["--entity-work-items=v1"])
    srv.start()
    yield srv
    assert srv.cleanup() == 0, srv.log_tail()


# ---- C++ SDK scenarios -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["v2", "v1"])
def test_function_and_class_entities_client_signal_and_orchestration_call(
        request, fmt, uid, client_factory):
    srv = request.getfixturevalue("server" if fmt == "v2" else "server_v1")
    result = run_scenario(srv.address, "basics", uid).result()
    # client +3, then the orchestration: signal +10 (queued first), call +5, call get.
    assert result["orchestration"] == {"after_call": 18, "get": 18}
    assert result["reads"] == [18, 50]
    assert result["counter"] == 18 and result["account"] == 50
    # The Python client reads what the C++ entities wrote (the class entity's JSON).
    client = client_factory(srv.address)
    account = client.get_entity(EntityInstanceId("account", uid))
    assert account is not None and json.loads(account.get_state()) == {"balance": 50}
    assert json.loads(client.get_entity(EntityInstanceId("counter", uid)).get_state()) == 18


def test_thousand_concurrent_signals_to_one_counter_sum_exactly(server, uid):
    result = run_scenario(server.address, "thousand", uid).result()
    expected = sum(range(1, 1001))
    assert result == {"signals": 1000, "read": expected, "client": expected}


def test_fifty_concurrent_transfers_in_critical_sections_conserve_the_total(server, uid):
    result = run_scenario(server.address, "transfers", uid).result()
    # transfer i moves i+1: even i from a to b, odd i from b to a; all have funds.
    a_to_b = sum(i + 1 for i in range(50) if i % 2 == 0)
    b_to_a = sum(i + 1 for i in range(50) if i % 2 == 1)
    assert result == {"moved": 50, "a": 1000 - a_to_b + b_to_a, "b": 1000 + a_to_b - b_to_a}
    assert result["a"] + result["b"] == 2000


def test_delayed_signals_from_client_and_orchestration(server, uid):
    run = run_scenario(server.address, "delayed", uid)
    result = run.result()
    assert result["after"] == 12, run.describe()  # 5 from the client, 7 from the orchestration
    assert result["elapsed_s"] >= 1.5, f"applied before their time\n{run.describe()}"
    if result["checked_before_s"] < 1.5:  # else the early read proves nothing
        assert result["before"] is None, run.describe()


def test_throwing_operation_fails_the_caller_and_leaves_state_unchanged(server, uid):
    result = run_scenario(server.address, "failure", uid).result()
    assert result == {
        "failed": True, "error_type": "std::runtime_error", "message": "refused after writing",
        "entity": f"@counter@{uid}", "operation": "fail_after_write",
        "after": 5, "client": 5, "side_exists": False}


def test_get_query_and_clean_entity_storage(server, uid, client_factory):
    result = run_scenario(server.address, "query", uid).result()
    ids = [f"@counter@{uid}-{i}" for i in range(5)]
    assert result["reads"] == [1, 2, 3, 4, 5]
    assert result["get"] == {"exists": True, "state_without": None, "state_with": "1",
                             "id": ids[0], "missing_exists": False}
    assert result["paged"]["entities"] == {i: n + 1 for n, i in enumerate(ids)}
    assert result["paged"]["pages"] >= 3  # page size 2
    assert result["without_state"] == {"count": 5, "states": 0}
    assert result["modified_in_future"] == 0
    # The reset entity (no state, nothing queued, no lock) is gone; the others remain.
    assert result["read_after_reset"] == [0]
    assert result["reset_exists"] is False
    assert result["after_clean"]["remaining"] == 4
    client = client_factory(server.address)
    assert client.get_entity(EntityInstanceId("counter", f"{uid}-0")) is None
    assert json.loads(client.get_entity(EntityInstanceId("counter", f"{uid}-4")).get_state()) == 5


def test_entity_starts_an_orchestration(server, uid):
    result = run_scenario(server.address, "starts_orchestration", uid).result()
    assert result["status"] == "ORCHESTRATION_STATUS_COMPLETED"
    assert result["output"] == "from an entity"


def test_failure_scenario_with_v1_work_items(server_v1, uid):
    result = run_scenario(server_v1.address, "failure", uid).result()
    assert result["failed"] is True and result["after"] == 5 and result["client"] == 5


# ---- cross-language --------------------------------------------------------------------------

def py_counter(ctx, amount):
    """Python entity: add / get / fail (raises after changing the state)."""
    value = ctx.get_state(int, 0)
    if ctx.operation == "add":
        value += amount
        ctx.set_state(value)
    elif ctx.operation == "fail":
        ctx.set_state(-1)
        raise ValueError("py_counter refuses")
    return value


def py_calls_cpp_entity(ctx, key: str):
    """Python orchestration calling the C++ entity cpp_counter."""
    entity = EntityInstanceId("cpp_counter", key)
    ctx.signal_entity(entity, "add", 1)
    added = yield ctx.call_entity(entity, "add", 4)
    failure = None
    try:
        yield ctx.call_entity(entity, "fail")
    except Exception as e:  # noqa: BLE001 - the SDK's failure type is what we record
        failure = str(e)
    got = yield ctx.call_entity(entity, "get")
    return {"added": added, "get": got, "failure": failure}


def start_python_worker(address: str, *, entities=(), orchestrators=()):
    w = dtworker.TaskHubGrpcWorker(host_address=address, logger=sdk_logger("entity-worker"))
    for fn in entities:
        w.add_entity(fn)
    for fn in orchestrators:
        w.add_orchestrator(fn)
    w.use_work_item_filters()
    w.start()
    return w


@pytest.fixture
def python_worker(server):
    workers = []

    def start(**kwargs):
        workers.append(start_python_worker(server.address, **kwargs))

    yield start
    for w in workers:
        w.stop()


def test_cpp_orchestration_calls_python_entity(server, cpp_worker_factory, python_worker,
                                               client_factory, uid):
    cpp_worker_factory(server.address)
    python_worker(entities=[py_counter])
    client = client_factory(server.address)
    iid = client.schedule_new_orchestration("cpp_calls_py_entity",
                                            input={"key": uid, "amount": 5}, instance_id=uid)
    state = client.wait_for_orchestration_completion(iid, timeout=90)
    assert state is not None and state.runtime_status == OrchestrationStatus.COMPLETED, (
        f"{state and state.runtime_status}: {state and state.failure_details}")
    out = json.loads(state.serialized_output)
    assert out["added"] == 6 and out["get"] == 6  # signal +1 queued before the call +5
    assert "py_counter refuses" in out["failure"]
    assert json.loads(client.get_entity(EntityInstanceId("py_counter", uid)).get_state()) == 6


def test_python_orchestration_calls_cpp_entity(server, cpp_worker_factory, python_worker,
                                               client_factory, uid):
    cpp_worker_factory(server.address)
    python_worker(orchestrators=[py_calls_cpp_entity])
    client = client_factory(server.address)
    iid = client.schedule_new_orchestration(py_calls_cpp_entity, input=uid, instance_id=uid)
    state = client.wait_for_orchestration_completion(iid, timeout=90)
    assert state is not None and state.runtime_status == OrchestrationStatus.COMPLETED, (
        f"{state and state.runtime_status}: {state and state.failure_details}")
    out = json.loads(state.serialized_output)
    assert out["added"] == 5 and out["get"] == 5, out
    assert out["failure"] is not None and "cpp_counter refuses" in out["failure"], out
    assert json.loads(client.get_entity(EntityInstanceId("cpp_counter", uid)).get_state()) == 5

