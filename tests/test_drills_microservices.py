"""Micro-services drills: drawn questions whose right answer the case's model decides."""
from __future__ import annotations

import math
import time

import pytest

from app.core import format as fmt
from app.core.cases import get_case
from app.core.params import ParamError
from app.engine.costs import SECONDS_PER_MONTH
from app.engine.drills import check_drill, draw, templates
from app.engine.run import run

CASE = get_case("microservices")
IDS = [t.id for t in templates(CASE)]
SEEDS = (0, 1, 7, 42, 123_456)


def right_text(drill):
    (answer,) = drill.answers
    return next(o.text for o in drill.options if o.id == answer)


def modelled(values):
    return run(CASE, dict(values), samples=1_000, with_break_even=False)


def test_the_case_has_three_templates():
    assert set(IDS) == {"cache-bill", "routing-bill", "billing-fleet"}


@pytest.mark.parametrize("template_id", IDS)
def test_every_template_draws_a_sound_drill_quickly(template_id):
    for seed in SEEDS:
        started = time.perf_counter()
        drill = draw(CASE, template_id, seed)
        assert time.perf_counter() - started < 0.5, (template_id, seed)
        assert check_drill(drill) == []
        assert len(drill.options) == 4 and len(drill.answers) == 1
        assert all(o.reason.startswith("Right" if o.id in drill.answers else "Wrong") for o in drill.options)
        assert {e.basis for e in drill.evidence} >= {"input", "modelled"}


@pytest.mark.parametrize("template_id", IDS)
def test_the_same_seed_gives_the_same_drill_and_other_seeds_other_numbers(template_id):
    assert draw(CASE, template_id, 42) == draw(CASE, template_id, 42)
    scenarios = {draw(CASE, template_id, seed).scenario for seed in SEEDS}
    assert len(scenarios) >= 4
    answers = {right_text(draw(CASE, template_id, seed)) for seed in SEEDS}
    assert len(answers) >= 2


def monthly(delta):
    return fmt.signed(fmt.usd(delta), delta) + " a month"


@pytest.mark.parametrize("seed", SEEDS)
def test_cache_bill_agrees_with_two_runs_of_the_model(seed):
    drill = draw(CASE, "cache-bill", seed)
    assert drill.values_a["api_cache"] is False and drill.values_b["api_cache"] is True
    delta = modelled(drill.values_b)["monthly_cost_usd"] - modelled(drill.values_a)["monthly_cost_usd"]
    assert right_text(drill) == monthly(delta)


@pytest.mark.parametrize("seed", SEEDS)
def test_routing_bill_agrees_with_two_runs_of_the_model(seed):
    drill = draw(CASE, "routing-bill", seed)
    assert drill.values_a["routing_policy"] == "simple"
    assert drill.values_b["routing_policy"] in {"weighted", "latency", "failover"}
    assert drill.values_b["routing_policy"] in drill.question
    delta = modelled(drill.values_b)["monthly_cost_usd"] - modelled(drill.values_a)["monthly_cost_usd"]
    assert right_text(drill) == monthly(delta)


@pytest.mark.parametrize("seed", SEEDS)
def test_billing_fleet_agrees_with_the_model_and_with_the_sizing_rule(seed):
    drill = draw(CASE, "billing-fleet", seed)
    report = modelled(drill.values_a)
    assert right_text(drill) == f"{report['facts']['billing_instances']} instances"
    # the sizing rule the scenario states: peak of 3x the average order rate, 70% of 50 orders/s, at least 2
    orders_per_s = report["facts"]["orders"] / SECONDS_PER_MONTH
    assert right_text(drill) == f"{max(2, math.ceil(orders_per_s * 3 / (50 * 0.7)))} instances"


def test_a_bad_template_or_seed_is_refused_with_a_clear_message():
    with pytest.raises(ParamError, match="microservices has no drill 'nope': its drills are cache-bill"):
        draw(CASE, "nope", 1)
    for seed in (-1, 10**9, 1.5, True, "3"):
        with pytest.raises(ParamError, match="a drill's seed is a whole number from 0 to 999,999,999"):
            draw(CASE, "cache-bill", seed)
