"""Crash loop: `kill -9` taskhubd at seeded random moments under a mixed load, restart, check.

A load thread keeps starting orchestrations (the chain/fanout/mixed kinds of
test_crash_recovery.py, plus crash_wait_event, crash_long and crash_echo from crash_worker.py)
and sending control calls: raise an event to a waiting instance, terminate or suspend a long
(timer) instance, purge a completed echo instance. Meanwhile the main thread kills the server with
SIGKILL at a random moment, restarts it on the same data directory and port, and checks what the
killed process acknowledged:

  * every acknowledged start exists after the restart;
  * every acknowledged purge stays purged;
  * every instance seen terminal stays terminal with the same status and output;
  * the kill hit work in flight: some acknowledged instances were not finished at the kill
    (counted right after the restart: terminal states are durable, so an instance that is not
    terminal after the restart was not terminal at the kill), and control calls were
    acknowledged shortly before the kill (counted and printed).

At the end (everything resumed, every waiting instance sent its event again) every instance
reaches the expected final state: load kinds COMPLETED with the exact output; an acknowledged
raise -> output derived from that event's value; an acknowledged terminate -> TERMINATED; an
acknowledged suspend -> still SUSPENDED after its timer was due (then resumed: COMPLETED);
and every history holds each activity and timer exactly once.

Calls that fail while the server is down are retried for starts (ALREADY_EXISTS on a retry
counts as acknowledged) and recorded as "unknown" for control calls, which then may or may not
have applied (both outcomes are accepted, nothing else).

Knobs (environment): CRASH_SEED, CRASH_LOOP_ITERATIONS (5; the long form is 50),
CRASH_LOOP_MAX_GAP (2.5 s of load between kills at most).
"""

from __future__ import annotations

import collections
import json
import os
import random
import threading
import time
import traceback
from dataclasses import dataclass, field

import grpc
from durabletask.client import OrchestrationStatus

from crash_support import make_client, pick_free_port
from test_crash_recovery import KINDS, expected_output, retry_unavailable

ITERATIONS = int(os.environ.get("CRASH_LOOP_ITERATIONS", "5"))
MAX_GAP_S = float(os.environ.get("CRASH_LOOP_MAX_GAP", "2.5"))
FINAL_TIMEOUT_S = 120.0
TERMINAL = (OrchestrationStatus.COMPLETED, OrchestrationStatus.FAILED,
            OrchestrationStatus.TERMINATED)
CONTROL_OPS = ("raise", "terminate", "suspend", "purge")


def step(value: int, k: int) -> int:
    return (value * 31 + k * 7 + 1) % 1_000_003


@dataclass
class Inst:
    iid: str
    kind: str  # chain | fanout | mixed | wait | long | echo
    input: dict
    control: str = ""  # long: "terminate" | "suspend" | ""
    # control op outcome: "" (not sent), "acked", "unknown", "rejected"
    op: str = ""  # "sending" while the call is out
    op_acked_at: float = 0.0
    first_sent_at: float = 0.0  # of the start call: its timers fire after this + "timer"

    @property
    def orchestrator(self) -> str:
        if self.kind in KINDS:
            return KINDS[self.kind][0]
        return {"wait": "crash_wait_event", "long": "crash_long", "echo": "crash_echo"}[self.kind]


