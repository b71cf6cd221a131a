"""Fixtures for the taskhubd crash tests (helpers live in crash_support.py and the shared harness,
tests/pyharness/taskhub_harness.py).

Everything is hermetic: ports are chosen by the kernel (port 0), data lives in pytest's tmp_path,
and every random choice comes from a seed that is printed (override with CRASH_SEED). A failing
test's report carries the log tails of its servers and workers.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under --import-mode=importlib
from crash_support import WorkerProcess  # noqa: E402
from taskhub_harness import ServerSet, Taskhubd, pytest_runtest_makereport  # noqa: E402

__all__ = ["pytest_runtest_makereport"]  # a hook, used by pytest


@pytest.fixture
def crash_seed() -> int:
    seed = int(os.environ.get("CRASH_SEED", random.randrange(2**32)))
    print(f"CRASH_SEED={seed} (rerun with CRASH_SEED={seed} to repeat the random choices)")
    return seed


@pytest.fixture
def server_factory(tmp_path) -> Iterator[Callable[..., Taskhubd]]:
    """Returns make(port=0, *extra_args) -> a started Taskhubd on a fresh data dir in tmp_path.

    After the test every server still running is killed with SIGKILL (tests check stop() == 0
    themselves where a clean exit is part of what they prove)."""
    servers = ServerSet(lambda: tmp_path / f"server{len(servers.servers)}")

    def make(port: int = 0, *extra_args: str) -> Taskhubd:
        return servers.make(port=port, extra_args=extra_args)

    yield make
    servers.finish(kill=True)


@pytest.fixture
def worker_factory(tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Returns spawn(name, address, *extra_args) -> a running crash_worker.py process."""
    workers: list[WorkerProcess] = []

    def spawn(name: str, address: str, *extra_args: str) -> WorkerProcess:
        w = WorkerProcess(name, address, tmp_path, list(extra_args))
        workers.append(w)
        return w

    yield spawn
    for w in workers:
        w.cleanup()
