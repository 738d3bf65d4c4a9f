"""A real app server and headless Chromium for browser tests."""
from __future__ import annotations

import socket
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.bench.sessions import chromium_path, serve

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(env: dict | None = None):
    """Start the app with `streamlit run` on a free port; yield its base URL."""
    logs = ROOT / ".pytest_cache"
    log = open(logs / f"streamlit-{uuid.uuid4().hex[:8]}.log", "w") if logs.is_dir() else None
    try:
        with serve(env, log=log) as (base, _pid):
            yield base
    finally:
        if log is not None:
            log.close()


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium, one for every browser test (tests/conftest.py hands it out)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def base_url():
    """A running app server, one for every browser test (tests/conftest.py hands it out)."""
    with app_server() as url:
        yield url
