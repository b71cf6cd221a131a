"""The one place where the Python test suites start and stop taskhubd (and other processes).

Used by tests/interop/python, tests/crash, tests/sdk and tests/cli; see README.md beside this file.
Each suite's conftest.py puts this directory on sys.path, imports what it needs, and re-exports
`pytest_runtest_makereport` so that failing test reports carry the log tails of the processes the
test started.

Environment (read when a binary is needed, so a conftest may set them first):
  TASKHUBD             the server binary (default <repo>/build/bin/taskhubd)
  TASKHUB_CLI          the taskhub CLI binary (default <repo>/build/bin/taskhub)
  TASKHUB_BIN_DIR      every other binary: C++ samples, taskhub-test-cpp-worker (default <repo>/build/bin)
  TASKHUBD_EXTRA_ARGS  extra command-line arguments for every taskhubd start (shell-split)
  TASKHUB_STORE        azure: every Taskhubd runs with --store azure on its own task hub (named
                       from its data dir) of one Azurite started for the session, or of the account
                       in TASKHUB_AZURE_STORAGE_CONNECTION_STRING when that is set
  TASKHUB_AZURITE      the azurite executable (default
                       <repo>/build/azurite/node_modules/.bin/azurite, from tools/azurite.sh install)

Contracts:
  * A server binds the port it is given, 0 (the default) meaning a kernel-chosen one; taskhubd
    reports the bound port through --port-file, which is the only way the harness learns it.
  * Every start, stop and kill is written into the server's log file (workdir/taskhubd.log), which
    also collects the server's stdout and stderr. The file is never deleted by the harness.
  * A process is "live" from its first start until cleanup(); the log tails of all live processes
    are attached to the report of a failing test (setup, call or teardown).
  * stop() is SIGTERM and a bounded wait; it returns the exit code, or None when the process hung
    and had to be killed. kill9() is SIGKILL. A stopped or killed server can start() again on the
    same data dir (and on the same port when one was requested).
Not thread-safe: a process object is driven by one test thread.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
_DEFAULT_BIN_DIR = REPO_ROOT / "build" / "bin"

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0

# Keep gRPC's own reconnect back-off short so a restarted server is found again within a second,
# not after up to two minutes. Shared by the test clients and workers.
FAST_RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


# ---- binaries and ports --------------------------------------------------------------------------

def bin_dir() -> Path:
    return Path(os.environ.get("TASKHUB_BIN_DIR", str(_DEFAULT_BIN_DIR)))


def taskhubd_binary() -> Path:
    return Path(os.environ.get("TASKHUBD", str(_DEFAULT_BIN_DIR / "taskhubd")))


def cli_binary() -> Path:
    return Path(os.environ.get("TASKHUB_CLI", str(_DEFAULT_BIN_DIR / "taskhub")))


def _binary_and_env(name: str) -> tuple[Path, str]:
    if name == "taskhubd":
        return taskhubd_binary(), "TASKHUBD"
    if name == "taskhub":
        return cli_binary(), "TASKHUB_CLI"
    return bin_dir() / name, "TASKHUB_BIN_DIR"


def require_executable(path: Path, env_name: str) -> Path:
    """Fails the test (not an error deep in a subprocess call) when a binary is missing."""
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} not found or not executable: build it first (or set ${env_name})")
    return path


def binary(name: str) -> Path:
    """The path of a built binary by name ("taskhubd", "taskhub" or one in $TASKHUB_BIN_DIR)."""
    return require_executable(*_binary_and_env(name))


def pick_free_port() -> int:
    """A TCP port the kernel just handed out and nothing listens on (bound and released).

    Used where a server must come back on the same address after a restart, so that running SDK
    clients and workers reconnect by themselves, and to name an address where no server runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"<{path} does not exist>"
    return "\n".join(text.splitlines()[-lines:]) or "<empty>"


# ---- live processes and failing reports ----------------------------------------------------------

# Processes between their start and cleanup(); their log tails go into failing reports.
LIVE: list["Process"] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Attach the log tails of all live processes to a failing report (setup, call or teardown);
    idempotent, should two suites' conftests register it in one session."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        present = {title for title, _ in rep.sections}
        for proc in list(LIVE):
            rep.sections.extend(s for s in proc.log_sections() if s[0] not in present)


