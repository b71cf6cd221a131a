"""`taskhubd --store azure` refuses a bad configuration at start-up with one clear line naming
what to fix, and never prints the account key. None of these cases reaches storage, so no Azurite
is needed (the unreachable-storage case points at a closed local port)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess

import pytest

from conftest import run_failing, taskhubd_binary

# A made-up account key (base64): it must never appear in taskhubd's output.
SECRET_KEY = base64.b64encode(b"taskhub-test-secret-account-key-0123456789").decode()
GOOD_SHAPE = (f"DefaultEndpointsProtocol=https;AccountName=taskhubtest;AccountKey={SECRET_KEY};"
              "EndpointSuffix=core.windows.net")
CONN_VARS = ("TASKHUB_AZURE_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any connection string, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in CONN_VARS and k != "TASKHUB_STORE"}
    env.update(extra)
    return env


def azure_failing(tmp_path, *args: str, env: dict[str, str] | None = None) -> str:
    """Runs taskhubd --store azure expecting a refused start; returns its "cannot start" line
    (asserting that the account key appears nowhere in its output)."""
    _, line = run_failing(["--data-dir", str(tmp_path / "data"), "--store", "azure", *args],
                          env=env if env is not None else clean_env(), errors="replace")
    assert SECRET_KEY not in line
    return line


def run_usage_error(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(taskhubd_binary()), "--listen", "127.0.0.1:0", *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
                          env=clean_env())
    print(f"exit {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    assert proc.returncode > 0, proc.returncode
    return proc


@pytest.mark.parametrize("hub", ["ab", "1hub", "my-hub", "my_hub", "h" * 46, "hüb"])
def test_bad_task_hub_name(tmp_path, hub):
    line = azure_failing(tmp_path, "--task-hub", hub, "--azure-storage-connection-string",
                         GOOD_SHAPE)
    assert "--task-hub" in line and f"'{hub}'" in line and "INVALID_ARGUMENT" in line


def test_default_task_hub_name_is_valid_for_azure(tmp_path):
    # "default" passes the name check: the start fails only later, at the unreachable storage.
    line = azure_failing(tmp_path, "--azure-storage-connection-string", closed_port_account(),
                         "--azure-max-retry-seconds", "1")
    assert "--task-hub" not in line


@pytest.mark.parametrize("count", ["0", "17", "-1", "four"])
def test_partition_count_out_of_range(count):
    proc = run_usage_error("--store", "azure", "--partition-count", count)
    assert "--partition-count" in proc.stdout + proc.stderr


def test_missing_connection_string(tmp_path):
    line = azure_failing(tmp_path, "--task-hub", "myhub")
    assert "--azure-storage-connection-string" in line
    assert "TASKHUB_AZURE_STORAGE_CONNECTION_STRING" in line and "AzureWebJobsStorage" in line


@pytest.mark.parametrize("how", ["flag", *CONN_VARS])
def test_bad_connection_string_from_flag_or_environment(tmp_path, how):
    bad = f"DefaultEndpointsProtocol=https;AccountKey={SECRET_KEY}"  # no AccountName
    if how == "flag":
        line = azure_failing(tmp_path, "--azure-storage-connection-string", bad)
    else:
        line = azure_failing(tmp_path, env=clean_env(**{how: bad}))
    source = "--azure-storage-connection-string" if how == "flag" else f"${how}"
    assert f"INVALID_ARGUMENT: {source}: " in line and "AccountName" in line


def test_taskhub_variable_wins_over_azure_web_jobs_storage(tmp_path):
    bad = f"DefaultEndpointsProtocol=https;AccountKey={SECRET_KEY}"
    line = azure_failing(tmp_path, env=clean_env(
        TASKHUB_AZURE_STORAGE_CONNECTION_STRING=closed_port_account(),
        AzureWebJobsStorage=bad) | {"TASKHUB_AZURE_MAX_RETRY_SECONDS": "1"})
    assert "AccountName" not in line and "UNAVAILABLE" in line


def closed_port_account() -> str:
    """A well-formed connection string whose endpoints refuse connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ends = ";".join(f"{svc}Endpoint=http://127.0.0.1:{port}/taskhubtest"
                    for svc in ("Blob", "Queue", "Table"))
    return f"DefaultEndpointsProtocol=http;AccountName=taskhubtest;AccountKey={SECRET_KEY};{ends};"


def test_unreachable_storage_is_unavailable(tmp_path):
    line = azure_failing(tmp_path, "--azure-storage-connection-string", closed_port_account(),
                         "--azure-max-retry-seconds", "1")
    assert "UNAVAILABLE" in line


def test_storage_stats_file_needs_azure(tmp_path):
    proc = run_usage_error("--data-dir", str(tmp_path / "data"), "--storage-stats-file",
                           str(tmp_path / "stats.json"))
    assert "--storage-stats-file needs --store azure" in proc.stderr
