"""taskhubd must keep everything it acknowledged across `kill -9` and restart.

A few hundred orchestrations (timers of 1-3 s, an activity chain, a small fan-out) run against a
real taskhubd while the test kills it with SIGKILL at seeded random moments and restarts it on the
same data directory and the same port. The real Durable Task Python SDK worker runs in a separate
process (crash_worker.py) and reconnects by itself; the client retries starts on UNAVAILABLE.

Checked:
  * after every restart, every instance whose schedule_new_orchestration returned before the kill
    still exists;
  * in the end every started instance COMPLETES with exactly the expected output;
  * each history holds each task and timer exactly once (no duplicated completions);
  * a graceful SIGTERM stop exits 0.

Knobs (environment): CRASH_SEED, CRASH_INSTANCES (300), CRASH_KILLS (4),
CRASH_COMPLETION_TIMEOUT (180 s).
"""

from __future__ import annotations

import collections
import json
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import grpc
from durabletask.client import OrchestrationStatus

from crash_support import make_client, pick_free_port, retry_unavailable

N_INSTANCES = int(os.environ.get("CRASH_INSTANCES", "300"))
N_KILLS = int(os.environ.get("CRASH_KILLS", "4"))
COMPLETION_TIMEOUT_S = float(os.environ.get("CRASH_COMPLETION_TIMEOUT", "180"))
START_SPREAD_S = 12.0  # schedule the load over this long, so kills land in the middle of starts
START_GIVE_UP_S = 90.0  # one instance: stop retrying UNAVAILABLE after this long

# kind -> (orchestrator name, number of activities it schedules, number of timers)
KINDS = {
    "chain": ("crash_chain", 3, 1),
    "fanout": ("crash_fanout", 4, 1),
    "mixed": ("crash_mixed", 2, 1),
}


def _step(value: int, k: int) -> int:
    return (value * 31 + k * 7 + 1) % 1_000_003


def expected_output(kind: str, seed: int) -> Any:
    """Independent model of crash_worker.py's orchestrations."""
    if kind == "chain":
        value = seed
        for k in range(3):
            value = _step(value, k)
        return value
    if kind == "fanout":
        parts = [(seed + j) ** 2 for j in range(4)]
        return {"sum": sum(parts), "parts": parts}
    if kind == "mixed":
        first = _step(seed, 10)
        return [first, (first % 1000) ** 2]
    raise ValueError(kind)


@dataclass(frozen=True)
class Planned:
    instance_id: str
    kind: str
    input: dict

    @property
    def orchestrator(self) -> str:
        return KINDS[self.kind][0]

    @property
    def expected(self) -> Any:
        return expected_output(self.kind, self.input["seed"])


def plan_load(rng: random.Random, n: int, tag: str) -> list[Planned]:
    kinds = list(KINDS)
    return [Planned(instance_id=f"crash-{tag}-{i:04d}", kind=kinds[i % len(kinds)],
                    input={"seed": rng.randrange(1, 1_000_000), "timer": rng.choice([1, 2, 3])})
            for i in range(n)]


class Starter(threading.Thread):
    """Schedules the planned instances at a steady pace, retrying while the server is down.

    An instance counts as acknowledged once schedule_new_orchestration returned. ALREADY_EXISTS on
    a retry means an earlier attempt was committed but its reply was lost in the kill: the instance
    exists, so that counts as acknowledged too."""

    def __init__(self, address: str, plan: list[Planned], spread_s: float):
        super().__init__(name="starter", daemon=True)
        self.address = address
        self.plan = plan
        self.spread_s = spread_s
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}
        self.unavailable_retries = 0
        self.errors: list[str] = []

    def acked_snapshot(self) -> set[str]:
        with self.lock:
            return set(self.acked)

    def run(self) -> None:
        client = make_client(self.address)
        try:
            t0 = time.monotonic()
            for i, p in enumerate(self.plan):
                delay = t0 + self.spread_s * i / len(self.plan) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self._start_one(client, p)
        except BaseException as e:  # reported by the test thread
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            client.close()

    def _start_one(self, client, p: Planned) -> None:
        deadline = time.monotonic() + START_GIVE_UP_S
        attempts = 0
        while True:
            attempts += 1
            try:
                client.schedule_new_orchestration(p.orchestrator, input=p.input,
                                                  instance_id=p.instance_id)
                how = "ok"
            except grpc.RpcError as e:
                code = e.code()
                if code == grpc.StatusCode.UNAVAILABLE and time.monotonic() < deadline:
                    with self.lock:
                        self.unavailable_retries += 1
                    time.sleep(0.1)
                    continue
                if code == grpc.StatusCode.ALREADY_EXISTS and attempts > 1:
                    how = "already-exists-on-retry"
                else:
                    raise AssertionError(f"schedule {p.instance_id} (attempt {attempts}): "
                                         f"{code} {e.details()}") from None
            with self.lock:
                self.acked[p.instance_id] = how
            return


