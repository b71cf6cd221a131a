"""Fixtures for the taskhub CLI tests: a real taskhubd, a real durabletask worker, and
a runner for the `taskhub` binary as a subprocess.

Binaries: $TASKHUBD (default <repo>/build/bin/taskhubd) and $TASKHUB_CLI (default
<repo>/build/bin/taskhub). Each server binds an ephemeral port (--listen 127.0.0.1:0),
reports it through --port-file and must exit 0 on SIGTERM at teardown.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from durabletask import worker as dtworker

import orchestrations

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TASKHUBD = os.environ.get("TASKHUBD", str(REPO_ROOT / "build" / "bin" / "taskhubd"))
TASKHUB_CLI = os.environ.get("TASKHUB_CLI", str(REPO_ROOT / "build" / "bin" / "taskhub"))

PORT_FILE_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 10.0
CLI_TIMEOUT_S = 60.0

# ISO 8601 UTC with milliseconds, the one timestamp format of the CLI.
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _require_executable(path: str, env_name: str) -> None:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"{path} not found or not executable (set ${env_name})")


class Server:
    """One taskhubd process on an ephemeral port."""

    def __init__(self, work_dir: pathlib.Path):
        self.work_dir = work_dir
        self.log_path = work_dir / "taskhubd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def address(self) -> str:
        assert self.port is not None, "server is not running"
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        _require_executable(TASKHUBD, "TASKHUBD")
        port_file = self.work_dir / "port"
        cmd = [TASKHUBD, "--listen", "127.0.0.1:0", "--data-dir", str(self.work_dir / "data"),
               "--port-file", str(port_file), "--log-level", "warn"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + PORT_FILE_TIMEOUT_S
        while True:
            text = port_file.read_text() if port_file.exists() else ""
            if text.endswith("\n") and text.strip().isdigit():
                self.port = int(text.strip())
                return
            if self.proc.poll() is not None:
                pytest.fail(f"taskhubd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"taskhubd wrote no port file:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


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
    _require_executable(TASKHUB_CLI, "TASKHUB_CLI")
    full = ([] if address is None else ["--address", address]) + list(args)
    proc_env = {k: v for k, v in os.environ.items() if k not in ("TASKHUB_ADDRESS", "NO_COLOR")}
    proc_env.update(env or {})
    proc = subprocess.run([TASKHUB_CLI, *full], input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None,
                          capture_output=True, text=True, env=proc_env, timeout=timeout)
    return Result(full, proc.returncode, proc.stdout, proc.stderr)


def free_port() -> int:
    """A TCP port nothing listens on (bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    server = Server(tmp_path_factory.mktemp("taskhubd"))
    server.start()
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared server (tests use unique instance ids)."""
    s = _new_server(tmp_path_factory)
    yield s
    rc = s.stop()
    assert rc == 0, f"taskhubd did not exit cleanly on SIGTERM (rc={rc}):\n{s.log_tail()}"


@pytest.fixture
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Server]]:
    """Private servers for destructive tests; each must exit 0 on SIGTERM."""
    servers: list[Server] = []

    def make() -> Server:
        s = _new_server(tmp_path_factory)
        servers.append(s)
        return s

    yield make
    codes = [s.stop() for s in servers]
    assert all(rc == 0 for rc in codes), f"unclean taskhubd shutdown: {codes}"


def start_worker(address: str) -> dtworker.TaskHubGrpcWorker:
    w = dtworker.TaskHubGrpcWorker(host_address=address,
                                   logger=logging.getLogger("cli-tests.worker"))
    for fn in orchestrations.ORCHESTRATORS:
        w.add_orchestrator(fn)
    for fn in orchestrations.ACTIVITIES:
        w.add_activity(fn)
    w.start()
    return w


@pytest.fixture(scope="session")
def worker(server: Server) -> Iterator[dtworker.TaskHubGrpcWorker]:
    w = start_worker(server.address)
    yield w
    w.stop()


@pytest.fixture
def cli(server: Server, worker: dtworker.TaskHubGrpcWorker) -> Callable[..., Result]:
    """Runs the CLI against the shared server (with the worker running)."""

    def run(*args: str, **kwargs: Any) -> Result:
        kwargs.setdefault("address", server.address)
        return run_cli(*args, **kwargs)

    return run


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    """A unique instance-id prefix for this test."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-")
    return f"cli-{base}-{uuid.uuid4().hex[:8]}"


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
