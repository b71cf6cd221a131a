"""taskhubd over Azure Storage loses nothing it acknowledged when the storage goes away mid-load,
and recovers by itself once it is back (no restart of taskhubd).

Both tests run the crash suite's load (test_crash_recovery.py: orchestrations with a timer, an
activity chain or a fan-out, started at a steady pace by a client that retries UNAVAILABLE, run by
the real Python SDK worker in its own process) against `taskhubd --store azure` on an Azurite of
their own that keeps its data in a directory, and take the storage away for a few seconds:

  * test_azurite_restart_mid_load: Azurite is stopped and started again on the same ports and the
    same directory; new connections are refused meanwhile.
  * test_storage_connections_cut_mid_load: a TCP proxy between taskhubd and Azurite resets every
    open connection (requests in flight included, so taskhubd cannot know whether they were
    applied) and refuses new ones for a few seconds.

Azurite is stopped with SIGTERM, not SIGKILL: it keeps its metadata (every table entity) in LokiJS
databases that it saves to disk every 5 s, so a SIGKILL loses the writes it acknowledged in the
last seconds, which a storage account never does. The proxy gives the abrupt failure (connections
reset mid-request) without storage losing data.

Checked: every start acknowledged before the outage still exists after it; every started instance
COMPLETES with exactly the expected output, each task and timer in its history exactly once;
taskhubd still reports SERVING (it did not give up on its store) and exits 0 on SIGTERM; the
account key never appears in its log.

Knobs (environment): CRASH_SEED, OUTAGE_INSTANCES (120), OUTAGE_SECONDS (4).
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Callable

import grpc
import pytest

from crash_support import make_client, retry_unavailable
from taskhub_harness import (AZURITE_KEY, Azurite, Taskhubd, azurite_connection_string,
                             health_check, tail)
from test_crash_recovery import (Starter, assert_load_completed, missing_instances, plan_load,
                                 wait_all_completed)

N_INSTANCES = int(os.environ.get("OUTAGE_INSTANCES", "120"))
OUTAGE_S = float(os.environ.get("OUTAGE_SECONDS", "4"))
START_SPREAD_S = 12.0
COMPLETION_TIMEOUT_S = 180.0


class CuttableProxy:
    """A TCP proxy 127.0.0.1:port -> 127.0.0.1:target. cut() resets every open connection (both
    sides get an RST) and refuses new ones until resume(), which listens on the same port."""

    def __init__(self, target: int):
        self.target = target
        self.port = 0
        self.lock = threading.Lock()
        self.conns: set[socket.socket] = set()
        self.listener: socket.socket | None = None
        self.resume()

    def resume(self) -> None:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(128)
        self.port = ls.getsockname()[1]
        self.listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                down, _ = ls.accept()
            except OSError:
                return  # cut(): the listener was shut down
            try:
                up = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                down.close()
                continue
            with self.lock:
                self.conns.update((down, up))
            for src, dst in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):  # close with linger 0 after cut() set it: an RST
            with self.lock:
                self.conns.discard(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self) -> None:
        assert self.listener is not None
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); new connections refused
        self.listener.close()
        self.listener = None
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RD)  # wakes the pump's recv(); it closes both: RST
            except OSError:
                pass

    def close(self) -> None:
        if self.listener is not None:
            self.cut()


def health_status(address: str) -> int:
    """grpc.health.v1.Health/Check for "": 1 = SERVING, 2 = NOT_SERVING."""
    with grpc.insecure_channel(address) as channel:
        return health_check(channel)


@pytest.fixture
def azurite(tmp_path) -> Azurite:
    az = Azurite(tmp_path / "azurite", name="azurite-outage")
    az.start()
    yield az
    az.cleanup(kill=True)


def run_with_outage(tmp_path: Path, worker_factory, crash_seed: int, connection_string: str,
                    outage: Callable[[float], None], tag: str) -> None:
    rng = random.Random(crash_seed)
    plan = plan_load(rng, N_INSTANCES, f"{tag}-{crash_seed:x}")
    server = Taskhubd(tmp_path / "server", store="azure", connection_string=connection_string)
    try:
        server.start()
        worker = worker_factory("load", server.address)
        worker.wait_connected()
        client = make_client(server.address)
        starter = Starter(server.address, plan, START_SPREAD_S)
        t0 = time.monotonic()
        starter.start()
        time.sleep(rng.uniform(2.0, 5.0))
        acked_before = starter.acked_snapshot()
        down_s = OUTAGE_S * rng.uniform(0.75, 1.25)
        print(f"outage at {time.monotonic() - t0:.1f}s for {down_s:.1f}s, "
              f"{len(acked_before)} starts acknowledged")
        outage(down_s)
        lost = missing_instances(client, acked_before)
        assert not lost, (f"seed {crash_seed}: {len(lost)} instances acknowledged before the "
                          f"outage are gone: {lost[:10]}")

        assert_load_completed(client, starter, plan, crash_seed, t0, COMPLETION_TIMEOUT_S)
        client.close()

        assert retry_unavailable(lambda: health_status(server.address)) == 1, (
            f"taskhubd gave up on its store after the outage:\n{tail(server.log_path)}")
        assert worker.is_running(), "the SDK worker process died"
        assert server.stop() == 0, "taskhubd did not exit 0 on SIGTERM"
        assert AZURITE_KEY not in server.log_path.read_text(errors="replace"), (
            "the account key is in taskhubd's log")
    finally:
        server.cleanup(kill=True)


def test_azurite_restart_mid_load(tmp_path, azurite, worker_factory, crash_seed):
    def outage(down_s: float) -> None:
        t = time.monotonic()
        assert azurite.stop() == 0, f"Azurite did not stop cleanly:\n{tail(azurite.log_path)}"
        time.sleep(max(0.0, down_s - (time.monotonic() - t)))
        azurite.start()  # same ports, same data directory
        print(f"Azurite down for {time.monotonic() - t:.1f}s")

    run_with_outage(tmp_path, worker_factory, crash_seed, azurite.connection_string, outage,
                    "restart")


def test_storage_connections_cut_mid_load(tmp_path, azurite, worker_factory, crash_seed):
    proxies = {s: CuttableProxy(port) for s, port in azurite.ports.items()}

    def outage(down_s: float) -> None:
        for p in proxies.values():
            p.cut()
        time.sleep(down_s)
        for p in proxies.values():
            p.resume()

    try:
        run_with_outage(tmp_path, worker_factory, crash_seed,
                        azurite_connection_string({s: p.port for s, p in proxies.items()}),
                        outage, "cut")
    finally:
        for p in proxies.values():
            p.close()


def test_storage_stats_file_and_shutdown_counts(tmp_path, azurite, worker_factory):
    """--storage-stats-file holds the counts as JSON, rewritten while taskhubd runs (and at exit);
    the shutdown log line reports the same total."""
    stats = tmp_path / "stats.json"
    server = Taskhubd(tmp_path / "server", store="azure",
                      connection_string=azurite.connection_string,
                      extra_args=["--storage-stats-file", str(stats), "--log-level", "info"])
    try:
        server.start()
        first = json.loads(stats.read_text())
        assert first["total"] > 0 and first["total"] == sum(
            v for k, v in first.items() if k != "total"), first
        worker = worker_factory("stats", server.address)
        worker.wait_connected()
        client = make_client(server.address)
        plan = plan_load(random.Random(1), 3, "stats")
        for p in plan:
            client.schedule_new_orchestration(p.orchestrator, input=p.input,
                                              instance_id=p.instance_id)
        pending, wrong, missing = wait_all_completed(client, plan, 60)
        assert not (pending or wrong or missing), (pending, wrong, missing)
        client.close()
        deadline = time.monotonic() + 10
        while json.loads(stats.read_text())["total"] <= first["total"]:
            assert time.monotonic() < deadline, "the stats file was not rewritten"
            time.sleep(0.1)
        assert server.stop() == 0
        final = json.loads(stats.read_text())
        lines = [ln for ln in server.log_path.read_text().splitlines()
                 if "storage transactions:" in ln]
        assert len(lines) == 1 and f"total={final['total']}" in lines[0], (lines, final)
    finally:
        server.cleanup(kill=True)
