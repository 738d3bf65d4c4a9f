"""MyBlog.com's drills: drawn questions whose right option the case's model decides.

Each right answer is checked against a computation made here with the engine (its own build of both
configurations, more latency samples and another seed), not against a figure written in the test.
"""
from __future__ import annotations

import re

import pytest

from app.core import format as fmt
from app.core.cases import get_case
from app.core.params import ParamError
from app.engine.drills import SEED_MAX, check_drill, draw, templates
from app.engine.paths import percentiles, simulate
from app.engine.run import build

CASE = get_case("global-blog")
SEEDS = (0, 1, 2, 17, 123_456, SEED_MAX - 1)
IDS = [t.id for t in templates(CASE)]


def right_option(d):
    (answer,) = d.answers
    return next(o for o in d.options if o.id == answer)


def milliseconds(text: str) -> float:
    """The first duration in an option ("About 1.05 s", "About 97.6 ms less") in milliseconds."""
    found = re.search(r"([\d,.]+)\s*(µs|ms|s)\b", text)
    assert found, text
    value = float(found.group(1).replace(",", ""))
    return value * {"µs": 1e-3, "ms": 1.0, "s": 1000.0}[found.group(2)]


def independent_p50(values, name_starts: str, samples: int = 50_000, seed: int = 99) -> float:
    """The median of the plan's request class or segment whose name starts so, from a fresh build."""
    plan, _ = build(CASE, values)
    (rc,) = [c for c in plan.classes + plan.segments if c.name.startswith(name_starts)]
    return percentiles(simulate([rc], samples, seed)[rc.name])["p50"]


def compared(template_id: str, seed: int, toggle: str):
    """The drill, checked to compare its case with ``toggle`` off (A) and on (B), and its far Region."""
    d = draw(CASE, template_id, seed)
    assert not d.values_a[toggle] and d.values_b[toggle]
    return d, d.values_a["replica_region"]


def test_the_case_has_at_least_three_templates():
    assert len(IDS) >= 3
    assert {"cloudfront-bill", "replica-read-latency", "accelerated-upload"} <= set(IDS)


@pytest.mark.parametrize("template_id", IDS)
def test_every_template_draws_a_valid_drill_for_several_seeds(template_id):
    for seed in SEEDS:
        d = draw(CASE, template_id, seed)
        assert check_drill(d) == [], (template_id, seed)
        assert d.id == f"{template_id}:{seed}"
        assert len(d.options) == 4 and len(d.answers) == 1
        assert all(o.reason.startswith("Right:" if o.id in d.answers else "Wrong:") for o in d.options)
        assert {e.basis for e in d.evidence} >= {"input", "modelled"}
        assert d.values_a != d.values_b


@pytest.mark.parametrize("template_id", IDS)
def test_the_same_seed_gives_the_same_drill_and_other_seeds_other_numbers(template_id):
    assert draw(CASE, template_id, 5) == draw(CASE, template_id, 5)
    scenarios = {draw(CASE, template_id, seed).scenario for seed in range(8)}
    options = {tuple(o.text for o in draw(CASE, template_id, seed).options) for seed in range(8)}
    assert len(scenarios) > 1 and len(options) > 1


def test_the_right_place_of_the_answer_varies():
    for template_id in IDS:
        letters = {draw(CASE, template_id, seed).answers for seed in range(20)}
        assert len(letters) > 1, template_id


@pytest.mark.parametrize("seed", SEEDS)
def test_cloudfront_bill_agrees_with_the_engine(seed):
    d, _far = compared("cloudfront-bill", seed, "cloudfront")
    without, _ = build(CASE, d.values_a)
    with_cf, _ = build(CASE, d.values_b)
    delta = with_cf.costs.total - without.costs.total
    verb = "lowers" if delta < 0 else "raises"
    assert right_option(d).text == f"CloudFront {verb} the monthly bill by {fmt.usd(abs(delta))}"
    published = [e for e in d.evidence if e.basis == "published"]
    assert published and all(e.source.startswith("https://") for e in published)


@pytest.mark.parametrize("seed", SEEDS)
def test_replica_read_latency_agrees_with_the_engine(seed):
    d, far = compared("replica-read-latency", seed, "global_tables")
    before = independent_p50(d.values_a, f"API read ({far} -> us-east-1)")
    after = independent_p50(d.values_b, f"API read ({far} -> {far})")
    cut = before - after
    assert cut > 0
    numeric = [o for o in d.options if o.text.startswith("About ")]
    nearest = min(numeric, key=lambda o: abs(milliseconds(o.text) - cut))
    assert nearest.id in d.answers
    assert milliseconds(right_option(d).text) == pytest.approx(cut, rel=0.1)


@pytest.mark.parametrize("seed", SEEDS)
def test_accelerated_upload_agrees_with_the_engine(seed):
    d, far = compared("accelerated-upload", seed, "transfer_acceleration")
    direct = independent_p50(d.values_a, f"upload ({far})")
    accelerated = independent_p50(d.values_b, f"upload ({far})")
    assert accelerated < direct
    assert right_option(d).text == f"About {fmt.duration(accelerated)}"
    assert any(o.text == f"About {fmt.duration(direct)}" for o in d.options if o.id not in d.answers)


def test_a_bad_template_or_seed_is_refused_with_a_clear_message():
    with pytest.raises(ParamError, match="global-blog has no drill 'no-such-drill': its drills are cloudfront-bill"):
        draw(CASE, "no-such-drill", 1)
    for seed in (-1, SEED_MAX, 1.5, "7", True, None):
        with pytest.raises(ParamError, match="a drill's seed is a whole number from 0 to"):
            draw(CASE, "cloudfront-bill", seed)
