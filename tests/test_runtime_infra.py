"""Shared infrastructure builders and run mechanics, on the embedded backend; effects read back from moto."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from app.runtime.infra import record_set
from app.runtime.pipeline import RunContext
from app.runtime.routing import RequestFlow


@pytest.fixture
def ctx(runtime_session):
    return RunContext(runtime_session, {}, "infra-test")


# -- Route 53 -------------------------------------------------------------------------------------
def test_record_sets_carry_the_fields_of_their_routing_policy():
    assert record_set("a.example.com", "lb-1", ttl=300) == {
        "Name": "a.example.com", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "lb-1"}]}
    weighted = record_set("a.example.com", "lb-1", policy="weighted", set_id="blue", health_check="hc", weight=90)
    assert (weighted["SetIdentifier"], weighted["HealthCheckId"], weighted["Weight"]) == ("blue", "hc", 90)
    assert record_set("a", "lb", policy="latency", set_id="x", region="eu-west-1")["Region"] == "eu-west-1"
    assert record_set("a", "lb", policy="failover", set_id="s", primary=False)["Failover"] == "SECONDARY"
    with pytest.raises(ValueError, match="geolocation"):
        record_set("a", "lb", policy="geolocation")


def test_failover_records_answer_the_secondary_once_the_primary_check_fails(ctx):
    zone = ctx.infra.hosted_zone("example.com")
    checks = {s: ctx.infra.health_check(f"hc-{s}", f"{s}.us-east-1.elb.amazonaws.com") for s in ("primary", "secondary")}
    zone.create_records([record_set("orders.example.com", f"{s}.us-east-1.elb.amazonaws.com", policy="failover",
                                    set_id=s, health_check=checks[s], primary=s == "primary") for s in checks]
                        + [record_set("www.example.com", "site.example.net", ttl=300)])
    r53 = ctx.client("route53")
    config = r53.get_health_check(HealthCheckId=checks["primary"])["HealthCheck"]["HealthCheckConfig"]
    assert (config["Type"], config["ResourcePath"], config["Port"]) == ("HTTP", "/health", 80)
    assert zone.resolver().tally("orders.example.com", "us-east-1", 50) == {"primary": 50}
    assert zone.resolver().tally("www.example.com", "us-east-1", 3, span=False) == {"simple": 3}
    r53.update_health_check(HealthCheckId=checks["primary"], Inverted=True)
    before = len(ctx.trace.spans)
    assert zone.resolver().tally("orders.example.com", "eu-west-1", 20) == {"secondary": 20}
    spans = [s for s in ctx.trace.spans[before:] if s.service == "route53" and s.operation.startswith("Resolve")]
    assert [(s.operation, s.detail["client_region"]) for s in spans] == [("Resolve x20", "eu-west-1")]


# -- requests with fail-over, counted in the ledger ----------------------------------------------------
class _Api:
    def __init__(self, status: int | None, region: str = "") -> None:
        self.status, self.region, self.calls = status, region, 0

    def request(self, method, path, body=None):
        self.calls += 1
        if self.status is None:
            raise ConnectionError("refused")
        headers = {"X-Served-From-Region": self.region} if self.region else {}
        return SimpleNamespace(status=self.status, headers=headers, text="down",
                               json=lambda: {"path": path, "body": body})


def test_a_request_fails_over_to_the_first_region_that_answers():
    flow = RequestFlow("readers")
    down, busy, up = _Api(None), _Api(503), _Api(200, region="eu-west-1")
    got = flow.first_answer([("us-east-1", down), ("us-east-2", busy), ("eu-west-1", up)], "POST", "/posts", {"t": 1})
    assert got["tried"] == [{"region": "us-east-1", "status": "ConnectionError"},
                            {"region": "us-east-2", "status": 503}, {"region": "eu-west-1", "status": 200}]
    assert (got["status"], got["served_from"], got["failed_over"]) == (200, "eu-west-1", True)
    assert got["body"] == {"path": "/posts", "body": {"t": 1}}
    home = flow.first_answer([("us-east-1", _Api(404)), ("eu-west-1", up)], "GET", "/posts/x")
    assert (home["status"], home["served_from"], home["failed_over"], home["body"]) == (404, "us-east-1", False, "down")
    assert up.calls == 1
    entry = flow.entry()
    assert (entry["in"], entry["processed"], entry["failed"], entry["lost"], entry["failed_attempts"]) == (2, 2, 0, 0, 2)
    assert entry["served_from"] == {"eu-west-1": 1, "us-east-1": 1}


def test_a_request_no_region_answers_is_failed_not_lost():
    flow = RequestFlow("readers")
    got = flow.first_answer([("us-east-1", _Api(None)), ("eu-west-1", _Api(500))], "GET", "/")
    assert (got["status"], got["served_from"], got["body"]) == (500, None, None)
    assert flow.call(lambda: {"status": 503}, lambda answer: None) == {"status": 503}
    assert flow.call(lambda: {"region": "us-west-2"}, lambda answer: answer["region"]) == {"region": "us-west-2"}
    entry = flow.entry()
    assert (entry["in"], entry["processed"], entry["failed"], entry["lost"]) == (3, 1, 2, 0)
    assert entry["served_from"] == {"us-west-2": 1}


# -- global tables --------------------------------------------------------------------------------
def test_a_global_table_waits_for_what_its_replicas_hold(ctx):
    name = ctx.infra.table("posts", "pk", "sk", stream="NEW_AND_OLD_IMAGES")
    gt = ctx.infra.global_table(name, ["us-east-1", "eu-west-1"])
    assert ctx.client("dynamodb", "eu-west-1").describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    keys = [{"pk": {"S": "POST"}, "sk": {"S": f"p{i}"}} for i in range(3)]
    home = ctx.client("dynamodb")
    for key in keys[:2]:
        home.put_item(TableName=name, Item={**key, "title": {"S": "hello"}})
    assert not gt.holds("eu-west-1", keys[0])
    assert gt.wait_for_items("eu-west-1", keys) == keys[:2]        # the third was never written
    assert gt.wait_for_count("eu-west-1", 2) and not gt.wait_for_count("eu-west-1", 3)
    ctx.client("dynamodb", "eu-west-1").put_item(TableName=name, Item={**keys[2], "title": {"S": "far"}})
    assert gt.wait_for_item("us-east-1", keys[2])
    assert not gt.wait_for_item("us-east-1", {"pk": {"S": "POST"}, "sk": {"S": "never"}})


# -- queues, fan-out, caches and databases ------------------------------------------------------------
def test_queue_depth_counts_waiting_and_received_messages_in_each_region(ctx):
    here, there = ctx.infra.queue("billing"), ctx.infra.queue("billing", region="us-west-2")
    assert (here.region, there.region) == ("us-east-1", "us-west-2")
    for q, n in ((here, 2), (there, 3)):
        for i in range(n):
            ctx.client("sqs", q.region).send_message(QueueUrl=q.url, MessageBody=str(i))
    ctx.client("sqs", "us-west-2").receive_message(QueueUrl=there.url, MaxNumberOfMessages=1)   # in flight
    assert ctx.infra.queue_depth([here, there]) == 5
    assert ctx.infra.queue_depth([]) == 0


@pytest.mark.parametrize("via", ["sns", "sqs"])
def test_a_bucket_fans_its_object_events_out(ctx, via):
    bucket = ctx.infra.bucket("thumbs")
    queue = ctx.infra.bucket_fanout(bucket, via, "subscriber", topic="ready", prefix="thumbnails/")
    s3 = ctx.client("s3")
    s3.put_object(Bucket=bucket, Key="other/skip.png", Body=b"x")
    s3.put_object(Bucket=bucket, Key="thumbnails/a.png", Body=b"x")
    got = ctx.client("sqs").receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in got]
    events = [json.loads(b["Message"]) if via == "sns" else b for b in bodies]
    keys = [r["s3"]["object"]["key"] for e in events for r in e.get("Records", [])]
    assert keys == ["thumbnails/a.png"]
    if via == "sns":
        assert all(b["Type"] == "Notification" for b in bodies)


def test_a_bucket_fan_out_names_what_it_takes(ctx):
    with pytest.raises(ValueError, match="sqs"):
        ctx.infra.bucket_fanout("b", "email", "q")
    with pytest.raises(ValueError, match="topic"):
        ctx.infra.bucket_fanout("b", "sns", "q")


def test_a_redis_cluster_and_a_database_are_bound_and_released(ctx):
    from app.runtime.clients import bound
    from app.runtime.dataplanes import endpoints

    cache = ctx.infra.redis_cluster("catalog")
    assert cache.endpoint == f"redis://{cache.id}.cache.amazonaws.com:6379"
    with bound(ctx.clients):
        assert endpoints.lookup(cache.endpoint) is cache.client
    db = ctx.infra.database("billing", schema="CREATE TABLE invoices (order_id TEXT PRIMARY KEY)")
    db.sql.execute("INSERT INTO invoices VALUES ('o-1')")
    assert db.sql.execute("SELECT order_id FROM invoices") == [("o-1",)]
    found = ctx.client("rds").describe_db_instances(DBInstanceIdentifier=db.instance_id)["DBInstances"][0]
    assert (found["Engine"], found["DBInstanceClass"]) == ("postgres", "db.t4g.micro")
    assert ctx.deployed["cache_nodes"] == 1 and ctx.deployed["rds_instances"] == 1
    assert ctx.run_teardowns() == []
    with bound(ctx.clients), pytest.raises(LookupError):
        endpoints.lookup(cache.endpoint)


def test_steps_read_the_values_their_pipeline_was_built_for_updated_with_the_run_s(runtime_session):
    from app.runtime.pipeline import Pipeline, run_pipeline

    seen = []
    p = Pipeline("values-test", values={"dax": True, "size": 1})
    p.add("drive", "Read the values", "none", lambda ctx: seen.append(dict(ctx.values)))
    assert run_pipeline(p, session=runtime_session, own_session=False).steps[0].status == "ok"
    run_pipeline(p, {"size": 2}, session=runtime_session, own_session=False)
    assert seen == [{"dax": True, "size": 1}, {"dax": True, "size": 2}]
