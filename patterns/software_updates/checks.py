"""Software updates' checks: what the surge did to the edge, the origin and the group, read back from the backend."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.runtime.pipeline import Check, Pipeline, RunContext

if TYPE_CHECKING:
    from patterns.software_updates.pipeline import State


def v_served(ctx: RunContext["State"]):
    surge = ctx.state.options.surge
    minutes = ctx.state.minutes
    clients = sum(m["clients"] for m in minutes)
    return Check("every client got the manifest and the package", clients == surge.clients
                 and ctx.state.failures == 0,
                 f"{clients:,} clients x 2 requests over {len(minutes)} simulated minutes; "
                 f"{ctx.state.failures} failed")


def v_group(ctx: RunContext["State"]):
    from patterns.software_updates.pipeline import MIN_INSTANCES

    cloudfront = ctx.values["cloudfront"]
    minutes = ctx.state.minutes
    group = ctx.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[ctx.state.lb.group_name])["AutoScalingGroups"][0]
    peak = max(m["desired"] for m in minutes)
    decisions = [m for m in minutes if m["action"] != "hold"]
    detail = (f"desired capacity peaked at {peak} (minimum {MIN_INSTANCES}); "
              + ("; ".join(f"minute {m['minute']}: {m['reason']}" for m in decisions[:6]) or "no scaling")
              + f"; the backend now holds {len(group['Instances'])} instances, desired {group['DesiredCapacity']}")
    if cloudfront:
        return Check("with CloudFront the group stays at its minimum", peak == MIN_INSTANCES and not decisions,
                     detail)
    return Check("without CloudFront the group scales out with the downloads", peak > MIN_INSTANCES, detail)


def v_edge(ctx: RunContext["State"]):
    minutes = ctx.state.minutes
    after = minutes[1:]
    edge = sum(m["edge_requests"] for m in after)
    origin = sum(m["origin_requests"] for m in after)
    share = origin / edge if edge else 1.0
    first = minutes[0]
    return [
        Check("after the first wave the origin sees at least 95% fewer requests",
              edge > 0 and share <= 0.05,
              f"minutes 2-{len(minutes)}: {edge:,} requests at the edge, {origin:,} at the origin "
              f"({share:.1%}); minute 1: {first['edge_requests']:,} at the edge, "
              f"{first['origin_requests']:,} at the origin (each edge's first fetch)"),
        Check("the bytes came from the edge, not the origin",
              sum(m["origin_bytes"] for m in minutes) < 0.05 * sum(m["edge_bytes"] for m in minutes),
              f"{sum(m['edge_bytes'] for m in minutes) / 1e9:,.2f} GB from the edge, "
              f"{sum(m['origin_bytes'] for m in minutes) / 1e9:,.3f} GB from the origin"),
        Check("the release was published under a versioned path, the manifest invalidated",
              bool(ctx.state.release.get("invalidation")),
              f"{ctx.state.release['package']}; invalidation {ctx.state.release.get('invalidation')} of "
              f"{ctx.state.release['manifest']}"),
    ]


def add_checks(p: Pipeline, values: dict[str, Any]) -> None:
    cloudfront = values["cloudfront"]
    p.add("verify", "Every download was served", "elasticloadbalancing", v_served)
    p.add("verify", "The group followed the load", "autoscaling", v_group)
    if cloudfront:
        p.add("verify", "The edge absorbed the surge", "cloudfront", v_edge)
