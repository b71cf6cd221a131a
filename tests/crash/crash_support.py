"""Helpers for the taskhubd crash tests: real SDK worker processes, and (from the shared harness,
tests/pyharness/taskhub_harness.py) the taskhubd process, ports and log tails.

Environment: TASKHUBD, TASKHUBD_EXTRA_ARGS (see the harness).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import grpc

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
WORKER_SCRIPT = HERE / "crash_worker.py"

sys.path.insert(0, str(REPO_ROOT / "tests" / "pyharness"))
import taskhub_harness as harness  # noqa: E402
from taskhub_harness import (  # noqa: E402,F401  (re-exported for the tests and crash_worker.py)
    FAST_RECONNECT_OPTIONS, Process, make_client, pick_free_port, tail, taskhubd_binary)

__all__ = ["FAST_RECONNECT_OPTIONS", "Taskhubd", "WorkerProcess", "is_unavailable", "make_client",
           "pick_free_port", "tail", "taskhubd_binary"]


class Taskhubd(harness.Taskhubd):
    """The harness's taskhubd with this module's historic constructor (binary, data_dir, workdir)."""

    def __init__(self, binary: Path, data_dir: Path, workdir: Path, port: int = 0,
                 extra_args: tuple[str, ...] = ()):
        super().__init__(workdir, binary=binary, data_dir=data_dir, port=port,
                         extra_args=extra_args)


class WorkerProcess(Process):
    """A Durable Task Python SDK worker (crash_worker.py) in its own OS process."""

    stop_timeout = 5.0

    def __init__(self, name: str, address: str, workdir: Path, extra_args: list[str]):
        self.name = name
        self.log_path = workdir / f"worker-{name}.log"
        args = [sys.executable, str(WORKER_SCRIPT), "--address", address, "--name", name,
                *extra_args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=str(HERE))
        harness.LIVE.append(self)

    def wait_connected(self, timeout: float = 30.0) -> None:
        """Waits until the SDK logged that its GetWorkItems stream is open (after Hello)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise AssertionError(f"worker {self.name} exited ({self.proc.returncode}):\n"
                                     f"{tail(self.log_path)}")
            if "Successfully connected" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise AssertionError(f"worker {self.name} did not connect within {timeout}s:\n"
                             f"{tail(self.log_path)}")


def is_unavailable(err: BaseException) -> bool:
    return isinstance(err, grpc.RpcError) and err.code() == grpc.StatusCode.UNAVAILABLE


def retry_unavailable(fn: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Calls fn, retrying while the server is (still) unreachable."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
