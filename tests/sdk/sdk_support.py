"""Helpers for the C++ SDK end-to-end tests: the C++ sample and test-worker binaries, beside the
shared harness (tests/pyharness/taskhub_harness.py: taskhubd, ports, log tails, the Durable Task
Python SDK from PyPI as the other language).

Environment: TASKHUBD, TASKHUB_BIN_DIR (where the C++ samples and taskhub-test-cpp-worker live);
see the harness.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyharness"))
import taskhub_harness as harness  # noqa: E402
from taskhub_harness import (  # noqa: E402,F401  (re-exported for the tests)
    LIVE, Process, Taskhubd, binary, make_client, pick_free_port, sdk_logger, tail)

__all__ = ["LIVE", "CppWorker", "SampleRun", "Taskhubd", "binary", "make_client", "pick_free_port",
           "run_sample", "sdk_logger", "tail"]


class CppWorker(Process):
    """taskhub-test-cpp-worker in its own process; prints "ready" on stdout once connected.
    stop() is SIGTERM (the contract: graceful stop, exit 0); None if it hung and was killed."""

    stop_timeout = 15.0

    def __init__(self, address: str, workdir: Path, name: str = "cpp-worker"):
        self.name = name
        self.stdout_path = workdir / f"{name}.stdout"
        self.log_path = workdir / f"{name}.log"
        args = [str(binary("taskhub-test-cpp-worker")), "--address", address]
        with open(self.stdout_path, "wb") as out, open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        harness.LIVE.append(self)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.stdout_path.read_text(errors="replace").splitlines()
            if "ready" in lines:
                return
            if "not connected" in lines:
                pytest.fail(f"{self.name} could not connect:\n{tail(self.log_path)}")
            if not self.is_running():
                pytest.fail(f"{self.name} exited with code {self.proc.returncode} before "
                            f"printing 'ready':\n{tail(self.log_path)}")
            time.sleep(0.05)
        pytest.fail(f"{self.name} printed no 'ready' within {timeout}s:\n{tail(self.log_path)}")

    def connect_count(self) -> int:
        """How many times the SDK logged that its work-item stream connected."""
        return self.log_path.read_text(errors="replace").count("worker connected")

    def log_sections(self) -> list[tuple[str, str]]:
        return [(f"{self.name} stdout ({self.stdout_path})", tail(self.stdout_path)),
                (f"{self.name} log tail ({self.log_path})", tail(self.log_path))]


@dataclass
class SampleRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed: float

    def describe(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit code {self.returncode} after {self.elapsed:.1f}s\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr (tail) ---\n"
                + "\n".join(self.stderr.splitlines()[-40:]))

    def result(self):
        """The JSON of the one and only `RESULT: <json>` line (asserts the contract)."""
        assert self.returncode == 0, f"sample failed\n{self.describe()}"
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith("RESULT:")]
        assert len(lines) == 1, f"expected exactly one RESULT line\n{self.describe()}"
        assert lines[0].startswith("RESULT: "), f"malformed RESULT line\n{self.describe()}"
        try:
            return json.loads(lines[0][len("RESULT: "):])
        except json.JSONDecodeError as e:
            raise AssertionError(f"RESULT is not JSON ({e})\n{self.describe()}") from None


def run_sample(name: str, address: str, *flags: str, timeout: float = 90.0) -> SampleRun:
    args = [str(binary(f"taskhub-example-{name}")), "--address", address, *flags]
    start = time.monotonic()
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        pytest.fail(f"{name} did not finish within {timeout}s\n"
                    f"--- stdout ---\n{out}\n--- stderr ---\n{err[-4000:]}")
    return SampleRun(args, p.returncode, p.stdout, p.stderr, time.monotonic() - start)
