"""Fixtures for the Python and JavaScript sample tests (sdk/examples/python, sdk/examples/js):
one real taskhubd per module from the shared harness (tests/pyharness), and `run_sample`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyharness"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # needed under --import-mode=importlib
from taskhub_harness import (  # noqa: E402
    Taskhubd, client_factory, pytest_runtest_makereport, running_server)

__all__ = ["client_factory", "pytest_runtest_makereport"]  # a fixture and a hook, used by pytest


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Taskhubd]:
    """A taskhubd shared by the samples of one module (each sample uses fresh instance ids)."""
    yield from running_server(tmp_path_factory.mktemp("taskhubd"))
