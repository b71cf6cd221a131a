"""Two workers in different languages share one task hub through work-item filters:
a Python worker (orchestrator `cross_py_orch`, activity `py_shout`) and a JavaScript
worker (orchestrator `cross_js_orch`, activity `js_reverse`, in a Node process running
tests/interop/js/cross_worker.js). Each orchestration calls an activity of each
language; results are tagged with the language that ran them."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import time

import pytest
from durabletask import task

from _helpers import Status, complete

JS_DIR = pathlib.Path(__file__).resolve().parents[1] / "js"


def py_shout(ctx: task.ActivityContext, text: str) -> str:
    return f"py:{text.upper()}"


def cross_py_orch(ctx: task.OrchestrationContext, text: str):
    from_js = yield ctx.call_activity("js_reverse", input=text)
    from_py = yield ctx.call_activity(py_shout, input=text)
    return {"orchestrator": "py", "results": [from_js, from_py]}


@pytest.fixture
def js_worker(taskhub_server):
    node = shutil.which("node")
    assert node, "node is required for the cross-language test"
    assert (JS_DIR / "node_modules" / "@microsoft" / "durabletask-js").exists(), \
        "run `npm ci` in tests/interop/js first"
    proc = subprocess.Popen([node, str(JS_DIR / "cross_worker.js"), taskhub_server.address],
                            cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"JS worker did not start: {line!r} {proc.stderr.read()[-2000:]}"
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_python_and_js_workers_share_a_task_hub(client, start_worker, js_worker, uid):
    start_worker([cross_py_orch], [py_shout], filters=True)
    py_ids = [client.schedule_new_orchestration(cross_py_orch, input=f"abc{i}", instance_id=f"{uid}-py{i}")
              for i in range(5)]
    js_ids = [client.schedule_new_orchestration("cross_js_orch", input=f"xyz{i}", instance_id=f"{uid}-js{i}")
              for i in range(5)]
    for i, iid in enumerate(py_ids):
        st = complete(client, iid, timeout=60)
        assert st.runtime_status == Status.COMPLETED, st.failure_details
        assert st.get_output() == {"orchestrator": "py", "results": [f"js:{i}cba", f"py:ABC{i}"]}
    for i, iid in enumerate(js_ids):
        st = complete(client, iid, timeout=60)
        assert st.runtime_status == Status.COMPLETED, st.failure_details
        assert st.get_output() == {"orchestrator": "js", "results": [f"py:XYZ{i}", f"js:{i}zyx"]}
    assert js_worker.poll() is None, "the JS worker exited"
