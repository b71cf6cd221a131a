"""Fixtures for the HTTP API suite: a real taskhubd with --http-listen (port 0, the bound port read
from --http-port-file), real durabletask workers from PyPI, and `requests` as the HTTP client.

`http_server` is shared by most tests (unique instance ids); `http_server_factory` starts private
servers with extra flags (tokens, TLS, a public base URL). Every server gets SIGTERM at the end and
must exit 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyharness"))
from taskhub_harness import (  # noqa: E402
    Taskhubd, make_client, pytest_runtest_makereport, sdk_logger, unique_id)

__all__ = ["pytest_runtest_makereport"]  # a hook, used by pytest

BASE_PATH = "/runtime/webhooks/durabletask"


@dataclass
class HttpTaskhubd:
    server: Taskhubd
    http_port: int
    scheme: str = "http"

    @property
    def address(self) -> str:  # gRPC, for workers and SDK clients
        return self.server.address

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}{BASE_PATH}"


def start_http_server(workdir: Path, extra_args: Sequence[str] = (),
                      scheme: str = "http") -> HttpTaskhubd:
    port_file = workdir / "http.port"
    srv = Taskhubd(workdir, extra_args=["--http-listen", "127.0.0.1:0",
                                        "--http-port-file", str(port_file), *extra_args])
    srv.start()  # taskhubd writes the HTTP port file before the gRPC one
    return HttpTaskhubd(srv, int(port_file.read_text().strip()), scheme)


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpTaskhubd]:
    s = start_http_server(tmp_path_factory.mktemp("taskhubd-http"))
    yield s
    rc = s.server.cleanup()
    assert rc == 0, f"taskhubd did not exit 0 on SIGTERM (rc={rc}):\n{s.server.log_tail()}"


@pytest.fixture
def http_server_factory(tmp_path_factory) -> Iterator[Callable[..., HttpTaskhubd]]:
    started: list[HttpTaskhubd] = []

    def make(extra_args: Sequence[str] = (), scheme: str = "http") -> HttpTaskhubd:
        s = start_http_server(tmp_path_factory.mktemp("taskhubd-http"), extra_args, scheme)
        started.append(s)
        return s

    yield make
    codes = {s.server.name: s.server.cleanup() for s in started}
    assert all(rc == 0 for rc in codes.values()), f"unclean taskhubd shutdown: {codes}"


@pytest.fixture
def start_worker(http_server) -> Iterator[Callable[..., object]]:
    """Starts a real durabletask worker (on the shared server unless `address` is given)."""
    workers = []

    def start(orchestrators: Iterable[Callable] = (), activities: Iterable[Callable] = (),
              entities: Iterable[Callable] = (), address: str | None = None):
        from durabletask import worker as dtworker
        w = dtworker.TaskHubGrpcWorker(host_address=address or http_server.address,
                                       logger=sdk_logger("worker"))
        for fn in orchestrators:
            w.add_orchestrator(fn)
        for fn in activities:
            w.add_activity(fn)
        for fn in entities:
            w.add_entity(fn)
        w.start()
        workers.append(w)
        return w

    yield start
    for w in reversed(workers):
        w.stop()


@pytest.fixture
def sdk_client(http_server):
    c = make_client(http_server.address)
    yield c
    c.close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    return unique_id(request, "http")
