"""Latency and cost model of the software-updates offloading case (software-updates).

Clients download update files from an EC2 Auto Scaling group behind an Application
Load Balancer in us-east-1. The group is sized for the peak egress bandwidth. With
``cloudfront`` the edges serve the files (long TTL, few distinct files, so almost every
request is a hit) and the group only serves the misses, so it shrinks to its minimum;
egress is billed by CloudFront instead of EC2.
"""
from __future__ import annotations

from app.core.params import Param
from app.engine.books import const
from app.engine.cdn import Traffic, bill_cloudfront, pricing_param
from app.engine.cdn import describe as describe_cdn
from app.engine.costs import HOURS_PER_MONTH, CostSheet
from app.engine.kit import requests_param, ttl_param, users_region_param, zipf_cache, zipf_param
from app.engine.paths import Cache, Hop, RequestClass
from app.engine.run import BreakEven, Context, Plan, WhatIf
from app.engine.services import asg_instances, rate_per_second

HOME = "us-east-1"
TCP_WINDOW_KB = 1024.0

PARAMS = (
    requests_param(2e6, "Downloads per month", lo=1e3, hi=1e9),
    Param("update_mb", "Update file size", "float", 50.0, "Size of one download.", min=0.1, max=5_000.0, step=0.1,
          unit="MB"),
    Param("files", "Distinct files", "int", 20, "Update files offered (versions x platforms).", min=1, max=10_000,
          step=1, unit="files"),
    zipf_param(0.9),
    ttl_param("cloudfront_ttl_s", "CloudFront TTL", 86_400, "How long an edge keeps a file.", lo=60, hi=604_800),
    Param("peak_factor", "Peak to average", "float", 3.0, "Peak download rate over the monthly average (release days).",
          min=1.0, max=20.0, step=0.5, unit="x"),
    Param("instance_gbps", "Bandwidth per instance", "float", 0.75,
          "Sustained network bandwidth of one m5.large (baseline of an 'up to 10 Gbit/s' instance).",
          min=0.1, max=25.0, step=0.05, unit="Gbit/s"),
    Param("target_utilisation", "Target utilisation", "float", 0.6, "Scaling policy target.", min=0.2, max=0.9,
          step=0.05, unit="share"),
    Param("min_instances", "Minimum instances", "int", 2, "Group minimum (two AZs).", min=1, max=20, step=1,
          unit="instances"),
    Param("client_mbps", "Client bandwidth", "float", 50.0, "Download bandwidth of a client.", min=1.0, max=1000.0,
          step=1.0, unit="Mbit/s"),
    users_region_param(HOME),
    pricing_param(),
)

EXECUTED_CACHES = {"cloudfront": ("cloudfront", "GET")}

# The option the What if page compares first (B = A with this option changed).
WHATIF = WhatIf("cloudfront")

BREAK_EVEN = (
    BreakEven("cloudfront", "requests_per_month", "CloudFront against EC2 instances and EC2 egress",
              "EC2 instance-hours, ALB capacity units and EC2 data transfer out"),
)


