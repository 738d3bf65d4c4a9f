"""Refresh the price book from the AWS Price List API (live mode only).

``GetProducts`` returns each product as a JSON string with ``product.attributes``
and ``terms.OnDemand.<offer>.priceDimensions.<rate>`` holding ``unit``,
``pricePerUnit.USD``, ``beginRange`` and ``endRange``. For each price-book key we know
how to look up, :func:`refresh` asks for the products matching its filters in the
region's location, keeps the on-demand dimensions in the expected unit, and writes a
dated copy of the book (``assets/prices/<region>_<date>.json``) in which refreshed
entries name the SKU and effective date they came from; keys that did not match
exactly one price keep the book's value and say why. The book itself is not touched.

The Price List API is not emulated by moto, so this path only runs against AWS.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engine.books import PRICES_DIR

LOCATIONS = {"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-2": "US West (Oregon)",
             "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)", "ap-southeast-2": "Asia Pacific (Sydney)",
             "ap-northeast-1": "Asia Pacific (Tokyo)"}


@dataclass(frozen=True)
class Query:
    service_code: str
    filters: dict[str, str]
    aws_unit: str           # the unit the Price List quotes, e.g. "Requests", "GB-Mo", "Hrs"


QUERIES: dict[str, Query] = {
    "lambda.requests": Query("AWSLambda", {"group": "AWS-Lambda-Requests"}, "Requests"),
    "lambda.gbs.x86_64": Query("AWSLambda", {"group": "AWS-Lambda-Duration"}, "Lambda-GB-Second"),
    "lambda.gbs.arm64": Query("AWSLambda", {"group": "AWS-Lambda-Duration-ARM"}, "Lambda-GB-Second"),
    "dynamodb.rru": Query("AmazonDynamoDB", {"group": "DDB-ReadUnits"}, "ReadRequestUnits"),
    "dynamodb.wru": Query("AmazonDynamoDB", {"group": "DDB-WriteUnits"}, "WriteRequestUnits"),
    "s3.storage": Query("AmazonS3", {"storageClass": "General Purpose", "volumeType": "Standard"}, "GB-Mo"),
    "apigw.rest.requests": Query("AmazonApiGateway", {"operation": "ApiGatewayRequest"}, "Requests"),
    "dax.node.dax.t3.small": Query("AmazonDAX", {"instanceType": "dax.t3.small"}, "Hrs"),
    "dax.node.dax.r5.large": Query("AmazonDAX", {"instanceType": "dax.r5.large"}, "Hrs"),
    "ec2.m5.large": Query("AmazonEC2", {"instanceType": "m5.large", "operatingSystem": "Linux", "tenancy": "Shared",
                                        "preInstalledSw": "NA", "capacitystatus": "Used"}, "Hrs"),
    "sqs.requests": Query("AWSQueueService", {"queueType": "Standard"}, "Requests"),
    "athena.scanned": Query("AmazonAthena", {"productFamily": "Athena Queries"}, "Terabytes"),
}


@dataclass(frozen=True)
class Dimension:
    sku: str
    unit: str
    usd: float
    begin: float
    end: float | None
    description: str
    effective: str


def parse_product(item: str | dict) -> list[Dimension]:
    """The on-demand price dimensions of one ``GetProducts`` PriceList entry."""
    data = json.loads(item) if isinstance(item, str) else item
    sku = data.get("product", {}).get("sku", "")
    out = []
    for offer in data.get("terms", {}).get("OnDemand", {}).values():
        for dim in offer.get("priceDimensions", {}).values():
            usd = dim.get("pricePerUnit", {}).get("USD")
            if usd is None:
                continue
            end = dim.get("endRange", "Inf")
            out.append(Dimension(sku=offer.get("sku", sku), unit=dim.get("unit", ""), usd=float(usd),
                                 begin=float(dim.get("beginRange", 0) or 0),
                                 end=None if end in ("Inf", "", None) else float(end),
                                 description=dim.get("description", ""), effective=offer.get("effectiveDate", "")))
    return out


def _products(client, query: Query, location: str) -> Iterable[str]:
    filters = [{"Type": "TERM_MATCH", "Field": "location", "Value": location}]
    filters += [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in query.filters.items()]
    token = None
    while True:
        kwargs: dict[str, Any] = {"ServiceCode": query.service_code, "Filters": filters, "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        page = client.get_products(**kwargs)
        yield from page.get("PriceList", [])
        token = page.get("NextToken")
        if not token:
            return


def refresh(client, region: str = "us-east-1", *, book_path: Path | None = None, out_dir: Path | None = None,
            today: dt.date | None = None, keys: Iterable[str] | None = None) -> tuple[Path, dict[str, str]]:
    """Write a dated copy of the region's price book with the prices the API returns.

    ``client`` is a boto3 ``pricing`` client (the API answers in us-east-1 and ap-south-1).
    Returns the new file and, per key, what happened.
    """
    if region not in LOCATIONS:
        raise ValueError(f"no Price List location for {region!r}; known: {', '.join(LOCATIONS)}")
    book_path = book_path or PRICES_DIR / f"{region}.json"
    if not book_path.exists():
        book_path = PRICES_DIR / "us-east-1.json"
    book = json.loads(book_path.read_text())
    day = (today or dt.date.today()).isoformat()
    report: dict[str, str] = {}
    for key in keys or QUERIES:
        query = QUERIES[key]
        entry = book["prices"].get(key)
        if entry is None:
            report[key] = "not in the book"
            continue
        dims = [d for item in _products(client, query, LOCATIONS[region]) for d in parse_product(item)
                if d.unit == query.aws_unit and d.usd > 0]
        first = sorted({(d.begin, d.usd, d.sku, d.effective) for d in dims if d.begin == 0})
        if len(first) != 1:
            report[key] = f"kept: {len(first)} matching first-tier prices"
            continue
        _, usd, sku, effective = first[0]
        new = dict(entry)
        # Requests are quoted per request; the book quotes them per ``per`` (a million, a thousand).
        scale = float(entry["per"]) if query.aws_unit in ("Requests", "ReadRequestUnits", "WriteRequestUnits") else 1.0
        new["usd"] = usd * scale
        tiers = sorted({(d.begin, d.end, d.usd) for d in dims})
        if len(tiers) > 1:
            new["tiers"] = [{"up_to": end, "usd": u * scale} for _, end, u in tiers]
        else:
            new.pop("tiers", None)
        new["evidence"] = f"AWS Price List API GetProducts ({query.service_code}, SKU {sku})"
        new["as_of"] = (effective or day)[:10]
        new["assumption"] = False
        new.pop("conflict", None)
        book["prices"][key] = new
        report[key] = f"refreshed: {entry['usd']:g} -> {new['usd']:g}"
    book["compiled"] = day
    book["refreshed_from"] = f"AWS Price List API on {day}; keys not refreshed keep {book_path.name}"
    out = (out_dir or PRICES_DIR) / f"{region}_{day}.json"
    out.write_text(json.dumps(book, indent=1))
    return out, report


__all__ = ["refresh", "parse_product", "QUERIES", "LOCATIONS", "Dimension"]
