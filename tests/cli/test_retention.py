"""--retention: finished instances older than their status's age are purged in the background,
with their sub-orchestrations, without any call; live ones never are (issue 15)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from durabletask import client as dtclient

import orchestrations
from conftest import start_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyharness"))
from taskhub_harness import client_factory  # noqa: E402,F401  (a fixture)

DEADLINE_S = 60.0


def _exists(c: dtclient.TaskHubGrpcClient, instance_id: str) -> bool:
    return c.get_orchestration_state(instance_id, fetch_payloads=False) is not None


def _wait_gone(c: dtclient.TaskHubGrpcClient, ids: list[str]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    left = list(ids)
    while left and time.monotonic() < deadline:
        left = [i for i in left if _exists(c, i)]
        if left:
            time.sleep(0.1)
    assert not left, f"still there {DEADLINE_S:.0f} s after their retention age: {left}"


def test_retention_purges_old_finished_instances_and_never_live_ones(server_factory,
                                                                     client_factory, uid):
    srv = server_factory(extra_args=["--retention", "completed=3s,failed=1s,terminated=1s"])
    w = start_worker(srv.address)
    try:
        c = client_factory(srv.address)
        live = c.schedule_new_orchestration(orchestrations.waiter, instance_id=f"{uid}-live")
        done = c.schedule_new_orchestration(orchestrations.greet, input=["A"],
                                            instance_id=f"{uid}-done")
        failed = c.schedule_new_orchestration(orchestrations.failing, input="x",
                                              instance_id=f"{uid}-failed")
        nested = c.schedule_new_orchestration(orchestrations.nested, instance_id=f"{uid}-nested")
        term = c.schedule_new_orchestration(orchestrations.waiter, instance_id=f"{uid}-term")
        c.wait_for_orchestration_start(term, timeout=30)
        c.terminate_orchestration(term)
        for i, status in ((done, "COMPLETED"), (failed, "FAILED"), (nested, "COMPLETED"),
                          (term, "TERMINATED")):
            st = c.wait_for_orchestration_completion(i, timeout=30)
            assert st is not None and st.runtime_status.name == status, (i, st)
        c.wait_for_orchestration_start(live, timeout=30)

        _wait_gone(c, [done, failed, term, nested, f"{nested}-child"])
        # The live instance is older than every age by now, and still there.
        st = c.get_orchestration_state(live)
        assert st is not None and st.runtime_status.name == "RUNNING", st

        # Ages count from completion: just completed, it is kept for its 3 s first.
        c.raise_orchestration_event(live, "go", data="x")
        st = c.wait_for_orchestration_completion(live, timeout=30)
        assert st is not None and st.runtime_status.name == "COMPLETED", st
        assert _exists(c, live), "purged at once although it completed under 3 s ago"
        _wait_gone(c, [live])
    finally:
        w.stop()
