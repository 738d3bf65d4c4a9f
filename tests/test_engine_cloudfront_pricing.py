"""CloudFront's price: complete data-transfer tiers, free origin fetches, the flat-rate plans, and the
`cloudfront_pricing` option of the three cases that use CloudFront."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from app.engine.books import load_price_book
from app.engine.cdn import PLAN_CHOICES, Traffic, bill_cloudfront, break_even_scale, payg_usd, plan_named
from app.engine.costs import CostSheet
from app.engine.run import run

TB = 1024
CDN_CASES = ("global-blog", "paid-content", "software-updates")


def simulate(capsys, case, *sets):
    args = ["simulate", case, "--samples", "20000", "--json"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_every_zone_has_the_seven_north_american_style_tiers():
    book = load_price_book()
    zones = [k for k in book.keys() if k.startswith("cloudfront.dto.")]
    assert len(zones) == 8
    for key in zones:
        tiers = book[key].tiers
        assert [t["up_to"] for t in tiers] == [10 * TB, 50 * TB, 150 * TB, 500 * TB, 1024 * TB, 5 * 1024 * TB, None]
        rates = [t["usd"] for t in tiers]
        assert rates == sorted(rates, reverse=True) and rates[-1] < rates[0], key
    na = [t["usd"] for t in book["cloudfront.dto.na"].tiers]
    assert na == [0.085, 0.080, 0.060, 0.040, 0.030, 0.025, 0.020]
    assert book["cloudfront.origin_fetch"].usd == 0


def test_tiers_are_billed_one_line_each_and_multiply_out():
    sheet = CostSheet(load_price_book())
    sheet.add("cloudfront.dto.na", 6 * 1024 * TB)          # 6 PB: every tier touched
    assert len(sheet.lines) == 7
    expected = (10 * 0.085 + 40 * 0.080 + 100 * 0.060 + 350 * 0.040 + 524 * 0.030 + 4096 * 0.025
                + 1024 * 0.020) * TB
    assert sheet.total == pytest.approx(expected)


def test_plans_are_data_with_allowances_exclusions_and_source():
    book = load_price_book()
    plans = book.plans()
    assert [p.plan["name"] for p in plans] == ["Free", "Pro", "Business", "Premium"]
    assert [p.usd for p in plans] == [0, 15, 200, 1000]
    assert [p.plan["requests"] for p in plans] == [1_000_000, 10_000_000, 125_000_000, 500_000_000]
    for p in plans:
        assert p.source_url.startswith("https://aws.amazon.com/cloudfront/pricing")
        assert any("Lambda@Edge" in x for x in p.plan["excludes"])
        assert any("origin access identity" in x for x in p.plan["excludes"])
        assert p.as_of


def test_break_even_is_where_pay_as_you_go_reaches_the_plan_price():
    book = load_price_book()
    traffic = [Traffic("na", 50e6, 3_000.0)]
    premium = plan_named(book, "Premium")
    scale = break_even_scale(book, traffic, premium)
    assert scale is not None
    assert payg_usd(book, traffic, scale) == pytest.approx(premium.usd, rel=1e-6)
    summary = bill_cloudfront(CostSheet(book), book, traffic, "Business")
    assert summary["fitting_plan"] == "Business" and summary["fitting_plan_usd"] == 200


@pytest.mark.parametrize("case_id", CDN_CASES)
def test_each_cdn_case_names_the_plan_for_its_default_workload(capsys, case_id):
    data = simulate(capsys, case_id, "cloudfront=on")
    cdn = data["facts"]["cloudfront_pricing"]
    assert cdn["pricing"] == "pay-as-you-go"
    cf_lines = sum(line["monthly_usd"] for line in data["cost_breakdown"] if line["service"] == "Amazon CloudFront")
    assert cdn["pay_as_you_go_usd"] == pytest.approx(cf_lines)
    sentence = next(n for n in data["notes"] if "flat-rate plan" in n)
    if cdn["fitting_plan"]:
        assert f"{cdn['fitting_plan']} ({cdn['fitting_plan_usd']:,.0f} USD a month)" in sentence
    else:
        assert sentence.startswith("No CloudFront flat-rate plan covers")


def test_choosing_a_plan_bills_one_flat_line(capsys):
    data = simulate(capsys, "global-blog", "cloudfront=on", "cloudfront_pricing=Premium")
    cf = [line for line in data["cost_breakdown"] if line["service"] == "Amazon CloudFront"]
    billed = [line for line in cf if line["monthly_usd"] > 0]
    assert [line["item"] for line in billed] == ["Flat-rate plan Premium (one distribution)"]
    assert billed[0]["monthly_usd"] == 1000
    assert all(choice in PLAN_CHOICES for choice in ("Free", "Pro", "Business", "Premium"))


def test_at_300_million_downloads_cloudfront_is_cheaper_than_ec2_egress(capsys):
    on = simulate(capsys, "software-updates", "requests_per_month=300000000", "cloudfront=on")
    off = simulate(capsys, "software-updates", "requests_per_month=300000000", "cloudfront=off")
    assert on["monthly_cost_usd"] < off["monthly_cost_usd"]
    be = next(b for b in on["break_even"] if b["toggle"] == "cloudfront")
    assert be["verdict"] != "cheaper below the break-even volume only"


def test_streams_read_by_lambda_are_free_and_rule_actions_are_billed():
    blog = run("global-blog", {}, samples=2000, with_break_even=False)
    stream = [line for line in blog["cost_breakdown"] if "Stream polling" in line["item"]]
    assert stream and all(line["monthly_usd"] == 0 for line in stream)
    iot = run("iot-analytics", {}, samples=2000, with_break_even=False)
    items = {line["item"] for line in iot["cost_breakdown"]}
    assert {"Rules triggered", "Actions executed", "Ingestion, Kinesis Data Streams as source"} <= items
    todo = run("todo-api", {}, samples=2000, with_break_even=False)
    assert any(line["item"] == "GET requests (users reading their own files)" and line["monthly_usd"] > 0
               for line in todo["cost_breakdown"])
