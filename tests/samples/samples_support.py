"""Runs one sample (Python or JavaScript) as a user would, with its documented command, and
parses what it printed. The contract (sdk/examples/python/_common.py, sdk/examples/js/common.js):
progress lines, exactly one `RESULT: <json>` line, exit code 0 only when the result checks out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "sdk" / "examples"
RUN_TIMEOUT_S = 120


@dataclass
class SampleRun:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (f"$ {' '.join(self.command)}\nexit code {self.returncode}\n--- stdout\n{self.stdout}"
                f"--- stderr\n{self.stderr[-4000:]}")

    def result(self) -> Any:
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith("RESULT: ")]
        assert len(lines) == 1, f"want exactly one RESULT line\n{self.describe()}"
        return json.loads(lines[0][len("RESULT: "):])

    def started_ids(self) -> list[str]:
        return [ln.split()[1] for ln in self.stdout.splitlines() if ln.startswith("started ")]


def command(language: str, sample: str, address: str, *args: str) -> list[str]:
    if language == "python":
        return [sys.executable, str(EXAMPLES / "python" / f"{sample}.py"), "--address", address, *args]
    node = shutil.which("node")
    assert node, "node not found"
    assert (EXAMPLES / "js" / "node_modules" / "@microsoft" / "durabletask-js").is_dir(), (
        "run `npm ci` in sdk/examples/js first (tools/run-tests.sh does)")
    return [node, str(EXAMPLES / "js" / f"{sample}.js"), "--address", address, *args]


def run_sample(language: str, sample: str, address: str, *args: str) -> SampleRun:
    cmd = command(language, sample, address, *args)
    env = {k: v for k, v in os.environ.items() if k != "TASKHUB_ADDRESS"}
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    return SampleRun(cmd, p.returncode, p.stdout, p.stderr)
