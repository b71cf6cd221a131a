"""taskhubd --config (taskhubd's own YAML/JSON keys, or a Durable Functions host.json as it is),
the precedence flags > environment > file > defaults, --print-config with secrets masked,
--version, the start-up build-info line, and bad files refused with exit code 2 and one
"cannot start" line naming the key."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from conftest import Daemon, run_failing, taskhubd_binary

SECRET = "AccountName=taskhubtest;AccountKey=c2VjcmV0LWtleS1uZXZlci1wcmludGVk"
HOST_JSON = {
    "version": "2.0",
    "logging": {"logLevel": {"default": "Information"}},
    "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle",
                        "version": "[4.*, 5.0.0)"},
    "functionTimeout": "00:10:00",
    "extensions": {"durableTask": {
        "hubName": "MyTaskHub",
        "storageProvider": {"connectionStringName": "MyStorage", "partitionCount": 3,
                            "controlQueueBatchSize": 32},
        "maxConcurrentActivityFunctions": 10,
        "maxConcurrentOrchestratorFunctions": 5,
        "extendedSessionsEnabled": True,
        "notifications": {"eventGrid": {"topicEndpoint": "https://example.invalid/api/events"}},
        "tracing": {"traceInputsAndOutputs": False},
        "maxConcurentActivityFunctions": 1,  # misspelt: warned about by name
    }},
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TASKHUB_") and k not in ("AzureWebJobsStorage", "MyStorage")}
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(taskhubd_binary()), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=20,
                          env=env if env is not None else clean_env())
    print(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def printed(proc: subprocess.CompletedProcess) -> dict[str, tuple[str, str]]:
    """--print-config output as {key: (value, origin)}."""
    assert proc.returncode == 0
    out = {}
    for line in proc.stdout.splitlines():
        if not line or line.startswith("#"):
            continue
        key, rest = line.split(": ", 1)
        value, origin = rest.rsplit("  # ", 1)
        out[key] = (value, origin)
    return out


# Broken on purpose: main() printing --version to stderr -> no version on stdout.
def test_version():
    proc = run("--version")
    assert proc.returncode == 0
    assert re.fullmatch(r"taskhubd \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown)\)\n",
                        proc.stdout), proc.stdout


# Broken on purpose: the LogBuildInfo() call skipped in server.cc -> no build-info line.
def test_config_file_is_used_and_build_info_is_logged(tmp_path, daemons):
    cfg = tmp_path / "taskhub.yaml"
    cfg.write_text("task-hub: fromfile\nengine:\n  partitions: 2\nlog-level: info\n")
    d = Daemon(tmp_path / "data", tmp_path, "--config", str(cfg))
    daemons.append(d)
    lines = [ln for ln in d.log().splitlines() if "build info:" in ln]
    assert len(lines) == 1, d.log()
    line = lines[0]
    assert re.search(r"taskhubd \d+\.\d+\.\d+ \(commit ", line), line
    assert "store rocksdb" in line and "engine partitions 2" in line, line
    assert f"grpc 127.0.0.1:{d.port}" in line, line
    assert "task hub 'fromfile'" in d.log()
    assert d.stop() == 0


def test_host_json_is_accepted_as_it_is(tmp_path, daemons):
    host = tmp_path / "host.json"
    host.write_text(json.dumps(HOST_JSON, indent=2))
    d = Daemon(tmp_path / "data", tmp_path, "--config", str(host))
    daemons.append(d)
    log = d.log()
    assert "task hub 'MyTaskHub'" in log
    for noted in ("host.json logging", "host.json extensionBundle", "host.json functionTimeout",
                  "extendedSessionsEnabled: accepted, no effect",
                  "notifications.eventGrid.topicEndpoint: accepted, no effect",
                  "tracing.traceInputsAndOutputs: accepted, no effect",
                  "storageProvider.controlQueueBatchSize: accepted, no effect"):
        assert noted in log, noted
    warnings = [ln for ln in log.splitlines() if "[warning]" in ln]
    assert len(warnings) == 1 and "maxConcurentActivityFunctions" in warnings[0], warnings
    assert d.stop() == 0


def test_print_config_masks_secrets_and_names_origins(tmp_path):
    host = tmp_path / "host.json"
    host.write_text(json.dumps(HOST_JSON))
    proc = run("--config", str(host), "--store", "azure", "--print-config",
               env=clean_env(MyStorage=SECRET, TASKHUB_LOG_LEVEL="warn"))
    assert "AccountKey" not in proc.stdout + proc.stderr
    cfg = printed(proc)
    assert cfg["azure-storage-connection-string"] == ('"********"', "environment $MyStorage")
    assert cfg["task-hub"] == ('"MyTaskHub"', "host.json extensions.durableTask.hubName")
    assert cfg["partition-count"] == (
        "3", "host.json extensions.durableTask.storageProvider.partitionCount")
    assert cfg["max-concurrent-activities"] == (
        "10", "host.json extensions.durableTask.maxConcurrentActivityFunctions")
    assert cfg["max-concurrent-orchestrations"][0] == "5"
    assert cfg["store"] == ('"azure"', "flag")
    assert cfg["log-level"] == ('"warn"', "environment $TASKHUB_LOG_LEVEL")
    assert cfg["listen"] == ('"127.0.0.1:4001"', "default")
    for hidden in ("config", "print-config", "version", "help"):
        assert hidden not in cfg


def test_precedence_flags_environment_file_defaults(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("task-hub: file\nmax-wait-seconds: 7\nentity-max-batch: 9\n")
    env = clean_env(TASKHUB_TASK_HUB="env", TASKHUB_MAX_WAIT_SECONDS="8")
    got = printed(run("--config", str(cfg), "--task-hub", "flag", "--print-config", env=env))
    assert got["task-hub"] == ('"flag"', "flag")
    assert got["max-wait-seconds"] == ("8", "environment $TASKHUB_MAX_WAIT_SECONDS")
    assert got["entity-max-batch"] == ("9", "config file entity-max-batch")
    assert got["engine-partitions"] == ("1", "default")
    # The file named by $TASKHUB_CONFIG.
    got = printed(run("--print-config", env=clean_env(TASKHUB_CONFIG=str(cfg))))
    assert got["task-hub"] == ('"file"', "config file task-hub")


def test_printed_config_is_a_config_file(tmp_path):
    first = run("--task-hub", "roundtrip", "--engine-partitions", "3", "--store", "memory",
                "--print-config")
    cfg = tmp_path / "printed.yaml"
    cfg.write_text(first.stdout)
    second = run("--config", str(cfg), "--print-config")
    assert "[warning]" not in second.stderr
    assert ({k: v for k, (v, _) in printed(first).items()} ==
            {k: v for k, (v, _) in printed(second).items()})


@pytest.mark.parametrize("name,text,needle", [
    ("wrong-type.yaml", "engine-partitions: lots\n", "'engine-partitions'"),
    ("out-of-range.yaml", "partition-count: 40\n", "'partition-count'"),
    ("map-for-value.yaml", "listen: {host: a}\n", "'listen'"),
    ("bad-syntax.yaml", "listen: a\n  oops: [\n", "not valid YAML or JSON"),
    ("host.json", json.dumps({"version": "2.0", "extensions": {"durableTask": {
        "storageProvider": {"partitionCount": "many"}}}}),
     "'extensions.durableTask.storageProvider.partitionCount'"),
    ("host.json", json.dumps({"version": "2.0", "extensions": {"durableTask": {
        "extendedSessionsEnabled": "sometimes"}}}),
     "'extensions.durableTask.extendedSessionsEnabled'"),
    ("host.json", json.dumps({"version": "2.0", "extensions": {"durableTask": {
        "storageProvider": {"type": "mssql"}}}}), "not supported"),
])
def test_bad_config_file_stops_start_up(tmp_path, name, text, needle):
    f = tmp_path / name
    f.write_text(text)
    code, line = run_failing(["--data-dir", str(tmp_path / "data"), "--config", str(f)],
                             env=clean_env())
    assert code == 2
    assert str(f) in line and needle in line, line


def test_missing_config_file_stops_start_up(tmp_path):
    code, line = run_failing(["--config", str(tmp_path / "nope.yaml")], env=clean_env())
    assert code == 2 and "nope.yaml: cannot read" in line, line
