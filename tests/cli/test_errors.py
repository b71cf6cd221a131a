"""Usage errors, an unreachable server, --help and global option handling."""

from __future__ import annotations

import pytest

from conftest import free_port, run_cli

COMMANDS = ["start", "status", "history", "list", "raise", "terminate", "suspend", "resume",
            "rewind", "restart", "wait", "purge", "create-task-hub", "delete-task-hub",
            "health", "entity"]


def test_main_help_documents_exit_codes_and_aliases():
    r = run_cli("--help").expect(0)
    for command in COMMANDS:
        assert command in r.stdout
    for alias in ("start-new", "get-runtime-status", "get-history", "get-instances",
                  "raise-event", "purge-history"):
        assert alias in r.stdout
    assert "Exit codes:" in r.stdout
    for code in range(7):
        assert f"  {code}  " in r.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    r = run_cli(command, "--help").expect(0)
    assert "Example:" in r.stdout
    assert f"taskhub {command}" in r.stdout


def test_usage_errors_exit_2(tmp_path):
    address = f"127.0.0.1:{free_port()}"  # never contacted: validation comes first
    run_cli(address=address).expect(2)
    unknown = run_cli("frobnicate", address=address).expect(2)
    assert "unknown command" in unknown.stderr
    run_cli("status", "--no-such-flag", "x", address=address).expect(2)
    run_cli("start", address=address).expect(2)  # missing NAME
    run_cli("-o", "yaml", "list", address=address).expect(2)
    bad_json = run_cli("start", "greet", "--input", "{oops", address=address).expect(2)
    assert bad_json.stderr.startswith("error: --input:")
    bare = run_cli("start", "greet", "--input", "hello", address=address).expect(2)
    assert "quoted" in bare.stderr
    missing = run_cli("start", "greet", "--input", f"@{tmp_path}/missing.json",
                      address=address).expect(2)
    assert "cannot read file" in missing.stderr
    bad_file = tmp_path / "bad.json"
    bad_file.write_text("{'single': 'quotes'}")
    run_cli("start", "greet", "--input", f"@{bad_file}", address=address).expect(2)
    run_cli("start", "greet", "--start-at", "tomorrow", address=address).expect(2)
    run_cli("start", "greet", "--tag", "novalue", address=address).expect(2)
    run_cli("start", "greet", "--timeout", "5", address=address).expect(2)  # needs --wait
    run_cli("wait", "x", "--timeout", "-1", address=address).expect(2)


@pytest.mark.parametrize("args", [
    ["status", "x"], ["list"], ["history", "x"], ["start", "greet"], ["raise", "x", "e"],
    ["terminate", "x"], ["wait", "x", "--timeout", "5"], ["purge", "x", "--yes"],
    ["delete-task-hub", "--yes"], ["health"],
])
def test_server_not_running_exits_4(args):
    address = f"127.0.0.1:{free_port()}"
    r = run_cli(*args, address=address).expect(4)
    assert r.stderr.startswith(f"error: cannot reach taskhubd at {address}")
    assert len(r.stderr.splitlines()) == 1, r.stderr  # no gRPC internals


def test_address_from_environment_and_after_the_command(cli, server, uid):
    cli("start", "greet", "--id", uid, "--wait").expect(0)
    run_cli("status", uid, env={"TASKHUB_ADDRESS": server.address}).expect(0)
    run_cli("status", uid, "--address", server.address, "-o", "json").expect(0).json()
    # --address wins over the environment.
    run_cli("status", uid, "--address", server.address,
            env={"TASKHUB_ADDRESS": f"127.0.0.1:{free_port()}"}).expect(0)
