"""The report downloads of the Run and What if pages: one HTML file that reads offline, and the cost CSV.

Both are built with the page (about 15 ms for a report; the diagram is already drawn) and handed
to their buttons as data: a download holding a function is registered for one script run only,
so a click that still holds the previous run's button, right after a rerun, would deliver nothing.
A download does not rerun the page (``on_click="ignore"``).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from app import report
from app.core.cases import Case


def downloads(case: Case, configurations: list[report.Configuration], *, run: Any = None,
              highlight: Iterable[str] = (), key: str) -> None:
    """Two download buttons side by side: the report (HTML) and the cost breakdown (CSV)."""
    stem = report.file_stem(case, configurations, run)
    highlight = frozenset(highlight)

    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = report.html(case, configurations, run=run, highlight=highlight, generated=made)

    cols = st.columns([1, 1, 3])
    cols[0].download_button("Report (HTML)", page, file_name=f"{stem}.html", mime="text/html", on_click="ignore",
                            icon=":material/download:", key=f"{key}:html",
                            help="One file that opens offline: the diagram, the options, the modelled latency and "
                                 "cost" + (", the run's trace, checks and artifacts." if run is not None else "."))
    has_costs = any(c.modelled for c in configurations)
    cols[1].download_button("Cost breakdown (CSV)", report.cost_csv(configurations),
                            file_name=f"{stem}-costs.csv", mime="text/csv", on_click="ignore",
                            icon=":material/download:",
                            key=f"{key}:csv", disabled=not has_costs,
                            help="Every modelled cost line: quantity, unit, unit price, monthly USD and its source.")
