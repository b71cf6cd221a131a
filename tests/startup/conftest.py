"""Helpers for the taskhubd start-up and storage-fault tests.

Each test runs the real taskhubd binary (env TASKHUBD, default build/bin/taskhubd) as a
subprocess on port 0 with a data dir in pytest's tmp_path; a daemon that is expected to
fail must exit by itself with a code > 0 (not a signal) and one clear "cannot start" line.
Uses the Python packages of tests/crash/requirements.txt (grpcio, durabletask's stubs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "pyharness"))
from taskhub_harness import health_check  # noqa: E402


def taskhubd_binary() -> Path:
    return Path(os.environ.get("TASKHUBD", ROOT / "build" / "bin" / "taskhubd"))


def run_failing(args: list[str], timeout: float = 20.0, binary: Path | None = None,
                **kw) -> tuple[int, str]:
    """Runs taskhubd (`binary`, default the build's) expecting it to refuse to start;
    returns (returncode, stderr).

    Asserts it exited on its own with a code > 0 (a negative code is a signal: a crash)
    and printed exactly one "cannot start" line.
    """
    if "--listen" not in args:
        args = ["--listen", "127.0.0.1:0", *args]
    try:
        proc = subprocess.run([str(binary or taskhubd_binary()), *args],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"taskhubd started (still running after {timeout} s) instead of "
                             f"refusing to start; output:\n{e.stderr}") from None
    err = proc.stderr + proc.stdout
    print(f"taskhubd exited with {proc.returncode}; output:\n{err}")
    assert proc.returncode > 0, f"expected a non-zero exit without a signal, got {proc.returncode}"
    lines = [ln for ln in err.splitlines() if "cannot start" in ln]
    assert len(lines) == 1, f"expected one 'cannot start' line, got {lines}"
    return proc.returncode, lines[0]


class Daemon:
    """A running taskhubd; stop() sends SIGTERM and returns the exit code."""

    def __init__(self, data_dir: Path, workdir: Path, *extra: str, listen: str = "127.0.0.1:0"):
        self.port_file = workdir / f"port-{time.monotonic_ns()}"
        self.log_path = workdir / f"taskhubd-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(taskhubd_binary()), "--listen", listen, "--data-dir", str(data_dir),
             "--port-file", str(self.port_file), *extra],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.port_file.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"taskhubd exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"taskhubd did not start:\n{self.log()}")
            time.sleep(0.05)
        self.port = int(self.port_file.read_text().strip())
        self.address = f"127.0.0.1:{self.port}"
        self.channel = grpc.insecure_channel(self.address)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def health(self, service: str) -> int:
        """grpc.health.v1.Health/Check: 1 = SERVING, 2 = NOT_SERVING."""
        return health_check(self.channel, service)

    def stop(self, timeout: float = 30) -> int:
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        if not self._log.closed:
            self._log.close()


@pytest.fixture
def daemons(request) -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:  # pytest shows this output only for a failed test
        d.kill()
        print(f"----- {d.log_path} -----\n{d.log_path.read_text()[-4000:]}")


def make_store(data_dir: Path, workdir: Path, instances: int, crash: bool = False) -> list[str]:
    """A stopped store holding `instances` started instances; returns their ids.
    crash=True stops it with kill -9, so the writes stay in the WAL (a clean stop flushes
    the memtables, leaving an empty WAL)."""
    import durabletask.internal.orchestrator_service_pb2 as pb
    import durabletask.internal.orchestrator_service_pb2_grpc as stubs
    d = Daemon(data_dir, workdir)
    try:
        stub = stubs.TaskHubSidecarServiceStub(d.channel)
        ids = []
        for i in range(instances):
            stub.StartInstance(pb.CreateInstanceRequest(instanceId=f"inst-{i}", name="Foo"),
                               timeout=10)
            ids.append(f"inst-{i}")
    finally:
        if crash:
            d.kill()
        else:
            assert d.stop() == 0
    return ids
