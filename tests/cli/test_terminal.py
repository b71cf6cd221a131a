"""Behaviour on a terminal (a pseudo-terminal): colour and confirmation prompts."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

from conftest import TASKHUB_CLI


def run_on_tty(args: list[str], answer: str | None = None, env: dict[str, str] | None = None,
               timeout: float = 30.0) -> tuple[int, str]:
    """Runs the CLI with stdin/stdout/stderr on a pty; types `answer` at the prompt."""
    master, slave = pty.openpty()
    proc_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TASKHUB_ADDRESS")}
    proc_env["TERM"] = "xterm"
    proc_env.update(env or {})
    proc = subprocess.Popen([TASKHUB_CLI, *args], stdin=slave, stdout=slave, stderr=slave,
                            env=proc_env, close_fds=True)
    os.close(slave)
    out = b""
    answered = answer is None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if not answered and b"[y/N]" in out:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        os.close(master)
    return rc, out.decode(errors="replace")


def test_colour_only_on_a_terminal_without_no_color(cli, server, uid):
    cli("start", "greet", "--id", uid, "--wait").expect(0)
    args = ["--address", server.address, "list", "--prefix", uid]
    rc, out = run_on_tty(args)
    assert rc == 0 and "\x1b[" in out and "COMPLETED" in out
    rc, out = run_on_tty(args, env={"NO_COLOR": "1"})
    assert rc == 0 and "\x1b[" not in out and "COMPLETED" in out
    rc, out = run_on_tty(args + ["-o", "json"])
    assert rc == 0 and "\x1b[" not in out


def test_purge_asks_on_a_terminal(cli, server, uid):
    cli("start", "greet", "--id", uid, "--wait").expect(0)
    rc, out = run_on_tty(["--address", server.address, "purge", uid], answer="n")
    assert rc == 1, out
    assert "[y/N]" in out and "aborted" in out
    cli("status", uid).expect(0)
    rc, out = run_on_tty(["--address", server.address, "purge", uid], answer="y")
    assert rc == 0, out
    assert "Purged 1 instance" in out
    cli("status", uid).expect(3)
