"""Thirty visitors at once on a real server: every run green, queued, each visitor sees only its own resources.

About five minutes on a two-core machine; ``pytest -m "not load"`` leaves it out of a quick run, and
``python -m app bench --only load`` runs the same load and reports its figures.
"""
from __future__ import annotations

import pytest

from app.bench import sessions

pytestmark = [pytest.mark.load, pytest.mark.browser, pytest.mark.slow]


def test_thirty_sessions_run_green_queued_and_apart():
    figures = sessions.drive(30)
    assert figures["errors"] == []
    assert figures["completed"] == 30 and figures["all_green"]
    assert figures["leaks"] == []
    # the pool queued runs and told their visitors where they stood
    assert figures["queued_visitors"] > 0
    assert "in the queue" in figures["queue_text_example"] and "expected wait" in figures["queue_text_example"]
    # the explorer's browser saw the diagram change on every flip, and the server's memory was sampled
    assert figures["explore_toggle_s"]["n"] > 0 and figures["server_rss_mb"]["peak"] > 0
