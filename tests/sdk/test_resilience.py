"""Worker resilience: taskhubd is killed (SIGKILL) and restarted on the same port and data dir,
twice, while C++ timer-chain orchestrations run on taskhub-test-cpp-worker. The C++ worker must
reconnect by itself (same process) and every orchestration must complete with the right output.
"""

from __future__ import annotations

import json
import time

import grpc
import pytest
from durabletask.client import OrchestrationStatus

from sdk_support import pick_free_port

N_INSTANCES = 10
CHAIN_LENGTH = 3  # cpp_timer_chain(n): n x [1 s durable timer, activity cpp_increment] -> n
KILLS = 2
COMPLETION_TIMEOUT_S = 120.0


def _states(client, ids):
    """instance id -> OrchestrationState (None if missing); raises grpc.RpcError while down."""
    return {iid: client.get_orchestration_state(iid) for iid in ids}


def _wait_all_terminal(client, ids, timeout):
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        try:
            last = _states(client, ids)
        except grpc.RpcError:
            time.sleep(0.2)
            continue
        if all(s is not None and s.runtime_status in (OrchestrationStatus.COMPLETED,
                                                      OrchestrationStatus.FAILED,
                                                      OrchestrationStatus.TERMINATED)
               for s in last.values()):
            return last
        time.sleep(0.25)
    summary = {iid: (s.runtime_status.name if s else None) for iid, s in last.items()}
    pytest.fail(f"not all orchestrations finished within {timeout}s: {summary}")


def _schedule(client, iid: str, timeout: float = 30.0) -> None:
    """Schedules one chain, retrying while the client has not yet reconnected to a new server."""
    deadline = time.monotonic() + timeout
    retried = False
    while True:
        try:
            client.schedule_new_orchestration("cpp_timer_chain", input=CHAIN_LENGTH, instance_id=iid)
            return
        except grpc.RpcError as e:
            if retried and e.code() == grpc.StatusCode.ALREADY_EXISTS:
                return  # an earlier attempt got through after all
            if e.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            retried = True
            time.sleep(0.2)


def _wait_reconnected(worker, connections: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while worker.connect_count() < connections:
        assert worker.is_running(), f"C++ worker exited (code {worker.proc.returncode})"
        assert time.monotonic() < deadline, (
            f"the C++ worker did not reconnect within {timeout}s "
            f"({worker.connect_count()} connections logged, expected {connections})")
        time.sleep(0.05)


@pytest.mark.timeout(300)
def test_cpp_worker_survives_taskhubd_restarts(server_factory, cpp_worker_factory,
                                               client_factory, uid):
    port = pick_free_port()
    server = server_factory(port)
    worker = cpp_worker_factory(server.address)
    assert worker.connect_count() == 1
    client = client_factory(server.address)

    # Each kill lands while a fresh batch of chains is in the middle of its timers.
    batches = [[f"{uid}-{k}-{i}" for i in range(N_INSTANCES // KILLS)] for k in range(KILLS)]
    ids = [iid for batch in batches for iid in batch]
    started = time.monotonic()
    for kill, batch in enumerate(batches):
        for iid in batch:
            _schedule(client, iid)
        time.sleep(1.5)  # the chains are past their first timer, not done (3 timers of 1 s)
        states = _states(client, batch)
        running = [iid for iid, s in states.items()
                   if s is not None and s.runtime_status in (OrchestrationStatus.PENDING,
                                                             OrchestrationStatus.RUNNING)]
        assert running, (f"no chain of batch {kill + 1} is still running before kill "
                         f"#{kill + 1}: the kill would prove nothing "
                         f"{ {iid: s and s.runtime_status.name for iid, s in states.items()} }")
        server.kill9()
        time.sleep(0.5)  # the worker sees its stream break and starts reconnecting
        assert worker.is_running(), f"C++ worker died when taskhubd was killed (kill #{kill + 1})"
        server.start()
        assert server.port == port
        _wait_reconnected(worker, kill + 2)

    final = _wait_all_terminal(client, ids, COMPLETION_TIMEOUT_S)
    elapsed = time.monotonic() - started
    bad = {iid: (s.runtime_status.name, s.serialized_output, s.failure_details)
           for iid, s in final.items()
           if s.runtime_status != OrchestrationStatus.COMPLETED
           or json.loads(s.serialized_output or "null") != CHAIN_LENGTH}
    assert not bad, f"orchestrations that did not complete with {CHAIN_LENGTH}: {bad}"

    # Same process throughout: it reconnected once per restart and is still serving.
    assert worker.is_running(), f"C++ worker exited (code {worker.proc.returncode})"
    assert worker.connect_count() >= KILLS + 1, (
        f"the C++ worker logged {worker.connect_count()} connections, expected >= {KILLS + 1}")
    print(f"{len(ids)} chains completed {elapsed:.1f}s after the first was scheduled")
