"""Modelled AWS latency and price of executed calls: each data-plane call of a trace priced in time and USD.

A step of a run is a list of spans, each one call measured on this machine. Here
every call that has an entry in the latency book (a GetItem, a PutObject, a DAX
lookup, an API Gateway request, ...) contributes that entry's p50, so the step's
modelled figure is what the same calls would take on AWS one after another (calls
made in parallel on AWS would overlap: this is an upper bound for them). Control-plane
calls (CreateTable, CreateFunction, ...) have no entry and are counted apart: their
time on AWS is not modelled. Most entries are assumptions; :func:`modelled_step`
says how many of the calls it used were.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from app.engine.books import BookError, load_latency_book, load_price_book

_DDB_READS = {"GetItem", "BatchGetItem", "TransactGetItems"}
_DDB_QUERIES = {"Query", "Scan", "ExecuteStatement"}
_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_S3_GETS = {"GetObject", "HeadObject", "GetObjectTagging", "GetBucketNotificationConfiguration"}


def latency_key(span: Mapping[str, Any]) -> str | None:
    """The latency book's operation for one span, or None for calls it does not model."""
    service, op, cache = span.get("service"), str(span.get("operation", "")), span.get("cache")
    if service == "dynamodb":
        if op in _DDB_READS:
            return "dynamodb.GetItem"
        if op in _DDB_QUERIES:
            return "dynamodb.Query"
        if op in _DDB_WRITES:
            return "dynamodb.PutItem"
        return None
    if service == "dax":
        if cache == "hit":
            return "dax.hit"
        # a miss, or a write passing through to the table (whose own call is a span of its own)
        return "dax.miss_overhead" if cache == "miss" or op in _DDB_WRITES else None
    if service == "apigateway" and cache in ("hit", "miss") or (service == "apigateway" and " /" in op):
        return "apigw.cache_hit" if cache == "hit" else "apigw.rest"
    if service == "cloudfront" and cache in ("hit", "miss"):
        return "cloudfront.edge"
    if service == "lambda" and op == "Invoke" and span.get("resource"):
        return "lambda.overhead"
    simple: dict[tuple[Any, str], str] = {("s3", "GetObject"): "s3.GetObject", ("s3", "PutObject"): "s3.PutObject",
              ("sqs", "SendMessage"): "sqs.SendMessage", ("sns", "Publish"): "sns.Publish",
              ("ses", "SendEmail"): "ses.SendEmail", ("ses", "SendRawEmail"): "ses.SendEmail",
              ("kinesis", "PutRecord"): "kinesis.PutRecord", ("kinesis", "PutRecords"): "kinesis.PutRecord",
              ("cognito-idp", "InitiateAuth"): "cognito.auth"}
    return simple.get((service, op))


def modelled_step(spans: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"p50_ms", "modelled_calls", "assumed_calls", "other_calls"}`` for one step's spans."""
    book = load_latency_book()
    total, modelled, assumed, other = 0.0, 0, 0, 0
    for span in spans:
        if "service" not in span:
            continue
        key = latency_key(span)
        if key is None:
            other += 1
            continue
        dist = book.op(key)
        total += dist.p50
        modelled += 1
        assumed += bool(dist.assumption)
    return {"p50_ms": total, "modelled_calls": modelled, "assumed_calls": assumed, "other_calls": other}


__all__ = ["latency_key", "modelled_step"]


def price_key(span: Mapping[str, Any]) -> tuple[str, float] | None:
    """The price book's entry a span is billed under and its quantity, or None for free calls.

    Counted: S3 PUT/LIST-class and GET-class requests, SQS requests, SNS publishes, DynamoDB
    read and write request units (on-demand), Lambda requests and GB-seconds, SES emails.
    Control-plane calls are free, and so are stream reads by Lambda triggers."""
    service, op = span.get("service"), str(span.get("operation", ""))
    if service == "s3":
        return ("s3.get" if op in _S3_GETS else "s3.put"), 1.0
    if service == "sqs":
        return "sqs.requests", 1.0
    if service == "sns" and op == "Publish":
        return "sns.publishes", 1.0
    if service == "dynamodb" and op in _DDB_READS | _DDB_QUERIES:
        return "dynamodb.rru", float(span.get("request_units") or 1)
    if service == "dynamodb" and op in _DDB_WRITES:
        return "dynamodb.wru", float(span.get("request_units") or 1)
    if service == "ses" and op.startswith("Send"):
        return "ses.emails", 1.0
    return None


def price_spans(spans: Iterable[Mapping[str, Any]], region: str = "us-east-1") -> dict[str, Any]:
    """The requests of a run (or one step), priced with the region's price book: lines and total USD."""
    book = load_price_book(region)
    qty: dict[str, float] = {}
    for s in spans:
        if s.get("service") == "lambda" and s.get("operation") == "Invoke" and s.get("resource"):
            detail = s.get("detail", {})
            qty["lambda.requests"] = qty.get("lambda.requests", 0.0) + 1
            gbs = detail.get("memory_mb", 128) / 1024 * detail.get("billed_ms", 1) / 1000
            qty["lambda.gbs.x86_64"] = qty.get("lambda.gbs.x86_64", 0.0) + gbs
            continue
        found = price_key(s)
        if found is not None:
            qty[found[0]] = qty.get(found[0], 0.0) + found[1]
    lines: list[dict[str, Any]] = []
    for key, n in sorted(qty.items()):
        try:
            p = book[key]
        except BookError:
            continue
        lines.append({"price": key, "item": f"{p.service}: {p.item}", "quantity": n, "unit": p.unit,
                      "usd": n * p.usd / p.per, "source_url": p.source_url})
    total = sum(line["usd"] for line in lines)
    return {"usd": total, "usd_rounded_up": math.ceil(total * 1e6) / 1e6, "lines": lines,
            "prices": f"assets/prices/{book.path.rsplit('/', 1)[-1]}",
            "basis": "requests counted in a rehearsal on the embedded backend; free tiers not applied"}
