"""Drills of MyVideo (paid-content): questions whose numbers are drawn and whose answer the model computes.

- ``delivery-cost``: for a drawn audience (plays, megabytes per play, segments, where the viewers are),
  which delivery has the lower monthly bill, CloudFront signed URLs or S3 pre-signed URLs, and by how much;
- ``api-cache-break-even``: for a drawn URL generator (memory, duration, premium users, skew, TTL), the
  monthly volume of URL requests above which the 0.5 GB stage cache costs less than it saves;
- ``first-byte-p90``: for viewers drawn far from the bucket's region, the p90 time to a video's first byte
  with CloudFront signed URLs and with S3 pre-signed URLs.

Each template draws from the ``random.Random`` it is given, so a seed reproduces its drill. Pure Python.
"""
from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from app.core import format as fmt
from app.core.cases import Case
from app.engine.drills import Drill, Evidence, Template, lettered
from app.engine.kit import USER_REGIONS
from app.engine.run import build, latency_report, resolve_values
from patterns.paid_content.model import HOME

SAMPLES = 5_000                      # latency samples per configuration: enough for a p90, fast to draw
SAME_WITHIN = 0.01                   # bills within 1% of each other count as the same
VOLUME_RANGE = (1e3, 1e9)            # the model's range of URL requests a month
DISTINCT = 1.5                       # distractor volumes differ from each other by at least this factor
CF, S3 = "CloudFront signed URLs", "S3 pre-signed URLs"
FACTOR_WORDS = {2: "ten times", 1: "about three times", -1: "about a third of", -2: "a tenth of"}
# Each template's title, exam, domain and difficulty.
SPECS = {
    "delivery-cost": ("CloudFront or S3 pre-signed URLs: the lower monthly bill", "SAA-C03",
                      "Design Cost-Optimized Architectures", "medium"),
    "api-cache-break-even": ("The volume at which the stage cache pays for itself", "SAP-C02",
                             "Continuous Improvement for Existing Solutions", "hard"),
    "first-byte-p90": ("p90 first byte with and without CloudFront", "SAA-C03",
                       "Design High-Performing Architectures", "medium"),
}




def _drill(template_id: str, seed: int, scenario: str, question: str, shown, evidence, values_a, values_b) -> Drill:
    """The drill of ``template_id`` with its exam, domain and difficulty from ``SPECS``."""
    _, exam, domain, difficulty = SPECS[template_id]
    options, answers = shown
    return Drill(template_id, seed, exam, domain, difficulty, scenario, question, options, answers, tuple(evidence),
                 dict(values_a), dict(values_b))


def _plan(case: Case, values: Mapping[str, Any], measured: Mapping[str, float] | None = None):
    return build(case, values, measured=measured)


def _bill(case: Case, values: Mapping[str, Any], measured: Mapping[str, float] | None = None) -> float:
    return _plan(case, values, measured)[0].costs.total


def _first_rate(plan, prefix: str) -> dict[str, Any]:
    """The first cost line whose item starts with ``prefix`` (its unit price and source page)."""
    return next(line for line in plan.costs.to_list() if line["item"].startswith(prefix))


def _delivery_usd(plan) -> float:
    return sum(line["monthly_usd"] for line in plan.costs.to_list()
               if line["service"] in ("Amazon CloudFront", "Data transfer"))


