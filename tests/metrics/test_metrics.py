"""/metrics, /healthz and /readyz of a real taskhubd (--http-listen) under a real
durabletask Python worker: the scrape parses as Prometheus text (prometheus_client's
parser), the counters move with a workload, the instance gauges match what the task hub
holds (also after a restart: they are seeded from the store), and /readyz answers 503
once the store refuses writes.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
from durabletask import client as dtclient
from durabletask import task

from conftest import HttpServer
from taskhub_harness import Taskhubd, make_client, small_tmpfs, start_py_worker

FAMILIES = {
    "taskhub_ready": "gauge",
    "taskhub_work_items_dispatched": "counter",
    "taskhub_work_items_completed": "counter",
    "taskhub_work_items_abandoned": "counter",
    "taskhub_work_items_dropped": "counter",
    "taskhub_work_items_in_flight": "gauge",
    "taskhub_work_item_duration_seconds": "histogram",
    "taskhub_commits": "counter",
    "taskhub_commit_submissions": "counter",
    "taskhub_commit_failures": "counter",
    "taskhub_commit_duration_seconds": "histogram",
    "taskhub_commit_group_size": "histogram",
    "taskhub_instances": "gauge",
    "taskhub_entities": "gauge",
    "taskhub_live_instances": "gauge",
    "taskhub_ready_orchestrations": "gauge",
    "taskhub_ready_entities": "gauge",
    "taskhub_activity_tasks": "gauge",
    "taskhub_durable_timers": "gauge",
    "taskhub_worker_streams": "gauge",
    "taskhub_worker_connections": "gauge",
    "taskhub_waiters": "gauge",
    "taskhub_history_cache_events": "gauge",
    "taskhub_history_cache_hits": "counter",
    "taskhub_history_cache_misses": "counter",
}

STATUS_LABELS = {
    dtclient.OrchestrationStatus.RUNNING: "running",
    dtclient.OrchestrationStatus.COMPLETED: "completed",
    dtclient.OrchestrationStatus.FAILED: "failed",
    dtclient.OrchestrationStatus.TERMINATED: "terminated",
    dtclient.OrchestrationStatus.PENDING: "pending",
    dtclient.OrchestrationStatus.SUSPENDED: "suspended",
}


def act_double(ctx: task.ActivityContext, x: int) -> int:
    return 2 * x


def chain(ctx: task.OrchestrationContext, n: int):
    total = 0
    for i in range(n):
        total += yield ctx.call_activity(act_double, input=i)
    return total


def waiter(ctx: task.OrchestrationContext, _):
    return (yield ctx.wait_for_external_event("go"))


def sleeper(ctx: task.OrchestrationContext, _):
    yield ctx.create_timer(timedelta(hours=1))
    return "woke"


def instances_by_status(c: dtclient.TaskHubGrpcClient) -> dict[str, int]:
    states = c.get_all_orchestration_states(dtclient.OrchestrationQuery())
    return dict(Counter(STATUS_LABELS[s.runtime_status] for s in states))


def assert_gauges_match(m: dict[str, float], expected: dict[str, int]) -> None:
    for label in STATUS_LABELS.values():
        assert m[f"taskhub_instances{{status={label}}}"] == expected.get(label, 0), (label, m)


def wait_for(h: HttpServer, series: str, value: float, timeout: float = 30) -> dict[str, float]:
    """Scrapes until `series` == value (a state reached by the engine's threads)."""
    deadline = time.monotonic() + timeout
    while True:
        m = h.scrape()
        if m.get(series) == value:
            return m
        assert time.monotonic() < deadline, f"{series} = {m.get(series)}, expected {value}"
        time.sleep(0.05)


def test_probes_answer_while_serving(http_factory):
    _, h = http_factory()
    status, ctype, body = h.get("/healthz")
    assert status == 200 and ctype.startswith("application/json"), (status, body)
    status, _, body = h.get("/readyz")
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"


def test_scrape_parses_and_counters_move_with_a_workload(http_factory, uid):
    s, h = http_factory()
    m0 = h.scrape()
    for name, typ in FAMILIES.items():
        assert m0.get(f"#type:{name}") == typ, (name, m0.get(f"#type:{name}"))
    assert m0["taskhub_ready"] == 1
    assert m0["taskhub_worker_streams"] == 0

    w = start_py_worker(s.address, [chain, waiter, sleeper], [act_double])
    c = make_client(s.address)
    try:
        m = wait_for(h, "taskhub_worker_streams", 1)
        assert m["taskhub_worker_connections"] == 1
        n, per = 4, 3
        ids = [c.schedule_new_orchestration(chain, input=per, instance_id=f"{uid}-chain-{i}")
               for i in range(n)]
        for i in ids:
            st = c.wait_for_orchestration_completion(i, timeout=60)
            assert st.runtime_status == dtclient.OrchestrationStatus.COMPLETED, st
        held = c.schedule_new_orchestration(waiter, instance_id=f"{uid}-held")
        ended = c.schedule_new_orchestration(waiter, instance_id=f"{uid}-ended")
        timed = c.schedule_new_orchestration(sleeper, instance_id=f"{uid}-timer")
        for i in (held, ended, timed):
            c.wait_for_orchestration_start(i, timeout=60)
        c.terminate_orchestration(ended, output="stop")
        c.wait_for_orchestration_completion(ended, timeout=60)
        m1 = wait_for(h, "taskhub_durable_timers", 1)

        def delta(series: str) -> float:
            return m1[series] - m0.get(series, 0)

        acts = n * per
        assert delta("taskhub_work_items_completed_total{kind=activity}") == acts
        assert delta("taskhub_work_items_dispatched_total{kind=activity}") >= acts
        assert delta("taskhub_work_item_duration_seconds_count{kind=activity}") == acts
        assert m1["taskhub_work_item_duration_seconds_bucket{kind=activity,le=+Inf}"] == \
            m1["taskhub_work_item_duration_seconds_count{kind=activity}"]
        # Every chain runs one episode per activity result plus its first.
        assert delta("taskhub_work_items_completed_total{kind=orchestration}") >= n * (per + 1)
        assert delta("taskhub_work_item_duration_seconds_count{kind=orchestration}") == \
            delta("taskhub_work_items_completed_total{kind=orchestration}")
        assert delta("taskhub_commits_total") > 0
        assert delta("taskhub_commit_duration_seconds_count") == delta("taskhub_commits_total")
        assert delta("taskhub_commit_group_size_count") > 0
        assert delta("taskhub_history_cache_hits_total") > 0
        assert m1["taskhub_commit_failures_total"] == 0
        if s.store == "azure":  # storage transactions by kind (Backend::CollectStats)
            assert delta("taskhub_storage_transactions_total{kind=table_batch}") > 0
        else:
            assert delta("taskhub_storage_written_bytes_total") > 0
            assert m1["#type:taskhub_storage_live_sst_bytes"] == "gauge"
        assert m1["taskhub_activity_tasks"] == 0
        assert m1["taskhub_work_items_in_flight{kind=activity}"] == 0
        # The instance gauges are what the task hub holds.
        expected = instances_by_status(c)
        assert expected == {"completed": n, "running": 2, "terminated": 1}, expected
        assert_gauges_match(m1, expected)
        assert m1["taskhub_live_instances"] == 2
    finally:
        c.close()
        w.stop()

    # A restart seeds the gauges from the store; the pending timer is recovered.
    h2 = h.restart()
    m2 = h2.scrape()
    assert_gauges_match(m2, expected)
    assert m2["taskhub_durable_timers"] == 1
    assert m2["taskhub_live_instances"] == 2
    assert m2["taskhub_work_items_dispatched_total{kind=activity}"] == 0  # counters restart


@pytest.fixture
def small_fs(tmp_path) -> Iterator[Path]:
    with small_tmpfs(tmp_path, "16m") as mnt:
        yield mnt


def test_readyz_is_503_once_the_store_refuses_writes(small_fs, tmp_path):
    port_file = tmp_path / "http.port"
    s = Taskhubd(tmp_path / "srv", data_dir=small_fs / "data", store="rocksdb",
                 extra_args=["--store", "rocksdb",  # (taskhubd reads $TASKHUB_STORE too)
                             "--http-listen", "127.0.0.1:0", "--http-port-file", str(port_file),
                             "--min-free-disk-mb", "4"])
    try:
        s.start()
        h = HttpServer(s, port_file)
        assert h.get("/readyz")[0] == 200
        c = make_client(s.address)
        try:
            c.schedule_new_orchestration("any", instance_id="before")
            # Fill the file system below the 4 MiB reserve: the next write is refused.
            st = os.statvfs(small_fs)
            filler = small_fs / "filler"
            filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - (2 << 20)))
            with pytest.raises(Exception) as refused:
                c.schedule_new_orchestration("any", instance_id="after")
            assert "RESOURCE_EXHAUSTED" in str(refused.value) or "disk" in str(refused.value)
        finally:
            c.close()
        status, _, body = h.get("/readyz")
        assert status == 503, body
        assert "store" in json.loads(body)["error"]
        assert h.get("/healthz")[0] == 200  # still live: the process serves
        m = h.scrape()
        assert m["taskhub_ready"] == 0
        assert m["taskhub_commit_failures_total"] == 1
        # Sticky: space again does not make it ready (a restart does).
        filler.unlink()
        assert h.get("/readyz")[0] == 503
        assert h.restart().get("/readyz")[0] == 200
    finally:
        s.cleanup()
