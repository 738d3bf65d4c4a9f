"""Shared fixtures."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
APP_ENTRY = str(ROOT / "app" / "ui" / "streamlit_app.py")


@pytest.fixture
def load_event():
    """Load an AWS sample event from tests/events/ by file name (without .json)."""
    def load(name: str) -> dict:
        return json.loads((EVENTS / f"{name}.json").read_text())
    return load
