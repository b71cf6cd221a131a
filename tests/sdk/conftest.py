"""Fixtures for the C++ SDK end-to-end tests (helpers live in sdk_support.py and the shared harness,
tests/pyharness/taskhub_harness.py).

Every server binds a kernel-chosen port and keeps its data in pytest's tmp dirs. On a failing test
the tails of the server and C++ worker logs that are live at that moment are attached to the report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # needed under --import-mode=importlib
from sdk_support import CppWorker  # noqa: E402
from taskhub_harness import (  # noqa: E402
    ServerSet, Taskhubd, client_factory, pytest_runtest_makereport, running_server,
    start_py_worker, unique_id)

__all__ = ["client_factory", "pytest_runtest_makereport"]  # a fixture and a hook, used by pytest


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Taskhubd]:
    """A taskhubd shared by the tests of one module (they use unique instance ids)."""
    yield from running_server(tmp_path_factory.mktemp("taskhubd"))


@pytest.fixture
def server_factory(tmp_path) -> Iterator[Callable[..., Taskhubd]]:
    """make(port=0) -> a started private taskhubd on a fresh data dir; SIGTERMed after the test."""
    servers = ServerSet(lambda: tmp_path / f"server{len(servers.servers)}")

    def make(port: int = 0) -> Taskhubd:
        return servers.make(port=port)

    yield make
    servers.finish(check_exit=False)


@pytest.fixture
def cpp_worker_factory(tmp_path) -> Iterator[Callable[[str], CppWorker]]:
    """spawn(address) -> a running taskhub-test-cpp-worker that printed "ready".

    After the test each one gets SIGTERM and must exit 0 (checked unless the test failed)."""
    workers: list[CppWorker] = []

    def spawn(address: str) -> CppWorker:
        w = CppWorker(address, tmp_path, name=f"cpp-worker-{len(workers)}")
        workers.append(w)
        w.wait_ready()
        return w

    yield spawn
    codes = {w.name: w.cleanup() for w in workers}
    assert all(rc == 0 for rc in codes.values()), f"C++ worker did not exit 0 on SIGTERM: {codes}"


@pytest.fixture
def py_worker_factory() -> Iterator[Callable[..., object]]:
    """start(address, activities=..., orchestrators=..., filters=True) -> a running Python worker."""
    workers = []

    def start(address: str, *, activities: Iterable[Callable] = (),
              orchestrators: Iterable[Callable] = (), filters: bool = True):
        w = start_py_worker(address, orchestrators, activities, filters=filters)
        workers.append(w)
        return w

    yield start
    for w in reversed(workers):
        w.stop()


@pytest.fixture
def uid(request) -> str:
    """A unique instance-id prefix for this test."""
    return unique_id(request, "sdk")