@dataclass
class Ledger:
    """What the load thread sent and what was acknowledged; guarded by `lock`."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: dict[str, Inst] = field(default_factory=dict)  # acknowledged starts
    purged: set[str] = field(default_factory=set)  # acknowledged purges
    seen_terminal: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    acks: list[tuple[float, str, str]] = field(default_factory=list)  # (time, op, iid)
    unknown: collections.Counter = field(default_factory=collections.Counter)


class Load(threading.Thread):
    def __init__(self, address: str, rng: random.Random, ledger: Ledger, tag: str):
        super().__init__(name="load", daemon=True)
        self.address = address
        self.rng = rng
        self.ledger = ledger
        self.tag = tag
        self.n = 0
        self.stop = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        client = make_client(self.address)
        try:
            while not self.stop.is_set():
                self._one(client)
                time.sleep(0.005)
        except BaseException as e:  # reported by the test thread
            self.errors.append(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            client.close()

    # --- ops -----------------------------------------------------------------------------
    def _one(self, client) -> None:
        r = self.rng.random()
        if r < 0.45:
            self._start(client, self._new())
        elif r < 0.60:
            self._control(client, "raise")
        elif r < 0.75:
            self._control(client, "terminate")
        elif r < 0.85:
            self._control(client, "suspend")
        else:
            self._control(client, "purge")

    def _new(self) -> Inst:
        self.n += 1
        kind = self.rng.choice(["chain", "fanout", "mixed", "wait", "wait", "long", "long",
                                "long", "echo", "echo"])
        seed = self.rng.randrange(1, 1_000_000)
        inp: dict = {"seed": seed, "timer": self.rng.choice([1, 2])}
        control = ""
        if kind == "long":
            inp["timer"] = self.rng.choice([2, 3, 4])
            control = self.rng.choice(["terminate", "suspend", ""])
        return Inst(f"loop-{self.tag}-{self.n:05d}-{kind}", kind, inp, control)

    def _start(self, client, inst: Inst) -> None:
        attempts = 0
        inst.first_sent_at = time.monotonic()
        while True:
            attempts += 1
            try:
                client.schedule_new_orchestration(inst.orchestrator, input=inst.input,
                                                  instance_id=inst.iid)
                break
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNAVAILABLE:
                    if self.stop.is_set():
                        return  # never acknowledged: not part of the ledger
                    time.sleep(0.05)
                    continue
                if e.code() == grpc.StatusCode.ALREADY_EXISTS and attempts > 1:
                    break
                raise AssertionError(f"start {inst.iid}: {e.code()} {e.details()}") from None
        with self.ledger.lock:
            self.ledger.started[inst.iid] = inst
            self.ledger.acks.append((time.monotonic(), "start", inst.iid))

    def _pick(self, op: str) -> Inst | None:
        with self.ledger.lock:
            if op == "raise":
                cands = [i for i in self.ledger.started.values() if i.kind == "wait" and not i.op]
            elif op == "purge":
                cands = [i for i in self.ledger.started.values() if i.kind == "echo" and not i.op]
            else:
                # Only while the timer is at least 1 s away: an episode that completes the
                # instance cannot be in flight, so the call must win.
                now = time.monotonic()
                cands = [i for i in self.ledger.started.values()
                         if i.kind == "long" and i.control == op and not i.op
                         and now < i.first_sent_at + i.input["timer"] - 1.0]
            inst = self.rng.choice(cands) if cands else None
            if inst is not None:
                inst.op = "sending"
        return inst

    def _control(self, client, op: str) -> None:
        inst = self._pick(op)
        if inst is None:
            return
        try:
            if op == "raise":
                client.raise_orchestration_event(inst.iid, "go", data=inst.input["seed"])
            elif op == "terminate":
                client.terminate_orchestration(inst.iid, output="terminated-by-loop")
            elif op == "suspend":
                client.suspend_orchestration(inst.iid, reason="loop")
            else:
                state = client.get_orchestration_state(inst.iid)
                if state is None or state.runtime_status != OrchestrationStatus.COMPLETED:
                    with self.ledger.lock:
                        inst.op = ""  # not done yet: try again later
                    return
                with self.ledger.lock:
                    self.ledger.seen_terminal[inst.iid] = (state.runtime_status.name,
                                                           state.serialized_output)
                result = client.purge_orchestration(inst.iid)
                if result.deleted_instance_count != 1:
                    raise AssertionError(f"purge {inst.iid}: deleted "
                                         f"{result.deleted_instance_count}")
        except grpc.RpcError as e:
            code = e.code()
            with self.ledger.lock:
                if code == grpc.StatusCode.FAILED_PRECONDITION and op != "raise":
                    inst.op = "rejected"  # it finished first
                elif code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                              grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN,
                              grpc.StatusCode.INTERNAL):
                    inst.op = "unknown"  # sent around a kill: may or may not have applied
                    self.ledger.unknown[op] += 1
                else:
                    raise AssertionError(f"{op} {inst.iid}: {code} {e.details()}") from None
            time.sleep(0.05)
            return
        now = time.monotonic()
        with self.ledger.lock:
            inst.op = "acked"
            inst.op_acked_at = now
            if op == "purge":
                self.ledger.purged.add(inst.iid)
                self.ledger.seen_terminal.pop(inst.iid, None)
            self.ledger.acks.append((now, op, inst.iid))


def expected_final(inst: Inst) -> tuple[set[str], object]:
    """(allowed final statuses, expected output or None when not checked) after the cleanup."""
    if inst.kind in KINDS:
        return {"COMPLETED"}, expected_output(inst.kind, inst.input["seed"])
    if inst.kind == "wait":
        seed = inst.input["seed"]
        return {"COMPLETED"}, {"event": seed, "result": step(seed, 5)}
    if inst.kind == "echo":
        return {"COMPLETED"}, inst.input
    # long
    if inst.control == "terminate" and inst.op == "acked":
        return {"TERMINATED"}, "terminated-by-loop"
    if inst.control == "terminate" and inst.op == "unknown":
        return {"TERMINATED", "COMPLETED"}, None
    return {"COMPLETED"}, "long-done"


def history_problems(client, inst: Inst) -> list[str]:
    """Every activity and timer of the instance is recorded exactly once."""
    events = retry_unavailable(lambda: client.get_orchestration_history(inst.iid))
    counts = collections.Counter(type(e).__name__ for e in events)
    if inst.kind in KINDS:
        _, n_tasks, n_timers = KINDS[inst.kind]
    elif inst.kind == "wait":
        n_tasks, n_timers = 1, 0
    elif inst.kind == "long":
        n_tasks, n_timers = 0, (0 if counts.get("ExecutionTerminatedEvent") else 1)
        if counts.get("ExecutionTerminatedEvent"):
            return []  # terminated: the timer may or may not have been created
    else:
        n_tasks, n_timers = 0, 0
    want = {"ExecutionStartedEvent": 1, "TaskScheduledEvent": n_tasks,
            "TaskCompletedEvent": n_tasks, "TimerCreatedEvent": n_timers,
            "TimerFiredEvent": n_timers, "TaskFailedEvent": 0}
    problems = [f"{inst.iid} ({inst.kind}, control {inst.control or '-'} {inst.op or '-'}): "
                f"{name} x{counts.get(name, 0)}, want {n}"
                for name, n in want.items() if counts.get(name, 0) != n]
    if problems:
        problems.append(f"{inst.iid} history: "
                        + " ".join(type(e).__name__.removesuffix("Event") for e in events[:40]))
    scheduled = sorted(e.event_id for e in events if type(e).__name__ == "TaskScheduledEvent")
    completed = sorted(e.task_scheduled_id for e in events
                       if type(e).__name__ == "TaskCompletedEvent")
    if scheduled != completed:
        problems.append(f"{inst.iid}: scheduled {scheduled} != completed {completed}")
    return problems


def check_after_restart(client, ledger: Ledger, started, purged, seen, n: int, seed: int) -> int:
    """Checks what the killed server acknowledged. Returns how many acknowledged instances
    were unfinished at the kill. The load keeps running meanwhile, so an instance it purged
    since the restart (or is purging) may be gone too."""

    def purging(iid: str) -> bool:
        with ledger.lock:
            inst = ledger.started[iid]
            return inst.kind == "echo" and inst.op in ("sending", "unknown", "acked")

    unfinished = 0
    for iid in sorted(started):
        state = retry_unavailable(lambda: client.get_orchestration_state(iid))
        if iid in purged:
            assert state is None, f"seed {seed} kill #{n}: purged {iid} is back after restart"
            continue
        if state is None and purging(iid):
            continue
        assert state is not None, (f"seed {seed} kill #{n}: acknowledged start {iid} is gone "
                                   f"after restart")
        if state.runtime_status not in TERMINAL:
            unfinished += 1
    for iid, (status, output) in sorted(seen.items()):
        if iid in purged:
            continue
        state = retry_unavailable(lambda: client.get_orchestration_state(iid))
        if state is None and purging(iid):
            continue
        assert state is not None, f"seed {seed} kill #{n}: terminal {iid} is gone"
        assert (state.runtime_status.name, state.serialized_output) == (status, output), (
            f"seed {seed} kill #{n}: {iid} was {status} {output!r}, now "
            f"{state.runtime_status.name} {state.serialized_output!r}")
    return unfinished


def test_crash_loop_kill9_at_random_points(server_factory, worker_factory, crash_seed):
    rng = random.Random(crash_seed)
    print(f"crash loop: {ITERATIONS} kills, seed {crash_seed}")
    server = server_factory(port=pick_free_port())
    worker = worker_factory("loop", server.address)
    worker.wait_connected()
    client = make_client(server.address)
    ledger = Ledger()
    load = Load(server.address, random.Random(rng.random()), ledger, f"{crash_seed:x}")
    load.start()
    t0 = time.monotonic()
    rows = []
    ops_near_kill: collections.Counter = collections.Counter()
    try:
        for n in range(1, ITERATIONS + 1):
            time.sleep(rng.uniform(1.0 if n == 1 else 0.2, MAX_GAP_S))
            server.kill9()
            killed_at = time.monotonic()
            with ledger.lock:  # everything recorded now was answered by the killed process
                started = set(ledger.started)
                purged = set(ledger.purged)
                seen = dict(ledger.seen_terminal)
                recent = collections.Counter(op for t, op, _ in ledger.acks
                                             if killed_at - t < 1.0)
            ops_near_kill.update({k: v for k, v in recent.items() if k in CONTROL_OPS})
            down_s = rng.uniform(0.0, 0.5)
            time.sleep(down_s)
            server.start()
            unfinished = check_after_restart(client, ledger, started, purged, seen, n,
                                             crash_seed)
            assert unfinished > 0, (f"seed {crash_seed} kill #{n}: every acknowledged instance "
                                    f"was finished at the kill: it hit no work in flight "
                                    f"({len(started)} started; load errors: {load.errors})")
            # New terminal states to watch from now on.
            for iid in rng.sample(sorted(started - purged), min(20, len(started - purged))):
                state = retry_unavailable(lambda: client.get_orchestration_state(iid))
                if state is not None and state.runtime_status in TERMINAL:
                    with ledger.lock:
                        if iid not in ledger.purged:
                            ledger.seen_terminal[iid] = (state.runtime_status.name,
                                                         state.serialized_output)
            rows.append(f"kill #{n} at {killed_at - t0:.1f}s: {len(started)} started, "
                        f"{unfinished} unfinished at the kill, acked in the last 1 s: "
                        f"{dict(recent)}, down {down_s:.2f}s")
            assert not load.errors, f"seed {crash_seed}: load failed: {load.errors}"
    finally:
        load.stop.set()
        load.join(timeout=60)
        print("\n".join(rows))
    assert not load.errors, f"seed {crash_seed}: load failed: {load.errors}"

    # Cleanup so everything can finish: resume what is suspended (after checking it stayed
    # suspended past its timer), send each waiting instance its event (again).
    with ledger.lock:
        insts = list(ledger.started.values())
        purged = set(ledger.purged)
        print(f"acknowledged: {len(insts)} starts, "
              + ", ".join(f"{op} {sum(1 for _, o, _ in ledger.acks if o == op)}"
                          for op in CONTROL_OPS)
              + f"; unknown (sent around a kill): {dict(ledger.unknown)}; "
              f"control calls acked < 1 s before a kill: {dict(ops_near_kill)}")
    for op in CONTROL_OPS:
        assert any(o == op for _, o, _ in ledger.acks), f"no {op} was ever acknowledged"
    suspended = [i for i in insts if i.kind == "long" and i.control == "suspend"
                 and i.op == "acked"]
    if suspended:
        due = max(i.op_acked_at for i in suspended) + 4.5  # every timer of a long is <= 4 s
        time.sleep(max(0.0, due - time.monotonic()))
        for inst in suspended:
            deadline = time.monotonic() + 30
            while True:
                state = retry_unavailable(lambda: client.get_orchestration_state(inst.iid))
                if state.runtime_status == OrchestrationStatus.SUSPENDED:
                    break
                assert state.runtime_status not in TERMINAL, (
                    f"seed {crash_seed}: {inst.iid} was suspended (acknowledged) but ended "
                    f"{state.runtime_status.name}: the suspend was lost")
                assert time.monotonic() < deadline, f"{inst.iid} never became SUSPENDED"
                time.sleep(0.1)
    for inst in insts:
        if inst.kind == "long" and inst.control == "suspend" and inst.op in ("acked", "unknown"):
            try:
                retry_unavailable(lambda: client.resume_orchestration(inst.iid))
            except grpc.RpcError as e:  # an unknown suspend that did not apply: it finished
                if inst.op == "acked" or e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                    raise
        if inst.kind == "wait" and inst.op != "acked":
            retry_unavailable(lambda: client.raise_orchestration_event(
                inst.iid, "go", data=inst.input["seed"]))

    pending = {i.iid: i for i in insts if i.iid not in purged}
    wrong: list[str] = []
    deadline = time.monotonic() + FINAL_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        for iid, inst in list(pending.items()):
            state = retry_unavailable(lambda: client.get_orchestration_state(iid))
            if state is None:
                if inst.kind == "echo" and inst.op == "unknown":
                    del pending[iid]  # an unknown purge that applied
                    continue
                wrong.append(f"{iid}: gone")
                del pending[iid]
                continue
            if state.runtime_status not in TERMINAL:
                continue
            del pending[iid]
            allowed, output = expected_final(inst)
            got = json.loads(state.serialized_output) if state.serialized_output else None
            if state.runtime_status.name not in allowed or (output is not None
                                                            and got != output):
                wrong.append(f"{iid} ({inst.kind}, control {inst.control or '-'} "
                             f"{inst.op or '-'}): {state.runtime_status.name} {got!r}, want "
                             f"{sorted(allowed)} {output!r}")
        if pending:
            time.sleep(0.3)
    assert not pending, (f"seed {crash_seed}: {len(pending)} not finished after "
                         f"{FINAL_TIMEOUT_S}s: {sorted(pending)[:10]}")
    assert not wrong, f"seed {crash_seed}: {len(wrong)} wrong:\n" + "\n".join(wrong[:20])
    problems = [p for i in insts if i.iid not in purged
                and retry_unavailable(lambda: client.get_orchestration_state(i.iid)) is not None
                for p in history_problems(client, i)]
    assert not problems, f"seed {crash_seed}: history problems:\n" + "\n".join(problems[:20])
    assert worker.is_running(), "the SDK worker process died"
    client.close()
    assert server.stop() == 0, "taskhubd did not exit 0 on SIGTERM"
