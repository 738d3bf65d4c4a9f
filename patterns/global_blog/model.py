"""Latency and cost model of MyBlog.com (global-blog).

Readers live in two places: near us-east-1 (the home region) and near the replica
region the case's ``replica_region`` option names (``far_share`` of them). A page view
fetches static objects and calls the posts API:

* static objects come from the S3 bucket in us-east-1, or with ``cloudfront`` from the
  edge nearest the reader; each edge caches with a TTL, so its hit ratio depends on the
  traffic of its own readers (TTL formula under Zipf popularity); a miss crosses to
  the origin region.
* API reads and writes go to API Gateway, Lambda and DynamoDB in us-east-1, or with
  ``global_tables`` to the nearest of us-east-1 and the replica region (active-active:
  writes are local and replicate asynchronously). Every write is billed as replicated
  write units in every replica region, and crosses regions once per other replica.
* ``dax`` puts a DAX cluster in every region that serves the API.
* ``transfer_acceleration``: image uploads enter AWS at the nearest edge.

Side flows billed too: welcome emails (DynamoDB stream -> Lambda -> SES) and thumbnails
(S3 event -> Lambda -> thumbnail bucket, optionally fanned out through SNS or SQS).
"""
from __future__ import annotations

import math

from app.core.facts import GLOBAL_TABLES_MRSC
from app.core.params import Param
from app.engine.books import const
from app.engine.cache import cold_window_hit_ratios
from app.engine.cdn import Traffic, bill_cloudfront, pricing_param
from app.engine.cdn import describe as describe_cdn
from app.engine.costs import HOURS_PER_MONTH, SECONDS_PER_MONTH, CostSheet
from app.engine.kit import (
    duration_param,
    memory_param,
    requests_param,
    runtime_param,
    ttl_param,
    zipf_cache,
    zipf_param,
)
from app.engine.paths import Cache, Hop, RequestClass
from app.engine.run import BreakEven, Context, Plan, WhatIf
from app.engine.services import DAX_NODE_MEMORY_GB, bill_lambda, lambda_stages, rate_per_second

HOME = "us-east-1"
CACHE_MEMORY_USABLE = 0.5
TCP_WINDOW_KB = 1024.0      # effective TCP window for a long upload (assumption)
USER_MBPS = 50.0            # reader's upload bandwidth (assumption)
TA_CHEAP_EDGES = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1")

