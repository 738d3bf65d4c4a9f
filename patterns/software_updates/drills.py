"""Questions the engine answers for the software-updates case: numbers drawn, the model decides.

- ``monthly-saving``: a workload is drawn (downloads a month, file size, where the clients are, the
  release-day peak); which configuration costs less a month, with or without CloudFront, and by how much.
  Distractors: the other configuration cheaper by the same amount, the saving on data transfer alone, and
  the saving on instances alone.
- ``peak-instances``: a workload and an instance's bandwidth are drawn; how many instances the Auto Scaling
  group needs at the release-day peak once CloudFront serves the hits. Distractors: the group without
  CloudFront, the group at the monthly average (no peak factor), the group at full utilisation.
- ``cloudfront-pricing``: a CloudFront workload is drawn; the lowest monthly price that delivers it without
  throttling, pay-as-you-go or a flat-rate plan. Distractors: the other ways to pay, each wrong because it
  costs more or because the traffic is over its allowance.

Each drill's evidence shows the drawn inputs, the modelled figures and the published unit prices they rest
on. Pure Python: no streamlit.
"""
from __future__ import annotations

import random
from typing import Any

from app.core import format as fmt
from app.core.cases import Case
from app.engine.cdn import PAY_AS_YOU_GO, fits, plan_named, terms
from app.engine.drills import Drill, Evidence, Template, first_distinct, lettered, published_price
from app.engine.run import Plan, build, resolve_values
from app.engine.services import asg_instances

DOWNLOADS = (200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000)
SIZES_MB = (5, 20, 50, 100, 250, 500)
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1")


# -- shared pieces --------------------------------------------------------------------------------
def _workload(rng: random.Random) -> dict[str, Any]:
    return {"requests_per_month": rng.choice(DOWNLOADS), "update_mb": float(rng.choice(SIZES_MB)),
            "users_region": rng.choice(REGIONS), "peak_factor": float(rng.choice((2, 3, 4, 5, 6, 8))),
            "files": rng.choice((5, 10, 20, 50, 100))}


def _plan(case: Case, workload: dict[str, Any], cloudfront: bool) -> tuple[dict[str, Any], Plan, float]:
    """The resolved values, the plan and the CloudFront hit ratio (0 without it) of one configuration."""
    values = resolve_values(case, {**workload, "cloudfront": cloudfront})
    plan, ctx = build(case, values)
    hit = ctx.caches["cloudfront"].hit_ratio if "cloudfront" in ctx.caches else 0.0
    return values, plan, hit


def _toggles(case: Case, values: dict[str, Any]) -> dict[str, Any]:
    return {t.key: values[t.key] for t in case.toggles}


def _services(plan: Plan, *names: str) -> float:
    by = plan.costs.by_service()
    return sum(by.get(n, 0.0) for n in names)


def _transfer(plan: Plan) -> float:
    """The month's delivery charges: EC2 data transfer out, or CloudFront's transfer and requests."""
    return _services(plan, "Data transfer", "Amazon CloudFront")


def _instances_usd(plan: Plan) -> float:
    return _services(plan, "Amazon EC2")






def _inputs(w: dict[str, Any]) -> list[Evidence]:
    return [Evidence("Downloads a month", fmt.count(w["requests_per_month"]), "input"),
            Evidence("Update file size", fmt.number(w["update_mb"], "MB"), "input"),
            Evidence("Where the clients are", w["users_region"], "input"),
            Evidence("Peak to average download rate", f"{w['peak_factor']:g}x", "input"),
            Evidence("Distinct update files", fmt.count(w["files"]), "input")]


def _scenario(w: dict[str, Any]) -> str:
    return (f"An update service runs unchanged on m5.large instances in an Auto Scaling group behind an Application "
            f"Load Balancer in us-east-1, with the files on EFS. It serves {fmt.count(w['requests_per_month'])} "
            f"downloads a month of {fmt.count(w['files'])} distinct files of {fmt.number(w['update_mb'], 'MB')} "
            f"each to clients near {w['users_region']}, and release days run at {w['peak_factor']:g} times the average "
            f"rate. The files never change once published.")


