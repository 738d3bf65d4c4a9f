"""Modelled AWS latency of an executed step: each data-plane call of its trace priced in time.

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

from typing import Any, Iterable, Mapping

from app.engine.books import load_latency_book

_DDB_READS = {"GetItem", "BatchGetItem", "TransactGetItems"}
_DDB_QUERIES = {"Query", "Scan", "ExecuteStatement"}
_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


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
    simple = {("s3", "GetObject"): "s3.GetObject", ("s3", "PutObject"): "s3.PutObject",
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