# -- delivery-cost ------------------------------------------------------------------------------------
def _delivery_cost(case: Case, rng: random.Random, seed: int) -> Drill:
    region = rng.choice(USER_REGIONS)
    plays = int(float(f"{10 ** rng.uniform(4.5, 7.0):.2g}"))
    video_mb = rng.choice((40.0, 80.0, 150.0, 300.0, 600.0, 1200.0))
    segments = rng.choice((30, 60, 120, 300))
    given = {"api_cache": False, "requests_per_month": plays, "video_mb": video_mb,
             "segments_per_play": segments, "users_region": region}
    values_cf = resolve_values(case, {**given, "cloudfront": True})
    values_s3 = resolve_values(case, {**given, "cloudfront": False})
    plan_cf, _ = _plan(case, values_cf)
    plan_s3, _ = _plan(case, values_s3)
    cost_cf, cost_s3 = plan_cf.costs.total, plan_s3.costs.total
    diff = abs(cost_cf - cost_s3)
    same = diff <= SAME_WITHIN * max(cost_cf, cost_s3)
    winner, loser = (CF, S3) if cost_cf < cost_s3 else (S3, CF)
    bills = f"{CF} {fmt.usd(cost_cf)} a month against {S3} {fmt.usd(cost_s3)}"
    factor = rng.choice((10, 0.1))
    off_by = diff * factor if not same else 0.1 * max(cost_cf, cost_s3)
    # the wrong configuration by the same wrong amount, so that no configuration or amount appears only with the answer
    other = (loser, winner) if not same else (winner, loser)
    choices = [
        (f"{CF}, about {fmt.usd(diff)} a month less than {S3}", cost_cf < cost_s3 and not same,
         f"{'Right' if cost_cf < cost_s3 and not same else 'Wrong'}: the model bills {bills}."),
        (f"{S3}, about {fmt.usd(diff)} a month less than {CF}", cost_s3 < cost_cf and not same,
         f"{'Right' if cost_s3 < cost_cf and not same else 'Wrong'}: the model bills {bills}."),
        (f"{winner}, about {fmt.usd(off_by)} a month less than {loser}", False,
         f"Wrong: {'ten times' if factor > 1 else 'a tenth of'} the difference the model finds ({bills})."
         if not same else f"Wrong: the model bills {bills}, within 1% of each other."),
    ]
    if same:
        choices.append(("Neither: the two designs cost the same within 1% a month", True,
                        f"Right: the model bills {bills}, within 1% of each other."))
    else:
        choices.append((f"{other[0]}, about {fmt.usd(off_by)} a month less than {other[1]}", False,
                        f"Wrong: the model bills {bills}: {winner} is the cheaper, by {fmt.usd(diff)}."))
    shown = lettered(rng, [(text, reason, right) for text, right, reason in choices])
    tb = plays * video_mb / 1e6
    cf_rate = _first_rate(plan_cf, "Data transfer out to the internet")
    s3_rate = _first_rate(plan_s3, "S3 data transfer")
    evidence = (
        Evidence("Plays a month", fmt.count(plays), "input"),
        Evidence("Data per play", fmt.number(video_mb, "MB"), "input"),
        Evidence("Segment requests per play", fmt.count(segments), "input"),
        Evidence("Viewers near", region, "input"),
        Evidence("Data delivered a month", fmt.number(tb, "TB"), "modelled"),
        Evidence("CloudFront per GB, first tier, viewers' zone", f"{fmt.usd(cf_rate['unit_price_usd'])} per GB",
                 "published", cf_rate["source"]),
        Evidence("S3 data transfer out per GB, first tier", f"{fmt.usd(s3_rate['unit_price_usd'])} per GB",
                 "published", s3_rate["source"]),
        Evidence("Delivery with CloudFront (transfer and requests)", f"{fmt.usd(_delivery_usd(plan_cf))} a month",
                 "modelled"),
        Evidence("Delivery with S3 pre-signed URLs (transfer)", f"{fmt.usd(_delivery_usd(plan_s3))} a month",
                 "modelled"),
        Evidence("Monthly bill with CloudFront signed URLs", fmt.usd(cost_cf), "modelled"),
        Evidence("Monthly bill with S3 pre-signed URLs", fmt.usd(cost_s3), "modelled"),
    )
    scenario = (f"MyVideo streams premium videos from a private S3 bucket in {HOME} to viewers near {region}. "
                f"It serves {fmt.count(plays)} plays a month; each play downloads about "
                f"{fmt.number(video_mb, 'MB')} in {segments} segment requests. The architect compares two designs "
                f"that both keep the bucket private: CloudFront signed URLs, with origin access control and "
                f"CloudFront's pay-as-you-go prices, and S3 pre-signed URLs, with viewers downloading from the bucket.")
    return _drill("delivery-cost", seed, scenario,
                  "Which design is the MOST cost-effective for this workload, and by about how much a month?",
                  shown, evidence, values_cf, values_s3)


# -- api-cache-break-even ---------------------------------------------------------------------------
def _saving(case: Case, values: Mapping[str, Any], volume: float, measured=None) -> float:
    """Monthly bill with the stage cache minus without it, at ``volume`` URL requests a month."""
    at = {**values, "requests_per_month": int(round(volume))}
    return _bill(case, {**at, "api_cache": True}, measured) - _bill(case, {**at, "api_cache": False}, measured)


def break_even(case: Case, values: Mapping[str, Any], measured: Mapping[str, float] | None = None) -> float | None:
    """The monthly URL requests at which the stage cache costs what it saves (None when it never pays
    within the model's range). Bisection on the logarithm of the volume."""
    lo, hi = VOLUME_RANGE
    if _saving(case, values, hi, measured) >= 0:
        return None
    if _saving(case, values, lo, measured) <= 0:
        return lo
    a, b = math.log(lo), math.log(hi)
    for _ in range(40):
        mid = (a + b) / 2
        if _saving(case, values, math.exp(mid), measured) > 0:
            a = mid
        else:
            b = mid
    return math.exp(b)


def _far_from(value: float, chosen: list[float]) -> bool:
    return all(max(value, c) / min(value, c) >= DISTINCT for c in chosen)