# -- 1. which configuration is cheaper, and by how much -------------------------------------------
def _monthly_saving(case: Case, rng: random.Random, seed: int) -> Drill:
    w = _workload(rng)
    va, off, _ = _plan(case, w, False)
    vb, on, hit = _plan(case, w, True)
    diff = off.costs.total - on.costs.total
    winner, loser = ("with CloudFront", "without CloudFront") if diff >= 0 else ("without CloudFront",
                                                                                 "with CloudFront")
    saving = abs(diff)
    transfer_only = abs(_transfer(off) - _transfer(on))
    instances_only = abs(_instances_usd(off) - _instances_usd(on))

    def text(who: str, usd: float) -> str:
        return f"The service {who} costs about {fmt.usd(usd)} a month less."

    right = (text(winner, saving),
             f"Right: the model prices the whole month both ways ({fmt.usd(off.costs.total)} without CloudFront, "
             f"{fmt.usd(on.costs.total)} with it): instances, load balancer capacity units and the delivery of "
             f"every GB, so the difference is {fmt.usd(saving)}.")
    wrong = [(text(loser, saving),
              f"Wrong: the amount is right but the direction is not: {winner} is the cheaper configuration here "
              f"({fmt.usd(off.costs.total)} without CloudFront, {fmt.usd(on.costs.total)} with it)."),
             (text(winner, transfer_only),
              f"Wrong: {fmt.usd(transfer_only)} is the difference in delivery charges alone (EC2 data transfer out "
              f"against CloudFront's transfer and requests); it leaves out the instances and the load balancer."),
             (text(winner, instances_only),
              f"Wrong: {fmt.usd(instances_only)} is the difference in instance-hours alone; the delivery of every "
              f"GB is billed too.")]
    spare = [(text(winner, saving * f), f"Wrong: off by a factor of {f:g} from the modelled difference of "
                                        f"{fmt.usd(saving)}.") for f in (2, 0.5, 10)]
    options, answers = lettered(rng, first_distinct(right, wrong + spare))
    evidence = _inputs(w) + [
        Evidence("CloudFront hit ratio", fmt.percent(hit), "modelled"),
        Evidence("Instances without CloudFront", str(off.facts["instances"]), "modelled"),
        Evidence("Instances with CloudFront", str(on.facts["instances"]), "modelled"),
        Evidence("Monthly cost without CloudFront", fmt.usd(off.costs.total), "modelled"),
        Evidence("Monthly cost with CloudFront (pay-as-you-go)", fmt.usd(on.costs.total), "modelled"),
        Evidence("Delivery charges without / with CloudFront",
                 f"{fmt.usd(_transfer(off))} / {fmt.usd(_transfer(on))}", "modelled"),
        published_price(off, "ec2.m5.large", "m5.large on-demand"),
        published_price(off, "internet.egress", "EC2 data transfer out, first tier"),
        published_price(on, "cloudfront.origin_fetch", "Transfer from an AWS origin to CloudFront"),
    ]
    return Drill("monthly-saving", seed, "SAA-C03", "Design Cost-Optimized Architectures", "medium",
                 _scenario(w) + " A CloudFront distribution, billed pay-as-you-go, could be put in front of the "
                 "load balancer without changing the application.",
                 "Which statement about the monthly cost is correct?", options, answers, tuple(evidence),
                 _toggles(case, va), _toggles(case, vb))


