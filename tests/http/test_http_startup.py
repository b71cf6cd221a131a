"""taskhubd's HTTP flags at start-up: a taken --http-listen port stops the start with a message
naming the flag; the port file is written only when HTTP is on."""

from __future__ import annotations

import socket
import subprocess

from taskhub_harness import binary


def test_http_port_in_use_fails_the_start_naming_the_flag(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([str(binary("taskhubd")), "--store", "memory", "--listen",
                            "127.0.0.1:0", "--http-listen", f"127.0.0.1:{port}",
                            "--http-port-file", str(tmp_path / "http.port")],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "--http-listen" in r.stderr and str(port) in r.stderr, r.stderr
    assert not (tmp_path / "http.port").exists()


def test_bad_http_listen_address_is_refused(tmp_path):
    r = subprocess.run([str(binary("taskhubd")), "--store", "memory", "--listen", "127.0.0.1:0",
                        "--http-listen", "no-port-here"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert "--http-listen" in r.stderr and "HOST:PORT" in r.stderr, r.stderr
