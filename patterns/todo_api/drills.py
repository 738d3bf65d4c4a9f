"""Questions the engine answers for MyTodoList: a workload is drawn, the case's model decides.

- ``dax-saving``: a read workload and a DAX cluster are drawn; which configuration costs less a month,
  with DAX or without, and by how much. Distractors: the other configuration cheaper by the same amount,
  the DAX node-hours alone, and the DynamoDB read units saved alone.
- ``api-cache-break-even``: a workload and a stage cache size are drawn; above what monthly request volume
  the stage cache costs less than it saves. Distractors: DAX's break-even for the same workload (the other
  cache), and the break-even off by a factor of three either way.
- ``lambda-invocations``: a workload and a stage cache are drawn; how many times a month the todo function
  still runs once the stage cache answers its hits. Distractors: every request (the cache forgotten), the
  reads it misses without the writes, and the cache's hit ratio applied to the writes as well.

Each drill's evidence shows the drawn inputs, the modelled figures and the published unit prices they rest
on. Pure Python: no streamlit.
"""
from __future__ import annotations

import random
from typing import Any

from app.core import format as fmt
from app.core.cases import Case
from app.engine.drills import Drill, Evidence, Template, first_distinct, lettered, published_price
from app.engine.run import Plan, break_even_curve, build, model_of, resolve_values
from app.engine.services import api_cache_size_key

REQUESTS = (2_000_000, 5_000_000, 10_000_000, 20_000_000, 30_000_000, 50_000_000, 100_000_000, 200_000_000)
DAX_REQUESTS = (500_000_000, 1_000_000_000, 2_000_000_000, 5_000_000_000)   # where DAX may pay for itself
READ_SHARES = (0.8, 0.85, 0.9, 0.95)
SKEWS = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2)
USERS = (10_000, 20_000, 50_000, 100_000, 200_000)
ITEMS = (50_000, 100_000, 200_000, 500_000)
DAX_NODE_TYPES = ("dax.t3.small", "dax.t3.medium", "dax.r5.large")
CACHE_SIZES_GB = ("0.5", "1.6", "6.1")
ITEM_KB = (1.0, 4.0, 8.0, 16.0)
TTLS_S = (60, 300, 900, 3600)
DURATIONS_MS = (20.0, 50.0, 100.0, 200.0)
MEMORIES_MB = (256, 512, 1024)


# -- shared pieces --------------------------------------------------------------------------------
def _workload(rng: random.Random) -> dict[str, Any]:
    return {"requests_per_month": rng.choice(REQUESTS), "read_share": rng.choice(READ_SHARES),
            "query_share": rng.choice((0.2, 0.4, 0.5, 0.6)), "users": rng.choice(USERS),
            "items": rng.choice(ITEMS), "zipf_skew": rng.choice(SKEWS)}


def _plan(case: Case, given: dict[str, Any]) -> tuple[dict[str, Any], Plan, dict[str, float]]:
    """The resolved values, the plan and the modelled hit ratio of each cache of one configuration."""
    values = resolve_values(case, given)
    plan, ctx = build(case, values)
    return values, plan, {name: c.hit_ratio for name, c in ctx.caches.items()}


def _toggles(case: Case, values: dict[str, Any]) -> dict[str, Any]:
    return {t.key: values[t.key] for t in case.toggles}


def _alike(a: tuple, b: tuple) -> bool:
    """Two options ``(figure, text, reason)`` that a learner could not tell apart: the same text or close figures."""
    return a[1] == b[1] or not _apart(a[0], b[0])


def _apart(x: float, y: float) -> bool:
    """Whether two figures differ by more than a rounding could hide (a fifth of the larger)."""
    return abs(x - y) > 0.2 * max(abs(x), abs(y))




SCALES = {3: "three times", 1 / 3: "a third of", 2: "twice", 0.5: "half", 10: "ten times"}


def _scaled(figure: float, text, shown: str, factors: tuple[float, ...]) -> list[tuple[float, str, str]]:
    """Distractors off the modelled ``figure`` by each factor (``text`` writes an option for a figure)."""
    return [(figure * f, text(figure * f), f"Wrong: {SCALES[f]} the modelled {shown}.") for f in factors]




def _inputs(w: dict[str, Any]) -> list[Evidence]:
    return [Evidence("Requests a month", fmt.count(w["requests_per_month"]), "input"),
            Evidence("Reads among requests", fmt.percent(w["read_share"]), "input"),
            Evidence("List calls among reads", fmt.percent(w["query_share"]), "input"),
            Evidence("Monthly active users", fmt.count(w["users"]), "input"),
            Evidence("Todos stored", fmt.count(w["items"]), "input"),
            Evidence("Popularity skew (Zipf exponent)", f"{w['zipf_skew']:g}", "input")]


