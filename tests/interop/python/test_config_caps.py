"""host.json maxConcurrentActivityFunctions as a server-wide cap, with real SDK workers.

taskhubd reads a Durable Functions host.json (--config) and caps the activity work items out
at once over all connected workers. Two workers, each allowing many activities, run a fan-out
of 8 activities that each hold for a moment: at no time do more than 2 run.
Broken on purpose: the server-wide check removed from Dispatcher::Dispatch/HasRoom -> up to
8 ran at once and this test failed.
"""

from __future__ import annotations

import json
import threading
import time

from durabletask import task

from _helpers import Status, complete

_lock = threading.Lock()
_running = 0
_most = 0


def cap_hold(ctx: task.ActivityContext, i: int) -> int:
    global _running, _most
    with _lock:
        _running += 1
        _most = max(_most, _running)
    # Holds the slot so that overlapping deliveries would be seen (not needed to pass).
    time.sleep(0.2)
    with _lock:
        _running -= 1
    return i


def cap_fan_out(ctx: task.OrchestrationContext, n: int):
    results = yield task.when_all([ctx.call_activity(cap_hold, input=i) for i in range(n)])
    return sum(results)


def test_host_json_activity_cap_spans_workers(server_factory, client_factory, start_worker, uid,
                                              tmp_path):
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"version": "2.0", "extensions": {"durableTask": {
        "maxConcurrentActivityFunctions": 2}}}))
    srv = server_factory(["--config", str(host)])
    c = client_factory(srv.address)
    start_worker([cap_fan_out], [cap_hold], address=srv.address)
    start_worker([cap_fan_out], [cap_hold], address=srv.address)
    iid = c.schedule_new_orchestration(cap_fan_out, input=8, instance_id=uid)
    st = complete(c, iid, timeout=60)
    assert st.runtime_status == Status.COMPLETED, st.failure_details
    assert st.get_output() == sum(range(8))
    assert 1 <= _most <= 2, f"{_most} activities ran at once with a cap of 2"
