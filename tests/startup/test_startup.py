"""Every start-up failure of taskhubd is one clear line and a non-zero exit, never a crash.

Before the fix every case here was a SIGSEGV with no message (the half-built server's
destructor dereferenced null), and a second daemon on a port in use started anyway
(gRPC's default SO_REUSEPORT).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from conftest import Daemon, make_store, run_failing, taskhubd_binary


def test_data_dir_is_a_file(tmp_path):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    _, line = run_failing(["--data-dir", str(f)])
    assert str(f) in line and "not a directory" in line


def test_data_dir_held_by_another_daemon(tmp_path, daemons):
    data = tmp_path / "data"
    daemons.append(Daemon(data, tmp_path))
    _, line = run_failing(["--data-dir", str(data)])
    assert str(data) in line and "another taskhubd" in line
    assert daemons[0].proc.poll() is None, "the first daemon must keep running"


def test_port_in_use_is_refused(tmp_path, daemons):
    first = Daemon(tmp_path / "data1", tmp_path)
    daemons.append(first)
    _, line = run_failing(["--data-dir", str(tmp_path / "data2"), "--listen", first.address])
    assert first.address in line and "cannot listen" in line


def test_data_dir_unreadable(tmp_path):
    # Root ignores file permissions: run the daemon as "nobody" then (a fresh world-
    # traversable parent, since pytest's tmp dirs are private to root; the binary is
    # copied there too, since the checkout may sit in a directory only root can enter).
    parent = Path(tempfile.mkdtemp(prefix="taskhub-startup-"))
    try:
        os.chmod(parent, 0o755)
        data = parent / "data"
        data.mkdir()
        kw = {}
        if os.geteuid() == 0:
            kw["user"] = 65534
            kw["group"] = 65534
            kw["binary"] = Path(shutil.copy2(taskhubd_binary(), parent / "taskhubd"))
        # A store the daemon may not read: its directory has no permissions at all.
        os.chmod(data, 0)
        _, line = run_failing(["--data-dir", str(data)], **kw)
        assert str(data) in line and "ermission denied" in line
    finally:
        os.chmod(parent / "data", stat.S_IRWXU)
        shutil.rmtree(parent)


@pytest.mark.parametrize("what", ["CURRENT", "MANIFEST"])
def test_corrupt_current_or_manifest(tmp_path, what):
    data = tmp_path / "data"
    make_store(data, tmp_path, 3)
    if what == "CURRENT":
        (data / "CURRENT").write_text("garbage\n")
    else:
        manifest = next(data.glob("MANIFEST-*"))
        raw = bytearray(manifest.read_bytes())
        raw[10:20] = b"garbage!!!"
        manifest.write_bytes(bytes(raw))
    _, line = run_failing(["--data-dir", str(data)])
    assert "DATA_LOSS" in line and str(data) in line and "backup" in line


def _wal(data: Path) -> Path:
    logs = sorted(data.glob("*.log"))
    assert logs, f"no WAL in {data}: {list(data.iterdir())}"
    assert logs[-1].stat().st_size > 100, f"the WAL {logs[-1]} holds no records"
    return logs[-1]


def test_corrupt_wal_record_stops_start_up(tmp_path):
    # A damaged record in the middle of the WAL: RocksDB's default (point-in-time)
    # recovery would start and silently drop it and every later acknowledged write.
    data = tmp_path / "data"
    make_store(data, tmp_path, 6, crash=True)
    wal = _wal(data)
    raw = bytearray(wal.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    wal.write_bytes(bytes(raw))
    _, line = run_failing(["--data-dir", str(data)])
    assert "DATA_LOSS" in line and "checksum" in line and str(data) in line


def test_corrupt_last_wal_record_stops_start_up(tmp_path):
    data = tmp_path / "data"
    make_store(data, tmp_path, 6, crash=True)
    wal = _wal(data)
    raw = bytearray(wal.read_bytes())
    raw[-5] ^= 0xFF
    wal.write_bytes(bytes(raw))
    _, line = run_failing(["--data-dir", str(data)])
    assert "DATA_LOSS" in line


def test_torn_wal_tail_is_a_crash_not_corruption(tmp_path, daemons):
    # An incomplete record at the very end of the WAL is what a crash during an
    # (unsynced, so unacknowledged) write leaves: the daemon starts, keeping the rest.
    import durabletask.internal.orchestrator_service_pb2 as pb
    import durabletask.internal.orchestrator_service_pb2_grpc as stubs
    data = tmp_path / "data"
    ids = make_store(data, tmp_path, 6, crash=True)
    wal = _wal(data)
    os.truncate(wal, wal.stat().st_size - 7)
    d = Daemon(data, tmp_path)
    daemons.append(d)
    stub = stubs.TaskHubSidecarServiceStub(d.channel)
    found = [i for i in ids
             if stub.GetInstance(pb.GetInstanceRequest(instanceId=i), timeout=10).exists]
    assert found == ids[:-1]  # only the torn (last) write is gone
    assert d.stop() == 0


def test_port_file_not_writable(tmp_path):
    pf = tmp_path / "no-such-dir" / "port"
    _, line = run_failing(["--data-dir", str(tmp_path / "data"), "--port-file", str(pf)])
    assert str(pf) in line and "--port-file" in line