def _api_cache_break_even(case: Case, rng: random.Random, seed: int) -> Drill:
    for _ in range(20):
        given = {"cloudfront": True, "premium_users": rng.choice((2_000, 5_000, 20_000, 50_000, 200_000)),
                 "zipf_skew": rng.choice((0.6, 0.8, 0.9, 1.0, 1.1)),
                 "api_cache_ttl_s": rng.choice((60, 120, 300, 600)),
                 "lambda_memory_mb": rng.choice((128, 256, 512, 1024)),
                 "lambda_duration_ms": float(rng.choice((15, 50, 100, 200)))}
        values = resolve_values(case, given)
        volume = break_even(case, values)
        if volume is not None and volume > VOLUME_RANGE[0]:
            break
    else:  # pragma: no cover - every drawn generator above pays for its cache somewhere in the range
        raise ValueError("no drawn URL generator lets the stage cache pay for itself")
    all_hits = break_even(case, values, {"api_cache": 1.0}) or VOLUME_RANGE[0]
    at = {**values, "requests_per_month": int(round(volume))}
    plan_on, ctx_on = _plan(case, {**at, "api_cache": True})
    plan_off, _ = _plan(case, {**at, "api_cache": False})
    hit = ctx_on.caches["api_cache"].hit_ratio
    # The break-even of the wrong hit ratio, and two volumes off by a drawn factor of the break-even, some above
    # and some below it, so that the answer is not always the middle one.
    picked: list[tuple[float, str]] = []
    if _far_from(all_hits, [volume]):
        picked.append((all_hits, f"Wrong: the break-even if every request were a cache hit; the modelled hit ratio "
                                 f"there is {fmt.percent(hit)}, so more requests are needed."))
    steps = [-2, -1, 1, 2]
    rng.shuffle(steps)
    for step in steps:
        v = volume * 10 ** (step / 2)
        if len(picked) < 3 and _far_from(v, [volume] + [p for p, _ in picked]):
            side = ("the cache already pays below it" if step > 0
                    else "the hourly cache charge is higher there than the calls it avoids")
            picked.append((v, f"Wrong: {FACTOR_WORDS[step]} the break-even the model finds; {side}."))
    unit = "URL requests a month"
    cache_line = _first_rate(plan_on, "REST stage cache")
    avoided = cache_line["monthly_usd"] - (plan_on.costs.total - plan_off.costs.total)
    choices = [(f"About {fmt.count(volume, unit)}", True,
                f"Right: at this volume the {fmt.usd(cache_line['monthly_usd'])} a month of cache-hours equals the "
                f"{fmt.usd(avoided)} of Lambda and DynamoDB charges that the {fmt.percent(hit)} of hits avoid; above "
                f"it the cache saves more than it costs.")]
    choices += [(f"About {fmt.count(v, unit)}", False, reason) for v, reason in picked]
    shown = lettered(rng, [(text, reason, right) for text, right, reason in choices])
    evidence = (
        Evidence("Premium users", fmt.count(values["premium_users"]), "input"),
        Evidence("Popularity skew (Zipf)", fmt.number(values["zipf_skew"]), "input"),
        Evidence("Stage cache TTL", fmt.duration(values["api_cache_ttl_s"] * 1000), "input"),
        Evidence("URL generator", f"{values['lambda_memory_mb']} MB, {fmt.duration(values['lambda_duration_ms'])}",
                 "input"),
        Evidence("Stage cache, 0.5 GB, per hour", f"{fmt.usd(cache_line['unit_price_usd'])} per hour", "published",
                 cache_line["source"]),
        Evidence("Stage cache a month", fmt.usd(cache_line["monthly_usd"]), "modelled"),
        Evidence("Lambda and DynamoDB charges avoided at the break-even", fmt.usd(avoided), "modelled"),
        Evidence("Hit ratio at the break-even", fmt.percent(hit), "modelled"),
        Evidence("Break-even volume", fmt.count(volume, unit), "modelled"),
        Evidence("Break-even if every request hit", fmt.count(all_hits, unit), "modelled"),
    )
    scenario = (f"MyVideo's URL generator runs behind API Gateway at {values['lambda_memory_mb']} MB and takes "
                f"{fmt.duration(values['lambda_duration_ms'])} a call, with one DynamoDB read per call. The service "
                f"has {fmt.count(values['premium_users'])} premium users, and popularity follows a Zipf skew of "
                f"{fmt.number(values['zipf_skew'])}. The team considers a 0.5 GB stage cache on the URL method, keyed "
                f"on the caller's token and the video id, with a TTL of {values['api_cache_ttl_s']} seconds.")
    return _drill("api-cache-break-even", seed, scenario,
                  "Above about how many URL requests a month does the stage cache give the LOWEST monthly bill?",
                  shown, evidence, {**at, "api_cache": False}, {**at, "api_cache": True})


