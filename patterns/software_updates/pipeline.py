"""Software updates offloading, executed: an unchanged Auto Scaling application, with and without CloudFront.

Deploy creates, in the run's own account: a VPC with two subnets, an Application Load
Balancer with a target group, a launch template and an EC2 Auto Scaling group whose
instances launch in the backend and register as targets, and a target-tracking policy
on the requests per target. The instances' web servers are emulated in-process: each
serves the update files of the shared file store (the EFS share of the diagram) and
counts what it served. With ``cloudfront`` on, a distribution has the load balancer as
its custom origin.

Drive publishes release 2.0.0 under a versioned path (the package never changes once
published, so it is cached for a year) and the small manifest that names the current
version (cached 5 minutes; with CloudFront its old copy is also invalidated). Then the
release-day surge: clients start downloads minute by minute over simulated time (the
run's clock moves one minute per step, so TTLs behave as over a real hour), each asking
the manifest and fetching the package from a viewer region. After each minute the
target-tracking policy is evaluated on that minute's requests per in-service instance
and sets the group's desired capacity in the backend, where instances launch and
register, or terminate.

Emulated: the load balancer's data plane and the web servers, the CloudFront edge, and
the evaluation of the scaling policy (moto stores policies but never runs them).
Checks: :mod:`patterns.software_updates.checks`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app.runtime.dataplanes.autoscaling import TargetTracking
from app.runtime.infra import Distribution
from app.runtime.pipeline import Pipeline, RunContext
from patterns.software_updates import checks
from patterns.software_updates.surge import REGIONS, Surge

VERSION = "2.0.0"
PACKAGE = f"/updates/{VERSION}/app-{VERSION}.pkg"
MANIFEST = "/updates/latest.json"
MIN_INSTANCES, MAX_INSTANCES = 2, 12
# Requests per instance per minute the policy aims for: an assumption of this run, sized so that a
# download-heavy minute of the default surge needs a few instances more than the minimum.
TARGET_REQUESTS_PER_MINUTE = 60.0


@dataclass(frozen=True)
class Options:
    """The run's options (``build_pipeline``'s keyword arguments), read by the steps from the state."""

    surge: Surge = field(default_factory=Surge)


@dataclass
class State:
    """What the steps of a software-updates run share."""

    options: Options = field(default_factory=Options)

    lb: Any = None
    tracking: TargetTracking | None = None
    distribution: Distribution | None = None
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)   # the shared file store
    release: dict[str, Any] = field(default_factory=dict)
    minutes: list[dict] = field(default_factory=list)
    failures: int = 0


def _update_server(state: State):
    """The unchanged application: GET a file of the shared store, with its Cache-Control."""
    def app(request, server):
        found = state.files.get(request.path)
        if found is None or request.method not in ("GET", "HEAD"):
            return 404, b"not found", {"Content-Type": "text/plain"}
        body, cache_control = found
        return 200, body, {"Content-Type": "application/octet-stream", "Cache-Control": cache_control,
                           "X-Served-By": server.target_id}
    return app


def _origin(lb, counter: str = "requests") -> int:
    """What the instances' web servers have answered so far (requests or bytes)."""
    return sum(s[counter] for s in lb.stats()["instances"].values())


# -- deploy ----------------------------------------------------------------------------------------
def application(ctx: RunContext[State]) -> None:
    lb = ctx.state.lb = ctx.infra.load_balanced_group(
        "updates", app=_update_server(ctx.state), min_size=MIN_INSTANCES, max_size=MAX_INSTANCES,
        desired=MIN_INSTANCES)
    label = (lb.load_balancer_arn.split(":loadbalancer/")[1] + "/" + lb.target_group_arn.rsplit(":", 1)[1])
    ctx.client("autoscaling").put_scaling_policy(
        AutoScalingGroupName=lb.group_name, PolicyName="requests-per-target", PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"TargetValue": TARGET_REQUESTS_PER_MINUTE, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label}})
    ctx.state.tracking = TargetTracking(ctx.client("autoscaling"), lb.group_name, trace=ctx.trace,
                                        apply=lb.set_desired)
    ctx.artifact("application", {"load_balancer": lb.dns_name, "group": lb.group_name,
                                 "instances": lb.in_service(), "policy": f"target tracking: "
                                 f"{TARGET_REQUESTS_PER_MINUTE:.0f} requests per target per minute"})


