"""Fixtures for the Python interop suite: a real taskhubd process, real SDK workers/clients.

Servers come from the shared harness (tests/pyharness/taskhub_harness.py): $TASKHUBD (default
<repo>/build/bin/taskhubd), an ephemeral port (--listen 127.0.0.1:0) reported through --port-file,
data dir and log in a pytest temp dir, log tails attached to failing reports. On teardown every
server gets SIGTERM and must exit with code 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from durabletask import client as dtclient
from durabletask import worker as dtworker

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "pyharness"))
from taskhub_harness import (  # noqa: E402
    ServerSet, Taskhubd, client_factory, make_client, pytest_runtest_makereport, running_server,
    start_py_worker, unique_id)

__all__ = ["client_factory", "pytest_runtest_makereport"]  # a fixture and a hook, used by pytest


@pytest.fixture(scope="session")
def taskhub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Taskhubd]:
    """The shared server used by most tests (tests use unique ids and names)."""
    yield from running_server(tmp_path_factory.mktemp("taskhubd"), host="localhost")


@pytest.fixture
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Taskhubd]]:
    """Start private servers (optionally with extra flags); stopped (rc 0 asserted) after the test."""
    servers = ServerSet(lambda: tmp_path_factory.mktemp("taskhubd"), host="localhost")

    def make(extra_args: Sequence[str] = ()) -> Taskhubd:
        return servers.make(extra_args=extra_args)

    yield make
    servers.finish(check_exit=True)


@pytest.fixture
def restartable_server(server_factory: Callable[..., Taskhubd]) -> Taskhubd:
    """A private server; call .restart() to SIGTERM it and start it again on the same data dir."""
    return server_factory()


@pytest.fixture(scope="session")
def client(taskhub_server: Taskhubd) -> Iterator[dtclient.TaskHubGrpcClient]:
    c = make_client(taskhub_server.address)
    yield c
    c.close()


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    """A unique instance-id prefix for this test."""
    return unique_id(request, "py")


@pytest.fixture
def start_worker(request: pytest.FixtureRequest) -> Iterator[Callable[..., dtworker.TaskHubGrpcWorker]]:
    """Start a real TaskHubGrpcWorker registering only the given functions; stopped after the test.

    filters: None = no work-item filters; True = auto-generated from the registry;
    a WorkItemFilters instance = explicit filters.
    """
    workers: list[dtworker.TaskHubGrpcWorker] = []

    def start(orchestrators: Iterable[Callable[..., object]] = (),
              activities: Iterable[Callable[..., object]] = (),
              *, address: str | None = None,
              filters: bool | dtworker.WorkItemFilters | None = None,
              concurrency: dtworker.ConcurrencyOptions | None = None) -> dtworker.TaskHubGrpcWorker:
        if address is None:
            address = request.getfixturevalue("taskhub_server").address
        w = start_py_worker(address, orchestrators, activities, filters=filters,
                            concurrency=concurrency)
        workers.append(w)
        return w

    yield start
    for w in reversed(workers):
        w.stop()