PARAMS = (
    requests_param(20e6, "Page views per month", hi=1e10),
    Param("far_share", "Readers near the replica region", "float", 0.4,
          "Share of page views from readers near the replica region; the rest are near us-east-1.",
          min=0.0, max=1.0, step=0.05, unit="share"),
    Param("objects_per_page", "Static objects per page", "int", 8, "HTML, scripts, styles and images per page view.",
          min=1, max=100, step=1, unit="objects"),
    Param("object_kb", "Static object size", "float", 60.0, "Average size of a static object.",
          min=1.0, max=5000.0, step=1.0, unit="KB"),
    Param("static_objects", "Static objects on the site", "int", 5_000, "Distinct static files (cache keys).",
          min=100, max=1_000_000, step=100, unit="objects"),
    ttl_param("cloudfront_ttl_s", "CloudFront TTL", 86_400,
              "How long an edge keeps an object (default TTL 24 h when the origin sends no Cache-Control).",
              lo=60, hi=604_800),
    pricing_param(),
    Param("consistency", "Global tables consistency", "choice", "eventual",
          "With global tables: eventual (asynchronous replication, last writer wins) or multi-Region strong "
          "(every write waits for a cross-Region round trip; reads are strongly consistent).",
          choices=("eventual", "strong")),
    Param("api_calls_per_page", "API calls per page", "int", 2, "Posts API requests per page view.",
          min=0, max=20, step=1, unit="calls"),
    Param("write_share", "Writes among API calls", "float", 0.02, "Share of API calls that write (posts, comments).",
          min=0.0, max=0.5, step=0.01, unit="share"),
    Param("posts", "Posts and users in the table", "int", 20_000, "Distinct items the API reads.",
          min=1_000, max=1_000_000, step=1_000, unit="items"),
    zipf_param(0.9),
    Param("item_kb", "Item size", "float", 2.0, "Size of one post item.", min=0.1, max=40.0, step=0.1, unit="KB"),
    memory_param(256),
    runtime_param(),
    duration_param(15.0),
    ttl_param("dax_ttl_s", "DAX item TTL", 300, "How long DAX keeps an item (default 5 min)."),
    Param("dax_node_type", "DAX node type", "choice", "dax.t3.small", "Size of each DAX node.",
          choices=tuple(DAX_NODE_MEMORY_GB)),
    Param("dax_nodes", "DAX nodes per region", "int", 3, "Nodes per regional cluster (at least 3 for production).",
          min=1, max=11, step=1, unit="nodes"),
    Param("signups_per_month", "Sign-ups per month", "int", 5_000, "Each sends one welcome email.",
          min=0, max=1_000_000, step=100, unit="sign-ups/month"),
    Param("uploads_per_month", "Image uploads per month", "int", 2_000, "Each makes one thumbnail.",
          min=0, max=1_000_000, step=100, unit="uploads/month"),
    Param("image_mb", "Image size", "float", 3.0, "Size of an uploaded image.", min=0.1, max=100.0, step=0.1,
          unit="MB"),
    Param("stored_gb", "Site and images stored", "float", 20.0, "Data in the buckets.", min=0.0, max=100_000.0,
          step=1.0, unit="GB"),
)

EXECUTED_CACHES = {"dax_home": ("dax", "GetItem")}

# The option the What if page compares first (B = A with this option changed).
WHATIF = WhatIf("cloudfront")

BREAK_EVEN = (
    BreakEven("cloudfront", "requests_per_month", "CloudFront against S3 requests and internet egress",
              "S3 GET requests and S3 data transfer out; cheaper per-GB edge delivery"),
    BreakEven("dax", "requests_per_month", "DAX node-hours against DynamoDB read units saved",
              "DynamoDB read request units"),
    BreakEven("global_tables", "requests_per_month", "Global tables: replicated writes and a second stack against "
              "nothing saved", "no cost: it buys latency for the far readers"),
)


def edge_run_hit_ratios(popularity, requests_by_edge: dict[str, int]) -> dict[str, float]:
    """The modelled hit ratio of each edge location over a run: every edge caches on its own, starts
    empty and keeps each object past the run (TTL of hours against a run of seconds)."""
    return {edge: cold_window_hit_ratios(popularity, n)["front"] for edge, n in requests_by_edge.items()}


def _rru(kb: float) -> float:
    return 0.5 * math.ceil(kb / 4.0)


def _cf_zone(ctx: Context, region: str) -> str:
    return ctx.latency.users.get(region, {}).get("edge_zone", "na")