# -- first-byte-p90 -----------------------------------------------------------------------------------
def p90_first_byte(case: Case, values: Mapping[str, Any], seed: int,
                   measured: Mapping[str, float] | None = None) -> float:
    plan, _ = _plan(case, values, measured)
    return latency_report(plan, SAMPLES, seed)["latency_by_group_ms"]["video"]["p90"]


def _first_byte_p90(case: Case, rng: random.Random, seed: int) -> Drill:
    region = rng.choice([r for r in USER_REGIONS if r != HOME])
    given = {"api_cache": False, "users_region": region,
             "cloudfront_ttl_s": rng.choice((300, 3_600, 86_400, 604_800)),
             "videos": rng.choice((200, 2_000, 20_000)), "zipf_skew": rng.choice((0.7, 0.9, 1.1)),
             "requests_per_month": rng.choice((100_000, 1_000_000, 10_000_000))}
    values_cf = resolve_values(case, {**given, "cloudfront": True})
    values_s3 = resolve_values(case, {**given, "cloudfront": False})
    sample_seed = rng.randrange(1, 2**31)
    cf = p90_first_byte(case, values_cf, sample_seed)
    s3 = p90_first_byte(case, values_s3, sample_seed)
    cf_miss = p90_first_byte(case, values_cf, sample_seed, {"cloudfront": 0.0})
    s3_home = p90_first_byte(case, {**values_s3, "users_region": HOME}, sample_seed)
    _, ctx = _plan(case, values_cf)
    hit = ctx.caches["cloudfront"].hit_ratio

    def pair(a: float, b: float) -> str:
        return f"CloudFront signed URLs {fmt.duration(a)}; S3 pre-signed URLs {fmt.duration(b)}"

    if hit >= 0.9:
        why = (f"with an edge hit ratio of {fmt.percent(hit)}, nine segments in ten or more come from an edge near the "
               f"viewers, while every S3 download crosses to {HOME}")
    else:
        why = (f"with an edge hit ratio of {fmt.percent(hit)}, more than one segment in ten misses the edge and goes "
               f"on to {HOME}, so the p90 viewer waits for a miss")
    choices = [
        (pair(cf, s3), True, f"Right: {why}."),
        (pair(s3, cf), False, "Wrong: the two figures are swapped."),
        # each figure appears in two options, so that the answer is not the option whose figures recur most
        (pair(cf_miss, s3_home), False, f"Wrong: the CloudFront figure assumes every segment misses the edge (the "
                                        f"model's hit ratio is {fmt.percent(hit)}), and the S3 figure is for viewers "
                                        f"in {HOME}, next to the bucket."),
        (pair(s3_home, cf_miss), False, f"Wrong: these are the p90s of S3 downloads from {HOME} and of CloudFront if "
                                        f"every segment missed the edge, not of viewers near {region}."),
    ]
    shown = lettered(rng, [(text, reason, right) for text, right, reason in choices])
    evidence = (
        Evidence("Viewers near", region, "input"),
        Evidence("Plays a month", fmt.count(values_cf["requests_per_month"]), "input"),
        Evidence("Videos in the catalogue", fmt.count(values_cf["videos"]), "input"),
        Evidence("Popularity skew (Zipf)", fmt.number(values_cf["zipf_skew"]), "input"),
        Evidence("CloudFront TTL", fmt.duration(values_cf["cloudfront_ttl_s"] * 1000), "input"),
        Evidence("Edge hit ratio", fmt.percent(hit), "modelled"),
        Evidence("p90 first byte, CloudFront signed URLs", fmt.duration(cf), "modelled"),
        Evidence("p90 first byte, S3 pre-signed URLs", fmt.duration(s3), "modelled"),
        Evidence("p90 first byte, CloudFront if every segment missed", fmt.duration(cf_miss), "modelled"),
        Evidence(f"p90 first byte, S3 pre-signed URLs from {HOME}", fmt.duration(s3_home), "modelled"),
    )
    scenario = (f"MyVideo's premium videos are in a private S3 bucket in {HOME}, and its subscribers are near "
                f"{region}. "
                f"The catalogue holds {fmt.count(values_cf['videos'])} videos whose popularity follows a Zipf skew of "
                f"{fmt.number(values_cf['zipf_skew'])}, with {fmt.count(values_cf['requests_per_month'])} plays a "
                f"month. With CloudFront, edges keep each segment for "
                f"{fmt.duration(values_cf['cloudfront_ttl_s'] * 1000)}.")
    return _drill("first-byte-p90", seed, scenario,
                  "What p90 time to a video's first byte should these subscribers expect with each design?",
                  shown, evidence, values_s3, values_cf)


MAKERS = {"delivery-cost": _delivery_cost, "api-cache-break-even": _api_cache_break_even,
          "first-byte-p90": _first_byte_p90}
TEMPLATES = [Template(tid, *SPECS[tid], make) for tid, make in MAKERS.items()]
