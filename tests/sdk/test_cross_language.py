"""C++ and Python on the same taskhubd: the Python client (durabletask from PyPI) drives C++
orchestrations served by taskhub-test-cpp-worker, and a C++ orchestrator calls an activity that
only a Python worker serves. Both workers send work-item filters for what they registered, so
each work item reaches the one language that can run it.
"""

from __future__ import annotations

import json
import time

import pytest
from durabletask.client import OrchestrationStatus


def py_upper(ctx, value: str) -> str:
    """The Python activity the C++ orchestrator `cpp_calls_python` calls (name: "py_upper")."""
    return value.upper()


def _wait_completed(client, instance_id: str, timeout: float = 60):
    state = client.wait_for_orchestration_completion(instance_id, timeout=timeout)
    assert state is not None, f"{instance_id} does not exist"
    assert state.runtime_status == OrchestrationStatus.COMPLETED, (
        f"{instance_id} ended {state.runtime_status.name}: {state.failure_details}")
    return state


@pytest.fixture
def cpp_worker(server, cpp_worker_factory):
    return cpp_worker_factory(server.address)


@pytest.mark.parametrize("name", ["Ada", "Zoë 東京 \"quoted\""], ids=["ascii", "unicode"])
def test_python_client_starts_cpp_orchestration(server, cpp_worker, client_factory, uid, name):
    client = client_factory(server.address)
    iid = client.schedule_new_orchestration("cpp_greeter", input=name, instance_id=uid)
    assert iid == uid
    state = _wait_completed(client, iid)
    assert json.loads(state.serialized_input) == name
    assert json.loads(state.serialized_output) == f"Hello {name} from C++"
    assert cpp_worker.is_running()


def test_cpp_orchestrator_calls_python_activity(server, cpp_worker, py_worker_factory,
                                                client_factory, uid):
    py_worker_factory(server.address, activities=[py_upper], filters=True)
    client = client_factory(server.address)
    iid = client.schedule_new_orchestration("cpp_calls_python", input="mixed Case",
                                            instance_id=uid)
    state = _wait_completed(client, iid)
    assert json.loads(state.serialized_output) == {
        "python": "MIXED CASE", "cpp": "Hello MIXED CASE from C++"}
    assert cpp_worker.is_running()


def test_cpp_orchestrator_waits_for_python_worker(server, cpp_worker, py_worker_factory,
                                                  client_factory, uid):
    """Until a Python worker serving py_upper connects, the C++ worker must not take (and fail)
    the activity: the orchestration stays RUNNING, then completes once Python joins."""
    client = client_factory(server.address)
    iid = client.schedule_new_orchestration("cpp_calls_python", input="late", instance_id=uid)
    state = client.wait_for_orchestration_start(iid, timeout=30)
    assert state is not None and state.runtime_status == OrchestrationStatus.RUNNING
    time.sleep(2.0)
    state = client.get_orchestration_state(iid)
    assert state.runtime_status == OrchestrationStatus.RUNNING, (
        f"without a py_upper worker the instance is {state.runtime_status.name}: "
        f"{state.failure_details}")
    py_worker_factory(server.address, activities=[py_upper], filters=True)
    state = _wait_completed(client, iid)
    assert json.loads(state.serialized_output) == {"python": "LATE", "cpp": "Hello LATE from C++"}
