"""Diagram figures: cold and cached render per case, and the Explore page's rerun after a toggle flip."""
from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from app.bench import summary, target, timed_ms
from app.core import diagram
from app.core.cases import all_cases

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.element_tree import Widget

ENTRY = str(Path(__file__).resolve().parents[1] / "ui" / "streamlit_app.py")
COLD_TARGET_MS = 400
RERUN_TARGET_MS = 150


def _cold(case) -> None:
    diagram.clear_cache()
    diagram.render(case, case.defaults())


def _page_rerun_ms(case, repeat: int = 12) -> list[float]:
    """AppTest reruns after flipping the case's first toggle, with both diagrams already cached."""
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params["case"] = case.id
    at.run()
    toggle = case.toggles[0]
    widget = _widget(at, toggle)
    values = [toggle.default, _other(toggle)]
    for v in values:  # warm both renders
        widget.set_value(v)
        at.run()
    samples = []
    for i in range(repeat):
        widget = _widget(at, toggle)
        widget.set_value(values[i % 2])
        t0 = time.perf_counter()
        at.run()
        samples.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise RuntimeError(f"Explore page failed for {case.id}: {at.exception[0].message}")
    return samples


def _widget(at: AppTest, toggle) -> Widget:
    """The Explore page's widget for ``toggle``."""
    from streamlit.testing.v1.element_tree import Widget

    kind = {"bool": "toggle", "choice": "selectbox"}.get(toggle.kind, "slider")
    for w in at.get(kind):
        if isinstance(w, Widget) and (w.key or "").endswith(f":{toggle.key}"):
            return w
    raise RuntimeError(f"the Explore page shows no {kind} for {toggle.key}")


def _other(toggle):
    if toggle.kind == "bool":
        return not toggle.default
    if toggle.kind == "choice":
        return next(c for c in toggle.choices if c != toggle.default)
    return toggle.max if toggle.default != toggle.max else toggle.min


def run() -> dict:
    per_case = {}
    worst_cold = worst_rerun = 0.0
    for case in all_cases():
        cold = summary(timed_ms(partial(_cold, case), 5))
        diagram.render(case, case.defaults())
        cached = summary(timed_ms(partial(diagram.render, case, case.defaults()), 200))
        rerun = summary(_page_rerun_ms(case))
        per_case[case.id] = {"cold_render": cold, "cached_render": cached, "page_rerun_after_toggle": rerun}
        worst_cold = max(worst_cold, cold["median_ms"])
        worst_rerun = max(worst_rerun, rerun["median_ms"])
    return {
        "cases": per_case,
        "targets": {
            "cold_render_median_worst_case": target(worst_cold, COLD_TARGET_MS),
            "cached_rerun_median_worst_case": target(worst_rerun, RERUN_TARGET_MS),
        },
    }