class Process:
    """A child process whose output goes to log_path. Subclasses start it and set self.proc."""

    name: str
    log_path: Path
    proc: subprocess.Popen | None = None
    stop_timeout: float = STOP_TIMEOUT_S  # how long stop() waits after SIGTERM by default

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _note(self, text: str) -> None:
        """Write a harness line into the log, between the process's own lines."""
        with open(self.log_path, "ab") as log:
            log.write(f"===== {text}\n".encode())

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM and wait; the exit code, or None if it hung and was killed (0 if never started).
        Returns the same code again when the process has already exited."""
        timeout = self.stop_timeout if timeout is None else timeout
        if self.proc is None:
            return 0
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self._note(f"no exit within {timeout}s of SIGTERM: killed with SIGKILL")
            return None
        self._note(f"SIGTERM: exit code {rc}")
        return rc

    def kill9(self) -> None:
        """SIGKILL (a crash); the process must be running."""
        assert self.is_running(), (
            f"{self.name} is not running (exit code {self.proc and self.proc.returncode}):\n"
            f"{tail(self.log_path)}")
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._note("SIGKILL")

    def cleanup(self, kill: bool = False) -> int | None:
        """End of life: stop() (or SIGKILL when kill=True) and leave the live list. Returns what
        stop() returns (None after a kill)."""
        rc: int | None = None
        if kill:
            if self.is_running():
                self.kill9()
        else:
            rc = self.stop()
        if self in LIVE:
            LIVE.remove(self)
        return rc

    def log_sections(self) -> list[tuple[str, str]]:
        return [(f"{self.name} log tail ({self.log_path})", tail(self.log_path))]


# ---- Azurite (the Azure Storage emulator) --------------------------------------------------------

# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
AZURITE_START_TIMEOUT_S = 60.0
_AZURITE_LISTENING = re.compile(
    r"Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)")


def azurite_binary() -> Path:
    return require_executable(
        Path(os.environ.get("TASKHUB_AZURITE",
                            str(REPO_ROOT / "build" / "azurite" / "node_modules" / ".bin" /
                                "azurite"))),
        "TASKHUB_AZURITE (install it with tools/azurite.sh install)")


class Azurite(Process):
    """Azurite keeping its data in workdir/location. It survives stop() (SIGTERM: Azurite saves
    and exits 0); kill9() loses what Azurite acknowledged in its last ~5 s (it saves its table and
    blob metadata every 5 s), as no storage account would.

    The first start() lets the kernel choose the three ports (Azurite prints them); every later
    start() reuses the same ports and data, so a taskhubd that was using it reconnects to the same
    account. connection_string names the three endpoints explicitly."""

    stop_timeout = 30.0

    def __init__(self, workdir: Path, name: str = "azurite"):
        self.name = name
        self.workdir = workdir
        self.location = workdir / "location"
        self.log_path = workdir / "azurite.log"
        self.ports: dict[str, int] = {}
        self.proc = None
        self.starts = 0

    def start(self, timeout: float = AZURITE_START_TIMEOUT_S) -> None:
        assert not self.is_running(), f"{self.name} is already running"
        self.location.mkdir(parents=True, exist_ok=True)
        args = [str(azurite_binary()), "--silent", "--disableTelemetry",
                "--location", str(self.location)]
        for service in ("blob", "queue", "table"):
            args += [f"--{service}Host", "127.0.0.1",
                     f"--{service}Port", str(self.ports.get(service, 0))]
        self.starts += 1
        if self not in LIVE:
            LIVE.append(self)
        self._note(f"start #{self.starts}: {shlex.join(args)}")
        offset = self.log_path.stat().st_size
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                found = {m[0].lower(): int(m[1])
                         for m in _AZURITE_LISTENING.findall(log.read().decode(errors="replace"))}
            if len(found) == 3:
                break
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                pytest.fail(f"{self.name} exited with code {rc} during start "
                            f"#{self.starts}:\n{tail(self.log_path)}")
            if time.monotonic() > deadline:
                self.kill9()
                pytest.fail(f"{self.name} did not listen within {timeout}s:\n"
                            f"{tail(self.log_path)}")
            time.sleep(0.05)
        if self.ports:
            assert found == self.ports, f"{self.name} came back on {found}, not {self.ports}"
        self.ports = found

    @property
    def connection_string(self) -> str:
        assert self.ports, f"{self.name} never started"
        return azurite_connection_string(self.ports)


def azurite_connection_string(ports: dict[str, int]) -> str:
    """The connection string of Azurite's account at 127.0.0.1 on ports {"blob": .., "queue": ..,
    "table": ..} (a proxy's ports, say)."""
    ends = ";".join(f"{s.capitalize()}Endpoint=http://127.0.0.1:{ports[s]}/{AZURITE_ACCOUNT}"
                    for s in ("blob", "queue", "table"))
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};{ends};")


_session_azurite: Azurite | None = None


def session_azurite() -> Azurite:
    """The one Azurite of this process (a pytest session), started on first use, in a temp dir;
    stopped at exit, when its data is deleted (its log is kept)."""
    global _session_azurite
    if _session_azurite is None:
        workdir = Path(tempfile.mkdtemp(prefix="taskhub-azurite-"))
        azurite = Azurite(workdir, name="azurite-session")
        azurite.start()
        _session_azurite = azurite

        def stop() -> None:
            azurite.cleanup()
            shutil.rmtree(azurite.location, ignore_errors=True)
        atexit.register(stop)
    return _session_azurite


