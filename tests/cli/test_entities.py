"""`taskhub entity list|get|signal|clean` against a real taskhubd, with a real durabletask
worker running a counter entity (and an orchestration that holds a lock on it).

The entity tests share one server of their own (module scope) whose only worker registers
the entity, so no other worker of the CLI suite ever receives an entity work item."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from durabletask import task
from durabletask import worker as dtworker
from durabletask.entities import EntityContext, EntityInstanceId

from conftest import ISO_UTC, Result, free_port, run_cli
from taskhub_harness import Taskhubd, make_client, running_server, sdk_logger

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ENTITY_FIELDS = {"instance_id", "name", "key", "last_modified_at", "backlog_queue_size",
                 "locked_by"}


def counter(ctx: EntityContext, value: Any) -> Any:
    """add N / set V / get / delete (state removed); any other operation raises."""
    op = ctx.operation
    if op == "add":
        ctx.set_state(ctx.get_state(int, 0) + int(value))
    elif op == "set":
        ctx.set_state(value)
    elif op == "get":
        return ctx.get_state(int, 0)
    elif op == "delete":
        ctx.set_state(None)
    else:
        raise ValueError(f"unknown operation {op}")
    return None


def hold_lock(ctx: task.OrchestrationContext, key: str):
    """Locks counter KEY, waits for the event "go", adds 1 inside the critical section."""
    entity = EntityInstanceId("counter", key)
    with (yield ctx.lock_entities([entity])):
        yield ctx.wait_for_external_event("go")
        yield ctx.call_entity(entity, "add", 1)
    return "released"


@pytest.fixture(scope="module")
def ent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Taskhubd]:
    yield from running_server(tmp_path_factory.mktemp("taskhubd-entities"),
                              name="taskhubd-entities")


@pytest.fixture(scope="module")
def ent_worker(ent_server: Taskhubd) -> Iterator[dtworker.TaskHubGrpcWorker]:
    w = dtworker.TaskHubGrpcWorker(host_address=ent_server.address,
                                   logger=sdk_logger("entity-worker"))
    w.add_entity(counter)
    w.add_orchestrator(hold_lock)
    w.start()
    yield w
    w.stop()


@pytest.fixture
def ecli(ent_server: Taskhubd, ent_worker: dtworker.TaskHubGrpcWorker) -> Callable[..., Result]:
    def run(*args: str, **kwargs: Any) -> Result:
        kwargs.setdefault("address", ent_server.address)
        return run_cli(*args, **kwargs)

    return run


def wait_entity(ecli: Callable[..., Result], name: str, key: str,
                pred: Callable[[dict[str, Any]], bool], what: str,
                timeout: float = 30.0) -> dict[str, Any]:
    """Polls `entity get NAME KEY --show-state -o json` until pred(entity) holds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        r = ecli("entity", "get", name, key, "--show-state", "-o", "json")
        if r.rc == 0:
            last = r.json()
            if pred(last):
                return last
        else:
            last = f"exit {r.rc}: {r.stderr.strip()}"
        if time.monotonic() > deadline:
            raise AssertionError(f"entity {name}/{key}: timed out waiting for {what}; "
                                 f"last: {last}")
        time.sleep(0.1)


def test_signal_then_get_shows_the_state(ecli, uid, tmp_path):
    key = f"{uid}-MixedCase"
    sig = ecli("entity", "signal", "Counter", key, "add", "5", "-o", "json").expect(0).json()
    assert sig["instance_id"] == f"@counter@{key}"  # name lower-cased, key kept
    assert sig["operation"] == "add"
    assert UUID4.match(sig["request_id"]), sig
    assert sig["scheduled_at"] is None
    data = tmp_path / "three.json"
    data.write_text(" 3\n")
    ecli("entity", "signal", "counter", key, "add", f"@{data}").expect(0)
    ecli("entity", "signal", "COUNTER", key, "add", "@-", stdin="2").expect(0)

    e = wait_entity(ecli, "counter", key, lambda e: e.get("state") == 10, "state 10")
    assert set(e) == ENTITY_FIELDS | {"state"}
    assert e["instance_id"] == f"@counter@{key}"
    assert (e["name"], e["key"]) == ("counter", key)
    assert ISO_UTC.match(e["last_modified_at"]), e
    assert e["backlog_queue_size"] == 0
    assert e["locked_by"] is None

    plain = ecli("entity", "get", "Counter", key, "-o", "json").expect(0).json()
    assert set(plain) == ENTITY_FIELDS  # no state without --show-state
    table = ecli("entity", "get", "counter", key, "--show-state").expect(0).stdout
    assert f"@counter@{key}" in table
    assert re.search(r"State\s+10$", table, re.M), table
    assert re.search(r"Locked by\s+\(unlocked\)", table), table
    assert "State" not in ecli("entity", "get", "counter", key).expect(0).stdout

    # The key is case-sensitive: another key is another (unknown) entity.
    ecli("entity", "get", "counter", key.lower()).expect(3)


