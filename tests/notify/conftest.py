"""Fixtures of the lifecycle-notification tests: a local webhook receiver (Python http.server) and
taskhubd servers from the shared harness (tests/pyharness). Hermetic: port 0, tmp_path, seeds
printed."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyharness"))
from taskhub_harness import (ServerSet, Taskhubd, client_factory,  # noqa: E402,F401
                             pytest_runtest_makereport)

__all__ = ["pytest_runtest_makereport", "client_factory"]


class Receiver:
    """A webhook endpoint. `respond(n)` decides the HTTP status of the n-th request (default 200).
    Every request is kept in `attempts`; the bodies answered 2xx in `delivered` (parsed JSON)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.attempts: list[tuple[int, dict[str, str], bytes]] = []
        self.delivered: list[dict] = []
        self.respond: Callable[[int], int] = lambda n: 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.cond:
                    status = receiver.respond(len(receiver.attempts))
                    receiver.attempts.append((status, dict(self.headers.items()), body))
                    if 200 <= status < 300:
                        receiver.delivered.append(json.loads(body))
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, pred: Callable[["Receiver"], bool], what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver: timed out waiting for {what}; delivered: "
                                         f"{[(d['subject'], d['type']) for d in self.delivered]}")
                self.cond.wait(left)

    def types_of(self, instance_id: str) -> list[str]:
        with self.cond:
            return [d["type"].rsplit(".", 1)[1] for d in self.delivered
                    if d["subject"] == instance_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify_signature(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    got = headers.get("X-Taskhub-Signature-256", "")
    want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(got, want)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def seed() -> int:
    s = int(os.environ.get("NOTIFY_SEED", random.randrange(2**32)))
    print(f"NOTIFY_SEED={s} (rerun with NOTIFY_SEED={s} to repeat the random choices)")
    return s


@pytest.fixture
def server_factory(tmp_path) -> Iterator[Callable[..., Taskhubd]]:
    """make(*extra_args) -> a started taskhubd on a fresh data dir; killed after the test."""
    servers = ServerSet(lambda: tmp_path / f"server{len(servers.servers)}")

    def make(*extra_args: str) -> Taskhubd:
        return servers.make(extra_args=extra_args)

    yield make
    servers.finish(kill=True)
