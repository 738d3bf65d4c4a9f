"""The what-if page through AppTest: every case renders, B's options and the workload move the
numbers, every figure says where it comes from, measured hit ratios are labelled executed."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.core.cases import modelled_cases, parts
from tests.conftest import APP_ENTRY

PAGE = "views/whatif.py"
# The cases the What if page compares: those with a latency and cost model (the page says so of the others).
MODELLED = [c.id for c in modelled_cases()]
# Those whose model names the option B flips first (WhatIf); the others start B as A.
FLIPPED_FIRST = [c.id for c in modelled_cases() if getattr(parts(c).model, "WHATIF", None) is not None]


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


@pytest.mark.parametrize("case", MODELLED)
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
    # A zero delta reads "no change", in grey, never "+0.00" with a red arrow.
    assert metric(at, "Monthly cost").delta == "no change"
    assert metric(at, "Monthly cost").proto.color == 2              # grey
    assert any("same options as A" in c for c in captions(at))


def test_a_workload_slider_changes_both_configurations():
    at = open_page("todo-api")
    before = metric(at, "Monthly cost").value
    at.select_slider(key="whatif:W:todo-api:requests_per_month").set_value(500_000_000).run()
    assert not at.exception
    assert metric(at, "Monthly cost").value != before


def test_a_workload_over_decades_moves_on_a_log_scale_with_human_values_and_round_trips():
    at = open_page("todo-api")
    volume = at.select_slider(key="whatif:W:todo-api:requests_per_month")
    assert volume.label == "Requests per month (requests/month)"
    assert volume.options[:4] == ["100,000 requests/month", "200,000 requests/month", "500,000 requests/month",
                                  "1 M requests/month"]
    assert volume.options[-1] == "10 B requests/month" and "30 M requests/month" in volume.options   # the default
    volume.set_value(2_000_000_000).run()
    assert at.query_params["_w.requests_per_month"] == ["2000000000"] or \
        at.query_params["_w.requests_per_month"] == "2000000000"
    link = {k: at.query_params[k] for k in at.query_params}

    again = AppTest.from_file(APP_ENTRY, default_timeout=60)
    for k, v in link.items():
        again.query_params[k] = v
    again.switch_page(PAGE).run()
    assert not again.exception
    assert again.select_slider(key="whatif:W:todo-api:requests_per_month").value == 2_000_000_000
    assert metric(again, "Monthly cost").value == metric(at, "Monthly cost").value

    hand_made = AppTest.from_file(APP_ENTRY, default_timeout=60)
    hand_made.query_params["case"] = "todo-api"
    hand_made.query_params["_w.users"] = "123456"      # a value off the 1-2-5 ladder is kept, not rounded
    hand_made.switch_page(PAGE).run()
    users = hand_made.select_slider(key="whatif:W:todo-api:users")
    assert users.value == 123_456 and "123,456 users" in users.options


def test_break_even_for_global_tables_and_cloudfront():
    at = open_page("global-blog")
    at.selectbox(key="whatif:BE:global-blog:toggle").set_value("global_tables").run()
    assert not at.exception
    # The caption names the option by its label and says what it does, never by its internal key.
    assert any("DynamoDB global tables on instead of off" in c and "**Modelled**" in c for c in captions(at))
    assert not any("global_tables" in c for c in captions(at))


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
    at.session_state["run:todo-api"] = {"result": SimpleNamespace(spans=spans, artifacts={}), "values": {}}
    at.run()
    assert any("DAX item cache 75.0% (30/40 lookups)" in c for c in captions(at))     # named in words
    at.toggle(key="whatif:M:todo-api:run").set_value(True).run()
    assert not at.exception
    assert any("| DAX item cache |" in m.value and "75.0%" in m.value and "| executed |" in m.value for m in at.markdown)


@pytest.mark.parametrize("case", FLIPPED_FIRST)
def test_b_starts_with_the_option_the_case_is_about_and_deltas_name_their_direction(case):
    from app.engine.run import model_of
    at = open_page(case)
    spec = model_of(__import__("app.core.cases", fromlist=["get_case"]).get_case(case)).WHATIF
    b = next(w for w in at.get(("toggle", "selectbox")[0]) + at.get("selectbox")
             if w.key == f"whatif:B:{case}:{spec.toggle}")
    assert b.value != at.session_state[f"toggle:{case}:{spec.toggle}"]
    text = " ".join(captions(at))
    assert "same options as A" not in text and "instead of" in text
    for m in at.metric:
        assert "e+" not in m.value and "e+" not in (m.delta or "")
        assert m.delta == "no change" or m.delta.endswith(("(faster)", "(slower)", "(less)", "(more)"))
        if m.delta != "no change":                    # lower is better: green, higher is worse: red
            assert m.proto.color == (1 if m.delta.startswith("-") else 0), m.delta


def test_a_what_if_link_reopens_the_same_a_b_and_workload():
    at = open_page("todo-api")
    at.toggle(key="whatif:B:todo-api:api_cache").set_value(True).run()
    at.slider(key="whatif:W:todo-api:item_kb").set_value(4.0).run()
    link = {k: at.query_params[k] for k in at.query_params}
    assert link["_b.api_cache"] == "on" and link["_b.dax"] == "on" and link["_w.item_kb"] == "4"

    again = AppTest.from_file(APP_ENTRY, default_timeout=60)
    for k, v in link.items():
        again.query_params[k] = v
    again.switch_page(PAGE).run()          # the link opens the What if page itself
    assert not again.exception
    assert again.toggle(key="whatif:B:todo-api:api_cache").value is True
    assert again.toggle(key="whatif:B:todo-api:dax").value is True
    assert again.slider(key="whatif:W:todo-api:item_kb").value == 4.0
    assert metric(again, "Monthly cost").value == metric(at, "Monthly cost").value


@pytest.mark.parametrize("case", MODELLED)
def test_numbers_on_the_page_never_use_e_notation(case):
    at = open_page(case)
    text = " ".join(captions(at) + [m.value for m in at.markdown] + [m.value for m in at.metric])
    assert "e+0" not in text and "e+1" not in text
    # The waterfall's caption lists what it shows; it never ends on an empty list.
    assert not any(c.rstrip().endswith(":") for c in captions(at))
    assert any("each hop at its median" in c for c in captions(at))
    for s in list(at.slider) + list(at.select_slider):
        assert s.label.endswith(")") or not s.proto.format.strip("%,dg "), s.label   # a unit beside the label


@pytest.mark.parametrize("case_id", MODELLED)
def test_the_break_even_latency_gain_is_the_difference_the_two_configurations_show(case_id):
    from app.core.cases import get_case
    from app.engine.run import latency_gain, model_of, resolve_values, run

    case = get_case(case_id)
    specs = getattr(model_of(case), "BREAK_EVEN", ())
    if not specs:
        pytest.skip(f"{case_id} prices no option against its volume")
    spec, values, n = specs[0], resolve_values(case, {}), 20_000
    gain = latency_gain(case, values, spec, samples=n)
    off, on = (run(case, {**values, spec.toggle: flag}, samples=n, with_break_even=False) for flag in (spec.off, spec.on))
    assert gain["all"]["p50"] == pytest.approx(off["latency_ms"]["p50"] - on["latency_ms"]["p50"], abs=1e-3)


@pytest.mark.parametrize("case", ["todo-api", "global-blog"])
def test_the_break_even_charts_money_axis_writes_every_decade_alike(case):
    import json
    import re

    at = open_page(case)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    money = [s["layout"]["yaxis"]["ticktext"] for s in specs
             if str(s["layout"].get("yaxis", {}).get("ticktext", [""])[0]).startswith("$")]
    assert money, "the break-even chart has a money axis"
    for ticks in money:
        for tick in ticks:      # cents only below a dollar: "$0.10", "$1", "$10", "$1,000", "$1 M"
            assert re.fullmatch(r"\$0\.\d\d|\$[1-9][\d,]*|\$[\d.]+ M", tick), ticks


@pytest.mark.parametrize("case", MODELLED)
def test_the_waterfall_caption_names_each_published_hop_beside_its_source(case):
    at = open_page(case)
    waterfall = next(c for c in captions(at) if "each hop at its median" in c)
    assert "Published sources of the hops shown" not in waterfall
    if "published figure is" in waterfall or "published figure are" in waterfall:
        # a hop's name, then its source as a link: never a bare number standing for a source
        assert "([source](http" in waterfall
        assert not any(f"[{i}](" in waterfall for i in range(1, 10))