def build(v: dict, ctx: Context) -> Plan:
    lat, prices = ctx.latency, ctx.prices
    n = float(v["requests_per_month"])
    user = v["users_region"]
    zone = lat.users.get(user, {}).get("edge_zone", "na")
    gb = n * v["update_mb"] / 1e3
    h = 0.0
    rc = RequestClass("download first byte", 1.0, group="download")
    if v["cloudfront"]:
        h = ctx.cache("cloudfront", f"CloudFront edges near {user}",
                      zipf_cache(rate_per_second(n), v["files"], v["zipf_skew"], v["cloudfront_ttl_s"]),
                      ttl_s=v["cloudfront_ttl_s"], keys=v["files"])
        rc.add(Hop("Client - edge round trip", "Network", lat.user_to_edge()))
        rc.add(Cache("CloudFront edge cache", "Amazon CloudFront", "cloudfront", h, lat.op("cloudfront.edge"),
                     lat.op("cloudfront.edge")))
        rc.add(Hop(f"Edge - origin round trip ({user} - {HOME})", "Network", lat.rtt(user, HOME)))
    else:
        rc.add(Hop(f"Client - ALB round trip ({user} - {HOME})", "Network", lat.user_to_region(user, HOME)))
    rc.add(Hop("ALB", "Elastic Load Balancing", lat.op("alb")))
    rc.add(Hop("Application on EC2", "Amazon EC2", lat.op("ec2.handler")))

    origin_gb = gb * (1 - h)
    peak_gbps = origin_gb * 8 / (HOURS_PER_MONTH * 3600) * v["peak_factor"]
    instances = asg_instances(peak_gbps, v["instance_gbps"], v["target_utilisation"], v["min_instances"])
    sheet = CostSheet(prices)
    cdn: dict = {}
    sheet.add("ec2.m5.large", instances * HOURS_PER_MONTH, item=f"Instances ({instances} x m5.large)",
              note=f"peak origin egress {peak_gbps:.2f} Gbit/s")
    sheet.add("elb.alb_hour", HOURS_PER_MONTH)
    sheet.add("elb.lcu_hour", origin_gb, item="ALB capacity units (processed bytes)",
              note="1 LCU = 1 GB processed per hour for EC2 targets")
    if v["cloudfront"]:
        cdn = bill_cloudfront(sheet, prices, [Traffic(zone, n, gb, f"clients near {user}")], v["cloudfront_pricing"],
                              "downloads a month", volume=n)
        sheet.add("cloudfront.origin_fetch", origin_gb, note="origin to CloudFront transfer is free")
    else:
        sheet.add("internet.egress", gb, item="EC2 data transfer out to clients")
        cdn = bill_cloudfront(None, prices, [Traffic(zone, n, gb, f"clients near {user}")], v["cloudfront_pricing"],
                              "downloads a month", volume=n)

    rtt = lat.user_to_edge().p50 if v["cloudfront"] and h >= 0.5 else lat.user_to_region(user, HOME).p50
    mbps = min(v["client_mbps"], TCP_WINDOW_KB * 8 / 1000 / (rtt / 1000))
    download = RequestClass("whole download", 1.0, [Hop("Download", "Network", const(
        rtt + v["update_mb"] * 8 / mbps * 1000,
        f"first byte plus {v['update_mb']} MB at min(client {v['client_mbps']:g} Mbit/s, {TCP_WINDOW_KB:g} KB "
        f"window / {rtt:.0f} ms RTT)", assumption=True))])
    notes = ["Instance bandwidth, target utilisation and the TCP window are assumptions (inputs).",
             "Free tiers are not applied."]
    if cdn:
        notes.append(describe_cdn(cdn))
    facts = {"cloudfront_pricing": cdn, "instances": instances, "peak_origin_gbps": peak_gbps, "egress_gb": gb,
             "origin_gb": origin_gb}
    return Plan([rc], sheet, typical=rc.name, segments=[download], facts=facts, notes=notes)


# -- pricing a run's release-day surge --------------------------------------------------------------
_ZONES = {"us-east-1": "na", "us-west-2": "na", "eu-west-1": "eu", "eu-central-1": "eu", "ap-northeast-1": "jp",
          "ap-southeast-2": "au", "sa-east-1": "sa"}


def surge_cost(surge: dict, prices) -> tuple[CostSheet, dict | None]:
    """The cost of one executed surge (its counted bytes, requests and instance-minutes) at the price book's
    unit prices: CloudFront's transfer and requests per zone (pay-as-you-go, with the flat-rate plan that
    would cover it), or EC2's transfer out, plus the group's hours."""
    from app.engine.cdn import PAY_AS_YOU_GO, Traffic, bill_cloudfront

    sheet = CostSheet(prices)
    minutes = surge["minutes"]
    instance_hours = sum(m["instances_in_service"] for m in minutes) / 60
    sheet.add("ec2.t3.micro", instance_hours, item="Instances (t3.micro, instance-minutes of the surge)")
    sheet.add("elb.alb_hour", len(minutes) / 60)
    origin_gb = sum(m["origin_bytes"] for m in minutes) / 1e9
    sheet.add("elb.lcu_hour", origin_gb, item="ALB capacity units (processed bytes)")
    total = max(1, sum(surge["bytes_by_region"].values()))
    if surge["served_by"] != "CloudFront":
        sheet.add("internet.egress", total / 1e9, item="EC2 data transfer out to clients")
        return sheet, None
    traffic = [Traffic(_ZONES[region], surge["requests"] * b / total, b / 1e9, f"clients near {region}")
               for region, b in surge["bytes_by_region"].items()]
    plans = bill_cloudfront(sheet, prices, traffic, PAY_AS_YOU_GO, volume_label="requests")
    sheet.add("cloudfront.origin_fetch", origin_gb, note="origin to CloudFront transfer is free")
    return sheet, plans
