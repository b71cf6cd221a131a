"""Work held by a worker that dies is redelivered; work held by a live worker is not.

Both tests use real SDK worker processes (crash_worker.py). The activity slow_marker creates one
new file in a marker directory every time it starts executing, so counting files counts dispatches
that reached the activity code.

  * test_killed_worker_activity_is_redelivered: worker A starts the activity, is killed with
    SIGKILL mid-activity; worker B then gets the activity and the orchestration completes with
    B's result.
  * test_long_activity_not_dispatched_twice: with two connected workers, an activity that runs
    spans many health-ping periods (taskhubd --health-ping-seconds 0.5) runs exactly once
    (taskhubd's default --activity-lease-seconds is 0: never redeliver to a connected worker).

Knobs (environment): CRASH_REDELIVERY_TIMEOUT (90 s), CRASH_LONG_ACTIVITY_SECONDS (8 s).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from durabletask.client import OrchestrationStatus

from crash_support import make_client

REDELIVERY_TIMEOUT_S = float(os.environ.get("CRASH_REDELIVERY_TIMEOUT", "90"))
LONG_ACTIVITY_S = float(os.environ.get("CRASH_LONG_ACTIVITY_SECONDS", "8"))
HEALTH_PING_S = 0.5  # taskhubd --health-ping-seconds for the long-activity test


def markers(marker_dir: Path, worker: str | None = None) -> list[str]:
    prefix = "started-" if worker is None else f"started-{worker}-"
    return sorted(p.name for p in marker_dir.iterdir() if p.name.startswith(prefix))


def wait_for(predicate, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_killed_worker_activity_is_redelivered(server_factory, worker_factory, tmp_path):
    server = server_factory()
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    # A would sleep far longer than the test; it only has to be in the middle of the activity.
    worker_a = worker_factory("A", server.address, "--slow-seconds", "600")
    worker_a.wait_connected()
    client = make_client(server.address)
    iid = client.schedule_new_orchestration(
        "slow_orch", input={"marker_dir": str(marker_dir)}, instance_id="disconnect-1")

    wait_for(lambda: markers(marker_dir, "A"), 30, "worker A to start the activity")
    worker_a.kill9()
    killed_at = time.monotonic()

    worker_b = worker_factory("B", server.address, "--slow-seconds", "0.2")
    worker_b.wait_connected()
    state = client.wait_for_orchestration_completion(iid, timeout=REDELIVERY_TIMEOUT_S)
    print(f"completed {time.monotonic() - killed_at:.1f}s after worker A was killed")

    assert state is not None
    assert state.runtime_status == OrchestrationStatus.COMPLETED, (
        state.runtime_status, state.failure_details)
    assert json.loads(state.serialized_output) == "done-by-B"
    assert len(markers(marker_dir, "A")) == 1
    assert len(markers(marker_dir, "B")) >= 1
    client.close()
    assert server.stop() == 0


def test_killed_worker_all_inflight_activities_redelivered(server_factory, worker_factory,
                                                          tmp_path):
    """Several instances: everything worker A held when it died (running activities, and work
    items queued inside its process) comes back and completes on worker B."""
    server = server_factory()
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    worker_a = worker_factory("A", server.address, "--slow-seconds", "600")
    worker_a.wait_connected()
    client = make_client(server.address)
    ids = [client.schedule_new_orchestration(
        "slow_orch", input={"marker_dir": str(marker_dir)}, instance_id=f"disconnect-many-{i}")
        for i in range(5)]
    # The SDK runs activities on a small thread pool: wait until all have started in A (or at
    # least one, after a while), then kill A while it holds them.
    try:
        wait_for(lambda: len(markers(marker_dir, "A")) >= len(ids), 10, "all activities in A")
    except AssertionError:
        wait_for(lambda: markers(marker_dir, "A"), 30, "worker A to start an activity")
    worker_a.kill9()

    worker_b = worker_factory("B", server.address, "--slow-seconds", "0.2")
    worker_b.wait_connected()
    for iid in ids:
        state = client.wait_for_orchestration_completion(iid, timeout=REDELIVERY_TIMEOUT_S)
        assert state is not None and state.runtime_status == OrchestrationStatus.COMPLETED, (
            iid, state and state.runtime_status, state and state.failure_details)
        assert json.loads(state.serialized_output) == "done-by-B", iid
    client.close()
    assert server.stop() == 0


def test_long_activity_not_dispatched_twice(server_factory, worker_factory, tmp_path):
    server = server_factory(0, "--health-ping-seconds", str(HEALTH_PING_S))
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    seconds = str(LONG_ACTIVITY_S)
    workers = [worker_factory(name, server.address, "--slow-seconds", seconds)
               for name in ("A", "B")]
    for w in workers:
        w.wait_connected()
    client = make_client(server.address)
    iid = client.schedule_new_orchestration(
        "slow_orch", input={"marker_dir": str(marker_dir)}, instance_id="long-1")

    # Poll rather than block, so that a second dispatch fails the test as soon as it starts.
    deadline = time.monotonic() + LONG_ACTIVITY_S + 60
    while True:
        started = markers(marker_dir)
        assert len(started) <= 1, (
            f"the {LONG_ACTIVITY_S}s activity started {len(started)} times while its worker "
            f"stayed connected: {started}")
        state = client.get_orchestration_state(iid)
        if state is not None and state.runtime_status != OrchestrationStatus.RUNNING \
                and state.runtime_status != OrchestrationStatus.PENDING:
            break
        assert time.monotonic() < deadline, f"not finished after {LONG_ACTIVITY_S + 60}s"
        time.sleep(0.2)
    assert state.runtime_status == OrchestrationStatus.COMPLETED, (
        state.runtime_status, state.failure_details)
    runner = json.loads(state.serialized_output).removeprefix("done-by-")
    started = markers(marker_dir)
    assert len(started) == 1, (
        f"the {LONG_ACTIVITY_S}s activity started {len(started)} times while its worker "
        f"stayed connected: {started}")
    assert started[0].startswith(f"started-{runner}-")
    assert all(w.is_running() for w in workers)
    client.close()
    assert server.stop() == 0
