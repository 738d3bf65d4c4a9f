"""A region outage: the primary region goes down mid-run; readers fail over to the replica (MyBlog.com with
global tables), Route 53 fails over to the standby (micro-services with the failover policy).

Through the command line (`run CASE --fault region_outage=primary --json`), through the runtime with a
session the test keeps open (the tables are read back with boto3 in both regions), and the refusals.
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import EndpointConnectionError

from app.cli import main
from app.core import facts
from app.core.cases import get_case
from app.runtime.dataplanes.route53 import endpoint_region
from app.runtime.faults import FaultRegistry, bookkeeping
from app.runtime.pipeline import load_pipeline, run_pipeline


def _run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["run", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _checks(out: dict) -> dict[str, dict]:
    return {c["name"]: c for c in out["checks"]}


# -- refusals -----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["global-blog"], "global tables are off"),
    (["global-blog", "--set", "global_tables=off"], "set global_tables=on"),
    (["microservices"], "simple routing policy"),
    (["microservices", "--set", "routing_policy=latency"], "set routing_policy=failover"),
    (["todo-api"], "faults of todo-api: ddb_throttle_rate"),
    (["global-blog", "--set", "global_tables=on", "--fault", "region_outage=eu-west-1"], "use one of primary"),
])
def test_region_outage_refused_without_a_second_region(capsys, argv, message):
    fault = [] if "--fault" in argv else ["--fault", "region_outage=primary"]
    assert main(["run", *argv, *fault]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err


# -- the mechanism -------------------------------------------------------------------------------
def test_a_down_region_refuses_connections_until_the_faults_clear(runtime_session):
    s = runtime_session
    home, other = s.region, "eu-west-1"
    reg = FaultRegistry({"region_outage": "primary"}, primary_region=home, trace=s.trace)
    s.install_faults(reg)
    try:
        s.clients.client("sqs").list_queues()                 # not down yet: the outage starts at its step
        reg.start_outage()
        with pytest.raises(EndpointConnectionError, match=f"sqs.{home}.amazonaws.com"):
            s.clients.client("sqs").list_queues()
        s.clients.client("sqs", other).list_queues()          # another region answers
        s.clients.client("route53").list_hosted_zones()       # a global service answers
        with bookkeeping():                                   # the runtime's own reads are not failed
            s.clients.client("sqs").list_queues()
        reg.lift()
        s.clients.client("sqs").list_queues()
    finally:
        s.remove_faults()
    assert reg.counters["outage_calls_refused"] == 1 and reg.idle() == []


def test_endpoint_region_reads_the_region_from_an_aws_name():
    assert endpoint_region("orders-1.us-east-1.elb.amazonaws.com") == "us-east-1"
    assert endpoint_region("abc.execute-api.ap-southeast-2.amazonaws.com.") == "ap-southeast-2"
    assert endpoint_region("orders.example.com") is None


# -- MyBlog.com: readers fail over to the replica --------------------------------------------------
@pytest.mark.slow
def test_global_blog_readers_fail_over_to_the_replica_cli(capsys):
    code, out = _run(capsys, "global-blog", "--set", "global_tables=on", "--fault", "region_outage=primary")
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and not failed, failed
    names = [s["name"] for s in out["steps"]]
    start = names.index("The primary region (us-east-1) goes down")
    assert names[start + 1] == "Readers near us-east-1 read the posts, failing over to the replica"
    flow = out["ledger"]["readers in us-east-1 -> failover to eu-west-1"]
    # three posts read and one written, each first refused by us-east-1, then answered by the replica
    assert (flow["in"], flow["processed"], flow["failed"], flow["lost"]) == (4, 4, 0, 0)
    assert flow["served_from"] == {"eu-west-1": 4} and flow["failed_attempts"] == 4
    assert flow["in"] == flow["served_from"]["eu-west-1"] + flow["failed"]
    readers = out["artifacts"]["home_readers"]
    assert readers["region_down"] and all(r["tried"][0]["status"] >= 500 for r in readers["reads"])
    checks = _checks(out)
    assert "3 failed over" in checks["with us-east-1 down, its readers are served by the replica in eu-west-1"][
        "detail"]
    assert out["faults"]["counters"]["outage_calls_refused"] >= 4


@pytest.mark.slow
def test_global_blog_outage_read_back_from_both_regions(runtime_session):
    case = get_case("global-blog")
    values = case.resolve({"global_tables": "on"})
    result = run_pipeline(load_pipeline(case, values), values, session=runtime_session, own_session=False,
                          faults={"region_outage": "primary"})
    assert result.ok, [c for c in result.checks if not c.ok]
    ddb = {r: runtime_session.clients.client("dynamodb", r) for r in ("us-east-1", "eu-west-1")}
    table = next(t for t in ddb["us-east-1"].list_tables()["TableNames"] if t.endswith("-blog"))
    stored = {r: {i["sk"]["S"]: i for i in c.query(TableName=table, KeyConditionExpression="pk = :p",
                                                    ExpressionAttributeValues={":p": {"S": "POST"}},
                                                    ConsistentRead=True)["Items"]} for r, c in ddb.items()}
    written = [i for i in stored["eu-west-1"].values() if i["title"]["S"].startswith("Written while us-east-1 is down")]
    assert len(written) == 1 and written[0]["written_in"]["S"] == "eu-west-1"     # taken by the replica
    assert written[0]["sk"]["S"] in stored["us-east-1"]                           # replicated home after
    reads = result.artifacts["home_readers"]["reads"]
    assert {r["served_from"] for r in reads} == {"eu-west-1"}
    assert all(r["request"].rsplit("/", 1)[-1] in stored["eu-west-1"] for r in reads)   # written before


@pytest.mark.slow
def test_global_blog_without_the_outage_home_readers_stay_home(case_run):
    code, out = case_run("global-blog", global_tables="on")
    assert code == 0, [c for c in out["checks"] if not c["ok"]]
    readers = out["artifacts"]["home_readers"]
    assert not readers["region_down"] and {r["served_from"] for r in readers["reads"]} == {"us-east-1"}
    assert _checks(out)["readers near us-east-1 are served by us-east-1"]["ok"]


# -- micro-services: Route 53 fails over ------------------------------------------------------------
@pytest.mark.slow
def test_microservices_route53_fails_over_when_the_primary_region_is_down(capsys):
    code, out = _run(capsys, "microservices", "--set", "routing_policy=failover", "--fault", "region_outage=primary")
    checks = _checks(out)
    failed = sorted(n for n, c in checks.items() if not c["ok"])
    # Route 53 fails over; the standby takes the order with its own catalog, table replica and topic
    assert code == 0 and failed == [], failed
    assert checks["the standby in us-west-2 takes the order during the outage"]["ok"]
    assert checks["after us-east-1 recovers, the standby's order is replicated home and billed"]["ok"]
    assert checks["Route 53 fails over to the secondary when us-east-1 is down"]["ok"]
    f = out["artifacts"]["failover"]
    assert f["answered_before"] == "primary" and f["answers_after"] == {"secondary": 100}
    assert f["primary_alb"] == 503 and not f["primary_healthy_after"]
    assert f["failover_s"] == facts.R53_FAILOVER_S.value == 90
    assert f["order"]["status"] == 201 and f["order"]["region"] == "us-west-2"
    assert f["order"]["catalog"]["status"] == 200 and f["order"]["catalog"]["cache"] == "none"   # standby catalog
    flow = out["ledger"]["orders during the us-east-1 outage"]
    assert (flow["in"], flow["processed"], flow["failed"], flow["lost"]) == (1, 1, 0, 0)
    assert flow["served_from"] == {"us-west-2": 1}
    assert checks["every request of orders during the us-east-1 outage is accounted for"]["ok"]
    counters = out["faults"]["counters"]
    assert counters["outage_lb_503"] >= 1 and counters["outage_health_failed"] >= 1
    assert counters["outage_calls_refused"] == 0          # the standby called nothing in us-east-1
    # the orders placed before the outage and the standby's were billed once the region came back
    assert checks["an invoice per order in the billing database"]["ok"]
    assert out["artifacts"]["queue_depth"]["before_drain"] == 4 and out["artifacts"]["queue_depth"]["after"] == 0


@pytest.mark.slow
def test_microservices_standby_order_read_back_in_both_regions(runtime_session):
    case = get_case("microservices")
    values = case.resolve({"routing_policy": "failover"})
    result = run_pipeline(load_pipeline(case, values), values, session=runtime_session, own_session=False,
                          faults={"region_outage": "primary"})
    assert result.ok, [c for c in result.checks if not c.ok]
    order_id = result.artifacts["failover"]["order"]["order_id"]
    ddb = {r: runtime_session.clients.client("dynamodb", r) for r in ("us-west-2", "us-east-1")}
    table = next(t for t in ddb["us-east-1"].list_tables()["TableNames"] if t.endswith("-orders"))
    stored = {r: c.get_item(TableName=table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item")
              for r, c in ddb.items()}
    assert stored["us-west-2"] is not None and stored["us-west-2"]["region"]["S"] == "us-west-2"   # taken there
    assert stored["us-east-1"] == stored["us-west-2"]                                            # replicated home
    products = next(t for t in ddb["us-west-2"].list_tables()["TableNames"] if t.endswith("-products"))
    assert ddb["us-west-2"].scan(TableName=products, Select="COUNT")["Count"] == 3      # the catalog's replica
    sqs = runtime_session.clients.client("sqs", "us-west-2")
    standby_queue = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-billing"))
    depth = sqs.get_queue_attributes(QueueUrl=standby_queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"                   # drained by billing
