"""The HTTP API behind the same bearer tokens and TLS as gRPC (--auth-tokens, --tls-cert/-key)."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest
import requests

from _app import error_of


def test_bearer_tokens_with_the_grpc_roles(http, http_server_factory, tmp_path, uid):
    client, worker, admin = (secrets.token_hex(20) for _ in range(3))
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{client} client\n{worker} worker\n{admin} admin\n")
    srv = http_server_factory(["--auth-tokens", str(tokens)])
    base = srv.base

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    r = http.post(f"{base}/orchestrators/wait_orch/{uid}")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    error_of(r)
    assert http.post(f"{base}/orchestrators/wait_orch/{uid}",
                     headers=auth("wrong" * 8)).status_code == 401
    r = http.post(f"{base}/orchestrators/wait_orch/{uid}", headers=auth(worker))
    assert r.status_code == 403 and error_of(r)
    assert http.post(f"{base}/orchestrators/wait_orch/{uid}", headers=auth(client)).status_code == 202
    assert http.get(f"{base}/instances/{uid}", headers=auth(client)).status_code == 202
    assert http.get(f"{base}/instances", headers=auth(client)).status_code == 200
    assert http.get(f"{base}/instances").status_code == 401
    assert http.post(f"{base}/instances/{uid}/terminate", headers=auth(client)).status_code == 202
    # purge and rewind need admin, as over gRPC
    assert http.delete(f"{base}/instances/{uid}", headers=auth(client)).status_code == 403
    assert http.post(f"{base}/instances/{uid}/rewind", headers=auth(client)).status_code == 403
    r = http.get(f"{base}/instances/{uid}", headers=auth(admin))
    assert r.status_code == 400 and r.json()["runtimeStatus"] == "Terminated"
    assert http.delete(f"{base}/instances/{uid}", headers=auth(admin)).json() == {
        "instancesDeleted": 1}
    assert http.get(f"{base}/entities/counter", headers=auth(worker)).status_code == 403
    assert http.get(f"{base}/entities/counter", headers=auth(client)).status_code == 200


def _self_signed(dir: Path) -> tuple[Path, Path]:
    cert, key = dir / "cert.pem", dir / "key.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"openssl failed: {r.stderr}")
    return cert, key


def test_tls_serves_https_only(http, http_server_factory, tmp_path, uid):
    cert, key = _self_signed(tmp_path)
    srv = http_server_factory(["--tls-cert", str(cert), "--tls-key", str(key)], scheme="https")
    r = http.post(f"{srv.base}/orchestrators/wait_orch/{uid}", verify=str(cert))
    assert r.status_code == 202, r.text
    assert r.json()["statusQueryGetUri"].startswith("https://127.0.0.1:")
    assert http.get(r.json()["statusQueryGetUri"], verify=str(cert)).status_code == 202
    with pytest.raises(requests.exceptions.SSLError):
        http.get(f"{srv.base}/instances/{uid}")  # not trusted without the certificate
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(f"http://127.0.0.1:{srv.http_port}/runtime/webhooks/durabletask/instances")


def _openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"openssl {' '.join(args)} failed: {r.stderr}")


def _signed(dir: Path, name: str, subject: str, ext: str) -> tuple[Path, Path]:
    """A key and a certificate for `subject` signed by dir/ca.pem."""
    (dir / f"{name}.ext").write_text(ext)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key",
             "-out", f"{name}.csr", cwd=dir)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
             cwd=dir)
    return dir / f"{name}.pem", dir / f"{name}.key"


def test_mutual_tls_requires_a_client_certificate(http, http_server_factory, tmp_path, uid):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp_path)
    cert, key = _signed(tmp_path, "server", "/CN=localhost",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    client_cert, client_key = _signed(tmp_path, "client", "/CN=client",
                                      "extendedKeyUsage=clientAuth\n")
    ca = tmp_path / "ca.pem"
    srv = http_server_factory(["--tls-cert", str(cert), "--tls-key", str(key),
                               "--tls-client-ca", str(ca)], scheme="https")
    r = http.post(f"{srv.base}/orchestrators/wait_orch/{uid}", verify=str(ca),
                  cert=(str(client_cert), str(client_key)))
    assert r.status_code == 202, r.text
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{srv.base}/instances/{uid}", verify=str(ca), timeout=30)