def missing_instances(client, instance_ids) -> list[str]:
    return [iid for iid in sorted(instance_ids)
            if retry_unavailable(lambda: client.get_orchestration_state(
                iid, fetch_payloads=False)) is None]


def wait_all_completed(client, plan: list[Planned], timeout: float) -> tuple[dict, list, list]:
    """Polls until every planned instance is terminal. Returns (still pending, wrong, missing)."""
    pending = {p.instance_id: p for p in plan}
    last_status: dict[str, str] = {}
    wrong: list[str] = []
    missing: list[str] = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for iid, p in list(pending.items()):
            state = retry_unavailable(lambda: client.get_orchestration_state(iid))
            if state is None:
                missing.append(iid)
                del pending[iid]
                continue
            status = state.runtime_status
            last_status[iid] = status.name
            if status == OrchestrationStatus.COMPLETED:
                output = json.loads(state.serialized_output) if state.serialized_output else None
                if output != p.expected:
                    wrong.append(f"{iid} ({p.kind}, input {p.input}): output {output!r}, "
                                 f"expected {p.expected!r}")
                del pending[iid]
            elif status in (OrchestrationStatus.FAILED, OrchestrationStatus.TERMINATED):
                fd = state.failure_details
                wrong.append(f"{iid} ({p.kind}): {status.name}: "
                             f"{fd.error_type + ': ' + fd.message if fd else 'no details'}")
                del pending[iid]
        if pending:
            time.sleep(0.5)
    return {iid: last_status.get(iid, "?") for iid in pending}, wrong, missing


def history_problems(client, p: Planned) -> list[str]:
    """Each task and timer must appear exactly once, each completion matching its schedule."""
    events = retry_unavailable(lambda: client.get_orchestration_history(p.instance_id))
    counts = collections.Counter(type(e).__name__ for e in events)
    _, n_tasks, n_timers = KINDS[p.kind]
    want = {"ExecutionStartedEvent": 1, "ExecutionCompletedEvent": 1,
            "TaskScheduledEvent": n_tasks, "TaskCompletedEvent": n_tasks,
            "TimerCreatedEvent": n_timers, "TimerFiredEvent": n_timers,
            "TaskFailedEvent": 0}
    problems = [f"{p.instance_id}: {name} x{counts.get(name, 0)}, want {n}"
                for name, n in want.items() if counts.get(name, 0) != n]
    scheduled = sorted(e.event_id for e in events if type(e).__name__ == "TaskScheduledEvent")
    completed = sorted(e.task_scheduled_id for e in events
                       if type(e).__name__ == "TaskCompletedEvent")
    if scheduled != completed:
        problems.append(f"{p.instance_id}: TaskScheduled ids {scheduled} "
                        f"!= TaskCompleted taskScheduledIds {completed}")
    return problems


