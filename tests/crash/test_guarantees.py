"""README guarantees checked end to end against a real taskhubd with its real flags.

Each test was broken on purpose once to watch it fail (what was broken is noted per test).

  * a completion token handed out before a `kill -9` never applies after the restart, and the
    tokens of the two server starts never collide;
  * --orchestration-lease-seconds / --activity-lease-seconds: a held work item is redelivered
    when its lease expires, and the late completion of the first delivery is ignored;
  * --max-payload-bytes: oversized activity results, orchestration outputs and custom status
    get RESOURCE_EXHAUSTED;
  * --history-cache-events 1: orchestrations whose cached history is evicted complete with the
    exact outputs (the SDK replays the reloaded history);
  * idle CPU: measured and printed (utime+stime of taskhubd with waiting instances and open
    worker streams); only a generous sanity bound is asserted.

Knobs (environment): GUARANTEES_IDLE_SECONDS (5).
"""

from __future__ import annotations

import json
import os
import random
import time

import grpc
from durabletask.internal import orchestrator_service_pb2 as pb

import raw_worker
from crash_support import make_client, pick_free_port
from raw_worker import RawWorker, complete_action, schedule_task
from test_crash_recovery import plan_load, wait_all_completed

IDLE_SECONDS = float(os.environ.get("GUARANTEES_IDLE_SECONDS", "5"))
COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED


def test_token_from_before_kill9_never_applies(server_factory):
    """Broken on purpose: Engine's boot_ constant -> the pre-restart token equals the first
    token after the restart and completes the episode."""
    server = server_factory(port=pick_free_port())
    ids = [f"tok-{i}" for i in range(3)]
    for iid in ids:
        raw_worker.start(server.address, iid)
    a = RawWorker(server.address)
    held = {}
    for _ in ids:
        wi = a.next()
        held[wi.orchestratorRequest.instanceId] = wi
    a.close()
    server.kill9()
    server.start()
    b = RawWorker(server.address)
    fresh = {}
    for _ in ids:
        wi = b.next()
        fresh[wi.orchestratorRequest.instanceId] = wi
    old_tokens = {wi.completionToken for wi in held.values()}
    new_tokens = {wi.completionToken for wi in fresh.values()}
    print(f"tokens before the kill: {sorted(old_tokens)}, after: {sorted(new_tokens)}")
    assert not old_tokens & new_tokens, "a token of the previous server start was issued again"
    for iid, wi in held.items():
        try:
            b.complete_orchestration(wi, [complete_action(1, '"stale"')])
        except grpc.RpcError as e:  # refusing it is fine too; applying it is not
            print(f"stale completion for {iid}: {e.code()}")
        st = raw_worker.state(server.address, iid)
        assert st.orchestrationStatus != COMPLETED, f"{iid}: the pre-restart token applied"
    for iid, wi in fresh.items():
        b.complete_orchestration(wi, [complete_action(1, '"fresh"')])
        st = raw_worker.state(server.address, iid)
        assert (st.orchestrationStatus, st.output.value) == (COMPLETED, '"fresh"'), iid
    b.close()
    assert server.stop() == 0


def test_orchestration_lease_redelivers_held_episode(server_factory):
    """Broken on purpose: the lease timer scheduled at InfiniteFuture -> no redelivery."""
    server = server_factory(0, "--orchestration-lease-seconds", "0.5", "--abandon-delay-ms", "50")
    w = RawWorker(server.address)
    raw_worker.start(server.address, "lease-o")
    first = w.next()
    t0 = time.monotonic()
    second = w.next(timeout=15)  # held without completing: back after the lease
    print(f"episode redelivered {time.monotonic() - t0:.2f}s after the first delivery")
    assert second.orchestratorRequest.instanceId == "lease-o"
    assert second.completionToken != first.completionToken
    w.complete_orchestration(first, [complete_action(1, '"late"')])  # ignored
    assert raw_worker.state(server.address, "lease-o").orchestrationStatus != COMPLETED
    w.complete_orchestration(second, [complete_action(1, '"ok"')])
    st = raw_worker.state(server.address, "lease-o")
    assert (st.orchestrationStatus, st.output.value) == (COMPLETED, '"ok"')
    w.close()
    assert server.stop() == 0


def test_activity_lease_redelivers_held_activity(server_factory):
    """Broken on purpose: the activity lease timer never scheduled -> no redelivery."""
    server = server_factory(0, "--activity-lease-seconds", "0.5", "--abandon-delay-ms", "50")
    w = RawWorker(server.address)
    raw_worker.start(server.address, "lease-a")
    wi = w.next()
    w.complete_orchestration(wi, [schedule_task(1, "act")])
    first = w.next()
    assert first.HasField("activityRequest")
    second = w.next(timeout=15)
    assert second.HasField("activityRequest") and second.activityRequest.taskId == 1
    assert second.completionToken != first.completionToken
    w.complete_activity(first, '"late"')  # ignored
    w.complete_activity(second, '"fresh"')
    ep = w.next()
    results = [e.taskCompleted.result.value for e in ep.orchestratorRequest.newEvents
               if e.HasField("taskCompleted")]
    assert results == ['"fresh"'], results
    w.complete_orchestration(ep, [complete_action(2, '"done"')])
    w.close()
    assert server.stop() == 0


