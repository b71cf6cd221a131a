"""Fixtures for the taskhub CLI tests: a real taskhubd, a real durabletask worker, and
a runner for the `taskhub` binary as a subprocess.

Binaries: $TASKHUBD (default <repo>/build/bin/taskhubd) and $TASKHUB_CLI (default
<repo>/build/bin/taskhub). Servers come from the shared harness (tests/pyharness/taskhub_harness.py):
each binds an ephemeral port (--listen 127.0.0.1:0), reports it through --port-file and must exit 0
on SIGTERM at teardown; failing reports carry their log tails.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from durabletask import worker as dtworker

import orchestrations

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyharness"))
from taskhub_harness import (  # noqa: E402
    ServerSet, Taskhubd, binary, cli_binary, pick_free_port as free_port,
    pytest_runtest_makereport, running_server, start_py_worker, unique_id)

__all__ = ["ISO_UTC", "TASKHUB_CLI", "free_port", "pytest_runtest_makereport", "run_cli",
           "start_worker", "wait_for_status"]  # imported by the tests; a hook, used by pytest

TASKHUB_CLI = str(cli_binary())
CLI_TIMEOUT_S = 60.0

# ISO 8601 UTC with milliseconds, the one timestamp format of the CLI.
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@dataclasses.dataclass
class Result:
    args: list[str]
    rc: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError(f"stdout of {self.args} is not JSON ({e}):\n{self.stdout}\n"
                                 f"stderr:\n{self.stderr}") from e

    def expect(self, rc: int) -> "Result":
        assert self.rc == rc, (f"taskhub {' '.join(self.args)}: exit {self.rc}, expected {rc}\n"
                               f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")
        return self


def run_cli(*args: str, address: str | None = None, stdin: str | None = None,
            env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT_S) -> Result:
    """Runs `taskhub [--address A] ARGS...` with stdin from /dev/null (or `stdin` text)."""
    binary("taskhub")
    full = ([] if address is None else ["--address", address]) + list(args)
    proc_env = {k: v for k, v in os.environ.items() if k not in ("TASKHUB_ADDRESS", "NO_COLOR")}
    proc_env.update(env or {})
    proc = subprocess.run([TASKHUB_CLI, *full], input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None,
                          capture_output=True, text=True, env=proc_env, timeout=timeout)
    return Result(full, proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Taskhubd]:
    """The shared server (tests use unique instance ids)."""
    yield from running_server(tmp_path_factory.mktemp("taskhubd"))


@pytest.fixture
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Taskhubd]]:
    """Private servers for destructive tests; each must exit 0 on SIGTERM."""
    servers = ServerSet(lambda: tmp_path_factory.mktemp("taskhubd"))
    yield servers.make
    servers.finish(check_exit=True)


def start_worker(address: str) -> dtworker.TaskHubGrpcWorker:
    return start_py_worker(address, orchestrations.ORCHESTRATORS, orchestrations.ACTIVITIES)


@pytest.fixture(scope="session")
def worker(server: Taskhubd) -> Iterator[dtworker.TaskHubGrpcWorker]:
    w = start_worker(server.address)
    yield w
    w.stop()


@pytest.fixture
def cli(server: Taskhubd, worker: dtworker.TaskHubGrpcWorker) -> Callable[..., Result]:
    """Runs the CLI against the shared server (with the worker running)."""

    def run(*args: str, **kwargs: Any) -> Result:
        kwargs.setdefault("address", server.address)
        return run_cli(*args, **kwargs)

    return run


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    """A unique instance-id prefix for this test."""
    return unique_id(request, "cli")


def wait_for_status(cli: Callable[..., Result], instance_id: str, statuses: Sequence[str],
                    timeout: float = 20.0) -> dict[str, Any]:
    """Polls `taskhub status -o json` until runtime_status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        state = cli("status", instance_id, "-o", "json").expect(0).json()
        if state["runtime_status"] in statuses:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"{instance_id} stayed {state['runtime_status']}, "
                                 f"expected one of {list(statuses)}")
        time.sleep(0.1)
