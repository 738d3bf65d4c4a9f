"""Micro-services: the handlers with AWS-shaped sample events, the resolver, and the case through the CLI."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from app.runtime.clients import bound
from app.runtime.dataplanes import endpoints
from app.runtime.dataplanes.elasticache import EmulatedRedis
from app.runtime.dataplanes.elb import HttpRequest, HttpResponse, WebServer
from app.runtime.dataplanes.rds import SqlDatabase
from app.runtime.dataplanes.route53 import Resolver
from app.runtime.pipeline import RunClock
from patterns.microservices import handlers
from patterns.microservices.case import POLICIES

REDIS = "redis://catalog-test.cache.amazonaws.com:6379"


@pytest.fixture
def catalog_env(runtime_session, monkeypatch):
    ddb = runtime_session.clients.client("dynamodb")
    table = runtime_session.name("products")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "product_id",
                     "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "product_id", "AttributeType": "S"}])
    ddb.put_item(TableName=table, Item={"product_id": {"S": "p-100"}, "name": {"S": "Espresso machine"},
                                        "price_cents": {"N": "24900"}})
    clock = RunClock()
    redis = EmulatedRedis(clock=clock)
    endpoints.bind(runtime_session.clients, REDIS, redis)
    monkeypatch.setenv("PRODUCTS_TABLE", table)
    monkeypatch.setenv("REDIS_ENDPOINT", REDIS)
    monkeypatch.setenv("CACHE_TTL_S", "300")
    yield runtime_session, redis, clock
    endpoints.unbind(runtime_session.clients)


def test_catalog_reads_cache_aside_with_the_proxy_sample_event(catalog_env, load_event):
    session, redis, clock = catalog_env
    event = load_event("apigateway_proxy_catalog")
    with bound(session.clients):
        first = handlers.catalog(event, None)
        second = handlers.catalog(event, None)
        clock.advance(301)                                   # the Redis TTL runs out
        third = handlers.catalog(event, None)
        missing = handlers.catalog({**event, "pathParameters": {"id": "p-999"}}, None)
    assert first["statusCode"] == 200 and json.loads(first["body"])["cache"] == "miss"
    assert json.loads(second["body"]) == {"product_id": "p-100", "name": "Espresso machine", "price_cents": 24900,
                                          "cache": "hit"}
    assert json.loads(third["body"])["cache"] == "miss" and redis.counters["expirations"] == 1
    assert missing["statusCode"] == 404
    assert redis.stats()["hits"] == 1 and redis.stats()["misses"] == 3 and "emulated" in redis.stats()["data_plane"]


def test_billing_bills_the_sqs_sample_and_reports_the_bad_record(load_event):
    db = SqlDatabase("billing.example.rds.amazonaws.com", "postgres")
    db.execute(handlers.SCHEMA)
    event = load_event("sqs_sns_order_placed")
    result = handlers.billing(event, db, "i-0abc")
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert db.execute("SELECT order_id, customer, total_cents, billed_by FROM invoices") == [
        ("a1b2c3d4e5f6", "customer-1", 49800, "i-0abc")]
    assert handlers.billing(event, db)["batchItemFailures"][0]["itemIdentifier"] == event["Records"][1]["messageId"]
    assert db.execute("SELECT COUNT(*) FROM invoices") == [(1,)]        # redelivery bills once
    server = WebServer("i-0abc", handlers.billing_app(db))
    assert server.handle(HttpRequest("GET", "/invoices/a1b2c3d4e5f6")).json()["total_cents"] == 49800
    assert server.handle(HttpRequest("GET", "/invoices/nope")).status == 404


def test_orders_refuses_bad_input_and_a_failing_catalog():
    calls = []

    def catalog_down(pid):
        calls.append(pid)
        return HttpResponse(503, b"{}")
    app = handlers.orders_app(table="unused", topic_arn="unused", catalog_get=catalog_down, region="us-east-1")
    server = WebServer("10.0.0.9", app)
    bad = server.handle(HttpRequest("POST", "/orders", body=json.dumps({"customer": "c"}).encode()))
    assert bad.status == 400 and calls == []
    down = server.handle(HttpRequest("POST", "/orders", body=json.dumps(
        {"customer": "c", "product_id": "p-1", "quantity": 1}).encode()))
    assert down.status == 502 and calls == ["p-1"]
    assert server.handle(HttpRequest("GET", "/health")).status == 200 and server.stats()["requests"] == 3


def test_resolver_reads_weights_and_failover_from_the_backend(runtime_session):
    r53 = runtime_session.clients.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="t1")["HostedZone"]["Id"].rsplit("/", 1)[-1]
    hc = r53.create_health_check(CallerReference="t-hc", HealthCheckConfig={
        "Type": "HTTP", "FullyQualifiedDomainName": "a.example.net", "ResourcePath": "/health"})["HealthCheck"]["Id"]
    rec = {"Type": "CNAME", "TTL": 60}
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": r} for r in (
        {**rec, "Name": "w.example.com", "SetIdentifier": "a", "Weight": 3, "ResourceRecords": [{"Value": "a.example.net"}]},
        {**rec, "Name": "w.example.com", "SetIdentifier": "b", "Weight": 1, "ResourceRecords": [{"Value": "b.example.net"}]},
        {**rec, "Name": "f.example.com", "SetIdentifier": "p", "Failover": "PRIMARY", "HealthCheckId": hc,
         "ResourceRecords": [{"Value": "a.example.net"}]},
        {**rec, "Name": "f.example.com", "SetIdentifier": "s", "Failover": "SECONDARY",
         "ResourceRecords": [{"Value": "b.example.net"}]})]})
    clock = RunClock()
    resolver = Resolver(r53, zone, clock=clock)
    answers = [resolver.resolve("w.example.com", span=False).record for _ in range(2000)]
    assert abs(answers.count("a") / 2000 - 0.75) < 0.03
    assert resolver.resolve("f.example.com").value == "a.example.net"
    r53.update_health_check(HealthCheckId=hc, Inverted=True)
    assert resolver.resolve("f.example.com").record == "p"          # cached until the TTL passes
    clock.advance(61)
    assert resolver.resolve("f.example.com").record == "s" and not resolver.healthy(hc)
    with pytest.raises(LookupError):
        resolver.resolve("nothing.example.com")


def _run(capsys, *argv: str) -> dict:
    code = main(["run", "microservices", *argv, "--json"])
    out = json.loads(capsys.readouterr().out)
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and out["ok"] and not failed, failed
    return out


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("api_cache", ["on", "off"])
def test_run_microservices_json(capsys, policy, api_cache):
    out = _run(capsys, "--set", f"routing_policy={policy}", "--set", f"api_cache={api_cache}")
    by_name = {c["name"]: c for c in out["checks"]}
    assert by_name["nothing left behind"]["ok"]
    assert all(s["status"] == "ok" for s in out["steps"])
    depth = out["artifacts"]["queue_depth"]
    assert depth["before"] == 0 and depth["after"] == 0 and depth["before_drain"] == len(out["artifacts"]["orders"])
    shares = out["artifacts"]["resolutions"]["us-east-1"]
    assert sum(v["answers"] for v in shares.values()) == 1000
    if policy == "weighted":
        assert abs(shares["canary"]["share"] - 0.10) <= 0.03
    if policy == "failover":
        assert out["artifacts"]["failover"]["answers_after"] == {"secondary": 100}
        assert "Inverted=True" in by_name["failover to the secondary after the primary's health check fails"]["detail"]
    reads = out["artifacts"]["catalog_reads"]
    if api_cache == "on":
        assert reads[0]["stage_cache"] == "hit" and not reads[0]["lambda_invoked"] and reads[0]["redis_gets"] == 0
    else:
        assert all(r["lambda_invoked"] for r in reads)
    edges = {e for s in out["steps"] for e in s["edges"]}
    assert {"dns", "orders", "catalog_call", "publish", "deliver", "billing", "billing_db"} <= edges


def test_an_order_whose_catalog_call_hits_the_stage_cache_still_publishes_its_event():
    from app.core.cases import get_case
    from app.engine.run import run

    res = run(get_case("microservices"), {"api_cache": True}, samples=20_000, with_latency_gain=False)
    assert res["waterfall"]["class"].startswith("place order")
    paths = {p["path"]: [h["hop"] for h in p["hops"]] for p in res["waterfall"]["paths"]}
    hit, miss = paths["Catalog stage cache hit"], paths["Catalog stage cache miss"]
    assert hit[-1] == miss[-1] == "SNS Publish (OrderPlaced)"
    assert "Catalog function" in miss and "Catalog function" not in hit


def test_the_routing_answers_check_runs_alone_on_a_handcrafted_state():
    """One verify step alone: the weighted answers are judged against the record weights, within 3 points."""
    from functools import partial

    from app.runtime.pipeline import RunContext
    from patterns.microservices import checks, pipeline as ms

    def verdict(shares: dict) -> object:
        ctx = RunContext(None, {"routing_policy": "weighted"}, "microservices",
                         partial(ms.State, options=ms.Options(resolutions=1000)))
        ctx.state.shares = {ms.HOME: shares}
        return checks.v_answers(ctx)

    near = verdict({"blue": 912, "canary": 88})
    assert near.ok and "canary off by 1.2 points" in near.detail
    skewed = verdict({"blue": 860, "canary": 140})
    assert not skewed.ok and "canary off by 4.0 points" in skewed.detail
