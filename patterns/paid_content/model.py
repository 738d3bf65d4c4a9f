"""Latency and cost model of MyVideo (paid-content).

Premium viewers ask the signed-URL app (API Gateway -> Lambda, which checks the
premium users table in DynamoDB) for a URL, then stream the video. With ``cloudfront``
the URL is a CloudFront signed URL and the video comes from the nearest edge (origin
access control keeps the bucket private; misses go to S3 in us-east-1); without it the
app hands out an S3 pre-signed URL and the viewer streams from the bucket's region.
``api_cache`` caches the URL responses, keyed by the caller's token and the video.
"""
from __future__ import annotations

from app.core.params import Param
from app.engine.cdn import Traffic, bill_cloudfront, pricing_param
from app.engine.cdn import describe as describe_cdn
from app.engine.costs import HOURS_PER_MONTH, CostSheet
from app.engine.kit import (
    duration_param,
    memory_param,
    requests_param,
    runtime_param,
    ttl_param,
    users_region_param,
    zipf_cache,
    zipf_param,
)
from app.engine.paths import Cache, Hop, RequestClass
from app.engine.run import BreakEven, Context, Plan, WhatIf
from app.engine.services import bill_lambda, lambda_stages, rate_per_second

HOME = "us-east-1"
MAX_KEYS = 1_000_000

PARAMS = (
    requests_param(1e6, "Video plays per month", lo=1e3, hi=1e9),
    Param("premium_users", "Premium users", "int", 20_000, "Monthly active premium users (Cognito MAU).",
          min=100, max=1_000_000, step=100, unit="users"),
    Param("videos", "Videos in the catalogue", "int", 2_000, "Distinct videos.", min=10, max=100_000, step=10,
          unit="videos"),
    zipf_param(0.9),
    Param("video_mb", "Data streamed per play", "float", 150.0, "Average megabytes a play downloads.",
          min=1.0, max=5_000.0, step=1.0, unit="MB"),
    Param("segments_per_play", "Segment requests per play", "int", 60, "HTTP requests a player makes per play "
          "(HLS/DASH segments).", min=1, max=2_000, step=1, unit="requests"),
    ttl_param("cloudfront_ttl_s", "CloudFront TTL", 86_400, "How long an edge keeps a video segment.", lo=60,
              hi=604_800),
    ttl_param("api_cache_ttl_s", "API cache TTL", 300, "Stage cache time to live for URL responses.", lo=0),
    users_region_param(HOME),
    Param("signups_per_month", "Premium registrations per month", "int", 1_000, "Calls to the registration app.",
          min=0, max=1_000_000, step=100, unit="sign-ups/month"),
    memory_param(256),
    runtime_param(),
    duration_param(15.0),
    Param("stored_gb", "Videos stored", "float", 2_000.0, "Data in the content bucket.", min=1.0, max=1_000_000.0,
          step=1.0, unit="GB"),
    pricing_param(),
)

EXECUTED_CACHES = {"api_cache": ("apigateway", "re:GET .*"), "cloudfront": ("cloudfront", "GET")}

# The option the What if page compares first (B = A with this option changed).
WHATIF = WhatIf("cloudfront")

BREAK_EVEN = (
    BreakEven("cloudfront", "requests_per_month", "CloudFront delivery against S3 pre-signed downloads",
              "S3 data transfer out and GET requests"),
    BreakEven("api_cache", "requests_per_month", "URL-response cache-hours against Lambda and DynamoDB calls avoided",
              "Lambda invocations and DynamoDB reads of the URL generator"),
)