def test_signal_text_output_and_operation_order(ecli, uid):
    key = f"{uid}-k"
    out = ecli("entity", "signal", "counter", key, "set", '{"n": 1}').expect(0).stdout
    assert out.startswith(f"Signaled entity @counter@{key} with operation 'set' (request id ")
    ecli("entity", "signal", "counter", key, "set", '"last"').expect(0)
    e = wait_entity(ecli, "counter", key, lambda e: e.get("state") == "last", 'state "last"')
    assert e["backlog_queue_size"] == 0


def test_list_prefix_show_state_and_paging(ecli, uid):
    keys = [f"{uid}-{i}" for i in range(3)]
    for i, key in enumerate(keys):
        ecli("entity", "signal", "counter", key, "add", str(i + 1)).expect(0)
    ecli("entity", "signal", "counter", f"{uid}x-other", "add", "9").expect(0)
    for i, key in enumerate(keys):
        wait_entity(ecli, "counter", key, lambda e, i=i: e.get("state") == i + 1, f"state {i + 1}")
    wait_entity(ecli, "counter", f"{uid}x-other", lambda e: e.get("state") == 9, "state 9")

    prefix = f"Counter@{uid}-"  # the name part of a prefix is case-insensitive too
    listed = ecli("entity", "list", "--prefix", prefix, "--show-state", "-o", "json").expect(0)
    entities = listed.json()["entities"]
    assert sorted(e["key"] for e in entities) == keys
    assert {e["key"]: e["state"] for e in entities} == {k: i + 1 for i, k in enumerate(keys)}
    for e in entities:
        assert set(e) == ENTITY_FIELDS | {"state"}
        assert e["instance_id"] == f"@counter@{e['key']}" and e["name"] == "counter"

    no_state = ecli("entity", "list", "--prefix", prefix, "-o", "json").expect(0).json()
    assert sorted(e["key"] for e in no_state["entities"]) == keys
    assert all("state" not in e for e in no_state["entities"])

    # One entity per server call: the CLI follows the continuation tokens.
    paged = ecli("entity", "list", "--prefix", prefix, "--page-size", "1", "-o", "json")
    assert sorted(e["key"] for e in paged.expect(0).json()["entities"]) == keys

    # A name-only prefix matches the other key as well.
    by_name = ecli("entity", "list", "--prefix", "counter", "-o", "json").expect(0).json()
    assert set(keys) | {f"{uid}x-other"} <= {e["key"] for e in by_name["entities"]}
    ecli("entity", "list", "--prefix", "@COUNTER@" + uid, "-o", "json").expect(0)

    table = ecli("entity", "list", "--prefix", prefix, "--show-state").expect(0).stdout
    lines = table.splitlines()
    assert lines[0].split() == ["NAME", "KEY", "LAST", "MODIFIED", "BACKLOG", "LOCKED", "BY",
                                "STATE"]
    rows = {line.split()[1]: line.split() for line in lines[1:]}
    assert set(rows) == set(keys)
    assert rows[keys[2]][0] == "counter" and rows[keys[2]][-1] == "3"

    none = ecli("entity", "list", "--prefix", f"{uid}-nothing-here").expect(0)
    assert none.stdout.strip() == "No entities found."
    assert ecli("entity", "list", "--prefix", f"{uid}-nothing-here", "-o", "json").expect(0) \
        .json() == {"entities": []}


def test_list_modified_time_filters(ecli, uid):
    key = f"{uid}-m"
    ecli("entity", "signal", "counter", key, "add", "1").expect(0)
    e = wait_entity(ecli, "counter", key, lambda e: e.get("state") == 1, "state 1")
    modified = e["last_modified_at"]  # printed to the millisecond: <= the stored time

    def keys(*flags: str) -> list[str]:
        r = ecli("entity", "list", "--prefix", f"counter@{key}", *flags, "-o", "json").expect(0)
        return [x["key"] for x in r.json()["entities"]]

    assert keys("--modified-after", modified) == [key]
    assert keys("--modified-before", modified) == []
    assert keys("--modified-after", "2000-01-01", "--modified-before", "2100-01-01") == [key]
    assert keys("--modified-after", "2100-01-01") == []
    assert keys("--modified-before", "2000-01-01T00:00:00+02:00") == []


