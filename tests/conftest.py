"""Shared fixtures."""
from __future__ import annotations

import copy
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.browser import base_url, browser  # noqa: F401  (one app server and one Chromium for every browser test)

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
APP_ENTRY = str(ROOT / "app" / "ui" / "streamlit_app.py")


@pytest.fixture
def load_event():
    """Load an AWS sample event from tests/events/ by file name (without .json)."""
    def load(name: str) -> dict:
        return json.loads((EVENTS / f"{name}.json").read_text())
    return load


@pytest.fixture(scope="session")
def moto_endpoint():
    """Endpoint of the process's moto server (the runtime's backend; a private server if it is absent)."""
    try:
        from app.runtime.backend import get_backend
    except ImportError:
        get_backend = None
    if get_backend is not None:
        yield get_backend().endpoint_url
        return
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server._server.server_address
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint):
    """``aws(service, region="us-east-1", **credentials)``: a boto3 client against the moto server."""
    import boto3

    def make(service: str, region: str = "us-east-1", **credentials):
        credentials = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.client(service, region_name=region, endpoint_url=moto_endpoint, **credentials)
    return make


@pytest.fixture
def runtime_session():
    """A runtime session in its own account on the process's moto server, torn down afterwards."""
    from app.runtime.session import RuntimeSession

    session = RuntimeSession.moto()
    yield session
    if not session.closed:
        session.close()


@pytest.fixture
def extra_case(tmp_path, monkeypatch):
    """``extra_case(package, files)``: a case package written from ``files`` (file name -> source) and
    registered as a case kept outside the repository, for this test; returns the case's id."""
    from app.core.cases import EXTRA_CASES_ENV, all_cases, reload_registry

    made: list[str] = []

    def make(package: str, files: dict[str, str]) -> str:
        folder = tmp_path / package
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(textwrap.dedent(text))
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.setenv(EXTRA_CASES_ENV, ",".join(made + [package]))
        made.append(package)
        reload_registry()
        return next(c.id for c in all_cases() if c.package == package)

    yield make
    monkeypatch.delenv(EXTRA_CASES_ENV, raising=False)
    for module in [m for m in sys.modules if m.split(".")[0] in made]:
        del sys.modules[module]
    reload_registry()


@pytest.fixture(scope="session")
def case_run():
    """``case_run(case_id, **toggles)``: ``(exit code, JSON)`` of ``python -m app run CASE --set ... --json``,
    run once per session for each set of toggle values and shared by the tests that only read it
    (each gets its own copy)."""
    from app.core.cases import get_case
    from tests.commandline import cli

    done: dict[tuple, tuple[int, dict]] = {}

    def run(case_id: str, **toggles: str) -> tuple[int, dict]:
        key = (case_id, json.dumps(get_case(case_id).resolve(toggles), sort_keys=True, default=str))
        if key not in done:
            r = cli("run", case_id, *[a for k, v in toggles.items() for a in ("--set", f"{k}={v}")], "--json")
            assert r.stdout.strip(), r.stderr[-800:]
            done[key] = (r.returncode, json.loads(r.stdout))
        code, out = done[key]
        return code, copy.deepcopy(out)

    return run
