"""Helpers for the TLS and bearer-token tests: a throwaway PKI made with the `openssl` CLI at test
time (never committed), a token file, and taskhubd processes started with --tls-*/--auth-tokens.

Environment:
  TASKHUBD         the server binary (default <repo>/build/bin/taskhubd)
  TASKHUB_BIN_DIR  taskhub-test-cpp-worker lives here (default <repo>/build/bin)
  TASKHUB_CLI      the taskhub CLI (default <repo>/build/bin/taskhub)
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
TASKHUBD = Path(os.environ.get("TASKHUBD", str(REPO_ROOT / "build" / "bin" / "taskhubd")))
BIN_DIR = Path(os.environ.get("TASKHUB_BIN_DIR", str(REPO_ROOT / "build" / "bin")))
CLI = Path(os.environ.get("TASKHUB_CLI", str(BIN_DIR / "taskhub")))
JS_DIR = REPO_ROOT / "tests" / "interop" / "js"

SERVICE = "TaskHubSidecarService"


def binary(path: Path) -> Path:
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} not found or not executable: build it first")
    return path


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"<{path} does not exist>"
    return "\n".join(text.splitlines()[-lines:]) or "<empty>"


def openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"openssl {' '.join(args)} failed:\n{r.stderr}")


@dataclass
class Pki:
    """A CA, a server certificate for localhost/127.0.0.1, a client certificate from the same CA,
    and a client certificate from an unrelated CA (all PEM paths)."""
    dir: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_client_cert: Path
    rogue_client_key: Path

    @staticmethod
    def create(d: Path) -> "Pki":
        def ca(name: str) -> None:
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)

        def leaf(name: str, ca_name: str, ext: str) -> None:
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                    "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
            (d / f"{name}.ext").write_text(ext)
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca_name}.pem",
                    "-CAkey", f"{ca_name}.key", "-CAcreateserial", "-days", "2",
                    "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)

        ca("ca")
        ca("rogue-ca")
        leaf("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                             "extendedKeyUsage=serverAuth\n")
        leaf("client", "ca", "extendedKeyUsage=clientAuth\n")
        leaf("rogue-client", "rogue-ca", "extendedKeyUsage=clientAuth\n")
        return Pki(d, d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem",
                   d / "client.key", d / "rogue-client.pem", d / "rogue-client.key")


@dataclass
class Tokens:
    """Random tokens, one per role, plus `app` (worker,client) for processes hosting both."""
    worker: str
    client: str
    admin: str
    app: str

    @staticmethod
    def create() -> "Tokens":
        return Tokens(*(secrets.token_hex(24) for _ in range(4)))

    def all(self) -> list[str]:
        return [self.worker, self.client, self.admin, self.app]

    def file_text(self) -> str:
        return ("# taskhubd tokens for tests/security (format: <token> <role>[,<role>...])\n\n"
                f"{self.worker} worker\n"
                f"  {self.client}\tclient   # a client app\n"
                f"{self.admin} admin\n"
                f"{self.app} worker,client\n")


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


class Taskhubd:
    """One taskhubd process with extra flags (TLS, tokens); logs at trace level to a file."""

    def __init__(self, workdir: Path, extra_args: list[str], name: str = "taskhubd"):
        self.name = name
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.port_file = workdir / f"{name}.port"
        self.extra_args = extra_args
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        assert self.port is not None
        return f"127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        return [str(binary(TASKHUBD)), "--listen", "127.0.0.1:0", "--store", "memory",
                "--port-file", str(self.port_file), "--log-level", "trace", *self.extra_args]

    def start(self, timeout: float = 30.0) -> "Taskhubd":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode} during start:\n"
                            f"{tail(self.log_path)}")
            text = self.port_file.read_text() if self.port_file.exists() else ""
            if text.endswith("\n") and text.strip().isdigit():
                self.port = int(text.strip())
                return self
            time.sleep(0.02)
        pytest.fail(f"{self.name} wrote no port file within {timeout}s:\n{tail(self.log_path)}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sighup_and_wait(self, expect: str, timeout: float = 10.0) -> None:
        """Sends SIGHUP and waits until the log has one more line matching `expect` (regex)."""
        before = len(re.findall(expect, self.log_text()))
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(expect, self.log_text())) > before:
                return
            time.sleep(0.02)
        pytest.fail(f"no new log line matching {expect!r} after SIGHUP:\n{tail(self.log_path)}")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
                return None
        return self.proc.returncode


def run_daemon_expecting_failure(args: list[str],
                                 timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs taskhubd with `args` (it must exit by itself: a start-up error)."""
    return subprocess.run([str(binary(TASKHUBD)), "--store", "memory", "--listen", "127.0.0.1:0",
                           *args], capture_output=True, text=True, timeout=timeout)


def method_kinds() -> list[tuple[str, bool]]:
    """(name, server_streaming) of every TaskHubSidecarService method of the server's proto."""
    text = (REPO_ROOT / "proto" / "orchestrator_service.proto").read_text()
    return [(m[0], bool(m[1])) for m in
            re.findall(r"^\s*rpc\s+(\w+)\s*\([^)]*\)\s*returns\s*\((stream\s+)?", text, re.M)]


def raw_call(channel: grpc.Channel, method: str, streaming: bool,
             metadata: list[tuple[str, str]] | None = None,
             timeout: float = 10.0) -> grpc.StatusCode:
    """Calls `method` with an empty request; returns the status code (OK if it succeeded)."""
    path = f"/{SERVICE}/{method}"
    ident = lambda b: b  # noqa: E731
    try:
        if streaming:
            call = channel.unary_stream(path, request_serializer=ident,
                                        response_deserializer=ident)(b"", metadata=metadata,
                                                                     timeout=timeout)
            for _ in call:
                break
            call.cancel()
        else:
            channel.unary_unary(path, request_serializer=ident, response_deserializer=ident)(
                b"", metadata=metadata, timeout=timeout)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def rpc_error(channel: grpc.Channel, method: str, metadata) -> grpc.RpcError:
    """Calls unary `method` with an empty request and returns the error it must fail with."""
    ident = lambda b: b  # noqa: E731
    try:
        channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=ident,
                            response_deserializer=ident)(b"", metadata=metadata, timeout=10)
    except grpc.RpcError as e:
        return e
    pytest.fail(f"{method} succeeded; expected an error")
