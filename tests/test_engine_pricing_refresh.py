"""The Price List refresh. moto does not emulate the Price List API, so the client here is a stand-in
that answers GetProducts with a PriceList entry written by hand in the documented JSON shape
(tests/events/pricing_get_products_lambda.json); against AWS the same code path runs live."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from app.cli import main
from app.engine.books import load_price_book
from app.engine.pricing_refresh import parse_product, refresh


class PricingStandIn:
    """Answers get_products for Lambda requests from the fixture, nothing for anything else."""

    def __init__(self, page: dict):
        self.page = page
        self.calls: list[dict] = []

    def get_products(self, **kwargs):
        self.calls.append(kwargs)
        filters = {f["Field"]: f["Value"] for f in kwargs["Filters"]}
        if kwargs["ServiceCode"] == "AWSLambda" and filters.get("group") == "AWS-Lambda-Requests":
            return self.page
        return {"PriceList": []}


def test_parser_reads_on_demand_dimensions(load_event):
    page = load_event("pricing_get_products_lambda")
    dims = parse_product(page["PriceList"][0])
    assert len(dims) == 1
    d = dims[0]
    assert d.unit == "Requests" and d.usd == pytest.approx(2e-7) and d.begin == 0 and d.end is None
    assert d.sku == "TG3M4CAGBA3NYQBH" and d.effective.startswith("2026-11-01")


def test_refresh_writes_a_dated_copy_and_leaves_the_book_alone(load_event, tmp_path):
    client = PricingStandIn(load_event("pricing_get_products_lambda"))
    out, report = refresh(client, "us-east-1", out_dir=tmp_path, today=dt.date(2026, 11, 27),
                          keys=["lambda.requests", "dynamodb.rru"])
    assert out.name == "us-east-1_2026-11-27.json"
    data = json.loads(out.read_text())
    entry = data["prices"]["lambda.requests"]
    assert entry["usd"] == pytest.approx(0.2)              # 2e-7 per request, quoted per million
    assert "TG3M4CAGBA3NYQBH" in entry["evidence"] and entry["as_of"] == "2026-11-01"
    assert report["lambda.requests"].startswith("refreshed")
    assert report["dynamodb.rru"].startswith("kept")       # no answer: the book's value stays
    book = json.loads(Path(load_price_book().path).read_text())
    assert data["prices"]["dynamodb.rru"] == book["prices"]["dynamodb.rru"]
    locations = {f["Value"] for c in client.calls for f in c["Filters"] if f["Field"] == "location"}
    assert locations == {"US East (N. Virginia)"}


def test_refresh_is_refused_outside_live_mode(monkeypatch, capsys):
    monkeypatch.delenv("EXPLORER_ALLOW_LIVE", raising=False)
    assert main(["prices", "--refresh"]) == 2
    assert "EXPLORER_ALLOW_LIVE=1" in capsys.readouterr().err


def test_prices_lists_the_book_and_refuses_unknown_regions(capsys):
    assert main(["prices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["region"] == "us-east-1" and any(p["key"] == "dax.node.dax.r5.large" for p in data["prices"])
    assert main(["prices", "--region", "mars-1"]) == 2
    assert "available: us-east-1" in capsys.readouterr().err
