"""MyTodoList drills: each template draws a checked question whose right answer the engine confirms.

The right answer is checked against a run of the case's model made here (``app.engine.run.run`` on the
inputs the drill shows as its evidence), not against the template's own arithmetic.
"""
from __future__ import annotations

import re

import pytest

from app.core import format as fmt
from app.core.cases import get_case
from app.core.params import ParamError
from app.engine.drills import check_drill, draw, templates
from app.engine.run import run

CASE = get_case("todo-api")
SEEDS = range(8)
TEMPLATE_IDS = ["dax-saving", "api-cache-break-even", "lambda-invocations"]


def inputs(d) -> dict[str, str]:
    return {e.label: e.value for e in d.evidence if e.basis == "input"}


def amount(text: str) -> float:
    """A figure as the drills print it: '10 M', '100,000', '95%', '16 KB', '3,600 s', '0.5 GB'."""
    found = re.match(r"([\d,.]+)\s*([MB](?![A-Za-z])|%)?", text)
    assert found, text
    value = float(found.group(1).replace(",", ""))
    return value * {"M": 1e6, "B": 1e9, "%": 0.01}.get(found.group(2) or "", 1.0)


def workload(d) -> dict:
    """The model's inputs, read back from the evidence the drill shows."""
    i = inputs(d)
    w = {"read_share": amount(i["Reads among requests"]), "query_share": amount(i["List calls among reads"]),
         "users": int(amount(i["Monthly active users"])), "items": int(amount(i["Todos stored"])),
         "zipf_skew": float(i["Popularity skew (Zipf exponent)"])}
    if "Requests a month" in i:
        w["requests_per_month"] = int(amount(i["Requests a month"]))
    if "DAX cluster" in i:
        nodes, node_type = i["DAX cluster"].split(" x ")
        w.update(dax_nodes=int(nodes), dax_node_type=node_type, dax_ttl_s=int(amount(i["DAX item and query TTL"])),
                 item_kb=amount(i["Todo item size"]))
    if "Stage cache size" in i:
        w.update(api_cache_gb=i["Stage cache size"].split()[0], api_cache_ttl_s=int(amount(i["Stage cache TTL"])))
    if "Lambda duration and memory" in i:
        duration, memory = i["Lambda duration and memory"].split(", ")
        w.update(lambda_duration_ms=amount(duration), lambda_memory_mb=int(amount(memory)))
    return w


def modelled(values: dict, **kw) -> dict:
    return run(CASE, values, samples=2_000, with_latency_gain=False, **{"with_break_even": False, **kw})


def right_text(d) -> str:
    (text,) = [o.text for o in d.options if o.id in d.answers]
    return text


def test_the_case_offers_its_three_templates():
    assert [t.id for t in templates(CASE)] == TEMPLATE_IDS


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_seed_draws_a_checked_drill_and_the_same_seed_the_same_drill(template_id):
    drills = [draw(CASE, template_id, seed) for seed in SEEDS]
    for d in drills:
        assert check_drill(d) == [], (d.id, check_drill(d))
        assert len(d.options) == 4 and len(d.answers) == 1
        assert all(o.reason.startswith("Right:" if o.id in d.answers else "Wrong:") for o in d.options), d.id
        assert d.values_a != d.values_b, d.id
    assert draw(CASE, template_id, 3) == drills[3]
    # different seeds draw different numbers, and the right answer is not always behind the same letter
    assert len({d.scenario for d in drills}) > len(SEEDS) // 2
    assert len({d.answers for d in drills}) > 1


def test_the_dax_saving_agrees_with_the_model_run_both_ways():
    directions = set()
    for seed in range(16):
        d = draw(CASE, "dax-saving", seed)
        w = workload(d)
        off = modelled({**w, "dax": False, "api_cache": False})["monthly_cost_usd"]
        on = modelled({**w, "dax": True, "api_cache": False})["monthly_cost_usd"]
        winner = "with DAX" if on < off else "without DAX"
        directions.add(winner)
        assert right_text(d) == f"The API {winner} costs about {fmt.usd(abs(off - on))} a month less.", d.id
    # the volumes and item sizes drawn reach both sides of DAX's break-even
    assert directions == {"with DAX", "without DAX"}


def test_the_stage_cache_break_even_agrees_with_the_model_sweep():
    for seed in SEEDS:
        d = draw(CASE, "api-cache-break-even", seed)
        w = workload(d)
        result = modelled({**w, "dax": False, "api_cache": False}, with_break_even=True,
                          break_even_toggles=("api_cache", "dax"))
        curves = {c["toggle"]: c for c in result["break_even"]}
        volume = curves["api_cache"]["break_even_volume"]
        assert curves["api_cache"]["verdict"] == "pays for itself above the break-even volume", d.id
        assert right_text(d) == f"Above about {fmt.count(round(volume, -5))} requests a month.", d.id
        # DAX's break-even on the same workload is offered as a distractor when it stands apart
        dax = f"Above about {fmt.count(round(curves['dax']['break_even_volume'], -5))} requests a month."
        if abs(curves["dax"]["break_even_volume"] - volume) > 0.2 * max(volume, curves["dax"]["break_even_volume"]):
            assert dax in {o.text for o in d.options if o.id not in d.answers}, d.id


def test_the_invocations_left_agree_with_the_model_run():
    for seed in SEEDS:
        d = draw(CASE, "lambda-invocations", seed)
        w = workload(d)
        on = modelled({**w, "api_cache": True, "dax": False})
        off = modelled({**w, "api_cache": False, "dax": False})
        invocations = on["facts"]["lambda_invocations"]
        assert invocations < off["facts"]["lambda_invocations"] == w["requests_per_month"], d.id
        assert right_text(d) == f"About {fmt.count(round(invocations, -3))} invocations a month.", d.id


def test_a_bad_template_or_seed_is_refused_with_a_clear_message():
    with pytest.raises(ParamError, match="todo-api has no drill 'nope': its drills are dax-saving"):
        draw(CASE, "nope", 1)
    for seed in (-1, 10**9, 1.5, True, "3"):
        with pytest.raises(ParamError, match="a drill's seed is a whole number from 0 to 999,999,999"):
            draw(CASE, "dax-saving", seed)
