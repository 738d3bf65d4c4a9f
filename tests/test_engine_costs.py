"""Golden checks on the cost sheets of every case: each line multiplies out, names its source, uses a
price from the price book, and the lines add up to the total the CLI prints."""
from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout

import pytest

from app.cli import main
from app.core.cases import get_case
from app.engine import params_of
from app.engine.books import load_price_book

CASES = ["todo-api", "global-blog", "microservices", "paid-content", "software-updates", "iot-analytics"]


def simulate_json(case: str, *sets: str) -> dict:
    buf = io.StringIO()
    argv = ["simulate", case, "--json", "--samples", "20000", "--no-break-even"]
    for s in sets:
        argv += ["--set", s]
    with redirect_stdout(buf):
        assert main(argv) == 0
    return json.loads(buf.getvalue())


def flipped(case_id: str) -> list[str]:
    """Every toggle set away from its default (bools flipped, choices to their last value)."""
    out = []
    for t in get_case(case_id).toggles:
        if t.kind == "bool":
            out.append(f"{t.key}={'off' if t.default else 'on'}")
        elif t.kind == "choice":
            out.append(f"{t.key}={t.choices[-1]}")
        else:
            out.append(f"{t.key}={t.max:g}")
    return out


def extremes(case_id: str, end: str) -> list[str]:
    out = []
    for p in params_of(get_case(case_id)):
        if p.kind in ("int", "float") and p.key not in {t.key for t in get_case(case_id).toggles}:
            out.append(f"{p.key}={getattr(p, end):g}")
    return out


CONFIGS = [(c, []) for c in CASES] + [(c, flipped(c)) for c in CASES] + \
          [(c, flipped(c) + extremes(c, "max")) for c in CASES] + [(c, extremes(c, "min")) for c in CASES]


@pytest.mark.parametrize("case,sets", CONFIGS, ids=[f"{c}-{i // 6}" for i, (c, _) in enumerate(CONFIGS)])
def test_every_line_multiplies_out_and_adds_up(case, sets):
    result = simulate_json(case, *sets)
    book = load_price_book()
    by_service: dict[str, float] = {}
    assert result["cost_breakdown"], "a configuration always costs something"
    for line in result["cost_breakdown"]:
        assert set(line) >= {"service", "item", "quantity", "unit", "unit_price_usd", "monthly_usd", "source"}
        assert line["quantity"] >= 0 and line["unit"]
        assert math.isclose(line["quantity"] * line["unit_price_usd"], line["monthly_usd"], rel_tol=1e-9, abs_tol=1e-12)
        assert line["source"].startswith("https://"), line
        # The unit price is one the book holds for that service (its price or one of its tiers).
        known = {p.usd for p in book.prices.values() if p.service == line["service"]} | \
                {t["usd"] for p in book.prices.values() if p.service == line["service"] for t in p.tiers}
        assert line["unit_price_usd"] in known, line
        by_service[line["service"]] = by_service.get(line["service"], 0.0) + line["monthly_usd"]
    assert math.isclose(sum(l["monthly_usd"] for l in result["cost_breakdown"]), result["monthly_cost_usd"],
                        rel_tol=1e-12)
    for service, usd in by_service.items():
        assert math.isclose(result["cost_by_service_usd"][service], usd, rel_tol=1e-12)


def test_tiered_price_splits_into_lines_that_each_multiply_out():
    # 2 billion REST requests cross three API Gateway tiers: 333M at 3.50, 667M at 2.80, the rest at 2.38.
    result = simulate_json("todo-api", "requests_per_month=2000000000")
    api = [l for l in result["cost_breakdown"] if l["item"].startswith("REST API requests")]
    assert [l["unit_price_usd"] for l in api] == [3.5, 2.8, 2.38]
    assert math.isclose(sum(l["quantity"] for l in api), 2000.0)
    assert math.isclose(api[0]["quantity"], 333.0)


def test_every_price_in_the_book_has_unit_billing_source_and_date():
    book = load_price_book()
    assert len(book.prices) > 50
    for key, p in book.prices.items():
        assert p.unit and p.billing and p.as_of, key
        assert p.source_url.startswith("https://aws.amazon.com/"), key
        assert p.evidence, key
        if p.assumption:
            assert "not in the sources" in p.evidence, key
    assert book.disagreements, "the book says where its sources disagree"
    assert "0.171" in book["dax.node.dax.r5.large"].conflict
