"""Fixtures for the C++ SDK end-to-end tests (helpers live in sdk_support.py).

Every server binds a kernel-chosen port and keeps its data in pytest's tmp dirs. On a failing test
the tails of the server and C++ worker logs that are live at that moment are attached to the report.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # needed under --import-mode=importlib
from sdk_support import LIVE, CppWorker, Taskhubd, make_client, sdk_logger  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for proc in list(LIVE):
            rep.sections.extend(proc.log_sections())


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Taskhubd]:
    """A taskhubd shared by the tests of one module (they use unique instance ids)."""
    srv = Taskhubd(tmp_path_factory.mktemp("taskhubd"), name="taskhubd-shared")
    srv.start()
    yield srv
    rc = srv.cleanup()
    assert rc == 0, f"taskhubd did not exit 0 on SIGTERM (rc={rc})"


@pytest.fixture
def server_factory(tmp_path) -> Iterator[Callable[..., Taskhubd]]:
    """make(port=0) -> a started private taskhubd on a fresh data dir; SIGTERMed after the test."""
    servers: list[Taskhubd] = []

    def make(port: int = 0) -> Taskhubd:
        workdir = tmp_path / f"server{len(servers)}"
        workdir.mkdir()
        srv = Taskhubd(workdir, port=port, name=f"taskhubd-{len(servers)}")
        servers.append(srv)
        srv.start()
        return srv

    yield make
    for srv in servers:
        srv.cleanup()


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
    from durabletask import worker as dtworker

    workers: list[dtworker.TaskHubGrpcWorker] = []

    def start(address: str, *, activities: Iterable[Callable] = (),
              orchestrators: Iterable[Callable] = (), filters: bool = True):
        w = dtworker.TaskHubGrpcWorker(host_address=address, logger=sdk_logger("worker"))
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for fn in activities:
            w.add_activity(fn)
        if filters:
            w.use_work_item_filters()
        w.start()
        workers.append(w)
        return w

    yield start
    for w in reversed(workers):
        w.stop()


@pytest.fixture
def client_factory() -> Iterator[Callable[[str], object]]:
    clients = []

    def make(address: str):
        c = make_client(address)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def uid(request) -> str:
    """A unique instance-id prefix for this test."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-")
    return f"sdk-{base}-{uuid.uuid4().hex[:8]}"
