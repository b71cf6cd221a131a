"""Fixtures for the taskhubd crash tests (helpers live in crash_support.py).

Everything is hermetic: ports are chosen by the kernel (port 0), data lives in pytest's tmp_path,
and every random choice comes from a seed that is printed (override with CRASH_SEED).
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under --import-mode=importlib
from crash_support import Taskhubd, WorkerProcess, tail, taskhubd_binary  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture
def crash_seed() -> int:
    seed = int(os.environ.get("CRASH_SEED", random.randrange(2**32)))
    print(f"CRASH_SEED={seed} (rerun with CRASH_SEED={seed} to repeat the random choices)")
    return seed


@pytest.fixture
def server_factory(tmp_path, request) -> Iterator[Callable[..., Taskhubd]]:
    """Returns make(port=0, *extra_args) -> a started Taskhubd on a fresh data dir in tmp_path."""
    binary = taskhubd_binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"taskhubd binary not found at {binary}: build it first "
                    f"(or set TASKHUBD=/path/to/taskhubd)")
    servers: list[Taskhubd] = []

    def make(port: int = 0, *extra_args: str) -> Taskhubd:
        workdir = tmp_path / f"server{len(servers)}"
        workdir.mkdir()
        srv = Taskhubd(binary, workdir / "data", workdir, port=port, extra_args=extra_args)
        servers.append(srv)
        srv.start()
        return srv

    yield make
    for srv in servers:
        if _failed(request):
            print(f"----- {srv.log_path} (tail) -----\n{tail(srv.log_path)}")
        srv.cleanup()


@pytest.fixture
def worker_factory(tmp_path, request) -> Iterator[Callable[..., WorkerProcess]]:
    """Returns spawn(name, address, *extra_args) -> a running crash_worker.py process."""
    workers: list[WorkerProcess] = []

    def spawn(name: str, address: str, *extra_args: str) -> WorkerProcess:
        w = WorkerProcess(name, address, tmp_path, list(extra_args))
        workers.append(w)
        return w

    yield spawn
    for w in workers:
        w.cleanup()
        if _failed(request):
            print(f"----- {w.log_path} (tail) -----\n{tail(w.log_path, 40)}")
