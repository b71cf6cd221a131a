"""Helpers for the C++ SDK end-to-end tests: a real taskhubd, the C++ sample and test-worker
binaries, and the Durable Task Python SDK (durabletask from PyPI) as the other language.

Environment:
  TASKHUBD         the server binary (default <repo>/build/bin/taskhubd)
  TASKHUB_BIN_DIR  where the C++ samples and taskhub-test-cpp-worker live (default <repo>/build/bin)
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
TASKHUBD = Path(os.environ.get("TASKHUBD", str(REPO_ROOT / "build" / "bin" / "taskhubd")))
BIN_DIR = Path(os.environ.get("TASKHUB_BIN_DIR", str(REPO_ROOT / "build" / "bin")))

# Processes whose logs are attached to the report of a failing test (see conftest.py).
LIVE: list["_Logged"] = []

# Keep gRPC's own reconnect back-off short so a restarted server is found again quickly.
FAST_RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def binary(name: str) -> Path:
    path = TASKHUBD if name == "taskhubd" else BIN_DIR / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        hint = "$TASKHUBD" if name == "taskhubd" else "$TASKHUB_BIN_DIR"
        pytest.fail(f"{name} not found or not executable at {path}: build it first (or set {hint})")
    return path


def pick_free_port() -> int:
    """A port the kernel just handed out (bind to 0, then release it for taskhubd to take), so a
    restarted server comes back on the same address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"<{path} does not exist>"
    return "\n".join(text.splitlines()[-lines:]) or "<empty>"


def sdk_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"sdk-tests.durabletask.{name}")


class _Logged:
    name: str

    def log_sections(self) -> list[tuple[str, str]]:
        raise NotImplementedError


class Taskhubd(_Logged):
    """One data directory served by a sequence of taskhubd processes (start, kill -9, start ...)."""

    def __init__(self, workdir: Path, port: int = 0, name: str = "taskhubd"):
        self.name = name
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "taskhubd.log"
        self.port_file = workdir / "taskhubd.port"
        self.requested_port = port
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        assert self.port is not None, "taskhubd never started"
        return f"127.0.0.1:{self.port}"

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        assert not self.is_running(), "taskhubd is already running"
        exe = binary("taskhubd")
        self.port_file.unlink(missing_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(exe), "--listen", f"127.0.0.1:{self.requested_port}",
                "--data-dir", str(self.data_dir), "--port-file", str(self.port_file),
                "--log-level", "warn"]
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        if self not in LIVE:
            LIVE.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"taskhubd exited with code {self.proc.returncode} during start "
                            f"#{self.starts}:\n{tail(self.log_path)}")
            text = self.port_file.read_text() if self.port_file.exists() else ""
            if text.endswith("\n") and text.strip().isdigit():
                port = int(text.strip())
                if self.requested_port:
                    assert port == self.requested_port, (
                        f"taskhubd bound {port}, asked for {self.requested_port}")
                self.port = port
                return
            time.sleep(0.02)
        pytest.fail(f"taskhubd wrote no port file within {timeout}s (start #{self.starts}):\n"
                    f"{tail(self.log_path)}")

    def kill9(self) -> None:
        assert self.is_running(), (f"taskhubd is not running (exit code "
                                   f"{self.proc and self.proc.returncode}):\n{tail(self.log_path)}")
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
                return None
        return self.proc.returncode

    def cleanup(self) -> int | None:
        rc = self.stop()
        if self in LIVE:
            LIVE.remove(self)
        return rc

    def log_sections(self) -> list[tuple[str, str]]:
        return [(f"{self.name} log tail ({self.log_path})", tail(self.log_path))]


class CppWorker(_Logged):
    """taskhub-test-cpp-worker in its own process; prints "ready" on stdout once connected."""

    def __init__(self, address: str, workdir: Path, name: str = "cpp-worker"):
        self.name = name
        self.stdout_path = workdir / f"{name}.stdout"
        self.log_path = workdir / f"{name}.log"
        args = [str(binary("taskhub-test-cpp-worker")), "--address", address]
        with open(self.stdout_path, "wb") as out, open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        LIVE.append(self)

    def is_running(self) -> bool:
        return self.proc.poll() is None

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

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (the contract: graceful stop, exit 0); None if it hung and was killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
                return None
        return self.proc.returncode

    def cleanup(self) -> int | None:
        rc = self.stop()
        if self in LIVE:
            LIVE.remove(self)
        return rc

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


def make_client(address: str):
    """A real durabletask client with a short reconnect back-off."""
    from durabletask import client
    from durabletask.grpc_options import GrpcChannelOptions

    return client.TaskHubGrpcClient(
        host_address=address,
        channel_options=GrpcChannelOptions(raw_options=list(FAST_RECONNECT_OPTIONS)),
        logger=sdk_logger("client"))
