"""Async HTTP API through taskhubd's Durable Functions HTTP management API: a plain HTTP client
(no SDK) starts a long-running report with POST .../orchestrators/{name}, gets "202 Accepted"
with a Location (the status URL) at once, then polls that URL, as told by Retry-After, until it
answers 200 with the output. The worker here is the Python SDK; the HTTP side is urllib only.

Needs taskhubd started with `--http-listen HOST:PORT`.
Run: python sdk/examples/python/async_http_api.py [--address localhost:4001]
     [--http-url http://localhost:8080]
"""

import json
import os
import threading
import time
import urllib.error
import urllib.request

from durabletask import task

from _common import finish, main, new_id, parse_args, worker_and_client

BASE = "/runtime/webhooks/durabletask"
seen_accepted = threading.Event()  # set once the client has seen a 202 for the running report


def query_rows(ctx: task.ActivityContext, period: str) -> int:
    # A slow query. It returns only after the HTTP client has seen the report in progress
    # (202), so the sample shows both answers on every run without relying on timing.
    if not seen_accepted.wait(timeout=60):
        raise TimeoutError("the HTTP client never polled")
    return 42


def render_report(ctx: task.ActivityContext, rows: int) -> str:
    return f"report with {rows} rows"


def generate_report(ctx: task.OrchestrationContext, period: str):
    rows = yield ctx.call_activity(query_rows, input=period)
    ctx.set_custom_status("rendering")
    report = yield ctx.call_activity(render_report, input=rows)
    return {"period": period, "report": report}


def http(method: str, url: str, body=None):
    """(status, headers, parsed JSON body or None); HTTP error statuses are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    return status, headers, (json.loads(raw) if raw else None)


def run() -> int:
    args = parse_args("async HTTP API", lambda p: p.add_argument(
        "--http-url", default=os.environ.get("TASKHUB_HTTP_URL", "http://localhost:8080"),
        help="taskhubd's HTTP API (--http-listen), default $TASKHUB_HTTP_URL or %(default)s"))
    iid = new_id("report")
    polls = []
    with worker_and_client(args.address, orchestrators=[generate_report],
                           activities=[query_rows, render_report]):
        status, headers, payload = http(
            "POST", f"{args.http_url}{BASE}/orchestrators/generate_report/{iid}", "2026-Q4")
        first_answer = status
        print(f"POST -> {status} Location: {headers.get('Location')}", flush=True)
        if status != 202:
            raise RuntimeError(f"start answered {status}: {payload}")
        location = headers["Location"]
        if payload["id"] != iid or payload["statusQueryGetUri"] != location:
            raise RuntimeError(f"unexpected management payload {payload}")
        deadline = time.monotonic() + args.timeout
        while True:
            status, headers, body = http("GET", location)
            polls.append(status)
            print(f"GET status -> {status} {body.get('runtimeStatus') if body else ''}", flush=True)
            if status == 200:
                break
            if status != 202:
                raise RuntimeError(f"status answered {status}: {body}")
            seen_accepted.set()
            if time.monotonic() > deadline:
                raise TimeoutError("the report did not finish in time")
            # Retry-After is in whole seconds; poll sooner here so the sample is quick.
            time.sleep(min(float(headers.get("Retry-After", 1)), 0.2))
    result = {"first_answer": first_answer, "polled_202": polls.count(202) > 0, "final": polls[-1],
              "runtimeStatus": body["runtimeStatus"], "output": body["output"]}
    return finish(result, {"first_answer": 202, "polled_202": True, "final": 200,
                           "runtimeStatus": "Completed",
                           "output": {"period": "2026-Q4", "report": "report with 42 rows"}})


if __name__ == "__main__":
    main(run)
