"""The Durable Functions HTTP API end to end: a real taskhubd (--http-listen), a real Python
durabletask worker, `requests` as the client. Routes, status codes, JSON shapes, the async
202-then-200 pattern, ?timeout both ways, the continuation header both ways, bad input."""

from __future__ import annotations

import http.client as httpclient
import json
from datetime import datetime, timedelta, timezone

from _app import (ALL_ACTIVITIES, ALL_ORCHESTRATORS, error_of, poll, wait_status)

PAYLOAD_KEYS = {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                "purgeHistoryDeleteUri", "rewindPostUri", "suspendPostUri", "resumePostUri",
                "restartPostUri"}
STATUS_KEYS = {"name", "instanceId", "runtimeStatus", "input", "customStatus", "output",
               "createdTime", "lastUpdatedTime"}


def start(http, server, name, iid=None, body=None, **params):
    url = f"{server.base}/orchestrators/{name}" + (f"/{iid}" if iid else "")
    return http.post(url, json=body, params=params)


def test_start_answers_202_then_status_goes_202_to_200(http, http_server_factory, start_worker,
                                                       uid):
    http_server = http_server_factory()  # private: no worker of another test may pick it up
    r = start(http, http_server, "hello_orch", uid, "Tokyo")
    assert r.status_code == 202, r.text
    payload = r.json()
    assert set(payload) == PAYLOAD_KEYS
    assert payload["id"] == uid
    status_url = payload["statusQueryGetUri"]
    assert status_url == f"{http_server.base}/instances/{uid}"  # from the request's Host
    assert r.headers["Location"] == status_url
    assert r.headers["Retry-After"] == "10"
    assert payload["sendEventPostUri"] == f"{status_url}/raiseEvent/{{eventName}}"
    assert payload["terminatePostUri"] == f"{status_url}/terminate?reason={{text}}"
    # No worker yet: the instance is pending, the status URL answers 202 with Location.
    pending = http.get(status_url)
    assert pending.status_code == 202
    assert pending.headers["Location"] == status_url
    assert pending.headers["Retry-After"] == "5"
    assert pending.json()["runtimeStatus"] == "Pending"
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES, address=http_server.address)
    done = poll(lambda: http.get(status_url), lambda x: x.status_code != 202, what="completion")
    assert done.status_code == 200, done.text
    st = done.json()
    assert STATUS_KEYS <= set(st)
    assert st["name"] == "hello_orch"
    assert st["instanceId"] == uid
    assert st["runtimeStatus"] == "Completed"
    assert st["input"] == "Tokyo"
    assert st["output"] == ["Hello Tokyo!"]
    assert "historyEvents" not in st
    created = datetime.strptime(st["createdTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(created.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(hours=1)
    # showInput=false hides the input; showHistory shows DF-style events.
    assert http.get(status_url, params={"showInput": "false"}).json()["input"] is None
    hist = http.get(status_url, params={"showHistory": "true"}).json()["historyEvents"]
    types = [e["EventType"] for e in hist]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionCompleted", types
    task_done = next(e for e in hist if e["EventType"] == "TaskCompleted")
    assert task_done["FunctionName"] == "say_hello"
    assert "ScheduledTime" in task_done and "Result" not in task_done
    hist_out = http.get(status_url, params={"showHistory": "true",
                                            "showHistoryOutput": "true"}).json()["historyEvents"]
    assert next(e for e in hist_out if e["EventType"] == "TaskCompleted")["Result"] == "Hello Tokyo!"


def test_timeout_returns_the_output_when_done_in_time(http, http_server, start_worker, uid):
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    r = start(http, http_server, "hello_orch", uid, "Oslo", timeout="60")
    assert r.status_code == 200, r.text
    assert r.json() == ["Hello Oslo!"]


def test_timeout_expiring_returns_the_202_payload(http, http_server, start_worker, uid):
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    r = start(http, http_server, "wait_orch", uid, timeout="0.5")
    assert r.status_code == 202, r.text
    assert r.json()["id"] == uid and r.headers["Location"].endswith(f"/instances/{uid}")
    r = http.post(f"{http_server.base}/instances/{uid}/raiseEvent/go", json={"v": 1})
    assert r.status_code == 202, r.text
    done = poll(lambda: http.get(f"{http_server.base}/instances/{uid}"),
                lambda x: x.status_code == 200)
    assert done.json()["output"] == {"got": {"v": 1}}


def test_start_without_id_generates_one_and_conflict_is_409(http, http_server, uid):
    r = start(http, http_server, "wait_orch")
    assert r.status_code == 202 and len(r.json()["id"]) >= 16
    assert start(http, http_server, "wait_orch", uid).status_code == 202
    r = start(http, http_server, "wait_orch", uid)
    assert r.status_code == 409
    assert uid in error_of(r)


def test_start_bad_input(http, http_server, uid):
    base = http_server.base
    r = http.post(f"{base}/orchestrators/hello_orch/{uid}", data="{not json",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in error_of(r)
    r = http.post(f"{base}/orchestrators/hello_orch/%40entity", json=1)
    assert r.status_code == 400 and "reserved for entities" in error_of(r)
    assert start(http, http_server, "hello_orch", uid, timeout="soon").status_code == 400
    # Huge body: over the payload limit (16 MiB default) -> 413.
    r = http.post(f"{base}/orchestrators/hello_orch/{uid}", data=b'"' + b"x" * (17 << 20) + b'"',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert http.get(f"{base}/instances/{uid}").status_code == 404


def test_get_unknown_instance_and_routes(http, http_server, uid):
    base = http_server.base
    r = http.get(f"{base}/instances/{uid}")
    assert r.status_code == 404 and uid in error_of(r)
    r = http.get(f"{base}/nothing-here")
    assert r.status_code == 404 and error_of(r)
    r = http.put(f"{base}/instances/{uid}")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    # `requests` would re-encode a bad escape: send the raw path.
    conn = httpclient.HTTPConnection("127.0.0.1", http_server.http_port, timeout=30)
    for path in ("/runtime/webhooks/durabletask/instances/a%zzb",
                 "/runtime/webhooks/durabletask/instances?instanceIdPrefix=%G1"):
        conn.request("GET", path)
        raw = conn.getresponse()
        body = json.loads(raw.read())
        assert raw.status == 400 and "percent" in body["error"], (path, body)
    conn.close()
    r = http.get(f"{base}/instances/{uid}", params={"showHistory": "maybe"})
    assert r.status_code == 400 and "showHistory" in error_of(r)


def test_raise_event_routes(http, http_server, start_worker, uid):
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    base = http_server.base
    r = http.post(f"{base}/instances/{uid}/raiseEvent/go", json=1)
    assert r.status_code == 404
    assert start(http, http_server, "wait_orch", uid).status_code == 202
    r = http.post(f"{base}/instances/{uid}/raiseEvent/go", data="1",
                  headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and "application/json" in error_of(r)
    r = http.post(f"{base}/instances/{uid}/raiseEvent/go", data="[1,",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in error_of(r)
    r = http.post(f"{base}/instances/{uid}/raiseEvent/go", json=["a", 2])
    assert r.status_code == 202
    done = poll(lambda: http.get(f"{base}/instances/{uid}"), lambda x: x.status_code == 200)
    assert done.json()["output"] == {"got": ["a", 2]}
    r = http.post(f"{base}/instances/{uid}/raiseEvent/go", json=1)
    assert r.status_code == 410 and "finished" in error_of(r)


def test_terminate_suspend_resume(http, http_server, start_worker, uid):
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    base = http_server.base
    for op in ("terminate", "suspend", "resume"):
        assert http.post(f"{base}/instances/{uid}/{op}").status_code == 404
    assert start(http, http_server, "wait_orch", uid).status_code == 202
    wait_status(http, f"{base}/instances/{uid}", "Running")
    assert http.post(f"{base}/instances/{uid}/suspend", params={"reason": "pause"}).status_code == 202
    r = wait_status(http, f"{base}/instances/{uid}", "Suspended")
    assert r.status_code == 202  # suspended counts as running, as DF
    assert http.post(f"{base}/instances/{uid}/resume").status_code == 202
    wait_status(http, f"{base}/instances/{uid}", "Running")
    r = http.post(f"{base}/instances/{uid}/terminate", params={"reason": "operator stop"})
    assert r.status_code == 202
    r = wait_status(http, f"{base}/instances/{uid}", "Terminated")
    assert r.status_code == 400 and r.json()["output"] == "operator stop"
    for op in ("terminate", "suspend", "resume"):
        r = http.post(f"{base}/instances/{uid}/{op}")
        assert r.status_code == 410, (op, r.text)


def test_failed_status_rewind_and_500_on_request(http, http_server, start_worker, uid):
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    base = http_server.base
    assert http.post(f"{base}/instances/{uid}/rewind").status_code == 404
    r = start(http, http_server, "flaky_orch", uid, uid, timeout="60")
    assert r.status_code == 400, r.text  # a failed instance: the status object, 400 as DF
    st = r.json()
    assert st["runtimeStatus"] == "Failed"
    assert "first attempt" in st["failureDetails"]["errorMessage"]
    r = http.get(f"{base}/instances/{uid}", params={"returnInternalServerErrorOnFailure": "true"})
    assert r.status_code == 500 and r.json()["runtimeStatus"] == "Failed"
    assert http.get(f"{base}/instances/{uid}").status_code == 400
    r = http.post(f"{base}/instances/{uid}/rewind", params={"reason": "fixed"})
    assert r.status_code == 202, r.text
    done = wait_status(http, f"{base}/instances/{uid}", "Completed")
    assert done.json()["output"] == "ok after 2"
    r = http.post(f"{base}/instances/{uid}/rewind")
    assert r.status_code == 412 and "FAILED" in error_of(r)


def test_restart(http, http_server, start_worker, uid):
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    base = http_server.base
    assert http.post(f"{base}/instances/{uid}/restart").status_code == 404
    assert start(http, http_server, "wait_orch", uid).status_code == 202
    wait_status(http, f"{base}/instances/{uid}", "Running")
    r = http.post(f"{base}/instances/{uid}/restart")
    assert r.status_code == 409, r.text  # running: cannot restart under its id
    http.post(f"{base}/instances/{uid}/raiseEvent/go", json="first")
    wait_status(http, f"{base}/instances/{uid}", "Completed")
    r = http.post(f"{base}/instances/{uid}/restart")
    assert r.status_code == 202 and r.json()["id"] == uid
    wait_status(http, f"{base}/instances/{uid}", "Running")
    http.post(f"{base}/instances/{uid}/raiseEvent/go", json="second")
    wait_status(http, f"{base}/instances/{uid}", "Completed")
    r = http.post(f"{base}/instances/{uid}/restart", params={"restartWithNewInstanceId": "true"})
    assert r.status_code == 202 and r.json()["id"] != uid
    assert r.headers["Location"] == r.json()["statusQueryGetUri"]
    assert http.post(f"{base}/instances/{uid}/restart",
                     params={"restartWithNewInstanceId": "yes"}).status_code == 400


def test_purge_by_id(http, http_server, start_worker, uid):
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    base = http_server.base
    assert http.delete(f"{base}/instances/{uid}").status_code == 404
    assert start(http, http_server, "wait_orch", uid).status_code == 202
    r = http.delete(f"{base}/instances/{uid}")
    assert r.status_code == 412 and "finished" in error_of(r)
    http.post(f"{base}/instances/{uid}/terminate")
    wait_status(http, f"{base}/instances/{uid}", "Terminated")
    r = http.delete(f"{base}/instances/{uid}")
    assert r.status_code == 200 and r.json() == {"instancesDeleted": 1}
    assert http.get(f"{base}/instances/{uid}").status_code == 404


def test_purge_by_filter(http, http_server_factory, start_worker, uid):
    srv = http_server_factory()  # private: a filter purge would touch other tests' instances
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES, address=srv.address)
    base = srv.base
    r = http.delete(f"{base}/instances")
    assert r.status_code == 400 and "createdTimeFrom" in error_of(r)
    r = http.delete(f"{base}/instances", params={"createdTimeFrom": "last tuesday"})
    assert r.status_code == 400 and "createdTimeFrom" in error_of(r)
    for i in range(3):
        assert start(http, srv, "hello_orch", f"{uid}-{i}", "x", timeout="60").status_code == 200
    assert start(http, srv, "wait_orch", f"{uid}-running").status_code == 202
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = http.delete(f"{base}/instances", params={"createdTimeFrom": since,
                                                 "runtimeStatus": "Failed"})
    assert r.status_code == 404 and r.json()["instancesDeleted"] == 0  # DF: 404 when none
    r = http.delete(f"{base}/instances", params={"createdTimeFrom": since})
    assert r.status_code == 200 and r.json() == {"instancesDeleted": 3}
    assert http.get(f"{base}/instances/{uid}-0").status_code == 404
    assert http.get(f"{base}/instances/{uid}-running").status_code == 202


def test_list_filters_and_continuation_both_ways(http, http_server_factory, start_worker, uid):
    srv = http_server_factory()
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES, address=srv.address)
    base = srv.base
    for i in range(5):
        assert start(http, srv, "hello_orch", f"{uid}-done-{i}", "x", timeout="60").status_code == 200
    for i in range(2):
        assert start(http, srv, "wait_orch", f"{uid}-wait-{i}", {"in": i}).status_code == 202
    ids: list[str] = []
    token = None
    pages = 0
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        r = http.get(f"{base}/instances", params={"top": "2", "instanceIdPrefix": uid},
                     headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page) <= 2
        ids += [s["instanceId"] for s in page]
        pages += 1
        token = r.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(ids) == sorted([f"{uid}-done-{i}" for i in range(5)] +
                                 [f"{uid}-wait-{i}" for i in range(2)])
    assert pages >= 4
    r = http.get(f"{base}/instances", params={"runtimeStatus": "Completed", "instanceIdPrefix": uid})
    assert sorted(s["instanceId"] for s in r.json()) == sorted(f"{uid}-done-{i}" for i in range(5))
    r = http.get(f"{base}/instances", params={"runtimeStatus": "Pending,Running",
                                              "instanceIdPrefix": uid, "showInput": "true"})
    assert sorted(s["input"]["in"] for s in r.json()) == [0, 1]
    assert all(s["input"] is None for s in http.get(f"{base}/instances",
                                                    params={"instanceIdPrefix": uid}).json())
    future = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert http.get(f"{base}/instances", params={"createdTimeFrom": future}).json() == []
    assert len(http.get(f"{base}/instances", params={"createdTimeTo": future,
                                                     "instanceIdPrefix": uid}).json()) == 7
    for bad in ({"runtimeStatus": "Running,Sleeping"}, {"createdTimeTo": "2026-13-45"},
                {"top": "-1"}, {"showInput": "1"}):
        r = http.get(f"{base}/instances", params=bad)
        assert r.status_code == 400, (bad, r.text)
        assert next(iter(bad)) in error_of(r)
    r = http.get(f"{base}/instances", headers={"x-ms-continuation-token": "garbage!"})
    assert r.status_code == 400, r.text
    error_of(r)


def test_urls_follow_host_header(http, http_server, uid):
    r = http.post(f"{http_server.base}/orchestrators/wait_orch/{uid}",
                  headers={"Host": "example.test:8080"})
    assert r.status_code == 202
    assert r.json()["statusQueryGetUri"] == (
        f"http://example.test:8080/runtime/webhooks/durabletask/instances/{uid}")
    r = http.post(f"{http_server.base}/orchestrators/wait_orch/a%20b%2Fc")
    assert r.json()["statusQueryGetUri"].endswith("/instances/a%20b%2Fc")
    assert http.get(r.json()["statusQueryGetUri"].replace(
        "http://127.0.0.1", "http://127.0.0.1")).json()["instanceId"] == "a b/c"


def test_public_base_url(http, http_server_factory, uid):
    srv = http_server_factory(["--http-public-base-url", "https://ingress.example/hub/"])
    r = http.post(f"{srv.base}/orchestrators/wait_orch/{uid}")
    assert r.status_code == 202
    assert r.json()["statusQueryGetUri"] == (
        f"https://ingress.example/hub/runtime/webhooks/durabletask/instances/{uid}")