# -- 2. how many instances at the peak ------------------------------------------------------------
def _peak_instances(case: Case, rng: random.Random, seed: int) -> Drill:
    w = _workload(rng)
    # many builds on a short TTL: a hit ratio well below 100%, so the misses need more than the minimum
    w["requests_per_month"] = rng.choice((5_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000))
    w["update_mb"] = float(rng.choice((20, 50, 100, 250)))
    w["files"] = rng.choice((1_000, 2_000, 5_000, 10_000))
    w["cloudfront_ttl_s"] = rng.choice((300, 900, 3_600))
    w["zipf_skew"] = rng.choice((0.6, 0.7, 0.8, 0.9, 1.0))
    w["instance_gbps"] = rng.choice((0.5, 0.75, 1.25, 2.5))
    w["target_utilisation"] = rng.choice((0.5, 0.6, 0.7, 0.8))
    va, off, _ = _plan(case, w, False)
    vb, on, hit = _plan(case, w, True)
    n_on, n_off = on.facts["instances"], off.facts["instances"]
    peak_on = on.facts["peak_origin_gbps"]
    minimum = vb["min_instances"]
    average = asg_instances(peak_on / w["peak_factor"], w["instance_gbps"], w["target_utilisation"], minimum)
    flat_out = asg_instances(peak_on, w["instance_gbps"], 1.0, minimum)

    def text(n: int) -> str:
        return f"{n} instance{'s' if n != 1 else ''}"

    right = (text(n_on),
             f"Right: the edges serve {fmt.percent(hit)} of downloads, so the origin's peak egress is "
             f"{peak_on:.2f} Gbit/s; at {w['instance_gbps']:g} Gbit/s an instance and a "
             f"{fmt.percent(w['target_utilisation'])} target that takes {n_on} (the group's minimum is {minimum}).")
    wrong = [(text(n_off), f"Wrong: {n_off} is the group without CloudFront, when the instances serve every "
                           f"download at the peak."),
             (text(average), f"Wrong: {average} sizes the group for the monthly average of the misses; release "
                             f"days run at {w['peak_factor']:g} times that rate."),
             (text(flat_out), f"Wrong: {flat_out} runs every instance at full bandwidth; the scaling policy keeps "
                              f"them at {fmt.percent(w['target_utilisation'])}.")]
    spare = [(text(n_on + k), f"Wrong: the modelled peak needs {n_on}, not {n_on + k}.") for k in (1, 2, 3, 4)]
    options, answers = lettered(rng, first_distinct(right, wrong + spare))
    evidence = _inputs(w) + [
        Evidence("Sustained bandwidth of one instance", f"{w['instance_gbps']:g} Gbit/s", "input"),
        Evidence("Scaling target utilisation", fmt.percent(w["target_utilisation"]), "input"),
        Evidence("Group minimum (two Availability Zones)", str(minimum), "input"),
        Evidence("CloudFront TTL", f"{w['cloudfront_ttl_s']:,} s", "input"),
        Evidence("Popularity skew of the files (Zipf exponent)", f"{w['zipf_skew']:g}", "input"),
        Evidence("CloudFront hit ratio", fmt.percent(hit), "modelled"),
        Evidence("Peak origin egress with CloudFront", f"{peak_on:.2f} Gbit/s", "modelled"),
        Evidence("Peak origin egress without CloudFront", f"{off.facts['peak_origin_gbps']:.2f} Gbit/s", "modelled"),
        Evidence("Instances with / without CloudFront", f"{n_on} / {n_off}", "modelled"),
    ]
    return Drill("peak-instances", seed, "SAA-C03", "Design Resilient Architectures", "medium",
                 _scenario(w) + f" CloudFront is put in front of the load balancer with a TTL of "
                 f"{fmt.duration(w['cloudfront_ttl_s'] * 1000)}; the files' popularity follows a Zipf law of exponent "
                 f"{w['zipf_skew']:g}. Each instance sustains {w['instance_gbps']:g} Gbit/s, and the group's scaling "
                 f"policy targets {fmt.percent(w['target_utilisation'])} of it, with a minimum of {minimum} "
                 "instances.",
                 "How many instances does the group need at the release-day peak?", options, answers,
                 tuple(evidence), _toggles(case, va), _toggles(case, vb))


# -- 3. pay-as-you-go or a flat-rate plan ---------------------------------------------------------
PLANS = ("Free", "Pro", "Business", "Premium")


