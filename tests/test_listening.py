"""Where the app and its embedded backend listen: this machine only, unless told otherwise."""
from __future__ import annotations

import socket
import subprocess

from app.runtime.backend import PORT_RANGE, get_backend
from tests.conftest import ROOT


def _run_command(*make_args: str) -> str:
    out = subprocess.run(["make", "-n", "run", *make_args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    return next(line for line in out.stdout.replace("\\\n", " ").splitlines() if "streamlit run" in line)


def test_make_run_listens_on_localhost_unless_the_container_says_otherwise():
    assert "--server.address 127.0.0.1" in _run_command()
    assert "--server.address 0.0.0.0" in _run_command("ADDRESS=0.0.0.0")


def test_the_embedded_backend_listens_on_loopback_at_a_port_drawn_at_random():
    backend = get_backend()
    host, port = backend._server._server.server_address[:2]
    assert host == "127.0.0.1" and PORT_RANGE[0] <= port <= PORT_RANGE[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    outside = [ip for ip in socket.gethostbyname_ex(socket.gethostname())[2] if not ip.startswith("127.")]
    for ip in outside:          # not reachable through the machine's other addresses
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((ip, port)) != 0
