"""Software updates drills: each template draws a checked question whose right answer the engine confirms.

The right answer is checked against a run of the case's model made here (``app.engine.run.run`` on the
inputs the drill shows as its evidence), not against the template's own arithmetic.
"""
from __future__ import annotations

import re

import pytest

from app.core import format as fmt
from app.core.cases import get_case
from app.core.params import ParamError
from app.engine.books import load_price_book
from app.engine.cdn import PAY_AS_YOU_GO, fits, terms
from app.engine.drills import check_drill, draw, templates
from app.engine.run import run

CASE = get_case("software-updates")
SEEDS = range(8)
TEMPLATE_IDS = ["monthly-saving", "peak-instances", "cloudfront-pricing"]


def inputs(d) -> dict[str, str]:
    return {e.label: e.value for e in d.evidence if e.basis == "input"}


def amount(text: str) -> float:
    """A figure as the drills print it: '10 M', '800,000', '100 MB', '0.75 Gbit/s', '70%', '900 s'."""
    found = re.match(r"([\d,.]+)\s*([MB])?\b", text)
    assert found, text
    value = float(found.group(1).replace(",", ""))
    return value * {"M": 1e6, "B": 1e9}.get(found.group(2) or "", 1.0)


def workload(d) -> dict:
    i = inputs(d)
    w = {"requests_per_month": int(amount(i.get("Downloads a month") or i["Downloads (requests) a month"])),
         "update_mb": amount(i["Update file size"]), "users_region": i["Where the clients are"]}
    if "Peak to average download rate" in i:
        w["peak_factor"] = float(i["Peak to average download rate"].rstrip("x"))
        w["files"] = int(amount(i["Distinct update files"]))
    if "CloudFront TTL" in i:
        w.update(cloudfront_ttl_s=int(amount(i["CloudFront TTL"])),
                 zipf_skew=float(i["Popularity skew of the files (Zipf exponent)"]),
                 instance_gbps=amount(i["Sustained bandwidth of one instance"]),
                 target_utilisation=amount(i["Scaling target utilisation"]) / 100)
    return w


def modelled(values: dict) -> dict:
    return run(CASE, values, samples=2_000, with_break_even=False, with_latency_gain=False)


def right_texts(d) -> list[str]:
    return [o.text for o in d.options if o.id in d.answers]


def test_the_case_offers_its_three_templates():
    assert [t.id for t in templates(CASE)] == TEMPLATE_IDS


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_seed_draws_a_checked_drill_and_the_same_seed_the_same_drill(template_id):
    drills = [draw(CASE, template_id, seed) for seed in SEEDS]
    for d in drills:
        assert check_drill(d) == [], (d.id, check_drill(d))
        assert len(d.options) == 4 and len(d.answers) == 1
        assert all(o.reason.startswith("Right:" if o.id in d.answers else "Wrong:") for o in d.options), d.id
        assert d.exam in ("SAA-C03", "SAP-C02")
    assert draw(CASE, template_id, 3) == drills[3]
    # different seeds draw different numbers, and the right answer is not always behind the same letter
    assert len({d.scenario for d in drills}) > len(SEEDS) // 2
    assert len({d.answers for d in drills}) > 1


def test_the_monthly_saving_agrees_with_the_model_run_both_ways():
    directions = set()
    for seed in SEEDS:
        d = draw(CASE, "monthly-saving", seed)
        w = workload(d)
        off = modelled({**w, "cloudfront": False})["monthly_cost_usd"]
        on = modelled({**w, "cloudfront": True})["monthly_cost_usd"]
        winner = "with CloudFront" if on <= off else "without CloudFront"
        directions.add(winner)
        assert right_texts(d) == [f"The service {winner} costs about {fmt.usd(abs(off - on))} a month less."], d.id
        assert dict(d.values_a) == {"cloudfront": False} and dict(d.values_b) == {"cloudfront": True}
    # the drawn regions and volumes are enough for either configuration to win
    assert directions == {"with CloudFront", "without CloudFront"}


def test_the_peak_instances_agree_with_the_model_and_exceed_the_minimum_for_some_seeds():
    counts = []
    for seed in SEEDS:
        d = draw(CASE, "peak-instances", seed)
        result = modelled({**workload(d), "cloudfront": True})
        n = result["facts"]["instances"]
        counts.append(n)
        assert right_texts(d) == [f"{n} instance{'s' if n != 1 else ''}"], d.id
        without = modelled({**workload(d), "cloudfront": False})["facts"]["instances"]
        assert any(o.text == f"{without} instances" for o in d.options if o.id not in d.answers) or without == n
    assert max(counts) > result["values"]["min_instances"]


def test_the_cheapest_pricing_that_covers_the_traffic_is_the_answer():
    prices = load_price_book()
    chosen = set()
    for seed in SEEDS:
        d = draw(CASE, "cloudfront-pricing", seed)
        summary = modelled({**workload(d), "cloudfront": True})["facts"]["cloudfront_pricing"]
        ways = {PAY_AS_YOU_GO: summary["pay_as_you_go_usd"]}
        ways.update({terms(p)["name"]: p.usd for p in prices.plans()
                     if fits(p, summary["requests"], summary["data_transfer_gb"])})
        best = min(ways, key=lambda k: (ways[k], k != PAY_AS_YOU_GO))
        chosen.add(best)
        expected = (f"Pay-as-you-go, about {fmt.usd(ways[best])} a month" if best == PAY_AS_YOU_GO
                    else f"The {best} flat-rate plan, {fmt.usd(ways[best])} a month")
        assert right_texts(d) == [expected], d.id
    assert len(chosen) > 1


@pytest.mark.parametrize("seed", [-1, 10**9, 2.5, "3", True])
def test_a_bad_seed_is_refused_with_the_range(seed):
    with pytest.raises(ParamError, match="whole number from 0 to 999,999,999"):
        draw(CASE, "monthly-saving", seed)


def test_an_unknown_template_is_refused_naming_the_valid_ones():
    with pytest.raises(ParamError) as exc:
        draw(CASE, "cheapest-region", 1)
    message = str(exc.value)
    assert "software-updates has no drill 'cheapest-region'" in message
    assert all(t in message for t in TEMPLATE_IDS)