def _cloudfront_pricing(case: Case, rng: random.Random, seed: int) -> Drill:
    w = _workload(rng)
    w["requests_per_month"] = rng.choice((50_000, 200_000, 800_000, 3_000_000, 8_000_000, 40_000_000,
                                          100_000_000, 300_000_000))
    w["update_mb"] = float(rng.choice((1, 2, 5, 20, 100, 400)))
    values, plan, _ = _plan(case, w, True)
    cdn = plan.facts["cloudfront_pricing"]
    prices = plan.costs.prices
    requests, gb, payg = cdn["requests"], cdn["data_transfer_gb"], cdn["pay_as_you_go_usd"]
    ways: dict[str, tuple[float, bool]] = {PAY_AS_YOU_GO: (payg, True)}
    for name in PLANS:
        p = plan_named(prices, name)
        ways[name] = (p.usd, fits(p, requests, gb))
    covering = {k: usd for k, (usd, ok) in ways.items() if ok}
    best = min(covering, key=lambda k: (covering[k], k != PAY_AS_YOU_GO))
    # four of the five ways to pay: the best, and the three others nearest to it in price order
    order = [PAY_AS_YOU_GO, *PLANS]
    others = sorted((k for k in order if k != best), key=lambda k: abs(order.index(k) - order.index(best)))[:3]

    def text(k: str) -> str:
        usd = ways[k][0]
        return (f"Pay-as-you-go, about {fmt.usd(usd)} a month" if k == PAY_AS_YOU_GO
                else f"The {k} flat-rate plan, {fmt.usd(usd)} a month")

    def named(k: str) -> str:
        return "pay-as-you-go" if k == PAY_AS_YOU_GO else f"the {k} flat-rate plan"

    def reason(k: str) -> str:
        usd, ok = ways[k]
        if k == best:
            return (f"Right: at {fmt.usd(usd)} a month, {named(k)} is the lowest price among the ways to pay that "
                    f"deliver {fmt.count(requests)} requests and {fmt.number(gb, 'GB')} a month in full.")
        if not ok:
            allowance = terms(plan_named(prices, k))
            return (f"Wrong: the {k} plan allows {fmt.count(allowance['requests'])} requests and "
                    f"{fmt.number(allowance['data_transfer_gb'], 'GB')} a month; this traffic is over it, and past "
                    f"the allowance AWS may slow delivery rather than bill more.")
        return (f"Wrong: it covers the traffic but costs {fmt.usd(usd)} a month, more than {named(best)} at "
                f"{fmt.usd(ways[best][0])}.")

    right = (text(best), reason(best))
    wrong = [(text(k), reason(k)) for k in others]
    options, answers = lettered(rng, first_distinct(right, wrong))
    evidence = [Evidence("Downloads (requests) a month", fmt.count(requests), "input"),
                Evidence("Update file size", fmt.number(w["update_mb"], "MB"), "input"),
                Evidence("Where the clients are", w["users_region"], "input"),
                Evidence("Data delivered a month", fmt.number(gb, "GB"), "modelled"),
                Evidence("Pay-as-you-go price of this traffic", fmt.usd(payg), "modelled")]
    for name in PLANS:
        p = plan_named(prices, name)
        allowance = terms(p)
        evidence.append(Evidence(f"{name} plan: price, requests, data",
                                 f"{fmt.usd(p.usd)}; {fmt.count(allowance['requests'])}; "
                                 f"{fmt.number(allowance['data_transfer_gb'], 'GB')}", "published", p.source_url))
    return Drill("cloudfront-pricing", seed, "SAP-C02", "Continuous Improvement for Existing Solutions", "hard",
                 f"An update service delivers {fmt.count(requests)} downloads a month of "
                 f"{fmt.number(w['update_mb'], 'MB')} each through one CloudFront distribution in front of its "
                 f"Application Load Balancer, to clients near {w['users_region']}. The distribution uses no "
                 "Lambda@Edge function. Downloads must never be slowed down for being over an allowance.",
                 "Which way to pay for CloudFront is the MOST cost-effective for this traffic?", options, answers,
                 tuple(evidence), _toggles(case, values), _toggles(case, values))


TEMPLATES = [
    Template("monthly-saving", "With or without CloudFront: which costs less a month, and by how much",
             "SAA-C03", "Design Cost-Optimized Architectures", "medium", _monthly_saving),
    Template("peak-instances", "Instances the Auto Scaling group needs at the release-day peak behind CloudFront",
             "SAA-C03", "Design Resilient Architectures", "medium", _peak_instances),
    Template("cloudfront-pricing", "Pay-as-you-go or a flat-rate plan: the lowest price that delivers the traffic",
             "SAP-C02", "Continuous Improvement for Existing Solutions", "hard", _cloudfront_pricing),
]

__all__ = ["TEMPLATES"]