def store_kind() -> str:
    """The store every Taskhubd uses unless told otherwise: $TASKHUB_STORE, default rocksdb."""
    return os.environ.get("TASKHUB_STORE", "rocksdb")


# A per-process salt: task hubs of different sessions differ even on one storage account.
_HUB_SALT = uuid.uuid4().hex


def task_hub_for(data_dir: Path) -> str:
    """The Azure task hub of a data dir: the same for every start on that dir in this session
    (so a restart reopens the same hub), different for every other dir and session."""
    digest = hashlib.sha256(f"{_HUB_SALT}:{data_dir.resolve()}".encode()).hexdigest()
    return f"t{digest[:20]}"


# ---- taskhubd ------------------------------------------------------------------------------------

class Taskhubd(Process):
    """One data directory served by a sequence of taskhubd processes (start, stop or kill9, start...).

    workdir holds data/ (unless data_dir is given), taskhubd.log and taskhubd.port. port=0 lets
    the kernel choose on every start; a fixed port (e.g. pick_free_port()) is kept across restarts
    (assigning requested_port changes it for the next start). host is the host part of .address.

    store (default store_kind()): with "azure" every start adds --store azure and --task-hub
    task_hub_for(data_dir), and passes the connection string (`connection_string` when given,
    else $TASKHUB_AZURE_STORAGE_CONNECTION_STRING, else session_azurite()'s) in the environment.
    """

    def __init__(self, workdir: Path, *, port: int = 0, extra_args: Sequence[str] = (),
                 name: str = "taskhubd", binary: Path | None = None, data_dir: Path | None = None,
                 host: str = "127.0.0.1", store: str | None = None,
                 connection_string: str | None = None):
        self.name = name
        self.store = store or store_kind()
        self.connection_string = connection_string
        self.workdir = workdir
        self.data_dir = data_dir if data_dir is not None else workdir / "data"
        self.log_path = workdir / "taskhubd.log"
        self.port_file = workdir / "taskhubd.port"
        self.binary = binary
        self.extra_args = list(extra_args)
        self.requested_port = port
        self.host = host
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        assert self.port is not None, f"{self.name} never started"
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        exe = (require_executable(self.binary, "TASKHUBD") if self.binary is not None
               else binary("taskhubd"))
        store = (["--store", "azure", "--task-hub", self.task_hub] if self.store == "azure"
                 else [])
        extra = [*self.extra_args, *shlex.split(os.environ.get("TASKHUBD_EXTRA_ARGS", ""))]
        level = [] if "--log-level" in extra else ["--log-level", "warn"]
        return [str(exe), "--listen", f"127.0.0.1:{self.requested_port}",
                "--data-dir", str(self.data_dir), "--port-file", str(self.port_file),
                *level, *store, *extra]

    @property
    def task_hub(self) -> str:
        return task_hub_for(self.data_dir)

    def environment(self) -> dict[str, str] | None:
        """The environment of a start: the connection string is passed here, never in argv."""
        if self.store != "azure":
            return None
        var = "TASKHUB_AZURE_STORAGE_CONNECTION_STRING"
        conn = (self.connection_string or os.environ.get(var) or
                session_azurite().connection_string)
        return dict(os.environ, **{var: conn})

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """Starts a process on the data dir and waits for its port file; returns the address.
        Fails the test, with the log tail, when the process exits first or writes no port."""
        assert not self.is_running(), f"{self.name} is already running"
        args = self.command()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        self.starts += 1
        if self not in LIVE:
            LIVE.append(self)
        env = self.environment()
        self._note(f"start #{self.starts}: {shlex.join(args)}")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while True:
            text = self.port_file.read_text() if self.port_file.exists() else ""
            if text.endswith("\n") and text.strip().isdigit():
                break
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None  # reported here, not again at stop()
                pytest.fail(f"{self.name} exited with code {rc} during start "
                            f"#{self.starts}:\n{tail(self.log_path)}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait(timeout=30)
                self.proc = None
                pytest.fail(f"{self.name} wrote no port file within {timeout}s (start "
                            f"#{self.starts}):\n{tail(self.log_path)}")
            time.sleep(0.02)
        port = int(text.strip())
        assert 0 < port < 65536, f"{self.name} reported port {port}"
        if self.requested_port:
            assert port == self.requested_port, (
                f"{self.name} bound {port}, asked for {self.requested_port}")
        self.port = port
        return self.address

    def stop_checked(self) -> None:
        """stop() and assert the contract: exit code 0 on SIGTERM."""
        rc = self.stop()
        assert rc == 0, (f"{self.name} did not exit cleanly on SIGTERM (rc={rc}):\n"
                         f"{tail(self.log_path)}")

    def restart(self) -> str:
        """Clean stop (exit code 0 asserted), start again on the same data dir; the new address."""
        self.stop_checked()
        return self.start()

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines)


