"""Shared helpers for the taskhubd crash tests: a real taskhubd process, real SDK worker processes.

Environment:
  TASKHUBD             path of the server binary (default <repo>/build/bin/taskhubd)
  TASKHUBD_EXTRA_ARGS  extra command-line arguments for every taskhubd start (shell-split)
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
WORKER_SCRIPT = HERE / "crash_worker.py"


def taskhubd_binary() -> Path:
    return Path(os.environ.get("TASKHUBD", str(REPO_ROOT / "build" / "bin" / "taskhubd")))


def pick_free_port() -> int:
    """Asks the kernel for a free port (bind to port 0), then releases it for taskhubd to take.

    Used so that a restarted server comes back on the same address and the already running
    SDK clients/workers reconnect to it by themselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 80) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"<{path} does not exist>"
    return "\n".join(text.splitlines()[-lines:])


# Channel options shared by the test clients and workers: keep gRPC's own reconnect backoff short
# so a restarted server is found again within a second, not after up to two minutes.
FAST_RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class Taskhubd:
    """One taskhubd data directory, served by a sequence of processes (start, kill -9, start...)."""

    def __init__(self, binary: Path, data_dir: Path, workdir: Path, port: int = 0,
                 extra_args: tuple[str, ...] = ()):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.data_dir = data_dir
        self.workdir = workdir
        self.requested_port = port
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_path = workdir / "taskhubd.log"
        self.port_file = workdir / "taskhubd.port"

    @property
    def address(self) -> str:
        assert self.port is not None, "server never started"
        return f"127.0.0.1:{self.port}"

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        assert not self.is_running(), "taskhubd already running"
        self.port_file.unlink(missing_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(self.binary),
            "--listen", f"127.0.0.1:{self.requested_port}",
            "--data-dir", str(self.data_dir),
            "--port-file", str(self.port_file),
            "--log-level", "warn",
        ] + self.extra_args + shlex.split(os.environ.get("TASKHUBD_EXTRA_ARGS", ""))
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {shlex.join(args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"taskhubd exited with code {self.proc.returncode} during start "
                    f"#{self.starts}; log tail:\n{tail(self.log_path)}")
            try:
                text = self.port_file.read_text()
            except FileNotFoundError:
                text = ""
            if text.endswith("\n"):
                port = int(text.strip())
                if self.requested_port:
                    assert port == self.requested_port, (
                        f"taskhubd bound {port}, asked for {self.requested_port}")
                self.port = port
                return
            time.sleep(0.02)
        raise AssertionError(f"taskhubd did not write its port file within {timeout}s "
                             f"(start #{self.starts}); log tail:\n{tail(self.log_path)}")

    def kill9(self) -> None:
        assert self.proc is not None and self.is_running(), (
            f"taskhubd is not running (exit code {self.proc and self.proc.returncode}); "
            f"log tail:\n{tail(self.log_path)}")
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> int:
        """Graceful stop with SIGTERM; returns the exit code (the contract says 0)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
                raise AssertionError(f"taskhubd did not exit within {timeout}s of SIGTERM")
        return self.proc.returncode

    def cleanup(self) -> None:
        if self.is_running():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


class WorkerProcess:
    """A Durable Task Python SDK worker (crash_worker.py) in its own OS process."""

    def __init__(self, name: str, address: str, workdir: Path, extra_args: list[str]):
        self.name = name
        self.log_path = workdir / f"worker-{name}.log"
        args = [sys.executable, str(WORKER_SCRIPT), "--address", address, "--name", name,
                *extra_args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=str(HERE))

    def is_running(self) -> bool:
        return self.proc.poll() is None

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

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def cleanup(self) -> None:
        if self.is_running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


def is_unavailable(err: BaseException) -> bool:
    return isinstance(err, grpc.RpcError) and err.code() == grpc.StatusCode.UNAVAILABLE


def make_client(address: str):
    """A real SDK client (durabletask.client.TaskHubGrpcClient) with quiet logging."""
    import logging

    from durabletask import client
    from durabletask.grpc_options import GrpcChannelOptions

    logger = logging.getLogger("crash-test-client")
    logger.setLevel(logging.WARNING)
    return client.TaskHubGrpcClient(
        host_address=address,
        channel_options=GrpcChannelOptions(raw_options=list(FAST_RECONNECT_OPTIONS)),
        logger=logger)