def test_lock_shows_in_get_and_list_all_includes_transient(ecli, uid):
    key = f"{uid}-locked"
    orch = f"{uid}-holder"
    ecli("start", "hold_lock", "--id", orch, "--input", f'"{key}"').expect(0)
    # Locked, no state, nothing queued: a transient entity.
    e = wait_entity(ecli, "counter", key, lambda e: e["locked_by"] == orch, f"lock by {orch}")
    assert e["state"] is None
    table = ecli("entity", "get", "counter", key, "--show-state").expect(0).stdout
    assert re.search(rf"Locked by\s+{re.escape(orch)}$", table, re.M), table
    assert re.search(r"State\s+\(none\)$", table, re.M), table

    prefix = f"counter@{key}"
    assert ecli("entity", "list", "--prefix", prefix, "-o", "json").expect(0) \
        .json()["entities"] == []
    with_transient = ecli("entity", "list", "--prefix", prefix, "--all", "-o", "json").expect(0)
    [listed] = with_transient.json()["entities"]
    assert listed["instance_id"] == f"@counter@{key}" and listed["locked_by"] == orch
    table = ecli("entity", "list", "--prefix", prefix, "--all").expect(0).stdout
    assert orch in table.splitlines()[1], table

    ecli("raise", orch, "go").expect(0)
    assert ecli("wait", orch, "--timeout", "30", "-o", "json").expect(0) \
        .json()["output"] == "released"
    e = wait_entity(ecli, "counter", key, lambda e: e["locked_by"] is None, "unlock")
    assert e["state"] == 1
    [listed] = ecli("entity", "list", "--prefix", prefix, "-o", "json").expect(0) \
        .json()["entities"]
    assert listed["locked_by"] is None


def test_terminating_the_lock_holder_releases_the_lock(ecli, uid):
    key = f"{uid}-locked"
    orch = f"{uid}-holder"
    ecli("start", "hold_lock", "--id", orch, "--input", f'"{key}"').expect(0)
    wait_entity(ecli, "counter", key, lambda e: e["locked_by"] == orch, f"lock by {orch}")
    ecli("entity", "signal", "counter", key, "add", "5").expect(0)
    held = wait_entity(ecli, "counter", key, lambda e: e["backlog_queue_size"] >= 1,
                       "the signal queued behind the lock")
    assert held["locked_by"] == orch and held["state"] is None
    ecli("terminate", orch, "--reason", "test").expect(0)
    # The server unlocks the entities of an ending orchestration; the queued signal then runs.
    e = wait_entity(ecli, "counter", key,
                    lambda e: e["locked_by"] is None and e.get("state") == 5, "unlock and state 5")
    assert e["backlog_queue_size"] == 0
    counts = ecli("entity", "clean", "--release-orphaned-locks", "-o", "json").expect(0).json()
    assert counts["orphaned_locks_released"] == 0


def test_clean_prints_counts_and_keeps_live_entities(ecli, uid):
    key = f"{uid}-kept"
    gone = f"{uid}-gone"
    ecli("entity", "signal", "counter", key, "add", "4").expect(0)
    ecli("entity", "signal", "counter", gone, "add", "1").expect(0)
    wait_entity(ecli, "counter", key, lambda e: e.get("state") == 4, "state 4")
    wait_entity(ecli, "counter", gone, lambda e: e.get("state") == 1, "state 1")
    # Deleting the state leaves nothing: the server removes the entity at once.
    ecli("entity", "signal", "counter", gone, "delete").expect(0)
    deadline = time.monotonic() + 30
    while ecli("entity", "get", "counter", gone).rc != 3:
        assert time.monotonic() < deadline, "entity with deleted state still exists"
        time.sleep(0.1)

    counts = ecli("entity", "clean", "-o", "json").expect(0).json()
    assert counts == {"empty_entities_removed": 0, "orphaned_locks_released": 0}
    text = ecli("entity", "clean", "--remove-empty").expect(0).stdout
    assert text.strip() == "Removed 0 empty entities, released 0 orphaned locks"
    ecli("entity", "clean", "--release-orphaned-locks", "-o", "json").expect(0)
    ecli("entity", "clean", "--remove-empty", "--release-orphaned-locks").expect(0)
    assert ecli("entity", "get", "counter", key, "--show-state", "-o", "json").expect(0) \
        .json()["state"] == 4