def _story(w: dict[str, Any]) -> str:
    return (f"MyTodoList's REST API (API Gateway, a Lambda function, an on-demand DynamoDB table in us-east-1) "
            f"serves {fmt.count(w['requests_per_month'])} requests a month from {fmt.count(w['users'])} monthly "
            f"active users; {fmt.percent(w['read_share'])} of them are reads, of which "
            f"{fmt.percent(w['query_share'])} list a user's todos and the rest get one of "
            f"{fmt.count(w['items'])} todos. Popularity follows a Zipf law of exponent {w['zipf_skew']:g}.")


def _service(plan: Plan, name: str) -> float:
    return plan.costs.by_service().get(name, 0.0)


def _line(plan: Plan, item: str) -> float:
    return sum(line.monthly_usd for line in plan.costs.lines if line.item == item)


# -- 1. DAX or not, and by how much -----------------------------------------------------------------
def _dax_saving(case: Case, rng: random.Random, seed: int) -> Drill:
    w = _workload(rng)
    w["requests_per_month"] = rng.choice(REQUESTS + DAX_REQUESTS)
    w["item_kb"] = rng.choice(ITEM_KB)
    w.update(dax_node_type=rng.choice(DAX_NODE_TYPES), dax_nodes=rng.choice((1, 3, 5)),
             dax_ttl_s=rng.choice(TTLS_S))
    va, off, _ = _plan(case, {**w, "dax": False})
    vb, on, hits = _plan(case, {**w, "dax": True})
    diff = off.costs.total - on.costs.total
    winner, loser = ("with DAX", "without DAX") if diff > 0 else ("without DAX", "with DAX")
    saving = abs(diff)
    nodes_usd = _service(on, "Amazon DynamoDB Accelerator")
    reads_saved = _line(off, "On-demand read request units") - _line(on, "On-demand read request units")

    def text(who: str, usd: float) -> str:
        return f"The API {who} costs about {fmt.usd(usd)} a month less."

    sign = 1.0 if diff > 0 else -1.0       # figures are signed: positive when DAX saves
    right = (sign * saving, text(winner, saving),
             f"Right: the model prices the whole month both ways ({fmt.usd(off.costs.total)} without DAX, "
             f"{fmt.usd(on.costs.total)} with it): the node-hours of the cluster against the read request units "
             f"and the Lambda time its hits save, so the difference is {fmt.usd(saving)}.")
    wrong = [(-sign * saving, text(loser, saving),
              f"Wrong: the amount is right but the direction is not: the API {winner} is the cheaper one here "
              f"({fmt.usd(off.costs.total)} without DAX, {fmt.usd(on.costs.total)} with it)."),
             (sign * nodes_usd, text(winner, nodes_usd),
              f"Wrong: {fmt.usd(nodes_usd)} is what the cluster's node-hours cost alone; it leaves out the "
              f"DynamoDB reads and the Lambda time the hits save."),
             (sign * reads_saved, text(winner, reads_saved),
              f"Wrong: {fmt.usd(reads_saved)} is the DynamoDB read request units saved alone; the cluster's "
              f"node-hours are billed too, whether or not reads hit."),
             *_scaled(sign * saving, lambda x: text(winner, abs(x)), f"difference of {fmt.usd(saving)}",
                      (3, 1 / 3))]
    options, answers = lettered(rng, first_distinct(right, wrong, same=_alike))
    evidence = _inputs(w) + [
        Evidence("Todo item size", fmt.number(w["item_kb"], "KB"), "input"),
        Evidence("DAX cluster", f"{w['dax_nodes']} x {w['dax_node_type']}", "input"),
        Evidence("DAX item and query TTL", fmt.number(w["dax_ttl_s"], "s"), "input"),
        Evidence("DAX item cache hit ratio", fmt.percent(hits.get("dax_item", 0.0)), "modelled"),
        Evidence("DAX query cache hit ratio", fmt.percent(hits.get("dax_query", 0.0)), "modelled"),
        Evidence("Monthly cost without DAX", fmt.usd(off.costs.total), "modelled"),
        Evidence("Monthly cost with DAX", fmt.usd(on.costs.total), "modelled"),
        Evidence("DAX node-hours a month", fmt.usd(nodes_usd), "modelled"),
        Evidence("DynamoDB read units saved a month", fmt.usd(reads_saved), "modelled"),
        published_price(on, f"dax.node.{w['dax_node_type']}", f"{w['dax_node_type']} node-hour"),
        published_price(on, "dynamodb.rru", "DynamoDB on-demand read request units"),
    ]
    scenario = (_story(w) + f" A todo item is {fmt.number(w['item_kb'], 'KB')}. The team considers a DAX cluster of "
                f"{w['dax_nodes']} {w['dax_node_type']} "
                f"node{'s' if w['dax_nodes'] > 1 else ''} with a TTL of {fmt.number(w['dax_ttl_s'], 's')} in front "
                f"of the table; the API has no stage cache.")
    return Drill("dax-saving", seed, "SAA-C03", "Design Cost-Optimized Architectures", "medium", scenario,
                 "Which statement about the monthly bill is correct?", options, answers, tuple(evidence),
                 _toggles(case, va), _toggles(case, vb))


