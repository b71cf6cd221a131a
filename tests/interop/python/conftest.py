"""Fixtures for the Python interop suite: a real taskhubd process, real SDK workers/clients.

The server binary comes from $TASKHUBD (default <repo>/build/bin/taskhubd). Every server
binds an ephemeral port (--listen 127.0.0.1:0) and reports it through --port-file; its data
dir and stderr log live in a pytest temp dir. On teardown the server gets SIGTERM and must
exit with code 0.
"""

from __future__ import annotations

import itertools
import logging
import os
import pathlib
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence

import pytest

from durabletask import client as dtclient
from durabletask import worker as dtworker

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
TASKHUBD = os.environ.get("TASKHUBD", str(REPO_ROOT / "build" / "bin" / "taskhubd"))

PORT_FILE_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 10.0

# Servers that are currently running; their stderr tails are attached to failing reports.
_LIVE_SERVERS: list["TaskHubServer"] = []
_server_seq = itertools.count(1)


def sdk_logger(name: str) -> logging.Logger:
    """A normal logging.Logger for the SDK (its default handler would pin a captured stderr)."""
    return logging.getLogger(f"interop.durabletask.{name}")


class TaskHubServer:
    """One taskhubd process bound to an ephemeral port, restartable on the same data dir."""

    def __init__(self, work_dir: pathlib.Path, extra_args: Sequence[str] = (), name: str = ""):
        self.name = name or f"taskhubd-{next(_server_seq)}"
        self.work_dir = work_dir
        self.data_dir = work_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = work_dir / "stderr.log"
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._starts = 0

    @property
    def address(self) -> str:
        assert self.port is not None, "server is not running"
        return f"localhost:{self.port}"

    def start(self) -> None:
        if not (os.path.isfile(TASKHUBD) and os.access(TASKHUBD, os.X_OK)):
            pytest.fail(f"taskhubd binary not found or not executable: {TASKHUBD} (set $TASKHUBD)")
        self._starts += 1
        port_file = self.work_dir / f"port-{self._starts}"
        cmd = [TASKHUBD, "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir),
               "--port-file", str(port_file), "--log-level", "warn", *self.extra_args]
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start #{self._starts}: {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + PORT_FILE_TIMEOUT_S
        while True:
            text = port_file.read_text() if port_file.exists() else ""
            if text.endswith("\n") and text.strip().isdigit():
                self.port = int(text.strip())
                break
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                pytest.fail(f"{self.name} exited with code {rc} before serving:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self._kill()
                pytest.fail(f"{self.name} wrote no port file within {PORT_FILE_TIMEOUT_S}s:\n"
                            f"{self.log_tail()}")
            time.sleep(0.05)
        assert 0 < self.port < 65536
        if self not in _LIVE_SERVERS:
            _LIVE_SERVERS.append(self)

    def stop(self) -> int | None:
        """SIGTERM, wait up to 10 s (then SIGKILL). Returns the exit code, None if it hung."""
        if self.proc is None:
            return 0
        proc, self.proc, self.port = self.proc, None, None
        if self in _LIVE_SERVERS:
            _LIVE_SERVERS.remove(self)
        if proc.poll() is not None:
            return proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None

    def stop_checked(self) -> None:
        rc = self.stop()
        assert rc == 0, f"{self.name} did not exit cleanly on SIGTERM (rc={rc}):\n{self.log_tail()}"

    def restart(self) -> str:
        """Clean stop (exit code 0 asserted) and start again on the same data dir."""
        self.stop_checked()
        self.start()
        return self.address

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for server in list(_LIVE_SERVERS):
            rep.sections.append((f"{server.name} stderr tail ({server.log_path})", server.log_tail()))


def _new_server(tmp_path_factory: pytest.TempPathFactory, extra_args: Sequence[str] = ()) -> TaskHubServer:
    server = TaskHubServer(tmp_path_factory.mktemp("taskhubd"), extra_args)
    server.start()
    return server


@pytest.fixture(scope="session")
def taskhub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskHubServer]:
    """The shared server used by most tests (tests use unique ids and names)."""
    server = _new_server(tmp_path_factory)
    yield server
    server.stop_checked()


@pytest.fixture
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., TaskHubServer]]:
    """Start private servers (optionally with extra flags); stopped (rc 0 asserted) after the test."""
    servers: list[TaskHubServer] = []

    def make(extra_args: Sequence[str] = ()) -> TaskHubServer:
        server = _new_server(tmp_path_factory, extra_args)
        servers.append(server)
        return server

    yield make
    codes = {s.name: s.stop() for s in servers}
    assert all(rc == 0 for rc in codes.values()), f"unclean server shutdown: {codes}"


@pytest.fixture
def restartable_server(server_factory: Callable[..., TaskHubServer]) -> TaskHubServer:
    """A private server; call .restart() to SIGTERM it and start it again on the same data dir."""
    return server_factory()


def new_client(address: str) -> dtclient.TaskHubGrpcClient:
    return dtclient.TaskHubGrpcClient(host_address=address, logger=sdk_logger("client"))


@pytest.fixture(scope="session")
def client(taskhub_server: TaskHubServer) -> Iterator[dtclient.TaskHubGrpcClient]:
    c = new_client(taskhub_server.address)
    yield c
    c.close()


@pytest.fixture
def client_factory() -> Iterator[Callable[[str], dtclient.TaskHubGrpcClient]]:
    clients: list[dtclient.TaskHubGrpcClient] = []

    def make(address: str) -> dtclient.TaskHubGrpcClient:
        c = new_client(address)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    """A unique instance-id prefix for this test."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-")
    return f"py-{base}-{uuid.uuid4().hex[:8]}"


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
        w = dtworker.TaskHubGrpcWorker(host_address=address,
                                       logger=sdk_logger("worker"),
                                       concurrency_options=concurrency)
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for fn in activities:
            w.add_activity(fn)
        if filters is True:
            w.use_work_item_filters()
        elif isinstance(filters, dtworker.WorkItemFilters):
            w.use_work_item_filters(filters)
        w.start()
        workers.append(w)
        return w

    yield start
    for w in reversed(workers):
        w.stop()
