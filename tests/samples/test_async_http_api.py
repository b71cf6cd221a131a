"""The async HTTP API samples (Python and JavaScript) against a real taskhubd serving the
Durable Functions HTTP management API (--http-listen): a plain HTTP client starts the report,
sees 202 + Location, polls until 200. The instance is then read back over gRPC."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
from durabletask.client import OrchestrationStatus

from samples_support import run_sample
from taskhub_harness import Taskhubd

EXPECTED = {"first_answer": 202, "polled_202": True, "final": 200, "runtimeStatus": "Completed",
            "output": {"period": "2026-Q4", "report": "report with 42 rows"}}


@pytest.fixture(scope="module")
def http_server(tmp_path_factory) -> Iterator[tuple[Taskhubd, str]]:
    workdir = tmp_path_factory.mktemp("taskhubd-http")
    port_file = Path(workdir) / "http.port"
    srv = Taskhubd(workdir, name="taskhubd-http",
                   extra_args=["--http-listen", "127.0.0.1:0", "--http-port-file", str(port_file)])
    srv.start()
    deadline = time.monotonic() + 30  # written once the HTTP server is bound
    while not port_file.exists() and time.monotonic() < deadline and srv.is_running():
        time.sleep(0.05)
    assert port_file.exists(), f"no --http-port-file written:\n{srv.log_tail()}"
    try:
        yield srv, f"http://127.0.0.1:{port_file.read_text().strip()}"
    finally:
        rc = srv.cleanup()
        assert rc == 0, f"taskhubd did not exit 0 on SIGTERM (rc={rc}):\n{srv.log_tail()}"


@pytest.mark.parametrize("lang", ["python", "js"])
def test_async_http_api(http_server, client_factory, lang):
    srv, url = http_server
    run = run_sample(lang, "async_http_api", srv.address, "--http-url", url)
    assert run.returncode == 0, run.describe()
    assert run.result() == EXPECTED, run.describe()
    posts = [ln for ln in run.stdout.splitlines() if ln.startswith("POST -> 202 Location: ")]
    assert len(posts) == 1, run.describe()
    iid = posts[0].rsplit("/", 1)[-1].split("?")[0]
    st = client_factory(srv.address).get_orchestration_state(iid)
    assert st is not None and st.runtime_status == OrchestrationStatus.COMPLETED, run.describe()
    assert st.get_output() == EXPECTED["output"]