def test_list_and_clean_across_many_server_pages(ecli, ent_server, uid):
    """250 entities: more than one server page for QueryEntities (default page size) and for
    CleanEntityStorage (taskhubd examines 200 per call), so both follow continuation tokens."""
    n = 250
    with make_client(ent_server.address) as client:
        for i in range(n):
            client.signal_entity(EntityInstanceId("counter", f"{uid}-{i:03d}"), "add", i)
    prefix = f"counter@{uid}-"
    deadline = time.monotonic() + 60
    while True:
        listed = ecli("entity", "list", "--prefix", prefix, "--show-state", "-o", "json") \
            .expect(0).json()["entities"]
        if len(listed) == n or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(e["key"] for e in listed) == [f"{uid}-{i:03d}" for i in range(n)]
    assert {e["key"]: e["state"] for e in listed} == {f"{uid}-{i:03d}": i for i in range(1, n)} \
        | {f"{uid}-000": 0}
    assert ecli("entity", "clean", "-o", "json").expect(0).json() == {
        "empty_entities_removed": 0, "orphaned_locks_released": 0}
    assert len(ecli("entity", "list", "--prefix", prefix, "-o", "json").expect(0)
               .json()["entities"]) == n


def test_scheduled_signals(ecli, uid):
    later = f"{uid}-later"
    r = ecli("entity", "signal", "counter", later, "add", "1", "--in", "1h", "-o", "json")
    assert ISO_UTC.match(r.expect(0).json()["scheduled_at"])
    # Not due for an hour: nothing exists yet (a delayed signal is only a timer).
    ecli("entity", "get", "counter", later).expect(3)
    assert ecli("entity", "list", "--prefix", f"counter@{later}", "--all", "-o", "json") \
        .expect(0).json()["entities"] == []

    soon = f"{uid}-soon"
    out = ecli("entity", "signal", "counter", soon, "add", "2", "--in", "300ms").expect(0).stdout
    assert " for 20" in out  # the scheduled time is printed
    ecli("entity", "signal", "counter", soon, "add", "3", "--at", "2020-01-01T00:00:00Z") \
        .expect(0)  # a past time: due at once
    wait_entity(ecli, "counter", soon, lambda e: e.get("state") == 5, "state 5")


def test_unknown_entity_and_operation_failures(ecli, uid):
    r = ecli("entity", "get", "Counter", f"{uid}-nope").expect(3)
    assert r.stderr.strip() == f"error: no entity with id '@counter@{uid}-nope'"
    assert r.stdout == ""
    ecli("entity", "get", "counter", f"{uid}-nope", "-o", "json").expect(3)
    # An operation the entity rejects fails alone; the state stays.
    key = f"{uid}-k"
    ecli("entity", "signal", "counter", key, "add", "7").expect(0)
    ecli("entity", "signal", "counter", key, "explode").expect(0)
    ecli("entity", "signal", "counter", key, "add", "1").expect(0)
    wait_entity(ecli, "counter", key, lambda e: e.get("state") == 8, "state 8")


def test_instance_commands_and_entity_ids(ecli, uid):
    """Entities are not orchestration instances: the instance commands never show or change them,
    and '@' ids are reserved for them. Keys with spaces and non-ASCII characters work."""
    key = f"{uid} ü/x"
    entity_id = f"@counter@{key}"
    ecli("entity", "signal", "counter", key, "add", "2").expect(0)
    wait_entity(ecli, "counter", key, lambda e: e.get("state") == 2, "state 2")
    [listed] = ecli("entity", "list", "--prefix", f"counter@{uid} ", "-o", "json").expect(0) \
        .json()["entities"]
    assert listed["key"] == key
    listed_instances = ecli("list", "--all", "-o", "json").expect(0).json()["instances"]
    assert all(not i["instance_id"].startswith("@") for i in listed_instances)
    ecli("status", entity_id).expect(3)
    for args in (["raise", entity_id, "ev"], ["terminate", entity_id], ["suspend", entity_id],
                 ["start", "hold_lock", "--id", f"@counter@{uid}-new"]):
        r = ecli(*args).expect(2)
        assert "entit" in r.stderr, r.stderr
    assert ecli("entity", "get", "counter", key, "--show-state", "-o", "json").expect(0) \
        .json()["state"] == 2
    # The server applies the instance-id rules to the whole entity id.
    ecli("entity", "signal", "counter", "tab\there", "add", "1").expect(2)
    ecli("entity", "signal", "counter", "k" * 2000, "add", "1").expect(2)


