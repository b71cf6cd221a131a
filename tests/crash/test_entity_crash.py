"""Entities across `kill -9` of taskhubd: no signal lost or applied twice, calls answered once.

A client thread sends a stream of SignalEntity requests (op "add", input = a unique integer
marker) to a few crash_ledger entities, one at a time, while the test kills taskhubd with SIGKILL
at seeded random moments and restarts it on the same data directory and port. The entity
(crash_worker.py, the real Python SDK in its own process) appends each marker it applies to its
state, so the state is the exact record of what was applied.

A request that fails with UNAVAILABLE or DEADLINE_EXCEEDED (the server died before or after
committing it) is retried with the SAME requestId, as a client that lost a reply does: the
server's request-id dedupe must make the retry a no-op when the first attempt was committed.
Meanwhile crash_entity_caller orchestrations call their own ledger entity several times in a row,
and crash_transfer orchestrations move money between four crash_account entities inside critical
sections (lock_entities).

Checked in the end:
  * every marker is in its ledger exactly once (nothing acknowledged lost, nothing applied twice),
    in the order it was sent (one sender, one entity: FIFO);
  * every orchestration completes with exactly the results of its calls, its ledger holds each of
    its markers once, and its history holds each call and each result once;
  * every transfer and deposit completes, the accounts' total is the initial total plus the
    deposits, and no lock is left behind (locks held or requested across a crash are neither lost
    nor leaked, no deadlock, no lost update);
  * the worker survived, and a graceful SIGTERM stop exits 0.

The same load runs a second time while the SDK worker process (not the server) is killed with
SIGKILL and replaced: the batches and episodes it held are redelivered to the new worker.

Knobs (environment): CRASH_SEED, CRASH_ENTITY_SIGNALS (600), CRASH_ENTITY_KILLS (3).
"""

from __future__ import annotations

import collections
import json
import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import grpc
import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as pb_grpc
from durabletask.client import OrchestrationStatus
from durabletask.entities import EntityInstanceId


from crash_support import FAST_RECONNECT_OPTIONS, make_client, pick_free_port, retry_unavailable

