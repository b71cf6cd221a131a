"""Fixtures for the /metrics, /healthz and /readyz tests.

Each test starts its own real taskhubd (tests/pyharness) with --http-listen 127.0.0.1:0;
the HTTP port is read from --http-port-file. Workers and clients are the real
durabletask==1.12.0 SDK. Scrapes are parsed with prometheus_client's text parser.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyharness"))
from taskhub_harness import (  # noqa: E402
    ServerSet, Taskhubd, client_factory, pytest_runtest_makereport, unique_id)

__all__ = ["client_factory", "pytest_runtest_makereport"]  # a fixture and a hook, used by pytest


class HttpServer:
    """The HTTP side of a started Taskhubd (its --http-port-file)."""

    def __init__(self, server: Taskhubd, port_file: Path):
        self.server = server
        self.port_file = port_file
        deadline = time.monotonic() + 30
        while True:
            text = port_file.read_text() if port_file.exists() else ""
            if text.endswith("\n") and text.strip().isdigit():
                break
            assert time.monotonic() < deadline, f"no HTTP port file:\n{server.log_tail()}"
            time.sleep(0.02)
        self.base = f"http://127.0.0.1:{int(text)}"

    def restart(self) -> "HttpServer":
        """Restarts the server (clean stop asserted) on its data dir; its new HTTP side."""
        self.server.stop_checked()
        self.port_file.unlink(missing_ok=True)
        self.server.start()
        return HttpServer(self.server, self.port_file)

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, content type, body) of GET path."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read().decode()

    def scrape(self) -> dict[str, float]:
        """GET /metrics, parsed: {"name{label=value,...}": value} for every sample, plus
        "#type:<family>" -> type for every family."""
        status, ctype, body = self.get("/metrics")
        assert status == 200, body
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        out: dict[str, float] = {}
        for fam in text_string_to_metric_families(body):
            out[f"#type:{fam.name}"] = fam.type
            for s in fam.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
        return out


@pytest.fixture
def http_factory(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Callable[..., tuple[Taskhubd, HttpServer]]]:
    """make(extra_args, data_dir=None) -> (a started taskhubd with --http-listen, its HTTP
    side); every server stopped after the test (SIGTERM, exit code 0 asserted)."""
    servers = ServerSet(lambda: tmp_path_factory.mktemp("taskhubd"))

    def make(extra_args: Sequence[str] = ()) -> tuple[Taskhubd, HttpServer]:
        workdir = tmp_path_factory.mktemp("http")
        port_file = workdir / "http.port"
        s = servers.make(extra_args=["--http-listen", "127.0.0.1:0",
                                     "--http-port-file", str(port_file), *extra_args])
        return s, HttpServer(s, port_file)

    yield make
    servers.finish(check_exit=True)


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> str:
    return unique_id(request, "metrics")