def test_entity_usage_errors_exit_2(tmp_path):
    address = f"127.0.0.1:{free_port()}"  # never contacted: validation comes first
    for args in (["entity", "get", "", "k"], ["entity", "get", "a@b", "k"],
                 ["entity", "signal", "@counter", "k", "add"],
                 ["entity", "signal", "", "k", "add"]):
        r = run_cli(*args, address=address).expect(2)
        assert r.stderr.startswith("error: entity name"), r.stderr
    run_cli("entity", "signal", "counter", "k", "", address=address).expect(2)
    run_cli("entity", address=address).expect(2)  # no subcommand
    run_cli("entity", "frob", address=address).expect(2)
    run_cli("entity", "get", "counter", address=address).expect(2)  # no KEY
    run_cli("entity", "signal", "counter", "k", address=address).expect(2)  # no OP
    missing = run_cli("entity", "signal", "counter", "k", "add", f"@{tmp_path}/missing.json",
                      address=address).expect(2)
    assert "cannot read file" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{'n': 1}")
    r = run_cli("entity", "signal", "counter", "k", "add", f"@{bad}", address=address).expect(2)
    assert r.stderr.startswith("error: operation input:") and "not valid JSON" in r.stderr
    bare = run_cli("entity", "signal", "counter", "k", "add", "five", address=address).expect(2)
    assert "quoted" in bare.stderr
    for flags in (["--in", "5x"], ["--in", "-5s"], ["--at", "tomorrow"],
                  ["--in", "5s", "--at", "2030-01-01"]):
        run_cli("entity", "signal", "counter", "k", "add", "1", *flags, address=address).expect(2)
    run_cli("entity", "list", "--page-size", "-1", address=address).expect(2)
    run_cli("entity", "list", "--modified-after", "yesterday", address=address).expect(2)


@pytest.mark.parametrize("args", [
    ["entity", "list"], ["entity", "get", "counter", "k"],
    ["entity", "signal", "counter", "k", "add", "1"], ["entity", "clean"],
])
def test_entity_commands_server_not_running_exit_4(args):
    address = f"127.0.0.1:{free_port()}"
    r = run_cli(*args, address=address).expect(4)
    assert r.stderr.startswith(f"error: cannot reach taskhubd at {address}")
    assert len(r.stderr.splitlines()) == 1, r.stderr


def test_entity_help():
    r = run_cli("entity", "--help").expect(0)
    for sub in ("list", "get", "signal", "clean"):
        assert re.search(rf"^  {sub}\s", r.stdout, re.M), r.stdout
    assert "Example:" in r.stdout
    assert "entity" in run_cli("--help").expect(0).stdout
    for sub in ("list", "get", "signal", "clean"):
        h = run_cli("entity", sub, "--help").expect(0).stdout
        assert "Example:" in h and f"taskhub entity {sub}" in h, h
    for flag in ("--prefix", "--show-state", "--all", "--page-size"):
        assert flag in run_cli("entity", "list", "--help").stdout
    for flag in ("--at", "--in"):
        assert flag in run_cli("entity", "signal", "--help").stdout
    for flag in ("--remove-empty", "--release-orphaned-locks"):
        assert flag in run_cli("entity", "clean", "--help").stdout


def test_ids_in_pages_are_unique(ecli, uid):
    """Paging with a page size smaller than the match count neither repeats nor skips."""
    keys = [f"{uid}-{i:02d}" for i in range(7)]
    for key in keys:
        ecli("entity", "signal", "counter", key, "add", "1").expect(0)
    for key in keys:
        wait_entity(ecli, "counter", key, lambda e: e.get("state") == 1, "state 1")
    for size in ("1", "2", "3", "7", "100"):
        listed = ecli("entity", "list", "--prefix", f"counter@{uid}-", "--page-size", size,
                      "-o", "json").expect(0).json()["entities"]
        ids = [e["key"] for e in listed]
        assert sorted(ids) == keys, (size, ids)



def test_purge_of_an_entity_id_deletes_an_idle_entity(ecli, uid):
    """`taskhub purge @name@key` purges an entity (with its state) when it is idle; an entity
    that does not exist (any more) is not purged (exit 5, wrong state)."""
    key = f"{uid}-purge"
    ecli("entity", "signal", "counter", key, "add", "4").expect(0)
    wait_entity(ecli, "counter", key, lambda e: e.get("state") == 4, "state 4")
    assert ecli("purge", f"@counter@{key}", "--yes", "-o", "json").expect(0).json() == {
        "deleted": 1}
    ecli("entity", "get", "counter", key).expect(3)
    r = ecli("purge", f"@counter@{key}", "--yes").expect(5)
    assert "was not purged" in r.stderr
