"""Modelled AWS latency of an executed step, from its spans and the latency book."""
from __future__ import annotations

from app.engine.books import load_latency_book
from app.engine.steps import latency_key, modelled_step


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