class ServerSet:
    """The servers one fixture started: make() starts one in a fresh directory; finish() ends them.

    new_dir() returns a fresh, existing or not, work directory. finish(check_exit=True) stops
    each with SIGTERM and asserts exit code 0 for all; check_exit=False stops without checking;
    kill=True ends them with SIGKILL (for crash tests, which check stop() themselves)."""

    def __init__(self, new_dir: Callable[[], Path], *, name_prefix: str = "taskhubd",
                 host: str = "127.0.0.1"):
        self._new_dir = new_dir
        self._prefix = name_prefix
        self._host = host
        self.servers: list[Taskhubd] = []

    def make(self, port: int = 0, extra_args: Sequence[str] = ()) -> Taskhubd:
        srv = Taskhubd(self._new_dir(), port=port, extra_args=extra_args, host=self._host,
                       name=f"{self._prefix}-{len(self.servers)}")
        self.servers.append(srv)
        srv.start()
        return srv

    def finish(self, *, check_exit: bool = True, kill: bool = False) -> None:
        codes = {s.name: s.cleanup(kill=kill) for s in self.servers}
        if check_exit and not kill:
            assert all(rc == 0 for rc in codes.values()), f"unclean taskhubd shutdown: {codes}"


def running_server(workdir: Path, *, name: str = "taskhubd-shared",
                   host: str = "127.0.0.1") -> Iterator[Taskhubd]:
    """For a shared (session or module) fixture: yields a started server; afterwards SIGTERM and
    exit code 0 asserted."""
    srv = Taskhubd(workdir, name=name, host=host)
    srv.start()
    yield srv
    rc = srv.cleanup()
    assert rc == 0, f"{srv.name} did not exit 0 on SIGTERM (rc={rc}):\n{srv.log_tail()}"


# ---- Durable Task Python SDK (durabletask from PyPI) ---------------------------------------------

def sdk_logger(name: str) -> logging.Logger:
    """A normal logging.Logger for the SDK (its default handler would pin a captured stderr)."""
    return logging.getLogger(f"taskhub-tests.durabletask.{name}")


def health_check(channel, service: str = "") -> int:
    """grpc.health.v1.Health/Check over `channel` (a grpc.Channel): 1 = SERVING, 2 = NOT_SERVING
    (raw proto encoding, so no grpcio-health-checking package is needed)."""
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=lambda b: b,
                                response_deserializer=lambda b: b)
    name = service.encode()
    resp = check((b"\x0a" + bytes([len(name)]) + name) if name else b"", timeout=10)
    assert resp[:1] == b"\x08", resp
    return resp[1]


def make_client(address: str):
    """A real durabletask client with a short reconnect back-off."""
    from durabletask import client
    from durabletask.grpc_options import GrpcChannelOptions

    return client.TaskHubGrpcClient(
        host_address=address,
        channel_options=GrpcChannelOptions(raw_options=list(FAST_RECONNECT_OPTIONS)),
        logger=sdk_logger("client"))


def start_py_worker(address: str, orchestrators: Iterable[Callable] = (),
                    activities: Iterable[Callable] = (), *, filters=None, concurrency=None):
    """A started durabletask TaskHubGrpcWorker registering exactly the given functions.

    filters: None/False = no work-item filters; True = generated from the registry; a
    WorkItemFilters instance = explicit filters."""
    from durabletask import worker as dtworker

    w = dtworker.TaskHubGrpcWorker(host_address=address, logger=sdk_logger("worker"),
                                   concurrency_options=concurrency)
    for fn in orchestrators:
        w.add_orchestrator(fn)
    for fn in activities:
        w.add_activity(fn)
    if filters is True:
        w.use_work_item_filters()
    elif filters is not None and filters is not False:
        w.use_work_item_filters(filters)
    w.start()
    return w


@pytest.fixture
def client_factory() -> Iterator[Callable[[str], object]]:
    """make(address) -> a durabletask client (make_client); all closed after the test."""
    clients: list = []

    def make(address: str):
        c = make_client(address)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def unique_id(request: pytest.FixtureRequest, prefix: str) -> str:
    """A unique instance-id prefix for a test: prefix, the test's name, 8 random hex digits."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-")
    return f"{prefix}-{base}-{uuid.uuid4().hex[:8]}"


@contextmanager
def small_tmpfs(parent: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "4m") mounted under `parent`, to fill a file system for real;
    skips the test where mounting is not allowed (needs root and mount permission)."""
    mnt = parent / "fs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root and mount permission): "
                    f"{r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
