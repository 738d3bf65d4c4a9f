"""The what-if page through AppTest: every case renders, B's options and the workload move the
numbers, every figure says where it comes from, measured hit ratios are labelled executed."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.core.cases import case_ids
from tests.conftest import APP_ENTRY

PAGE = "views/whatif.py"


def open_page(case: str | None = None) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=60)
    if case:
        at.query_params["case"] = case
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label_start: str):
    return next(m for m in at.metric if m.label.startswith(label_start))


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


@pytest.mark.parametrize("case", case_ids())
def test_page_renders_every_case_with_captioned_figures(case):
    at = open_page(case)
    assert at.title[0].value.startswith("What if?")
    assert len(at.metric) == 4
    charts = at.get("plotly_chart")
    assert len(charts) >= 3
    modelled = [c for c in captions(at) if "**Modelled**" in c]
    assert len(modelled) >= len(charts), "every figure has a caption naming its basis"
    assert any("cloudping" in c for c in modelled) and any("**published**" in c for c in modelled)
    assert not at.error


def test_b_options_move_the_numbers_and_the_deltas():
    at = open_page("todo-api")
    # B starts with the first option flipped: DAX on in B, off in A.
    assert at.toggle(key="whatif:B:todo-api:dax").value is True
    cost_with_dax = metric(at, "Monthly cost").value
    assert metric(at, "Monthly cost").delta.startswith("+")      # node-hours cost more at the default workload
    at.toggle(key="whatif:B:todo-api:dax").set_value(False).run()
    assert not at.exception
    assert metric(at, "Monthly cost").value != cost_with_dax
    assert metric(at, "Monthly cost").delta == "+0.00 USD"
    assert any("same options as A" in c for c in captions(at))


def test_a_workload_slider_changes_both_configurations():
    at = open_page("todo-api")
    before = metric(at, "Monthly cost").value
    at.slider(key="whatif:W:todo-api:requests_per_month").set_value(900_000_000).run()
    assert not at.exception
    assert metric(at, "Monthly cost").value != before


def test_break_even_for_global_tables_and_cloudfront():
    at = open_page("global-blog")
    at.selectbox(key="whatif:BE:global-blog:toggle").set_value("global_tables").run()
    assert not at.exception
    assert any("global_tables" in c and "**Modelled**" in c for c in captions(at))


def test_measured_hit_ratios_are_labelled_executed():
    at = open_page("todo-api")
    at.toggle(key="whatif:M:todo-api:use").set_value(True).run()  # by hand
    box = at.number_input(key="whatif:M:todo-api:dax_item")
    box.set_value(0.99).run()
    assert not at.exception
    assert any("modelled hit ratios in A, executed in B" in c for c in captions(at))
    assert any("| executed |" in m.value for m in at.markdown)


def test_hit_ratios_of_the_last_run_feed_the_comparison():
    from types import SimpleNamespace
    at = open_page("todo-api")
    # The Run page keeps its last result here; its spans carry one cache outcome per DAX lookup.
    spans = [{"service": "dax", "operation": "GetItem", "cache": "hit" if i % 4 else "miss"} for i in range(40)]
    at.session_state["run:todo-api"] = {"result": SimpleNamespace(spans=spans), "values": {}}
    at.run()
    assert any("dax_item 75.0% (30/40 lookups)" in c for c in captions(at))
    at.toggle(key="whatif:M:todo-api:run").set_value(True).run()
    assert not at.exception
    assert any("| dax_item |" in m.value and "75.0%" in m.value and "| executed |" in m.value for m in at.markdown)
