"""Each diagram node's modelled figures: its p50 hop and its cost lines, taken from the case's model."""
from __future__ import annotations

from app.core.cases import all_cases, get_case, parts
from app.engine import run
from app.engine.nodes import node_figures


def test_a_node_gets_the_hops_and_cost_lines_of_its_service():
    case = get_case("todo-api")
    figures = node_figures(case, {"dax": "on"})
    report = run("todo-api", {"dax": "on"}, samples=20_000, with_break_even=False)
    dynamo = [line for line in report["cost_breakdown"] if line["service"] == "Amazon DynamoDB"]
    table = figures["table"]
    assert table.hop.startswith("DynamoDB") and table.p50_ms > 0
    assert {x["item"] for x in table.lines} == {x["item"] for x in dynamo}
    assert abs(table.monthly_usd - sum(x["monthly_usd"] for x in dynamo)) < 1e-9
    assert figures["dax"].lines and figures["dax"].hop.startswith("DAX")
    assert "cold start" not in figures["lambda"].hop      # a cold start is taken by few requests
    tip = table.tooltip()
    assert case.components[[c.key for c in case.components].index("table")].role in tip and "modelled" in tip


def test_an_off_component_says_so_and_carries_no_figures():
    figures = node_figures(get_case("todo-api"), {"dax": "off"})
    assert not figures["dax"].present and figures["dax"].monthly_usd is None
    assert "Off in this configuration" in figures["dax"].tooltip()


def test_lines_no_component_can_claim_alone_are_shown_as_shared():
    figures = node_figures(get_case("global-blog"), {})
    assert "welcome" in " ".join(x["item"].lower() for x in figures["welcome"].lines)
    assert figures["site"].shared and figures["uploads"].shared       # S3 lines of several buckets
    assert not figures["site"].lines


def test_every_case_has_figures_for_every_component():
    for case in all_cases():
        figures = node_figures(case, case.defaults())
        assert set(figures) == {c.key for c in case.components}
        assert any(f.monthly_usd for f in figures.values()) == (parts(case).model is not None), case.id