def distribution(ctx: RunContext[State]) -> None:
    lb = ctx.state.lb

    def origin(path: str):
        r = lb.request("GET", path)
        return r.status, r.body, r.headers

    ctx.state.distribution = ctx.infra.cloudfront_custom_origin(lb.dns_name, origin,
                                                                 comment="Update downloads")


# -- drive -----------------------------------------------------------------------------------------
def publish(ctx: RunContext[State]) -> None:
    surge, cloudfront = ctx.state.options.surge, ctx.values["cloudfront"]
    package = bytes(int(surge.file_mb * 1_000_000))    # MB as on the page: 10^6 bytes
    ctx.state.files[PACKAGE] = (package, "max-age=31536000, immutable")
    ctx.state.files[MANIFEST] = (json.dumps({"version": VERSION, "package": PACKAGE}).encode(), "max-age=300")
    release = {"package": PACKAGE, "bytes": len(package), "manifest": MANIFEST,
               "how": "versioned path for the package (it never changes, so it is cached for a year); the "
                      "manifest is the only file that changes"}
    if cloudfront:
        release["invalidation"] = ctx.state.distribution.edge.create_invalidation([MANIFEST])
        release["how"] += ("; its cached copies are invalidated. Versioned names are what AWS recommends for "
                           "files that change: an invalidation reaches every edge, is billed beyond 1,000 "
                           "paths a month, and a client may still hold an old copy")
    ctx.state.release = release
    ctx.artifact("release", release)


def surge_step(ctx: RunContext[State]) -> None:
    surge, cloudfront = ctx.state.options.surge, ctx.values["cloudfront"]
    lb, dist, tracking = ctx.state.lb, ctx.state.distribution, ctx.state.tracking
    served_before = _origin(lb)
    by_region: dict[str, int] = {}           # bytes delivered to clients near each region
    for minute, clients in enumerate(surge.arrivals(), start=1):
        edge_requests = edge_bytes = 0
        origin_before, origin_bytes_before = _origin(lb), _origin(lb, "bytes_served")
        for n in range(clients):
            region = REGIONS[n % len(REGIONS)]
            for path in (MANIFEST, PACKAGE):
                if dist is not None:
                    r = dist.get(path, viewer_region=region)
                    status, size = r.status, len(r.body)
                else:
                    r = lb.request("GET", path)
                    status, size = r.status, len(r.body)
                edge_requests += dist is not None
                edge_bytes += size if dist is not None else 0
                by_region[region] = by_region.get(region, 0) + size
                ctx.state.failures += status != 200
        in_service = len(lb.in_service())
        origin = _origin(lb) - origin_before
        decision = tracking.evaluate(origin / max(in_service, 1), in_service)
        ctx.state.minutes.append({
            "minute": minute, "clients": clients, "edge_requests": edge_requests,
            "origin_requests": origin, "instances_in_service": in_service, "desired": decision.desired,
            "action": decision.action, "reason": decision.reason, "edge_bytes": edge_bytes,
            "origin_bytes": _origin(lb, "bytes_served") - origin_bytes_before})
        ctx.clock.advance(60)
    ctx.artifact("surge", {"surge": surge.describe(), "minutes": ctx.state.minutes,
                           "origin_requests": _origin(lb) - served_before, "bytes_by_region": by_region,
                           "requests": 2 * surge.clients, "served_by": "CloudFront" if cloudfront else "the ALB",
                           "servers": lb.stats()["instances"]})


def build_pipeline(values: dict[str, Any], surge: Surge | None = None) -> Pipeline:
    cloudfront = values["cloudfront"]
    options = Options(surge or Surge())
    p = Pipeline("software-updates", values=values, state=partial(State, options=options), live_unsupported=(
        "its load balancer, web servers and CloudFront edge are the embedded backend's emulations, and its "
        "surge launches instances: against AWS that is a load test of a real fleet, not a lesson"))

    p.add("deploy", "Launch the unchanged application behind its load balancer", "ec2", application)
    if cloudfront:
        p.add("deploy", "Put CloudFront in front of the load balancer", "cloudfront", distribution)
    p.add("drive", "Publish release 2.0.0", "cloudfront" if cloudfront else "ec2", publish, ("files",))
    p.add("drive", "Release-day surge", "cloudfront" if cloudfront else "elasticloadbalancing", surge_step,
          ("dns", "edge", "origin", "alb", "instance", "files") if cloudfront else ("dns", "alb", "instance", "files"))
    checks.add_checks(p, values)
    return p
