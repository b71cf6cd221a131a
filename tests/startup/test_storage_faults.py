"""A full disk under a running taskhubd: writes are refused, nothing acknowledged is lost.

Uses a small tmpfs (needs root and mount permission; skipped with the reason otherwise).
Before the fix the daemon died of a RocksDB assertion (the Debian librocksdb keeps
assertions on; it asserted re-writing its LOG file after ENOSPC).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from conftest import Daemon, run_failing
from taskhub_harness import small_tmpfs

import durabletask.internal.orchestrator_service_pb2 as pb  # noqa: E402
import durabletask.internal.orchestrator_service_pb2_grpc as stubs  # noqa: E402
from google.protobuf import wrappers_pb2  # noqa: E402

SERVING, NOT_SERVING = 1, 2


@pytest.fixture
def small_fs(tmp_path) -> Iterator[Path]:
    with small_tmpfs(tmp_path, "4m") as mnt:
        yield mnt


def _fill(d: Daemon, stub) -> tuple[list[str], grpc.RpcError]:
    """Starts instances with 200 KB inputs until one is refused; returns (acked ids, error)."""
    acked = []
    for i in range(1000):
        try:
            stub.StartInstance(pb.CreateInstanceRequest(
                instanceId=f"big-{i}", name="Foo",
                input=wrappers_pb2.StringValue(value='"' + "x" * 200_000 + '"')), timeout=30)
            acked.append(f"big-{i}")
        except grpc.RpcError as e:
            assert d.proc.poll() is None, f"taskhubd died ({d.proc.returncode}):\n{d.log()}"
            return acked, e
    raise AssertionError("a 4 MiB file system never filled up")


def _refused_for_good(d: Daemon, stub, code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.RpcError) as again:
        stub.StartInstance(pb.CreateInstanceRequest(instanceId="small", name="Foo"), timeout=30)
    assert again.value.code() == code, again.value
    assert d.proc.poll() is None, f"taskhubd died:\n{d.log()}"
    assert d.health("") == NOT_SERVING
    assert d.health("TaskHubSidecarService") == NOT_SERVING


def test_low_disk_space_refuses_writes_before_the_disk_is_full(small_fs, tmp_path, daemons):
    d = Daemon(small_fs / "data", tmp_path, "--min-free-disk-mb", "1")
    daemons.append(d)
    assert d.health("TaskHubSidecarService") == SERVING
    stub = stubs.TaskHubSidecarServiceStub(d.channel)
    acked, err = _fill(d, stub)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err
    assert "--min-free-disk-mb" in err.details()
    _refused_for_good(d, stub, grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert d.stop() == 0


def test_failed_write_on_a_full_disk_is_unavailable_and_loses_nothing(small_fs, tmp_path,
                                                                      daemons):
    # No reserve: the write really fails in RocksDB (ENOSPC on the WAL).
    data = small_fs / "data"
    d = Daemon(data, tmp_path, "--min-free-disk-mb", "0")
    daemons.append(d)
    stub = stubs.TaskHubSidecarServiceStub(d.channel)
    acked, err = _fill(d, stub)
    assert err.code() == grpc.StatusCode.UNAVAILABLE, err
    assert "No space left" in err.details() or "space" in err.details(), err.details()
    assert acked, "nothing was written before the disk filled up"
    _refused_for_good(d, stub, grpc.StatusCode.UNAVAILABLE)
    assert d.stop() == 0, f"taskhubd did not shut down cleanly:\n{d.log()}"
    # Given space again, a restart has every acknowledged instance.
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_fs)], check=True)
    d2 = Daemon(data, tmp_path, "--min-free-disk-mb", "0")
    daemons.append(d2)
    assert d2.health("TaskHubSidecarService") == SERVING
    stub2 = stubs.TaskHubSidecarServiceStub(d2.channel)
    missing = [i for i in acked
               if not stub2.GetInstance(pb.GetInstanceRequest(instanceId=i), timeout=10).exists]
    assert not missing, f"acknowledged instances lost: {missing}"
    assert d2.stop() == 0


def test_start_up_below_the_reserve_is_refused(small_fs):
    _, line = run_failing(["--data-dir", str(small_fs / "data"), "--min-free-disk-mb", "64"])
    assert "RESOURCE_EXHAUSTED" in line and str(small_fs / "data") in line
    assert "--min-free-disk-mb" in line
