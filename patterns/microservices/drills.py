"""Drills of the micro-services case: questions whose numbers are drawn and whose answer the model computes.

- ``cache-bill``: what enabling the catalog's 0.5 GB stage cache does to the monthly bill, for a drawn
  volume, product count, popularity skew and function size;
- ``routing-bill``: what moving the orders record from simple routing to a drawn policy adds to the
  monthly bill, for a drawn volume, order share, European share and canary weight;
- ``billing-fleet``: how many billing instances the Auto Scaling group keeps for a drawn volume and order share.

Each answer is read from ``model.build`` (the cost sheet and the facts it returns); the distractors are
the same computation with one step left out or done for another configuration. Pure Python: no streamlit.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

from app.core import format as fmt
from app.core.cases import Case
from app.engine.drills import Drill, Evidence, Template, lettered
from app.engine.run import build, resolve_values
from app.engine.services import rate_per_second
from patterns.microservices import model

PEAK_FACTOR = 3.0            # the model sizes the billing fleet for three times the average order rate
TARGET_UTILISATION = 0.7     # and keeps each instance at 70% of what it can work
MIN_WORKERS = 2
DRAWS = 50                   # attempts at drawing inputs whose four options read differently


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _plan(case: Case, values: Mapping[str, Any]):
    plan, ctx = build(case, resolve_values(case, dict(values)))
    return plan, ctx


def _cost(plan, keep: Callable[[Any], bool] = lambda line: True) -> float:
    return sum(line.monthly_usd for line in plan.costs.lines if keep(line))




def _distinct(make: Callable[[], tuple[list[tuple[str, str, bool]], Any]]) -> tuple[list[tuple[str, str, bool]], Any]:
    """Draw until the four options read differently (a coincidence of rounding is drawn again)."""
    for _ in range(DRAWS):
        choices, extra = make()
        if len({text for text, _, _ in choices}) == len(choices):
            return choices, extra
    raise ValueError("could not draw four distinct options")


def _monthly(delta: float) -> str:
    return fmt.signed(fmt.usd(delta), delta) + " a month"


# template id: (title, exam, domain, difficulty), said once for the template and for each drill it draws
META = {
    "cache-bill": ("What the catalog's stage cache does to the monthly bill", "SAA-C03",
                   "Design Cost-Optimized Architectures", "medium"),
    "routing-bill": ("What a routing policy's second stack adds to the monthly bill", "SAP-C02",
                     "Continuous Improvement for Existing Solutions", "hard"),
    "billing-fleet": ("How many billing instances the peak order rate needs", "SAA-C03",
                      "Design High-Performing Architectures", "easy"),
}


def _drill(template_id: str, seed: int, rng: random.Random, choices: list[tuple[str, str, bool]], *,
           scenario: str, question: str, evidence: tuple[Evidence, ...], values_a: Mapping[str, Any],
           values_b: Mapping[str, Any]) -> Drill:
    _, exam, domain, difficulty = META[template_id]
    options, answers = lettered(rng, choices)
    return Drill(template=template_id, seed=seed, exam=exam, domain=domain, difficulty=difficulty,
                 scenario=scenario, question=question, options=options, answers=answers, evidence=evidence,
                 values_a=dict(values_a), values_b=dict(values_b))


# -- cache-bill -------------------------------------------------------------------------------------
def _cache_bill(case: Case, rng: random.Random, seed: int) -> Drill:
    def make():
        w = {"requests_per_month": int(round(_log_uniform(rng, 1e6, 5e8), -4)),
             "products": rng.choice([1_000, 5_000, 10_000, 50_000, 200_000]),
             "zipf_skew": rng.choice([0.7, 0.8, 0.9, 1.0, 1.1]),
             "lambda_duration_ms": float(rng.choice([10, 20, 40, 80, 150])),
             "lambda_memory_mb": rng.choice([256, 512, 1024])}
        off, _ = _plan(case, {**w, "api_cache": False})
        on, ctx = _plan(case, {**w, "api_cache": True})
        delta = _cost(on) - _cost(off)
        cache_fee = _cost(on, lambda line: line.service == "Amazon API Gateway" and "cache" in line.item.lower())
        is_lambda = lambda line: line.service == "AWS Lambda"  # noqa: E731
        saved = _cost(off, is_lambda) - _cost(on, is_lambda)
        choices = [
            (_monthly(delta), "Right: the stage cache's hourly charge, less the Lambda requests and duration its "
                              "hits avoid, is the whole change; API Gateway still bills every request.", True),
            (_monthly(-delta), "Wrong: this is the change with its sign turned round: the cache "
                               + ("costs more than it saves here." if delta > 0 else "saves more than it costs here."),
             False),
            (_monthly(cache_fee), "Wrong: this is the cache's hourly charge alone, without the Lambda charges "
                                  "that its hits avoid.", False),
            (_monthly(-saved), "Wrong: this counts only the Lambda charges avoided and forgets that the cache "
                               "itself is billed by the hour.", False),
        ]
        return choices, (w, delta, cache_fee, saved, ctx.caches["api_cache"].hit_ratio, on)

    choices, (w, delta, cache_fee, saved, hit, on) = _distinct(make)
    price = next(line for line in on.costs.lines if line.service == "Amazon API Gateway"
                 and "cache" in line.item.lower())
    evidence = (
        Evidence("Catalog requests a month", fmt.count(w["requests_per_month"]), "input"),
        Evidence("Products", fmt.count(w["products"]), "input"),
        Evidence("Popularity skew (Zipf)", f"{w['zipf_skew']:g}", "input"),
        Evidence("Catalog function", f"{w['lambda_memory_mb']} MB, {fmt.duration(w['lambda_duration_ms'])}", "input"),
        Evidence("Stage cache hit ratio (TTL 300 s)", fmt.percent(hit), "modelled"),
        Evidence("0.5 GB stage cache", f"{fmt.usd(price.unit_price_usd)} per {price.unit}", "published", price.source),
        Evidence("Stage cache a month", fmt.usd(cache_fee), "modelled"),
        Evidence("Lambda charges avoided a month", fmt.usd(saved), "modelled"),
        Evidence("Change of the monthly bill", _monthly(delta), "modelled"),
    )
    return _drill(
        "cache-bill", seed, rng, choices,
        scenario=(f"The catalog API (API Gateway REST API, a Lambda function of {w['lambda_memory_mb']} MB running "
                  f"about {fmt.duration(w['lambda_duration_ms'])}, and an ElastiCache node) serves "
                  f"{fmt.count(w['requests_per_month'])} GET /products requests a month over "
                  f"{fmt.count(w['products'])} products, whose popularity follows a Zipf law of skew "
                  f"{w['zipf_skew']:g}. The team considers a 0.5 GB stage cache with the default TTL of 300 seconds."),
        question="By how much would enabling the stage cache change the monthly bill?",
        evidence=evidence,
        values_a={**w, "api_cache": False}, values_b={**w, "api_cache": True})


# -- routing-bill -----------------------------------------------------------------------------------
POLICY_WORDS = {"weighted": "a weighted canary (a second orders stack in us-east-1)",
                "latency": "latency routing (a second active stack in eu-west-1 and a global table)",
                "failover": "failover routing (a warm standby in us-west-2, a health check and a global table)"}


def _routing_bill(case: Case, rng: random.Random, seed: int) -> Drill:
    def make():
        w = {"requests_per_month": int(round(_log_uniform(rng, 1e6, 1e9), -4)),
             "order_share": rng.choice([0.05, 0.1, 0.2, 0.3, 0.5]),
             "eu_share": rng.choice([0.1, 0.2, 0.3, 0.4, 0.5]),
             "canary_weight": rng.choice([0.05, 0.1, 0.2, 0.3]),
             "dns_queries_per_request": rng.choice([0.01, 0.05, 0.1])}
        asked = rng.choice(sorted(POLICY_WORDS))
        plans = {p: _plan(case, {**w, "routing_policy": p})[0] for p in ("simple", *POLICY_WORDS)}
        base = _cost(plans["simple"])
        deltas = {p: _cost(plans[p]) - base for p in POLICY_WORDS}
        dns = lambda line: line.service == "Amazon Route 53"  # noqa: E731
        dns_only = _cost(plans[asked], dns) - _cost(plans["simple"], dns)
        choices = [(_monthly(deltas[asked]), f"Right: the model's bill with {asked} routing less the bill with a "
                                             "simple record: the extra stack and everything it needs, and the "
                                             "Route 53 charges.", True),
                   (_monthly(dns_only), "Wrong: this counts only the Route 53 charges (queries and health check) and "
                                        "leaves out the stack the policy routes to.", False)]
        for other in sorted(set(POLICY_WORDS) - {asked}):
            choices.append((_monthly(deltas[other]), f"Wrong: this is what {other} routing would add, not "
                                                     f"{asked} routing.", False))
        return choices, (w, asked, deltas, dns_only, base)

    choices, (w, asked, deltas, dns_only, base) = _distinct(make)
    evidence = (
        Evidence("Client requests a month", fmt.count(w["requests_per_month"]), "input"),
        Evidence("Orders among requests", fmt.percent(w["order_share"]), "input"),
        Evidence("Clients in Europe", fmt.percent(w["eu_share"]), "input"),
        *((Evidence("Canary weight", fmt.percent(w["canary_weight"]), "input"),) if asked == "weighted" else ()),
        Evidence("DNS queries per request", f"{w['dns_queries_per_request']:g}", "input"),
        Evidence("Monthly bill, simple record", fmt.usd(base), "modelled"),
        *(Evidence(f"Added by {p} routing", _monthly(d), "modelled") for p, d in sorted(deltas.items())),
        Evidence(f"Route 53 charges added by {asked} routing", _monthly(dns_only), "modelled"),
    )
    return _drill(
        "routing-bill", seed, rng, choices,
        scenario=(f"The shop takes {fmt.count(w['requests_per_month'])} client requests a month, "
                  f"{fmt.percent(w['order_share'])} of them orders, with {fmt.percent(w['eu_share'])} of its clients "
                  f"in Europe; about {w['dns_queries_per_request']:g} DNS queries per request reach Route 53. The "
                  f"orders record uses simple routing today. The team considers {POLICY_WORDS[asked]}"
                  + (f", sending {fmt.percent(w['canary_weight'])} of orders to the canary" if asked == "weighted"
                     else "") + "."),
        question=f"What does moving the orders record from simple to {asked} routing add to the monthly bill?",
        evidence=evidence,
        values_a={**w, "routing_policy": "simple"}, values_b={**w, "routing_policy": asked})


# -- billing-fleet ----------------------------------------------------------------------------------
def _instances(rate: float) -> int:
    return max(MIN_WORKERS, math.ceil(rate))


def _billing_fleet(case: Case, rng: random.Random, seed: int) -> Drill:
    def make():
        w = {"requests_per_month": int(round(_log_uniform(rng, 5e7, 1e9), -5)),
             "order_share": rng.choice([0.05, 0.1, 0.2, 0.3, 0.5])}
        plan, _ = _plan(case, w)
        right = plan.facts["billing_instances"]
        orders = rate_per_second(w["requests_per_month"] * w["order_share"])
        every = rate_per_second(w["requests_per_month"])
        per = model.WORKER_ORDERS_PER_S
        choices = [
            (f"{right} instances", f"Right: the group is sized for the peak order rate, {PEAK_FACTOR:g} times the "
                                   f"average, at {fmt.percent(TARGET_UTILISATION)} of {per:g} orders a second per "
                                   f"instance, and never below {MIN_WORKERS}.", True),
            (f"{_instances(orders / (per * TARGET_UTILISATION))} instances",
             "Wrong: this sizes the group for the average order rate and forgets the peak.", False),
            (f"{_instances(orders * PEAK_FACTOR / per)} instances",
             "Wrong: this runs every instance flat out at the peak, with no headroom under the target "
             "utilization.", False),
            (f"{_instances(every * PEAK_FACTOR / (per * TARGET_UTILISATION))} instances",
             "Wrong: this treats every client request as an order; only orders reach the billing queue.", False),
        ]
        return choices, (w, right, orders)

    choices, (w, right, orders) = _distinct(make)
    evidence = (
        Evidence("Client requests a month", fmt.count(w["requests_per_month"]), "input"),
        Evidence("Orders among requests", fmt.percent(w["order_share"]), "input"),
        Evidence("Average orders a second", fmt.number(orders), "modelled"),
        Evidence("Peak orders a second", fmt.number(orders * PEAK_FACTOR), "modelled"),
        Evidence("Orders one instance works a second", f"{model.WORKER_ORDERS_PER_S:g}", "modelled"),
        Evidence("Billing instances", str(right), "modelled"),
    )
    return _drill(
        "billing-fleet", seed, rng, choices,
        scenario=(f"The shop takes {fmt.count(w['requests_per_month'])} client requests a month and "
                  f"{fmt.percent(w['order_share'])} of them are orders; each order reaches billing through SNS and "
                  f"its SQS queue. One billing instance works {model.WORKER_ORDERS_PER_S:g} orders a second. The "
                  f"Auto Scaling group is sized for a peak of {PEAK_FACTOR:g} times the average order rate, keeps "
                  f"each instance at {fmt.percent(TARGET_UTILISATION)} of what it can work, and never runs fewer "
                  f"than {MIN_WORKERS}."),
        question="How many billing instances does the group keep at the peak?",
        evidence=evidence, values_a=w, values_b=w)


TEMPLATES = [Template(tid, *META[tid], make) for tid, make in (
    ("cache-bill", _cache_bill), ("routing-bill", _routing_bill), ("billing-fleet", _billing_fleet))]
