"""list: filters, paging, --all, table output."""

from __future__ import annotations

from conftest import ISO_UTC


def _start_batch(cli, prefix: str, n: int) -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(n)]
    for i in ids:
        cli("start", "greet", "--input", '["x"]', "--id", i).expect(0)
    for i in ids:
        cli("wait", i, "--timeout", "30").expect(0)
    return ids


def test_list_prefix_status_and_table(cli, uid):
    ids = _start_batch(cli, uid, 3)
    cli("start", "waiter", "--id", f"{uid}-running").expect(0)
    listed = cli("list", "--prefix", uid, "-o", "json").expect(0).json()
    assert sorted(i["instance_id"] for i in listed["instances"]) == sorted(
        ids + [f"{uid}-running"])
    assert listed["continuation_token"] is None
    for inst in listed["instances"]:
        assert ISO_UTC.match(inst["created_at"]) and ISO_UTC.match(inst["last_updated_at"])
    completed = cli("get-instances", "--prefix", uid, "--status", "completed",
                    "-o", "json").expect(0).json()
    assert sorted(i["instance_id"] for i in completed["instances"]) == sorted(ids)
    both = cli("list", "--prefix", uid, "--status", "completed,running", "--status", "pending",
               "-o", "json").expect(0).json()
    assert len(both["instances"]) == 4
    table = cli("list", "--prefix", uid).expect(0).stdout.splitlines()
    assert table[0].split() == ["INSTANCE", "ID", "NAME", "STATUS", "CREATED", "LAST", "UPDATED"]
    assert len(table) == 5
    cli("terminate", f"{uid}-running").expect(0)


def test_list_paging_and_all(cli, uid):
    ids = _start_batch(cli, uid, 5)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        args = ["list", "--prefix", uid, "--top", "2", "-o", "json"]
        if token:
            args += ["--continuation-token", token]
        page = cli(*args).expect(0).json()
        assert len(page["instances"]) <= 2
        seen += [i["instance_id"] for i in page["instances"]]
        pages += 1
        token = page["continuation_token"]
        if not token:
            break
        assert pages < 10
    assert sorted(seen) == sorted(ids)
    assert pages >= 3
    human = cli("list", "--prefix", uid, "--top", "2").expect(0).stdout
    assert "--continuation-token" in human
    everything = cli("list", "--prefix", uid, "--all", "-o", "json").expect(0).json()
    assert sorted(i["instance_id"] for i in everything["instances"]) == sorted(ids)
    assert everything["continuation_token"] is None


def test_list_created_time_filters(cli, uid):
    ids = _start_batch(cli, uid, 2)
    created = cli("status", ids[0], "-o", "json").expect(0).json()["created_at"]
    future = cli("list", "--prefix", uid, "--created-after", "2099-01-01",
                 "-o", "json").expect(0).json()
    assert future["instances"] == []
    past = cli("list", "--prefix", uid, "--created-before", "2000-01-01T00:00:00Z",
               "-o", "json").expect(0).json()
    assert past["instances"] == []
    window = cli("list", "--prefix", uid, "--created-after", created, "--created-before", "now",
                 "-o", "json").expect(0).json()
    assert sorted(i["instance_id"] for i in window["instances"]) == sorted(ids)
    assert "No instances found." in cli("list", "--prefix", uid + "-none").expect(0).stdout


def test_list_usage_errors(cli):
    cli("list", "--status", "sleeping").expect(2)
    cli("list", "--created-after", "last tuesday").expect(2)
    cli("list", "--all", "--top", "3").expect(2)
