"""Entity routes, and many concurrent ?timeout long-polls not blocking other requests."""

from __future__ import annotations

import socket
import threading

import requests

from _app import ALL_ACTIVITIES, ALL_ORCHESTRATORS, counter, error_of, poll
from conftest import BASE_PATH


def test_entity_signal_get_list(http, http_server, start_worker, uid):
    start_worker(entities=[counter])
    base = http_server.base
    r = http.get(f"{base}/entities/counter/{uid}")
    assert r.status_code == 404 and error_of(r)
    for amount in (5, 7):
        r = http.post(f"{base}/entities/counter/{uid}", params={"op": "add"}, json=amount)
        assert r.status_code == 202, r.text
    # A non-JSON body is the input as a string (DF): "add" fails on it, the state is unchanged.
    r = http.post(f"{base}/entities/counter/{uid}", params={"op": "add"}, data="oops",
                  headers={"Content-Type": "text/plain"})
    assert r.status_code == 202
    assert http.post(f"{base}/entities/counter/{uid}", params={"op": "add"}, json=1).status_code == 202
    # Entity names are case-insensitive (normalized), keys are not.
    r = http.post(f"{base}/entities/Counter/{uid}-2", params={"op": "add"}, json=1)
    assert r.status_code == 202
    r = http.post(f"{base}/entities/counter/{uid}", params={"op": "add"}, data="[1,",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in error_of(r)
    state = poll(lambda: http.get(f"{base}/entities/counter/{uid}"),
                 lambda x: x.status_code == 200 and x.json() == 13, what="entity state 13")
    assert state.json() == 13
    poll(lambda: http.get(f"{base}/entities/counter/{uid}-2"), lambda x: x.status_code == 200)
    r = http.get(f"{base}/entities/counter", params={"fetchState": "true"})
    assert r.status_code == 200
    mine = {e["entityId"]["key"]: e for e in r.json() if e["entityId"]["key"].startswith(uid)}
    assert set(mine) == {uid, f"{uid}-2"}
    assert mine[uid]["entityId"]["name"] == "counter"
    assert mine[uid]["state"] == 13 and "lastOperationTime" in mine[uid]
    assert "state" not in http.get(f"{base}/entities/counter").json()[0]
    # Paging with the continuation header.
    keys, token = [], None
    while True:
        r = http.get(f"{base}/entities/counter", params={"top": "1"},
                     headers={"x-ms-continuation-token": token} if token else {})
        assert r.status_code == 200
        keys += [e["entityId"]["key"] for e in r.json()]
        token = r.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert {uid, f"{uid}-2"} <= set(keys)
    # DELETE signals the "delete" operation.
    assert http.delete(f"{base}/entities/counter/{uid}").status_code == 202
    poll(lambda: http.get(f"{base}/entities/counter/{uid}"), lambda x: x.status_code == 404,
         what="entity deleted")
    r = http.get(f"{base}/entities/counter", params={"lastOperationTimeFrom": "never"})
    assert r.status_code == 400 and "lastOperationTimeFrom" in error_of(r)


def test_many_long_polls_do_not_block_other_requests(http, http_server, start_worker, uid):
    """N requests wait with ?timeout (each holds an engine waiter, no thread); meanwhile other
    requests are answered; then each waiter is woken by its instance completing."""
    start_worker(ALL_ORCHESTRATORS, ALL_ACTIVITIES)
    base = http_server.base
    n = 40
    results: dict[int, requests.Response] = {}

    def wait_one(i: int) -> None:
        with requests.Session() as s:
            results[i] = s.post(f"{base}/orchestrators/wait_orch/{uid}-{i}",
                                params={"timeout": "120"}, json=None, timeout=200)

    threads = [threading.Thread(target=wait_one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    # Every waiter's instance exists and runs; the waiters are all still waiting.
    poll(lambda: http.get(f"{base}/instances", params={"instanceIdPrefix": uid,
                                                       "runtimeStatus": "Running"},
                          timeout=30).json(),
         lambda page: len(page) == n, what=f"{n} running instances")
    assert not results, "a waiter returned before its instance finished"
    # Other requests are served while the waiters wait.
    for _ in range(5):
        r = http.get(f"{base}/instances", params={"instanceIdPrefix": uid, "top": "5"}, timeout=30)
        assert r.status_code == 200
        assert http.get(f"{base}/instances/{uid}-0", timeout=30).status_code == 202
    assert not results
    for i in range(n):
        assert http.post(f"{base}/instances/{uid}-{i}/raiseEvent/go", json=i).status_code == 202
    for t in threads:
        t.join(timeout=180)
    assert len(results) == n
    for i, r in results.items():
        assert r.status_code == 200, (i, r.text)
        assert r.json() == {"got": i}


def test_a_long_poll_whose_client_left_frees_its_waiter(http, http_server_factory, uid):
    """A client that closes its connection during a ?timeout wait: the engine waiter ends
    then (seen in the taskhub_waiters gauge), not at the deadline minutes later."""
    srv = http_server_factory()  # its own server: no other test's waiters; no worker
    metrics = f"http://127.0.0.1:{srv.http_port}/metrics"

    def waiters() -> float:
        lines = http.get(metrics, timeout=30).text.splitlines()
        return float(next(ln for ln in lines if ln.startswith("taskhub_waiters ")).split()[1])

    path = f"{BASE_PATH}/orchestrators/wait_orch"
    clients = []
    for i in range(5):
        s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=30)
        s.sendall(f"POST {path}/{uid}-{i}?timeout=240 HTTP/1.1\r\nHost: test\r\n"
                  "Content-Length: 0\r\n\r\n".encode())
        clients.append(s)
    poll(waiters, lambda w: w == 5, what="5 waiters")
    for s in clients[:4]:
        s.close()
    poll(waiters, lambda w: w == 1, what="the 4 waiters of closed connections freed")
    assert http.get(f"{srv.base}/instances/{uid}-0").status_code == 202  # still pending
    clients[4].close()
    poll(waiters, lambda w: w == 0, what="no waiter left")
