#!/usr/bin/env python3
"""Bounded soak test of taskhubd (not part of CI: run it by hand or on a schedule).

Runs one taskhubd (RocksDB store, temp data dir) for --minutes under a steady mixed load from the
real Python SDK: orchestrations with timers, activity chains and fan-outs (crash_chain,
crash_fanout, crash_mixed), instances that wait for an external event which the load then
raises, and echo instances. Every instance is purged once its output is checked, so the
store stays bounded and RSS growth means a leak, not data. Worker
processes (tests/crash/crash_worker.py) are churned: every --churn-seconds one is killed (SIGKILL
or SIGTERM, alternating) and a new one started.

Every --sample-seconds it prints taskhubd's RSS (VmRSS from /proc/<pid>/status), open files
(entries of /proc/<pid>/fd), threads, and the load's progress. After the warm-up (the first
--warmup-fraction of the run) the first sample is the baseline; the run FAILS (exit 1) if
  * RSS grows more than --max-rss-growth-mb (default 96 MiB) above the baseline (RocksDB's
    64 MiB block cache and its memtables, 64 MiB each, legitimately fill while it runs: most
    of that during the warm-up of a 30-minute run; a leak keeps growing past them),
  * open files grow more than --max-fd-growth (default 32) above the baseline,
  * taskhubd dies, a started orchestration does not finish with the exact expected output
    (checked on every completed instance), or fewer than --min-completions finish.

Usage (from the repository root, after tools/run-tests.sh has created build/test-venv):
  build/test-venv/bin/python tests/soak/soak.py                # 30 minutes
  build/test-venv/bin/python tests/soak/soak.py --minutes 3    # short run
Seeded (--seed, printed) so a run can be repeated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "crash"))

import grpc  # noqa: E402
from durabletask.client import OrchestrationStatus  # noqa: E402

from crash_support import Taskhubd, WorkerProcess, make_client  # noqa: E402
from test_crash_recovery import KINDS, expected_output  # noqa: E402


def step(value: int, k: int) -> int:
    return (value * 31 + k * 7 + 1) % 1_000_003


def proc_sample(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_kb": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


class Load(threading.Thread):
    """Keeps about `in_flight` instances running; checks every output; purges echo instances."""

    def __init__(self, address: str, rng: random.Random, in_flight: int):
        super().__init__(daemon=True, name="load")
        self.address, self.rng, self.in_flight = address, rng, in_flight
        self.stop = threading.Event()
        self.running: dict[str, tuple[str, dict]] = {}
        self.completed = self.purged = self.started = 0
        self.errors: list[str] = []
        self.n = 0

    def run(self) -> None:
        client = make_client(self.address)
        try:
            while not self.stop.is_set():
                while len(self.running) < self.in_flight:
                    self._start(client)
                self._poll(client)
                time.sleep(0.2)
        except BaseException as e:
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            client.close()

    def _start(self, client) -> None:
        self.n += 1
        kind = self.rng.choice(["chain", "fanout", "mixed", "wait", "echo"])
        inp = {"seed": self.rng.randrange(1, 1_000_000), "timer": self.rng.choice([1, 2])}
        name = KINDS[kind][0] if kind in KINDS else {"wait": "crash_wait_event",
                                                     "echo": "crash_echo"}[kind]
        iid = f"soak-{self.n:07d}-{kind}"
        client.schedule_new_orchestration(name, input=inp, instance_id=iid)
        if kind == "wait":
            client.raise_orchestration_event(iid, "go", data=inp["seed"])
        self.running[iid] = (kind, inp)
        self.started += 1

    def _expected(self, kind: str, inp: dict):
        if kind in KINDS:
            return expected_output(kind, inp["seed"])
        if kind == "wait":
            return {"event": inp["seed"], "result": step(inp["seed"], 5)}
        return inp

    def _poll(self, client) -> None:
        for iid, (kind, inp) in list(self.running.items()):
            state = client.get_orchestration_state(iid)
            if state is None or state.runtime_status not in (
                    OrchestrationStatus.COMPLETED, OrchestrationStatus.FAILED,
                    OrchestrationStatus.TERMINATED):
                continue
            del self.running[iid]
            out = json.loads(state.serialized_output) if state.serialized_output else None
            want = self._expected(kind, inp)
            if state.runtime_status != OrchestrationStatus.COMPLETED or out != want:
                self.errors.append(f"{iid}: {state.runtime_status.name} {out!r}, want {want!r}")
                continue
            self.completed += 1
            if client.purge_orchestration(iid).deleted_instance_count == 1:
                self.purged += 1
            else:
                self.errors.append(f"{iid}: purge deleted nothing")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--sample-seconds", type=float, default=10.0)
    ap.add_argument("--warmup-fraction", type=float, default=0.2)
    ap.add_argument("--max-rss-growth-mb", type=float, default=96.0)
    ap.add_argument("--max-fd-growth", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--churn-seconds", type=float, default=20.0)
    ap.add_argument("--in-flight", type=int, default=100)
    ap.add_argument("--min-completions", type=int, default=100)
    ap.add_argument("--seed", type=int, default=random.randrange(2**32))
    ap.add_argument("--taskhubd", default=os.environ.get(
        "TASKHUBD", str(REPO / "build" / "bin" / "taskhubd")))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (data and logs)")
    args = ap.parse_args()
    print(f"soak: {args.minutes} min, seed {args.seed}, bounds: RSS +{args.max_rss_growth_mb} MiB,"
          f" fds +{args.max_fd_growth} over the baseline after {args.warmup_fraction:.0%} warm-up",
          flush=True)
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="taskhub-soak-"))
    server = Taskhubd(Path(args.taskhubd), tmp / "data", tmp)
    server.start()
    workers: list[WorkerProcess] = []
    n_workers = 0

    def spawn() -> None:
        nonlocal n_workers
        n_workers += 1
        workers.append(WorkerProcess(f"w{n_workers}", server.address, tmp, []))

    for _ in range(args.workers):
        spawn()
    load = Load(server.address, random.Random(rng.random()), args.in_flight)
    load.start()
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    warm_until = t0 + args.minutes * 60 * args.warmup_fraction
    next_churn = t0 + args.churn_seconds
    baseline = None
    peak = {"rss_kb": 0, "fds": 0}
    failures: list[str] = []
    churns = 0
    print(f"{'t(s)':>7} {'RSS MiB':>8} {'fds':>5} {'thr':>4} {'started':>8} {'done':>8} "
          f"{'purged':>7} {'churns':>6}", flush=True)
    try:
        while time.monotonic() < end and not failures:
            time.sleep(min(args.sample_seconds, max(0.0, end - time.monotonic())))
            now = time.monotonic()
            if not server.is_running():
                failures.append(f"taskhubd exited with {server.proc.returncode}")
                break
            while now >= next_churn:
                victim = workers.pop(rng.randrange(len(workers)))
                if churns % 2 == 0:
                    victim.kill9()
                else:
                    victim.cleanup()  # SIGTERM
                spawn()
                churns += 1
                next_churn += args.churn_seconds
            s = proc_sample(server.proc.pid)
            print(f"{now - t0:7.0f} {s['rss_kb'] / 1024:8.1f} {s['fds']:5d} {s['threads']:4d} "
                  f"{load.started:8d} {load.completed:8d} {load.purged:7d} {churns:6d}"
                  + ("  (warm-up)" if now < warm_until else ""), flush=True)
            if load.errors:
                failures += load.errors[:10]
            if now < warm_until:
                continue
            if baseline is None:
                baseline = s
                continue
            peak = {k: max(peak[k], s[k]) for k in peak}
            if (s["rss_kb"] - baseline["rss_kb"]) / 1024 > args.max_rss_growth_mb:
                failures.append(f"RSS grew from {baseline['rss_kb'] / 1024:.1f} to "
                                f"{s['rss_kb'] / 1024:.1f} MiB")
            if s["fds"] - baseline["fds"] > args.max_fd_growth:
                failures.append(f"open files grew from {baseline['fds']} to {s['fds']}")
    finally:
        load.stop.set()
        load.join(timeout=30)
        for w in workers:
            w.cleanup()
        code = server.stop() if server.is_running() else server.proc.returncode
    if code != 0:
        failures.append(f"taskhubd exit code {code} after SIGTERM")
    if load.completed < args.min_completions:
        failures.append(f"only {load.completed} orchestrations completed")
    if baseline is not None:
        print(f"baseline RSS {baseline['rss_kb'] / 1024:.1f} MiB, fds {baseline['fds']}; peak "
              f"after warm-up RSS {peak['rss_kb'] / 1024:.1f} MiB, fds {peak['fds']}")
    print(f"{load.started} started, {load.completed} completed with the expected output, "
          f"{load.purged} purged, {churns} worker churns, seed {args.seed}")
    if args.keep or failures:
        print(f"logs and data kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
