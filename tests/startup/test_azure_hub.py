"""`taskhubd --store azure` against a real Azurite (tests/pyharness): a task hub keeps the partition
count it was created with, and the account key stays out of the log even at trace level."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from conftest import run_failing  # also puts tests/pyharness on sys.path
from taskhub_harness import (
    AZURITE_KEY, Azurite, Taskhubd, pytest_runtest_makereport)

__all__ = ["pytest_runtest_makereport"]  # a hook, used by pytest


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    az = Azurite(tmp_path_factory.mktemp("azurite"))
    az.start()
    yield az
    az.cleanup()


def test_partition_count_is_fixed_once_the_task_hub_exists(tmp_path, azurite):
    srv = Taskhubd(tmp_path / "hub", store="azure", connection_string=azurite.connection_string,
                   extra_args=["--partition-count", "3"])
    try:
        srv.start()
        assert srv.stop() == 0
        env = dict(os.environ, TASKHUB_AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
        _, line = run_failing(["--data-dir", str(tmp_path / "other"), "--store", "azure",
                               "--task-hub", srv.task_hub, "--partition-count", "5"], env=env)
        assert "FAILED_PRECONDITION" in line and "3" in line and "5" in line
        srv.start()  # the count it was created with still opens it
        assert srv.stop() == 0
    finally:
        srv.cleanup(kill=True)


def test_account_key_is_not_logged_even_at_trace_level(tmp_path, azurite):
    srv = Taskhubd(tmp_path / "hub", store="azure", connection_string=azurite.connection_string,
                   extra_args=["--log-level", "trace"])
    try:
        srv.start()
        assert srv.stop() == 0
        log = srv.log_path.read_text(errors="replace")
        assert "storage transactions:" in log  # trace output is there
        assert AZURITE_KEY not in log and AZURITE_KEY[:20] not in log
    finally:
        srv.cleanup(kill=True)
