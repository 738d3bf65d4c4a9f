"""MyVideo's drills: drawn numbers, answers the engine decides, the same drill for the same seed.

Each right answer is checked against the engine run separately here (``run`` with its own sample count and
seed, and the break-even sweep of ``break_even_curve``), not against the drill's own computation.
"""
from __future__ import annotations

import re
import time

import pytest

from app.core.cases import get_case
from app.core.params import ParamError
from app.engine.drills import SEED_MAX, check_drill, draw, templates
from app.engine.run import BreakEven, break_even_curve, run

CASE = get_case("paid-content")
SEEDS = range(6)
IDS = [t.id for t in templates(CASE)]


def right(d):
    return [o for o in d.options if o.id in d.answers]


def dollars(text: str) -> float:
    return float(re.search(r"\$([\d,.]+)", text).group(1).replace(",", ""))


def volume(text: str) -> float:
    value, suffix = re.search(r"About ([\d,.]+)(?: ([MB]))?", text).groups()
    return float(value.replace(",", "")) * {None: 1, "M": 1e6, "B": 1e9}[suffix]


def milliseconds(text: str) -> list[float]:
    out = []
    for value, unit in re.findall(r"([\d,.]+) (ms|s)\b", text):
        out.append(float(value.replace(",", "")) * (1000 if unit == "s" else 1))
    return out


def test_the_case_has_the_three_drills():
    assert IDS == ["delivery-cost", "api-cache-break-even", "first-byte-p90"]


@pytest.mark.parametrize("template_id", IDS)
def test_every_drill_draws_quickly_and_keeps_the_drill_rules(template_id):
    for seed in SEEDS:
        start = time.perf_counter()
        d = draw(CASE, template_id, seed)
        assert time.perf_counter() - start < 0.5, (template_id, seed)
        assert check_drill(d) == []
        assert len(d.options) == 4 and len(d.answers) == 1
        assert all(o.reason.startswith("Right" if o.id in d.answers else "Wrong") for o in d.options)
        assert d.values_a and d.values_b and d.values_a != d.values_b
        assert {e.basis for e in d.evidence} >= {"input", "modelled"}


@pytest.mark.parametrize("template_id", IDS)
def test_the_same_seed_gives_the_same_drill_and_other_seeds_other_numbers(template_id):
    assert draw(CASE, template_id, 11) == draw(CASE, template_id, 11)
    drawn = {draw(CASE, template_id, seed).scenario + repr([o.text for o in draw(CASE, template_id, seed).options])
             for seed in SEEDS}
    assert len(drawn) >= 4, template_id
    letters = {draw(CASE, template_id, seed).answers for seed in range(12)}
    assert len(letters) >= 2, f"{template_id}: the answer is always {letters}"


def test_the_cheaper_delivery_is_the_one_the_engine_bills_less():
    for seed in SEEDS:
        d = draw(CASE, "delivery-cost", seed)
        billed = {flag: run(CASE, d.values_a if flag else d.values_b, samples=1_000,
                            with_break_even=False)["monthly_cost_usd"] for flag in (True, False)}
        assert d.values_a["cloudfront"] and not d.values_b["cloudfront"]
        (answer,) = right(d)
        gap = abs(billed[True] - billed[False])
        if gap <= 0.01 * max(billed.values()):
            assert answer.text.startswith("Neither")
            continue
        cheaper = "CloudFront" if billed[True] < billed[False] else "S3"
        assert answer.text.startswith(cheaper), (seed, billed, answer.text)
        assert dollars(answer.text) == pytest.approx(gap, rel=0.01), (seed, answer.text, gap)


def test_the_break_even_is_where_the_engines_sweep_crosses():
    for seed in SEEDS[:4]:
        d = draw(CASE, "api-cache-break-even", seed)
        values = {k: v for k, v in d.values_a.items() if k not in ("api_cache", "requests_per_month")}
        values["requests_per_month"] = d.values_a["requests_per_month"]
        sweep = break_even_curve(CASE, values, BreakEven("api_cache", "requests_per_month", "stage cache", "calls",
                                                         points=81))
        crossing = sweep["break_even_volume"]
        assert crossing is not None and sweep["verdict"] == "pays for itself above the break-even volume"
        (answer,) = right(d)
        assert volume(answer.text) == pytest.approx(crossing, rel=0.1), (seed, answer.text, crossing)
        for wrong in (o for o in d.options if o.id not in d.answers):
            ratio = volume(wrong.text) / crossing
            assert ratio > 1.3 or ratio < 1 / 1.3, (seed, wrong.text, crossing)
        assert d.values_b["api_cache"] and not d.values_a["api_cache"]


def test_the_p90_first_byte_is_the_engines_for_both_designs():
    for seed in SEEDS[:4]:
        d = draw(CASE, "first-byte-p90", seed)
        p90 = [run(CASE, values, samples=20_000, seed=seed + 100,
                   with_break_even=False)["latency_by_group_ms"]["video"]["p90"]
               for values in (d.values_b, d.values_a)]        # CloudFront, then S3 pre-signed URLs
        assert d.values_b["cloudfront"] and not d.values_a["cloudfront"]

        def distance(option, p90=p90):
            return sum(abs(a - b) / b for a, b in zip(milliseconds(option.text), p90, strict=True))

        (answer,) = right(d)
        assert min(d.options, key=distance) is answer, (seed, p90, [o.text for o in d.options])
        assert distance(answer) < 0.2, (seed, p90, answer.text)


def test_a_bad_drill_or_seed_is_refused_with_a_clear_message():
    with pytest.raises(ParamError, match="paid-content has no drill 'nope': its drills are delivery-cost"):
        draw(CASE, "nope", 1)
    for seed in (-1, SEED_MAX, "3", True, 2.5):
        with pytest.raises(ParamError, match="seed is a whole number from 0"):
            draw(CASE, "delivery-cost", seed)