def test_oversized_results_get_resource_exhausted(server_factory):
    """Broken on purpose: core::ValidatePayload() accepting any size -> all three accepted."""
    server = server_factory(0, "--max-payload-bytes", "1024")
    big = json.dumps("x" * 2000)
    w = RawWorker(server.address)

    def code_of(call) -> grpc.StatusCode:
        try:
            call()
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()

    raw_worker.start(server.address, "cap-act")
    w.complete_orchestration(w.next(), [schedule_task(1, "act")])
    act = w.next()
    assert code_of(lambda: w.complete_activity(act, big)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    ep = w.next()
    failed = [e for e in ep.orchestratorRequest.newEvents if e.HasField("taskFailed")]
    assert len(failed) == 1, "the orchestration did not see its task fail"
    w.complete_orchestration(ep, [complete_action(2, '"ok"')])

    raw_worker.start(server.address, "cap-out")
    wi = w.next()
    assert code_of(lambda: w.complete_orchestration(wi, [complete_action(1, big)])) == \
        grpc.StatusCode.RESOURCE_EXHAUSTED
    st = raw_worker.state(server.address, "cap-out")
    assert st.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED and st.output.value != big

    raw_worker.start(server.address, "cap-status")
    wi = w.next()
    assert code_of(lambda: w.complete_orchestration(wi, [schedule_task(1, "act")],
                                                    custom_status=big)) == \
        grpc.StatusCode.RESOURCE_EXHAUSTED
    st = raw_worker.state(server.address, "cap-status")
    assert st.customStatus.value != big
    w.close()
    assert server.stop() == 0


def test_history_cache_eviction_keeps_outputs_exact(server_factory, worker_factory, crash_seed):
    """Broken on purpose: EnsureHistory() not reloading an evicted history (history_loaded
    left true) -> the SDK replays an empty history and the outputs go wrong or stall."""
    server = server_factory(0, "--history-cache-events", "1")
    worker = worker_factory("cache", server.address)
    worker.wait_connected()
    client = make_client(server.address)
    plan = plan_load(random.Random(crash_seed), 30, f"cache-{crash_seed:x}")
    for p in plan:
        client.schedule_new_orchestration(p.orchestrator, input={**p.input, "timer": 1},
                                          instance_id=p.instance_id)
    pending, wrong, missing = wait_all_completed(client, plan, 90)
    assert not (pending or wrong or missing), (pending, wrong[:5], missing)
    client.close()
    assert server.stop() == 0


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_idle_cpu_is_measured(server_factory, worker_factory):
    """Idle: 50 instances waiting for an event, one SDK worker connected.
    Prints the CPU taskhubd used; asserts only a generous bound (a busy loop would use ~100%)."""
    server = server_factory(0)
    worker = worker_factory("idle", server.address)
    worker.wait_connected()
    client = make_client(server.address)
    ids = [client.schedule_new_orchestration("crash_wait_event", input={}, instance_id=f"idle-{i}")
           for i in range(50)]
    for iid in ids:
        client.wait_for_orchestration_start(iid, timeout=30)
    # Each instance's first episode is done once its history holds OrchestratorStarted and
    # ExecutionStarted.
    deadline = time.monotonic() + 30
    while any(len(client.get_orchestration_history(iid)) < 2 for iid in ids):
        assert time.monotonic() < deadline, "instances did not reach their wait"
        time.sleep(0.1)
    pid = server.proc.pid
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(IDLE_SECONDS)
    used, wall = cpu_seconds(pid) - c0, time.monotonic() - t0
    print(f"idle CPU: taskhubd used {used:.3f} s CPU in {wall:.1f} s "
          f"({100 * used / wall:.2f}% of one core) with {len(ids)} waiting instances, "
          f"1 worker stream")
    assert used < 0.5 * wall, f"taskhubd is busy while idle: {used:.2f}s CPU in {wall:.1f}s"
    client.close()
    assert server.stop() == 0


def test_suspended_before_first_episode_does_not_loop(server_factory, worker_factory):
    """Found by the crash loop. An instance suspended before its first episode: the Python SDK
    (1.12.0) buffers every event while suspended, so it never sees its timer confirmed and
    re-sends the CreateTimer action on every episode when the suspension came in the same
    episode as ExecutionStarted; the server applied it again each time (a new timer at the
    same, past, fire time: fired at once, forever, the history growing ~100 events/s). The
    server now delivers a suspension in an episode of its own. Broken on purpose: that split
    removed -> 15 TimerCreated by the time the first TimerFired was recorded."""
    server = server_factory(0)
    client = make_client(server.address)
    iid = client.schedule_new_orchestration("crash_long", input={"seed": 1, "timer": 1},
                                            instance_id="suspended-early")
    client.suspend_orchestration(iid, reason="before the first episode")
    worker = worker_factory("early", server.address)
    worker.wait_connected()
    # Barrier: the episode that delivered the TimerFired event is committed (its
    # OrchestratorCompleted follows it); a repeated CreateTimer would be in that same episode.
    deadline = time.monotonic() + 30
    while True:
        kinds = [type(e).__name__ for e in client.get_orchestration_history(iid)]
        if "TimerFiredEvent" in kinds and kinds[-1] == "OrchestratorCompletedEvent":
            break
        assert time.monotonic() < deadline, f"the timer never fired: {kinds}"
        time.sleep(0.05)
    assert kinds.count("TimerCreatedEvent") == 1, kinds[:20]
    assert kinds.count("TimerFiredEvent") == 1, kinds[:20]
    assert client.get_orchestration_state(iid).runtime_status.name == "SUSPENDED"
    client.resume_orchestration(iid)
    st = client.wait_for_orchestration_completion(iid, timeout=30)
    assert st.runtime_status.name == "COMPLETED" and json.loads(st.serialized_output) == "long-done"
    client.close()
    assert server.stop() == 0