N_SIGNALS = int(os.environ.get("CRASH_ENTITY_SIGNALS", "600"))
N_KILLS = int(os.environ.get("CRASH_ENTITY_KILLS", "3"))
N_LEDGERS = 3
N_CALLERS = 12
CALLS_PER_CALLER = 6
N_ACCOUNTS = 4
N_TRANSFERS = 20
INITIAL_BALANCE = 1000
SPREAD_S = 8.0  # send the stream over this long, so the kills land in the middle of it
GIVE_UP_S = 60.0  # one request: stop retrying after this long
SETTLE_TIMEOUT_S = 90.0
RETRIED_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class Sender(threading.Thread):
    """Sends SignalEntity requests one by one at a steady pace, and starts the caller
    orchestrations along the way; retries a failed request with the same requestId (or, for a
    start, the same instance id, ALREADY_EXISTS on a retry meaning the first attempt was
    committed)."""

    def __init__(self, address: str, signals: list[tuple[str, int]],
                 starts: list[list[tuple[str, str, dict]]], tag: str):
        super().__init__(name="entity-sender", daemon=True)
        self.address = address
        self.signals = signals
        self.starts = starts
        self.tag = tag
        self.lock = threading.Lock()
        self.acked: list[int] = []
        self.retries = 0
        self.errors: list[str] = []

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def run(self) -> None:
        channel = grpc.insecure_channel(self.address, options=FAST_RECONNECT_OPTIONS)
        stub = pb_grpc.TaskHubSidecarServiceStub(channel)
        client = make_client(self.address)
        try:
            t0 = time.monotonic()
            every = max(1, len(self.signals) // max(1, len(self.starts)))
            starts = list(self.starts)
            for i, (entity_id, marker) in enumerate(self.signals):
                delay = t0 + SPREAD_S * i / len(self.signals) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if i % every == 0 and starts:
                    for start in starts.pop(0):  # a group: started back to back
                        self._start(client, *start)
                self._signal(stub, entity_id, marker)
            for group in starts:
                for start in group:
                    self._start(client, *start)
        except BaseException as e:  # reported by the test thread
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            client.close()
            channel.close()

    def _retrying(self, what: str, fn) -> str:
        deadline = time.monotonic() + GIVE_UP_S
        attempts = 0
        while True:
            attempts += 1
            try:
                fn()
                return "ok"
            except grpc.RpcError as e:
                if e.code() in RETRIED_CODES and time.monotonic() < deadline:
                    with self.lock:
                        self.retries += 1
                    time.sleep(0.05)
                    continue
                if e.code() == grpc.StatusCode.ALREADY_EXISTS and attempts > 1:
                    return "already-exists-on-retry"
                raise AssertionError(f"{what} (attempt {attempts}): {e.code()} "
                                     f"{e.details()}") from None

    def _signal(self, stub, entity_id: str, marker: int) -> None:
        req = pb.SignalEntityRequest(instanceId=entity_id, name="add",
                                     requestId=f"{self.tag}-{marker}")
        req.input.value = json.dumps(marker)
        req.requestTime.FromDatetime(datetime.now(timezone.utc))
        self._retrying(f"signal {entity_id} {marker}",
                       lambda: stub.SignalEntity(req, timeout=5))
        with self.lock:
            self.acked.append(marker)

    def _start(self, client, orchestrator: str, instance_id: str, inp: dict) -> None:
        self._retrying(f"start {instance_id}", lambda: client.schedule_new_orchestration(
            orchestrator, input=inp, instance_id=instance_id))


def ledger_state(client, entity_id: str):
    md = retry_unavailable(lambda: client.get_entity(EntityInstanceId.parse(entity_id)))
    return (None, None) if md is None else (md.get_typed_state(), md.backlog_queue_size)


def wait_ledgers(client, expected: dict[str, list[int]], timeout: float) -> dict[str, list]:
    """Polls until every ledger holds at least its expected number of markers and has an empty
    queue (so nothing more will be applied); returns the states."""
    deadline = time.monotonic() + timeout
    states: dict[str, list] = {}
    while True:
        states = {}
        done = True
        for entity_id, markers in expected.items():
            state, backlog = ledger_state(client, entity_id)
            states[entity_id] = state or []
            done = done and len(states[entity_id]) >= len(markers) and backlog == 0
        if done or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


@dataclass
class Scenario:
    tag: str
    signals: list[tuple[str, int]]  # (ledger entity id, marker), in send order
    expected: dict[str, list[int]]  # ledger entity id -> its markers in send order
    callers: list[tuple[str, dict]]  # crash_entity_caller instances
    accounts: list[str]
    transfers: list[tuple[str, dict]]
    deposits: list[tuple[str, dict]]
    starts: list[list[tuple[str, str, dict]]]  # groups of (orchestrator, instance id, input)


def plan_scenario(rng: random.Random, tag: str) -> Scenario:
    ledgers = [f"@crash_ledger@sig-{tag}-{k}" for k in range(N_LEDGERS)]
    signals = [(ledgers[m % N_LEDGERS], m) for m in range(N_SIGNALS)]
    expected = {e: [m for (x, m) in signals if x == e] for e in ledgers}
    callers = [(f"caller-{tag}-{i:02d}",
                {"key": f"call-{tag}-{i:02d}",
                 "markers": [1000 * (i + 1) + j for j in range(CALLS_PER_CALLER)]})
               for i in range(N_CALLERS)]
    accounts = [f"acct-{tag}-{k}" for k in range(N_ACCOUNTS)]
    transfers = []
    for i in range(N_TRANSFERS):
        src, dst = rng.sample(accounts, 2)
        transfers.append((f"transfer-{tag}-{i:02d}",
                          {"from": src, "to": dst, "amount": rng.randrange(1, 600)}))
    # deposits by orchestrations that hold no lock (they must wait while a transfer holds the
    # account)
    deposits = [(f"deposit-{tag}-{i:02d}", {"key": accounts[i % N_ACCOUNTS], "amount": 10 + i})
                for i in range(2 * (N_TRANSFERS // 5))]
    # callers one by one; transfers in groups of five started back to back with two deposits,
    # so that they contend for the accounts
    starts = [[("crash_entity_caller", iid, inp)] for iid, inp in callers]
    starts += [[("crash_transfer", iid, inp) for iid, inp in transfers[g:g + 5]]
               + [("crash_deposit", iid, inp) for iid, inp in deposits[2 * n:2 * n + 2]]
               for n, g in enumerate(range(0, N_TRANSFERS, 5))]
    rng.shuffle(starts)
    return Scenario(tag, signals, expected, callers, accounts, transfers, deposits, starts)


def init_accounts(client, sc: Scenario) -> None:
    """Sets every account to INITIAL_BALANCE and waits until applied (before any kill)."""
    for a in sc.accounts:
        client.signal_entity(EntityInstanceId("crash_account", a), "init", INITIAL_BALANCE)
    for a in sc.accounts:
        deadline = time.monotonic() + 30
        while ledger_state(client, f"@crash_account@{a}") != (INITIAL_BALANCE, 0):
            assert time.monotonic() < deadline, f"{a} not initialized"
            time.sleep(0.05)


def check_outcome(client, address: str, sc: Scenario, sender: Sender, seed: int) -> None:
    """Everything the module docstring lists, once the sender is done."""
    sender.join(timeout=SPREAD_S + GIVE_UP_S + 60)
    assert not sender.is_alive(), "sender thread hung"
    assert not sender.errors, f"seed {seed}: {sender.errors}"
    assert sorted(sender.acked) == list(range(N_SIGNALS))
    print(f"{N_SIGNALS} signals acked, {sender.retries} retried requests")

    states = wait_ledgers(client, sc.expected, SETTLE_TIMEOUT_S)
    problems = []
    for entity_id, want in sc.expected.items():
        got = states[entity_id]
        dups = sorted(m for m, k in collections.Counter(got).items() if k > 1)
        lost = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if dups or lost or extra:
            problems.append(f"{entity_id}: {len(got)} applied, duplicated {dups[:20]}, "
                            f"lost {lost[:20]}, unexpected {extra[:20]}")
        elif got != want:
            problems.append(f"{entity_id}: applied out of send order: {got[:40]}")
    assert not problems, f"seed {seed}:\n" + "\n".join(problems)

    for instance_id, inp in sc.callers:
        st = retry_unavailable(lambda: client.wait_for_orchestration_completion(
            instance_id, timeout=SETTLE_TIMEOUT_S))
        assert st is not None, f"seed {seed}: {instance_id} vanished"
        assert st.runtime_status == OrchestrationStatus.COMPLETED, (
            instance_id, st.runtime_status, st.failure_details)
        assert json.loads(st.serialized_output) == [3 * m + 1 for m in inp["markers"]], (
            instance_id, st.serialized_output)
        state, backlog = ledger_state(client, f"@crash_ledger@{inp['key']}")
        assert (state, backlog) == (inp["markers"], 0), (
            f"seed {seed}: {instance_id}'s ledger: {state} (backlog {backlog})")
        counts = collections.Counter(
            type(e).__name__ for e in retry_unavailable(
                lambda: client.get_orchestration_history(instance_id)))
        for kind, n in (("EntityOperationCalledEvent", CALLS_PER_CALLER),
                        ("EntityOperationCompletedEvent", CALLS_PER_CALLER),
                        ("EntityOperationFailedEvent", 0), ("ExecutionCompletedEvent", 1)):
            assert counts.get(kind, 0) == n, (f"seed {seed}: {instance_id}: {kind} "
                                              f"x{counts.get(kind, 0)}, want {n}")

    moved = 0
    for instance_id, _ in sc.transfers + sc.deposits:
        st = retry_unavailable(lambda: client.wait_for_orchestration_completion(
            instance_id, timeout=SETTLE_TIMEOUT_S))
        assert st is not None and st.runtime_status == OrchestrationStatus.COMPLETED, (
            f"seed {seed}: {instance_id}: {st and st.runtime_status} "
            f"{st and st.failure_details}")
        if instance_id.startswith("transfer-"):
            moved += json.loads(st.serialized_output)
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.TaskHubSidecarServiceStub(channel)
        balances = {}
        for a in sc.accounts:
            r = stub.GetEntity(pb.GetEntityRequest(instanceId=f"@crash_account@{a}",
                                                   includeState=True), timeout=30)
            assert r.exists and not r.entity.lockedBy.value and r.entity.backlogQueueSize == 0, (
                f"seed {seed}: {a}: {r}")
            balances[a] = json.loads(r.entity.serializedState.value)
    deposited = sum(inp["amount"] for _, inp in sc.deposits)
    assert sum(balances.values()) == N_ACCOUNTS * INITIAL_BALANCE + deposited, (
        f"seed {seed}: total not conserved: {balances}")
    print(f"{N_TRANSFERS} transfers moved {moved}; balances {sorted(balances.values())}")


def test_kill9_during_entity_signals_loses_and_duplicates_none(
        server_factory, worker_factory, crash_seed):
    rng = random.Random(crash_seed)
    sc = plan_scenario(rng, f"ent-{crash_seed:x}")
    server = server_factory(port=pick_free_port())
    worker = worker_factory("entities", server.address)
    worker.wait_connected()
    client = make_client(server.address)
    init_accounts(client, sc)

    sender = Sender(server.address, sc.signals, sc.starts, sc.tag)
    t0 = time.monotonic()
    sender.start()
    kills = []
    for n in range(N_KILLS):
        time.sleep(rng.uniform(0.3, 2.5))
        server.kill9()
        acked = sender.acked_count()
        down_s = rng.uniform(0.0, 1.0)
        time.sleep(down_s)
        server.start()
        kills.append(f"kill #{n + 1} at {time.monotonic() - t0:.1f}s, {acked} signals acked, "
                     f"down {down_s:.2f}s")
    print("\n".join(kills))

    check_outcome(client, server.address, sc, sender, crash_seed)
    assert worker.is_running(), "the SDK worker process died"
    client.close()
    assert server.stop() == 0, "taskhubd did not exit 0 on SIGTERM"


def test_worker_kill9_during_entity_batches_applies_each_once(
        server_factory, worker_factory, crash_seed):
    """kill -9 of the SDK worker process (batches and episodes in flight, their results never
    sent) while the stream runs; a new worker takes over. The server redelivers what the dead
    worker held: every operation is applied once, every call answered once."""
    rng = random.Random(crash_seed)
    sc = plan_scenario(rng, f"wk-{crash_seed:x}")
    server = server_factory()
    worker = worker_factory("entities-0", server.address)
    worker.wait_connected()
    client = make_client(server.address)
    init_accounts(client, sc)

    sender = Sender(server.address, sc.signals, sc.starts, sc.tag)
    t0 = time.monotonic()
    sender.start()
    kills = []
    for n in range(N_KILLS):
        time.sleep(rng.uniform(0.5, 2.5))
        worker.kill9()
        kills.append(f"worker kill #{n + 1} at {time.monotonic() - t0:.1f}s, "
                     f"{sender.acked_count()} signals acked")
        worker = worker_factory(f"entities-{n + 1}", server.address)
        worker.wait_connected()
    print("\n".join(kills))

    check_outcome(client, server.address, sc, sender, crash_seed)
    assert worker.is_running(), "the SDK worker process died"
    client.close()
    assert server.stop() == 0, "taskhubd did not exit 0 on SIGTERM"