# -- 2. where the stage cache pays for itself ------------------------------------------------------------
def _millions(x: float) -> str:
    return f"about {fmt.count(round(x, -5))} requests a month"


def _break_even(case: Case, values: dict[str, Any], toggle: str) -> dict:
    spec = next(s for s in model_of(case).BREAK_EVEN if s.toggle == toggle)
    return break_even_curve(case, values, spec)


def _api_cache_break_even(case: Case, rng: random.Random, seed: int) -> Drill:
    # draw until the stage cache crosses over within the volumes the model sweeps (a handful of draws at most)
    for _ in range(50):
        w = _workload(rng)
        w.update(api_cache_gb=rng.choice(CACHE_SIZES_GB), api_cache_ttl_s=rng.choice(TTLS_S),
                 lambda_duration_ms=rng.choice(DURATIONS_MS), lambda_memory_mb=rng.choice(MEMORIES_MB))
        va = resolve_values(case, {**w, "api_cache": False, "dax": False})
        curve = _break_even(case, va, "api_cache")
        dax_curve = _break_even(case, va, "dax")
        if curve["break_even_volume"] and dax_curve["break_even_volume"] and \
                curve["verdict"] == "pays for itself above the break-even volume":
            break
    else:
        raise ValueError("no drawn workload has a break-even volume for the stage cache")
    volume, dax_volume = curve["break_even_volume"], dax_curve["break_even_volume"]
    vb = {**va, "api_cache": True}
    _, on, hits = _plan(case, {**vb, "requests_per_month": int(round(volume))})

    def text(x: float) -> str:
        return f"Above {_millions(x)}."

    right = (volume, text(volume),
             f"Right: the model prices the month with and without the stage cache over the range of volumes; "
             f"the cache's hourly charge is fixed while the Lambda and DynamoDB work it saves grows with "
             f"traffic, and the two costs cross near {_millions(volume)}.")
    wrong = [(dax_volume, text(dax_volume),
              f"Wrong: {_millions(dax_volume)} is where a DAX cluster would pay for itself on the same workload; "
              f"the stage cache has a different fixed charge and saves different work."),
             *_scaled(volume, text, f"break-even of {_millions(volume)}", (3, 1 / 3, 10))]
    options, answers = lettered(rng, first_distinct(right, wrong, same=_alike))
    size = float(w["api_cache_gb"])
    evidence = _inputs({**w, "requests_per_month": va["requests_per_month"]})[1:] + [
        Evidence("Stage cache size", fmt.number(size, "GB"), "input"),
        Evidence("Stage cache TTL", fmt.number(w["api_cache_ttl_s"], "s"), "input"),
        Evidence("Lambda duration and memory",
                 f"{fmt.duration(w['lambda_duration_ms'])}, {w['lambda_memory_mb']} MB", "input"),
        Evidence("Break-even volume of the stage cache", _millions(volume), "modelled"),
        Evidence("Break-even volume of a DAX cluster (same workload)", _millions(dax_volume), "modelled"),
        Evidence("Stage cache hit ratio at the break-even (GET one todo)",
                 fmt.percent(hits.get("api_cache_get", 0.0)), "modelled"),
        Evidence("Stage cache hit ratio at the break-even (list)", fmt.percent(hits.get("api_cache_list", 0.0)),
                 "modelled"),
        published_price(on, api_cache_size_key(size), f"Stage cache {fmt.number(size, 'GB')}, per hour"),
        published_price(on, "lambda.requests", "Lambda requests"),
        published_price(on, "dynamodb.rru", "DynamoDB on-demand read request units"),
    ]
    scenario = (f"MyTodoList's REST API (API Gateway, a Lambda function, an on-demand DynamoDB table in us-east-1) "
                f"is being sized for growth. {fmt.percent(w['read_share'])} of requests are reads, of which "
                f"{fmt.percent(w['query_share'])} list a user's todos among {fmt.count(w['users'])} users and the "
                f"rest get one of {fmt.count(w['items'])} todos, with a Zipf popularity of exponent "
                f"{w['zipf_skew']:g}. The function runs {fmt.duration(w['lambda_duration_ms'])} at "
                f"{w['lambda_memory_mb']} MB. The team considers a {fmt.number(size, 'GB')} stage cache with a "
                f"TTL of {fmt.number(w['api_cache_ttl_s'], 's')}; the API has no DAX cluster.")
    return Drill("api-cache-break-even", seed, "SAA-C03", "Design Cost-Optimized Architectures", "hard", scenario,
                 "Above about what monthly request volume does the stage cache cost less than the work it saves?",
                 options, answers, tuple(evidence), _toggles(case, va), _toggles(case, vb))