def build(v: dict, ctx: Context) -> Plan:
    lat, prices = ctx.latency, ctx.prices
    plays = float(v["requests_per_month"])
    user = v["users_region"]
    zone = lat.users.get(user, {}).get("edge_zone", "na")
    segs = plays * v["segments_per_play"]
    seg_keys = v["videos"] * v["segments_per_play"]

    h_api = 0.0
    if v["api_cache"]:
        keys = min(MAX_KEYS, v["premium_users"] * 5)
        h_api = ctx.cache("api_cache", "Stage cache of signed-URL responses (token x video)",
                          zipf_cache(rate_per_second(plays), keys, v["zipf_skew"], v["api_cache_ttl_s"]),
                          ttl_s=v["api_cache_ttl_s"], keys=keys)
    invocations = plays * (1 - h_api)
    p_cold, fn = lambda_stages(lat, label="URL generator", duration_ms=v["lambda_duration_ms"],
                               memory_mb=v["lambda_memory_mb"], rate=rate_per_second(invocations),
                               runtime=v["lambda_runtime"])
    url = RequestClass("get playback URL", 0.5, group="url")
    url.add(Hop(f"Viewer - API round trip ({user} - {HOME})", "Network", lat.user_to_region(user, HOME)))
    url.add(Hop("API Gateway (REST)", "Amazon API Gateway", lat.op("apigw.rest")))
    if v["api_cache"]:
        url.add(Cache("Stage cache", "Amazon API Gateway", "api_cache", h_api, lat.op("apigw.cache_hit")))
    for st in fn:
        url.add(st)
    url.add(Hop("DynamoDB GetItem (premium?)", "Amazon DynamoDB", lat.op("dynamodb.GetItem")))

    first = RequestClass("video first byte", 0.5, group="video")
    cdn: dict = {}
    sheet = CostSheet(prices)
    if v["cloudfront"]:
        h = ctx.cache("cloudfront", f"CloudFront edges near {user}",
                      zipf_cache(rate_per_second(segs), min(MAX_KEYS, seg_keys), v["zipf_skew"], v["cloudfront_ttl_s"]),
                      ttl_s=v["cloudfront_ttl_s"], keys=min(MAX_KEYS, seg_keys))
        first.add(Hop("Viewer - edge round trip", "Network", lat.user_to_edge()))
        first.add(Cache("CloudFront edge cache", "Amazon CloudFront", "cloudfront", h, lat.op("cloudfront.edge"),
                        lat.op("cloudfront.edge")))
        first.add(Hop(f"Edge - origin round trip ({user} - {HOME})", "Network",
                      lat.rtt(user, HOME)))
        first.add(Hop("S3 GetObject (origin access control)", "Amazon S3", lat.op("s3.GetObject")))
        cdn = bill_cloudfront(sheet, prices, [Traffic(zone, segs, plays * v["video_mb"] / 1e3, f"viewers near {user}")],
                              v["cloudfront_pricing"], "plays a month", volume=plays)
        sheet.add("s3.get", segs * (1 - h), item="GET requests from CloudFront (misses)")
        sheet.add("cloudfront.origin_fetch", plays * v["video_mb"] / 1e3 * (1 - h),
                  note="transfer from an AWS origin to CloudFront is free")
    else:
        first.add(Hop(f"Viewer - S3 round trip ({user} - {HOME})", "Network", lat.user_to_region(user, HOME)))
        first.add(Hop("S3 GetObject (pre-signed URL)", "Amazon S3", lat.op("s3.GetObject")))
        sheet.add("s3.get", segs)
        sheet.add("internet.egress", plays * v["video_mb"] / 1e3, item="S3 data transfer out to viewers")
        cdn = bill_cloudfront(None, prices, [Traffic(zone, segs, plays * v["video_mb"] / 1e3, f"viewers near {user}")],
                              v["cloudfront_pricing"], "plays a month", volume=plays)

    sheet.add("apigw.rest.requests", plays + v["signups_per_month"])
    if v["api_cache"]:
        sheet.add("apigw.cache.0.5", HOURS_PER_MONTH, note="0.5 GB stage cache, 730 hours")
    bill_lambda(sheet, invocations, duration_ms=v["lambda_duration_ms"] + lat.op("dynamodb.GetItem").mean,
                memory_mb=v["lambda_memory_mb"], p_cold=p_cold, book=lat, runtime=v["lambda_runtime"],
                label="URL generator")
    bill_lambda(sheet, v["signups_per_month"], duration_ms=50, memory_mb=128, p_cold=1.0, book=lat,
                label="registration")
    sheet.add("dynamodb.rru", invocations * 0.5, note="one premium check per URL, eventually consistent")
    sheet.add("dynamodb.wru", v["signups_per_month"])
    sheet.add("cognito.mau.essentials", v["premium_users"])
    sheet.add("s3.storage", v["stored_gb"])
    notes = ["A play is one URL request and many segment requests; the latency shown is the URL call and the first "
             "segment's first byte.",
             "CloudFront key pair and signed URLs cost nothing extra "
             "(no billing dimension in 'How AWS Pricing Works').",
             "The stage cache has about five entries per premium user (token x recently watched videos).",
             "Free tiers are not applied."]
    if cdn:
        notes.append(describe_cdn(cdn))
    facts = {"lambda_cold_start_share": p_cold, "segment_requests": segs, "viewer_zone": zone,
             "cloudfront_pricing": cdn}
    return Plan([url, first], sheet, typical="video first byte", facts=facts, notes=notes)