def assert_load_completed(client, starter: Starter, plan: list[Planned], crash_seed: int,
                          t0: float, timeout: float) -> None:
    """After a load cut by crashes or outages: every start was acknowledged, none of them is
    missing, every instance finishes within `timeout` with its exact output, and each history
    holds every task exactly once."""
    starter.join(timeout=START_GIVE_UP_S + 60)
    assert not starter.is_alive(), "starter thread hung"
    assert not starter.errors, f"seed {crash_seed}: starting instances failed: {starter.errors}"
    assert len(starter.acked) == len(plan)
    print(f"starts: {len(plan)} acknowledged, {starter.unavailable_retries} UNAVAILABLE retries, "
          f"{sum(v != 'ok' for v in starter.acked.values())} ALREADY_EXISTS on retry")

    lost = missing_instances(client, starter.acked)
    assert not lost, f"seed {crash_seed}: acknowledged instances lost: {lost[:10]}"

    pending, wrong, missing = wait_all_completed(client, plan, timeout)
    print(f"all terminal after {time.monotonic() - t0:.1f}s")
    assert not missing, f"seed {crash_seed}: acknowledged instances vanished: {missing[:10]}"
    assert not pending, (f"seed {crash_seed}: {len(pending)} instances not finished after "
                         f"{timeout}s: {dict(list(pending.items())[:10])}")
    assert not wrong, (f"seed {crash_seed}: {len(wrong)} instances with a wrong result:\n"
                       + "\n".join(wrong[:20]))

    problems = [msg for p in plan for msg in history_problems(client, p)]
    assert not problems, (f"seed {crash_seed}: {len(problems)} history problems:\n"
                          + "\n".join(problems[:20]))


def test_kill9_under_load_loses_nothing_and_outputs_are_exact(
        server_factory, worker_factory, crash_seed):
    rng = random.Random(crash_seed)
    plan = plan_load(rng, N_INSTANCES, f"{crash_seed:x}")
    server = server_factory(port=pick_free_port())
    load_worker = worker_factory("load", server.address)
    load_worker.wait_connected()
    client = make_client(server.address)

    starter = Starter(server.address, plan, START_SPREAD_S)
    t0 = time.monotonic()
    starter.start()
    kills = []
    for n in range(N_KILLS):
        time.sleep(rng.uniform(0.2, 5.0))  # short gaps also kill a server still recovering
        server.kill9()
        acked_before_kill = starter.acked_snapshot()
        down_s = rng.uniform(0.0, 1.5)
        time.sleep(down_s)
        server.start()
        kills.append(f"kill #{n + 1} at {time.monotonic() - t0:.1f}s, "
                     f"{len(acked_before_kill)} acked, down {down_s:.2f}s")
        lost = missing_instances(client, acked_before_kill)
        assert not lost, (f"seed {crash_seed}: {len(lost)} instances acknowledged before "
                          f"kill #{n + 1} are gone after restart: {lost[:10]}")
    print("\n".join(kills))

    assert_load_completed(client, starter, plan, crash_seed, t0, COMPLETION_TIMEOUT_S)

    assert load_worker.is_running(), "the SDK worker process died"
    client.close()
    assert server.stop() == 0, "taskhubd did not exit 0 on SIGTERM"


def test_completed_results_survive_kill9(server_factory, worker_factory, crash_seed):
    """Completed instances and their outputs are durable: kill -9 right after they complete,
    restart (on a new port, with a new client), and read them back unchanged."""
    rng = random.Random(crash_seed)
    plan = plan_load(rng, 30, f"done-{crash_seed:x}")
    plan = [Planned(p.instance_id, p.kind, {**p.input, "timer": 1}) for p in plan]
    server = server_factory()
    worker = worker_factory("done", server.address)
    worker.wait_connected()
    client = make_client(server.address)
    for p in plan:
        client.schedule_new_orchestration(p.orchestrator, input=p.input,
                                          instance_id=p.instance_id)
    pending, wrong, missing = wait_all_completed(client, plan, 60)
    assert not (pending or wrong or missing), (pending, wrong, missing)
    client.close()

    server.kill9()
    server.requested_port = 0
    server.start()
    client = make_client(server.address)
    pending, wrong, missing = wait_all_completed(client, plan, 10)
    assert not missing, f"completed instances lost by kill -9: {missing}"
    assert not pending, f"completed instances no longer terminal after restart: {pending}"
    assert not wrong, "\n".join(wrong)
    client.close()
    assert server.stop() == 0