# -- 3. how often the function still runs behind the stage cache -------------------------------------------
def _lambda_invocations(case: Case, rng: random.Random, seed: int) -> Drill:
    # draw until the stage cache answers a fair share of the reads, so that the figures tell the cases apart
    for _ in range(50):
        w = _workload(rng)
        w.update(api_cache_gb=rng.choice(CACHE_SIZES_GB), api_cache_ttl_s=rng.choice(TTLS_S))
        vb, on, hits = _plan(case, {**w, "api_cache": True})
        if min(hits.get("api_cache_get", 0.0), hits.get("api_cache_list", 0.0)) >= 0.2:
            break
    else:
        raise ValueError("no drawn workload gives the stage cache a fair share of hits")
    va = {**vb, "api_cache": False}
    n = float(w["requests_per_month"])
    reads, writes = n * w["read_share"], n * (1 - w["read_share"])
    gets, lists = reads * (1 - w["query_share"]), reads * w["query_share"]
    h_get, h_list = hits.get("api_cache_get", 0.0), hits.get("api_cache_list", 0.0)
    invocations = on.facts["lambda_invocations"]
    misses_only = gets * (1 - h_get) + lists * (1 - h_list)
    read_hit = 1 - misses_only / reads if reads else 0.0
    hits_on_writes = invocations - writes * read_hit

    def text(x: float) -> str:
        return f"About {fmt.count(round(x, -3))} invocations a month."

    right = (invocations, text(invocations),
             f"Right: the function runs for every read the stage cache misses ({fmt.percent(1 - h_get)} of the "
             f"single-todo reads, {fmt.percent(1 - h_list)} of the list calls) and for every write, which the cache "
             f"never answers: {fmt.count(round(invocations, -3))} a month.")
    wrong = [(n, text(n),
              f"Wrong: {fmt.count(n)} is every request; the stage cache answers {fmt.percent(h_get)} of the "
              f"single-todo reads and {fmt.percent(h_list)} of the list calls without invoking the function."),
             (misses_only, text(misses_only),
              f"Wrong: {fmt.count(round(misses_only, -3))} counts only the reads the cache misses; the "
              f"{fmt.count(round(writes, -3))} writes are never cached and each one invokes the function."),
             (hits_on_writes, text(hits_on_writes),
              "Wrong: this applies the reads' hit ratio to the writes as well; only GET methods are cached, so "
              "every write invokes the function."),
             *_scaled(invocations, text, fmt.count(round(invocations, -3)), (2, 0.5, 3, 1 / 3))]
    options, answers = lettered(rng, first_distinct(right, wrong, same=_alike))
    size = float(w["api_cache_gb"])
    evidence = _inputs(w) + [
        Evidence("Stage cache size", fmt.number(size, "GB"), "input"),
        Evidence("Stage cache TTL", fmt.number(w["api_cache_ttl_s"], "s"), "input"),
        Evidence("Stage cache hit ratio, GET /todos/{id}", fmt.percent(h_get), "modelled"),
        Evidence("Stage cache hit ratio, GET /todos (per user)", fmt.percent(h_list), "modelled"),
        Evidence("Writes a month (never cached)", fmt.count(round(writes)), "modelled"),
        Evidence("Lambda invocations a month", fmt.count(round(invocations)), "modelled"),
        published_price(on, "lambda.requests", "Lambda requests"),
    ]
    scenario = (_story(w) + f" The team turns on a {fmt.number(size, 'GB')} stage cache with a TTL of "
                f"{fmt.number(w['api_cache_ttl_s'], 's')}, keyed by path and caller; writes go through POST and PUT.")
    return Drill("lambda-invocations", seed, "SAA-C03", "Design High-Performing Architectures", "medium", scenario,
                 "About how many times a month does the todo function still run once the stage cache is on?",
                 options, answers, tuple(evidence), _toggles(case, va), _toggles(case, vb))


TEMPLATES = [
    Template("dax-saving", "DAX or not: which costs less a month, and by how much", "SAA-C03",
             "Design Cost-Optimized Architectures", "medium", _dax_saving),
    Template("api-cache-break-even", "Where the stage cache pays for itself", "SAA-C03",
             "Design Cost-Optimized Architectures", "hard", _api_cache_break_even),
    Template("lambda-invocations", "How often the function still runs behind the stage cache", "SAA-C03",
             "Design High-Performing Architectures", "medium", _lambda_invocations),
]
