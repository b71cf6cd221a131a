"""Fixtures for the TLS and bearer-token tests (helpers live in security_support.py).

The PKI and the tokens are made fresh for each session (openssl CLI, secrets.token_hex); every
taskhubd binds a kernel-chosen port, logs at trace level, and after each test its log is checked
to contain none of the tokens. On a failing test the server log tails are attached to the report.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # needed under --import-mode=importlib
from security_support import Pki, Taskhubd, Tokens, tail  # noqa: E402

_LIVE: list[Taskhubd] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in list(_LIVE):
            rep.sections.append((f"{srv.name} log tail", tail(srv.log_path)))


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    p = Pki.create(tmp_path_factory.mktemp("pki"))
    # The Python SDK's secure_channel=True uses gRPC's default roots: point them at the test CA
    # (read by gRPC when the first TLS channel is made, i.e. after this fixture ran).
    os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(p.ca)
    return p


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    return Tokens.create()


@pytest.fixture(scope="session")
def token_file(tmp_path_factory, tokens) -> Path:
    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text(tokens.file_text())
    path.chmod(0o600)
    return path


@pytest.fixture
def server_factory(tmp_path, tokens) -> Iterator[Callable[..., Taskhubd]]:
    """make(*args) -> a started taskhubd with those extra flags. After the test each one gets
    SIGTERM and must exit 0, and its log must not contain any token (checked unless it failed)."""
    servers: list[Taskhubd] = []
    extra_secrets: list[str] = []

    def make(*args: str) -> Taskhubd:
        srv = Taskhubd(tmp_path, list(args), name=f"taskhubd-{len(servers)}")
        servers.append(srv)
        _LIVE.append(srv)
        return srv.start()

    make.secrets = extra_secrets  # tests add the other secrets they use here
    yield make
    codes = {}
    for srv in servers:
        codes[srv.name] = srv.stop()
        _LIVE.remove(srv)
    for srv in servers:
        log = srv.log_text()
        for secret in tokens.all() + extra_secrets:
            assert secret not in log, f"a token appears in {srv.log_path}"
    assert all(rc == 0 for rc in codes.values()), f"taskhubd did not exit 0 on SIGTERM: {codes}"


@pytest.fixture
def secure_server(server_factory, pki, token_file) -> Taskhubd:
    """TLS (server certificate from the test CA) and bearer tokens."""
    return server_factory("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
                          "--auth-tokens", str(token_file))


@pytest.fixture
def token_server(server_factory, token_file) -> Taskhubd:
    """Bearer tokens over plaintext (loopback)."""
    return server_factory("--auth-tokens", str(token_file))
