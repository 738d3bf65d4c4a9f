"""A load-balanced group: ALB + EC2 Auto Scaling in moto, instance web servers in-process."""
from __future__ import annotations

import pytest

from app.runtime.pipeline import RunContext


def hello(request, server):
    if request.path == "/boom":
        raise RuntimeError("broken handler")
    return 200, {"path": request.path, "method": request.method, "echo": request.json()}, {"X-Served-By": server.target_id}


@pytest.fixture
def group(runtime_session):
    ctx = RunContext(runtime_session, {}, "elb-test")
    return ctx, ctx.infra.load_balanced_group("web", hello, desired=2, max_size=4)


def test_instances_launch_register_and_share_requests(group):
    ctx, lb = group
    asg = ctx.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[lb.group_name])
    members = {i["InstanceId"] for i in asg["AutoScalingGroups"][0]["Instances"]}
    assert len(members) == 2
    health = ctx.client("elbv2").describe_target_health(TargetGroupArn=lb.target_group_arn)
    assert {d["Target"]["Id"] for d in health["TargetHealthDescriptions"]} == members
    assert set(lb.in_service()) == members
    replies = [lb.request("POST", "/orders", body={"n": i}) for i in range(10)]
    assert all(r.status == 200 for r in replies)
    assert replies[3].json() == {"path": "/orders", "method": "POST", "echo": {"n": 3}}
    assert replies[0].headers["X-Served-By"] == replies[0].served_by
    served = [r.served_by for r in replies]
    assert {served.count(i) for i in members} == {5}          # round robin over both targets
    stats = lb.stats()["instances"]
    assert sum(s["requests"] for s in stats.values()) == 10
    assert sum(s["bytes_served"] for s in stats.values()) == sum(len(r.body) for r in replies)
    assert lb.dns_name and lb.network.vpc_id and len(lb.network.subnet_ids) == 2


def test_scaling_out_and_in_reads_registration_back(group):
    ctx, lb = group
    before = set(lb.in_service())
    after = set(lb.set_desired(4))
    assert len(after) == 4 and before < after
    served = {lb.request("GET", "/").served_by for _ in range(8)}
    assert served == after
    one = lb.set_desired(1)
    assert len(one) == 1
    health = ctx.client("elbv2").describe_target_health(TargetGroupArn=lb.target_group_arn)
    assert [d["Target"]["Id"] for d in health["TargetHealthDescriptions"]] == one
    states = {i["InstanceId"]: i["State"]["Name"] for r in ctx.client("ec2").describe_instances()["Reservations"]
              for i in r["Instances"]}
    assert sum(s == "running" for s in states.values()) == 1
    assert {lb.request("GET", "/").served_by for _ in range(3)} == set(one)


def test_no_healthy_target_is_503_and_app_errors_are_500(group):
    ctx, lb = group
    assert lb.request("GET", "/boom").status == 500
    lb.set_desired(0)
    reply = lb.request("GET", "/")
    assert reply.status == 503 and reply.served_by is None
    assert lb.stats()["balancer"]["no_healthy_target"] == 1


def test_teardown_leaves_nothing(runtime_session):
    ctx = RunContext(runtime_session, {}, "elb-test")
    ctx.infra.load_balanced_group("web", hello, desired=1)
    left = runtime_session.inventory()
    assert any(x.startswith("autoscaling:") for x in left) and any(x.startswith("ec2:vpc/") for x in left)
    report = runtime_session.teardown()
    assert report["errors"] == []
    assert runtime_session.inventory() == []
