"""Thirty visitors at once on a real server: every run green, each visitor sees only its own resources.

It takes minutes on a small machine, so it runs only when asked for: ``pytest -m load``
(``python -m app bench --only load`` runs the same load and reports its figures).
"""
from __future__ import annotations

import pytest

from app.bench import sessions

pytestmark = [pytest.mark.load, pytest.mark.browser]


@pytest.fixture
def asked_for(request):
    if "load" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the 30-session load runs with -m load (or python -m app bench --only load)")
    reason = sessions.unavailable()
    if reason:
        pytest.skip(reason)


def test_thirty_sessions_run_green_queued_and_apart(asked_for):
    figures = sessions.drive(30)
    assert figures["errors"] == []
    assert figures["completed"] == 30 and figures["all_green"]
    assert figures["leaks"] == []
    # the pool queued runs and told their visitors where they stood
    assert figures["queued_visitors"] > 0
    assert "in the queue" in figures["queue_text_example"] and "expected wait" in figures["queue_text_example"]
    assert figures["explore_toggle_s"]["n"] > 0 and figures["server_rss_mb"]["peak"] > 0
