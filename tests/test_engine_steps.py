"""Modelled AWS latency and price of executed calls, from their spans and the books."""
from __future__ import annotations

import pytest

from app.engine.books import load_latency_book
from app.engine.steps import latency_key, modelled_step, price_spans


def span(service, operation, **extra):
    return {"service": service, "operation": operation, **extra}


def test_data_plane_calls_map_to_their_latency_book_entries():
    assert latency_key(span("dynamodb", "GetItem")) == "dynamodb.GetItem"
    assert latency_key(span("dynamodb", "Query")) == "dynamodb.Query"
    assert latency_key(span("dynamodb", "UpdateItem")) == "dynamodb.PutItem"
    assert latency_key(span("dax", "GetItem", cache="hit")) == "dax.hit"
    assert latency_key(span("dax", "GetItem", cache="miss")) == "dax.miss_overhead"
    assert latency_key(span("apigateway", "GET /todos/{id}", cache="hit")) == "apigw.cache_hit"
    assert latency_key(span("apigateway", "POST /todos")) == "apigw.rest"
    assert latency_key(span("lambda", "Invoke", resource="fn")) == "lambda.overhead"
    assert latency_key(span("s3", "PutObject")) == "s3.PutObject"


def test_control_plane_calls_are_not_modelled():
    for s in (span("dynamodb", "CreateTable"), span("apigateway", "CreateRestApi"), span("lambda", "CreateFunction"),
              span("dax", "CreateCluster")):
        assert latency_key(s) is None


def test_a_step_adds_the_p50_of_its_modelled_calls_and_counts_the_rest():
    book = load_latency_book()
    spans = [span("apigateway", "GET /todos/{id}", cache="miss"), span("lambda", "Invoke", resource="fn"),
             span("dax", "GetItem", cache="hit"), span("dynamodb", "CreateTable"), {"note": "not a call"}]
    out = modelled_step(spans)
    expected = book.op("apigw.rest").p50 + book.op("lambda.overhead").p50 + book.op("dax.hit").p50
    assert abs(out["p50_ms"] - expected) < 1e-9
    assert out["modelled_calls"] == 3 and out["other_calls"] == 1
    assert out["assumed_calls"] == sum(book.op(k).assumption for k in ("apigw.rest", "lambda.overhead", "dax.hit"))


def test_cost_estimate_prices_counted_requests():
    spans = [{"service": "s3", "operation": "PutObject"}] * 1000 + [
        {"service": "lambda", "operation": "Invoke", "resource": "f", "detail": {"memory_mb": 1024, "billed_ms": 1000}}]
    est = price_spans(spans, "us-east-1")
    by = {line["price"]: line for line in est["lines"]}
    assert by["s3.put"]["quantity"] == 1000 and by["s3.put"]["usd"] == pytest.approx(0.005)
    assert by["lambda.gbs.x86_64"]["quantity"] == pytest.approx(1.0)
    assert est["usd"] == pytest.approx(0.005 + 0.2 / 1e6 + 1.66667e-05, rel=1e-3)


def test_stream_reads_by_lambda_are_free_and_queries_are_read_units():
    est = price_spans([{"service": "dynamodbstreams", "operation": "GetRecords"},
                       {"service": "dynamodb", "operation": "Query", "request_units": 2.5}])
    assert [(line["price"], line["quantity"]) for line in est["lines"]] == [("dynamodb.rru", 2.5)]


def test_the_engine_and_the_runtime_do_not_import_each_other():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "app"
    for package, other in (("engine", "app.runtime"), ("runtime", "app.engine")):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not [n for n in names if n.startswith(other)], f"{path} imports {other}"