def build(v: dict, ctx: Context) -> Plan:
    lat, prices = ctx.latency, ctx.prices
    far = v["replica_region"]
    pages = float(v["requests_per_month"])
    groups = [(HOME, 1.0 - v["far_share"]), (far, v["far_share"])]
    groups = [(r, s) for r, s in groups if s > 0]
    objects = pages * v["objects_per_page"]
    api_calls = pages * v["api_calls_per_page"]
    total = objects + api_calls
    serving = [HOME, far] if v["global_tables"] else [HOME]
    strong = v["global_tables"] and v["consistency"] == "strong"

    def served_by(user: str) -> str:
        if not v["global_tables"]:
            return HOME
        return min(serving, key=lambda r: lat.rtt(user, r).p50)

    sheet = CostSheet(prices)
    classes: list[RequestClass] = []
    segments: list[RequestClass] = []
    cf_hits: dict[str, float] = {}
    edge_traffic: list[Traffic] = []
    cdn: dict = {}
    api_by_region: dict[str, float] = {r: 0.0 for r in serving}

    # -- static content -------------------------------------------------------------------
    for user, share in groups:
        n_obj = objects * share
        tag = "home" if user == HOME else "far"
        rc = RequestClass(f"page object ({user})", n_obj / total, group="page")
        if v["cloudfront"]:
            h = ctx.cache(f"cloudfront_{tag}", f"CloudFront edges near {user}",
                          zipf_cache(rate_per_second(n_obj), v["static_objects"], v["zipf_skew"],
                                     v["cloudfront_ttl_s"]),
                          ttl_s=v["cloudfront_ttl_s"], keys=v["static_objects"])
            cf_hits[user] = h
            rc.add(Hop("User - edge round trip", "Network", lat.user_to_edge()))
            rc.add(Cache("CloudFront edge cache", "Amazon CloudFront", f"cloudfront_{tag}", h,
                         lat.op("cloudfront.edge"), lat.op("cloudfront.edge")))
            if user != HOME:
                rc.add(Hop(f"Edge - origin round trip ({user} - {HOME})", "Network", lat.rtt(user, HOME)))
            else:
                rc.add(Hop("Edge - origin round trip (in region)", "Network", lat.rtt(HOME, HOME)))
            rc.add(Hop("S3 GetObject", "Amazon S3", lat.op("s3.GetObject")))
            edge_traffic.append(Traffic(_cf_zone(ctx, user), n_obj, n_obj * v["object_kb"] / 1e6,
                                        f"readers near {user}"))
            sheet.add("s3.get", n_obj * (1 - h), item="GET requests from CloudFront (misses)",
                      region=f"readers near {user}")
        else:
            rc.add(Hop(f"User - S3 round trip ({user} - {HOME})", "Network", lat.user_to_region(user, HOME)))
            rc.add(Hop("S3 GetObject", "Amazon S3", lat.op("s3.GetObject")))
            sheet.add("s3.get", n_obj, region=f"readers near {user}")
        classes.append(rc)
    if v["cloudfront"]:
        cdn = bill_cloudfront(sheet, prices, edge_traffic, v["cloudfront_pricing"], "page views a month",
                              volume=pages)
        sheet.add("cloudfront.origin_fetch", objects * (1 - sum(cf_hits.values()) / max(len(cf_hits), 1))
                  * v["object_kb"] / 1e6, note="transfer from an AWS origin to CloudFront is free")
    else:
        sheet.add("internet.egress", objects * v["object_kb"] / 1e6, item="S3 data transfer out to readers")
        cdn = bill_cloudfront(None, prices, [Traffic(_cf_zone(ctx, u), objects * s, objects * s * v["object_kb"] / 1e6,
                                                     f"readers near {u}") for u, s in groups],
                              v["cloudfront_pricing"], "page views a month", volume=pages)

    # -- the posts API ------------------------------------------------------------------------
    p_cold_by_region: dict[str, float] = {}
    dax_hits: dict[str, float] = {}
    for region in serving:
        calls_here = sum(api_calls * s for u, s in groups if served_by(u) == region)
        api_by_region[region] = calls_here
        if v["dax"] and calls_here > 0:
            cap = DAX_NODE_MEMORY_GB[v["dax_node_type"]] * 1e6 * CACHE_MEMORY_USABLE / v["item_kb"]
            reads_rate = rate_per_second(calls_here * (1 - v["write_share"]))
            tag = "home" if region == HOME else "replica"
            dax_hits[region] = ctx.cache(f"dax_{tag}", f"DAX item cache in {region}",
                                         zipf_cache(reads_rate, v["posts"], v["zipf_skew"], v["dax_ttl_s"], cap),
                                         ttl_s=v["dax_ttl_s"], keys=v["posts"])
        p_cold_by_region[region] = 0.0
    for user, share in groups:
        region = served_by(user)
        calls = api_calls * share
        if calls <= 0:
            continue
        p_cold, fn = lambda_stages(lat, label=f"Posts function ({region})", duration_ms=v["lambda_duration_ms"],
                                   memory_mb=v["lambda_memory_mb"], rate=rate_per_second(api_by_region[region]),
                                   runtime=v["lambda_runtime"])
        p_cold_by_region[region] = p_cold
        net = lat.user_to_region(user, region)
        for kind, part in (("read", 1 - v["write_share"]), ("write", v["write_share"])):
            if part <= 0:
                continue
            rc = RequestClass(f"API {kind} ({user} -> {region})", calls * part / total, group=f"api {kind}")
            rc.add(Hop(f"User - API round trip ({user} - {region})", "Network", net))
            rc.add(Hop("API Gateway (REST)", "Amazon API Gateway", lat.op("apigw.rest")))
            for st in fn:
                rc.add(st)
            if kind == "read":
                if v["dax"]:
                    rc.add(Cache(f"DAX item cache ({region})", "Amazon DynamoDB Accelerator",
                                 f"dax_{'home' if region == HOME else 'replica'}", dax_hits.get(region, 0.0),
                                 lat.op("dax.hit"), lat.op("dax.miss_overhead")))
                rc.add(Hop(f"DynamoDB GetItem ({region})", "Amazon DynamoDB", lat.op("dynamodb.GetItem")))
            else:
                if v["dax"]:
                    rc.add(Hop("DAX write-through", "Amazon DynamoDB Accelerator", lat.op("dax.miss_overhead")))
                rc.add(Hop(f"DynamoDB PutItem ({region})", "Amazon DynamoDB", lat.op("dynamodb.PutItem")))
                if strong:
                    other = next(r for r in serving if r != region)
                    rc.add(Hop(f"Strong consistency: commit round trip ({region} - {other})", "Network",
                               lat.rtt(region, other)))
            classes.append(rc)

    writes = api_calls * v["write_share"]
    for region in serving:
        calls = api_by_region[region]
        if calls <= 0 and region != HOME:
            continue
        sheet.add("apigw.rest.requests", calls, region=region)
        reads_here = calls * (1 - v["write_share"])
        h = dax_hits.get(region, 0.0)
        mean_db = (h * lat.op("dax.hit").mean + (1 - h) * (lat.op("dax.miss_overhead").mean +
                   lat.op("dynamodb.GetItem").mean)) if v["dax"] else lat.op("dynamodb.GetItem").mean
        bill_lambda(sheet, calls, duration_ms=v["lambda_duration_ms"] + mean_db, memory_mb=v["lambda_memory_mb"],
                    p_cold=p_cold_by_region.get(region, 0.0), book=lat, runtime=v["lambda_runtime"],
                    label="posts function", region=region)
        sheet.add("dynamodb.rru", reads_here * (1 - h) * _rru(v["item_kb"]) * (2 if strong else 1), region=region,
                  note="strongly consistent reads: 1 RRU per 4 KB" if strong else "")
        sheet.add("dynamodb.storage", v["posts"] * v["item_kb"] / 1e6, region=region)
        if v["dax"]:
            sheet.add(f"dax.node.{v['dax_node_type']}", v["dax_nodes"] * HOURS_PER_MONTH, region=region,
                      note=f"{v['dax_nodes']} nodes x 730 hours")
    wru = writes * math.ceil(v["item_kb"])
    if v["global_tables"]:
        for region in serving:
            sheet.add("dynamodb.rwru", wru, region=region,
                      note="every write is replicated to, and billed in, every replica region")
        sheet.add("interregion.transfer", writes * v["item_kb"] / 1e6 * (len(serving) - 1),
                  item="Replication traffic between regions")
    else:
        sheet.add("dynamodb.wru", wru, region=HOME)
    sheet.add("internet.egress", api_calls * v["item_kb"] / 1e6, item="API responses to readers")

    # -- side flows -----------------------------------------------------------------------------
    sheet.add("dynamodb.streams.lambda", 4 * SECONDS_PER_MONTH, item="Stream polling by the welcome function (1 shard)",
              note="Lambda polls a shard four times a second; reads by a Lambda trigger are free")
    bill_lambda(sheet, v["signups_per_month"], duration_ms=200, memory_mb=128, p_cold=1.0, book=lat,
                label="welcome email")
    sheet.add("ses.emails", v["signups_per_month"])
    ups = v["uploads_per_month"]
    sheet.add("s3.put", 2 * ups, item="PUT requests (image and thumbnail)")
    bill_lambda(sheet, ups, duration_ms=800, memory_mb=1024, p_cold=1.0, book=lat, label="thumbnail")
    if v["fanout"] == "sns":
        sheet.add("sns.publishes", ups)
    elif v["fanout"] == "sqs":
        sheet.add("sqs.requests", 3 * ups, note="send, receive and delete per thumbnail event")
    sheet.add("s3.storage", v["stored_gb"])
    if v["transfer_acceleration"]:
        for user, share in groups:
            key = "s3.transfer_acceleration.us_eu_jp" if user in TA_CHEAP_EDGES else "s3.transfer_acceleration.other"
            sheet.add(key, ups * share * v["image_mb"] / 1e3, region=f"uploads near {user}")

    # Image upload time (a segment, not part of the page mix): handshakes plus a window-limited transfer.
    for user, _share in groups:
        direct = lat.user_to_region(user, HOME).p50
        edge = lat.user_to_edge().p50
        rtt = edge if v["transfer_acceleration"] else direct
        mbps = min(USER_MBPS, TCP_WINDOW_KB * 8 / 1000 / (rtt / 1000))
        long_haul = lat.rtt(user, HOME).p50 if v["transfer_acceleration"] and user != HOME else 0
        ms = 2 * rtt + v["image_mb"] * 8 / mbps * 1000 + long_haul
        how = "; accelerated: the long haul rides the AWS network" if v["transfer_acceleration"] else ""
        segments.append(RequestClass(f"upload ({user})", 1.0, [Hop("Image upload", "Amazon S3", const(
            ms, f"two round trips (TCP and TLS) plus {v['image_mb']} MB at min({USER_MBPS:g} Mbit/s, "
                f"{TCP_WINDOW_KB:g} KB window / RTT){how}",
            assumption=True))]))

    notes = [
        "Connections are reused (keep-alive): one round trip per request, no new TCP or TLS handshake.",
        "Each reader group's edge caches only that group's traffic; regional edge caches are not modelled.",
        "Every region is priced with the us-east-1 price book.",
        "Global tables: every write, local or replicated, is billed as replicated write units in each replica "
        "region (current DynamoDB pricing); replication is asynchronous and typically within a second "
        "(AWS DynamoDB developer guide), so it adds no latency to the writer.",
        "Free tiers are not applied.",
    ]
    if cdn:
        notes.append(describe_cdn(cdn))
    if strong:
        notes.append(f"Multi-Region strong consistency: {GLOBAL_TABLES_MRSC.says} With two Regions the third "
                     "member is a witness (not billed here: assumption); reads are modelled as strongly consistent "
                     "and every write adds the round trip to the other Region.")
    facts = {"cloudfront_pricing": cdn, "regions_serving_api": serving, "cloudfront_hit_ratio_by_readers": cf_hits,
             "lambda_cold_start_share": p_cold_by_region, "api_calls": api_calls, "static_objects_fetched": objects,
             "writes": writes, "replicated_write_units_per_region": wru if v["global_tables"] else 0.0}
    far_page = next((c.name for c in classes if c.name == f"page object ({far})"), "")
    return Plan(classes, sheet, typical=far_page if v["far_share"] >= 0.5 and far_page else classes[0].name,
                segments=segments, facts=facts, notes=notes)
