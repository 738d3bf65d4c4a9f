"""Latency and cost model of MyTodoList (todo-api).

Reads and writes reach API Gateway (REST) from the users' region, then a Lambda
function, then DynamoDB in us-east-1. Two read caches can be switched on: the API
Gateway stage cache (keyed by path and the caller, so each user's list and each todo
is its own entry) and DAX (item cache for GetItem, query cache for the list Query).
With both on, DAX only sees what the stage cache missed. Costs: API requests and
cache-hours, Lambda requests and GB-seconds, DynamoDB request units and storage, DAX
node-hours, Cognito monthly active users, S3 uploads, users' downloads of their files and storage, data
transfer out.
"""
from __future__ import annotations

import math

from app.core.params import Param
from app.engine.cache import cold_window_hit_ratios, stacked_ttl_hit_ratio
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
from app.engine.services import DAX_NODE_MEMORY_GB, api_cache_size_key, bill_lambda, lambda_stages, rate_per_second

HOME = "us-east-1"
DAX_NODE_TYPES = tuple(DAX_NODE_MEMORY_GB)
API_CACHE_SIZES = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
QUERY_PAGE_ITEMS = 10          # todos returned by one list call (assumption)
CACHE_MEMORY_USABLE = 0.5      # share of a cache node's memory that holds entries (assumption)

PARAMS = (
    requests_param(30e6, hi=1e10),
    Param("read_share", "Reads among requests", "float", 0.9, "Share of requests that read (GET); the rest write.",
          min=0.5, max=0.99, step=0.01, unit="share"),
    Param("query_share", "List calls among reads", "float", 0.5,
          "Share of reads that list a user's todos (a DynamoDB Query); the rest get one todo (GetItem).",
          min=0.0, max=1.0, step=0.05, unit="share"),
    Param("users", "Users (monthly active)", "int", 50_000, "People who use the app in a month.",
          min=1_000, max=1_000_000, step=1_000, unit="users"),
    Param("items", "Todos stored", "int", 100_000, "Todos in the table; GetItem keys.",
          min=1_000, max=1_000_000, step=1_000, unit="items"),
    zipf_param(0.9),
    Param("item_kb", "Item size", "float", 1.0, "Size of one todo item.", min=0.1, max=40.0, step=0.1, unit="KB"),
    memory_param(256),
    runtime_param(),
    duration_param(20.0),
    ttl_param("dax_ttl_s", "DAX item and query TTL", 300,
              "How long DAX keeps an item or a query result (default 5 min)."),
    Param("dax_node_type", "DAX node type", "choice", "dax.t3.small", "Size of each DAX node.", choices=DAX_NODE_TYPES),
    Param("dax_nodes", "DAX nodes", "int", 3, "Nodes in the cluster; AWS recommends at least 3 across AZs.",
          min=1, max=11, step=1, unit="nodes"),
    ttl_param("api_cache_ttl_s", "API cache TTL", 300, "Stage cache time to live (default 300 s, 0 to 3600 s).", lo=0),
    Param("api_cache_gb", "API cache size", "choice", "0.5", "Stage cache size in GB.", choices=API_CACHE_SIZES),
    users_region_param(HOME),
    Param("uploads_per_month", "File uploads per month", "int", 20_000, "Files users attach, written straight to S3.",
          min=0, max=10_000_000, step=1_000, unit="uploads/month"),
    Param("downloads_per_month", "File downloads per month", "int", 100_000,
          "Users reading their own files straight from S3 with their STS credentials (GET requests).",
          min=0, max=100_000_000, step=1_000, unit="downloads/month"),
    Param("file_mb", "File size", "float", 0.5, "Average size of an attached file.", min=0.01, max=1_000.0, step=0.01,
          unit="MB"),
    Param("stored_gb", "Files stored", "float", 50.0, "Data in the files bucket.", min=0.0, max=100_000.0, step=1.0,
          unit="GB"),
)

# Spans of an executed run that measure each cache (service, operation or "re:" pattern).
EXECUTED_CACHES = {
    "dax_item": ("dax", "GetItem"),
    "dax_query": ("dax", "Query"),
    "api_cache_get": ("apigateway", "re:GET /todos/[^/]+"),
    "api_cache_list": ("apigateway", "GET /todos"),
}

# The option the What if page compares first (B = A with this option changed).
WHATIF = WhatIf("dax")

BREAK_EVEN = (
    BreakEven("dax", "requests_per_month", "DAX node-hours against DynamoDB read units saved",
              "DynamoDB read request units and Lambda time spent waiting for DynamoDB"),
    BreakEven("api_cache", "requests_per_month", "API Gateway cache-hours against Lambda and DynamoDB requests avoided",
              "Lambda invocations and DynamoDB reads for the reads the stage cache answers"),
)


def _rru(kb: float) -> float:
    """Eventually consistent read: half an RRU per 4 KB started."""
    return 0.5 * math.ceil(kb / 4.0)


def run_hit_ratios(values: dict, workload) -> dict[str, float]:
    """The modelled hit ratios of a traffic run (``patterns.todo_api.traffic.Workload``): its requests read
    or update single todos, start with empty caches and end long before any TTL. Keys as the run
    reports them: ``api_cache`` (the stage cache) and ``dax`` (the item cache, behind the stage cache
    when both are on)."""
    w = cold_window_hit_ratios(workload.popularity(), workload.requests, workload.read_ratio)
    out: dict[str, float] = {}
    if values.get("api_cache"):
        out["api_cache"] = w["front"]
    if values.get("dax"):
        out["dax"] = w["behind_front"] if values.get("api_cache") else w["write_through"]
    return out


def compare_with_run(values: dict, artifacts: dict) -> list[dict]:
    """Each cache a traffic run measured, beside the model's hit ratio for that run's own workload."""
    from patterns.todo_api.traffic import Workload

    traffic = artifacts.get("traffic")
    if not traffic:
        return []
    modelled = run_hit_ratios(values, Workload(**traffic["workload"]))
    labels = {"api_cache": "Stage cache", "dax": "DAX item cache"}
    return [{"cache": labels[name], "measured": traffic[name]["hit_ratio"], "modelled": ratio,
             "requests": traffic["reads"] + traffic["writes"]}
            for name, ratio in modelled.items() if (traffic.get(name) or {}).get("hit_ratio") is not None]


RUN_COMPARISON = compare_with_run      # the What if page shows a run's measured hit ratios beside these


def build(v: dict, ctx: Context) -> Plan:
    lat, prices = ctx.latency, ctx.prices
    n = float(v["requests_per_month"])
    reads, writes = n * v["read_share"], n * (1 - v["read_share"])
    gets, lists = reads * (1 - v["query_share"]), reads * v["query_share"]
    r_get, r_list = rate_per_second(gets), rate_per_second(lists)
    skew = v["zipf_skew"]
    page_kb = v["item_kb"] * QUERY_PAGE_ITEMS

    # -- caches ------------------------------------------------------------------------------
    h_api_get = h_api_list = 0.0
    if v["api_cache"]:
        cap_kb = float(v["api_cache_gb"]) * 1e6 * CACHE_MEMORY_USABLE
        ttl = v["api_cache_ttl_s"]
        # One stage cache holds both kinds of entry; its capacity is split by traffic share (approximation).
        share_get = gets / reads if reads else 0.0
        h_api_get = ctx.cache("api_cache_get", "API Gateway cache, GET /todos/{id}",
                              zipf_cache(r_get, v["items"], skew, ttl, cap_kb * share_get / v["item_kb"]),
                              ttl_s=ttl, keys=v["items"]) if gets else 0.0
        h_api_list = ctx.cache("api_cache_list", "API Gateway cache, GET /todos (per user)",
                               zipf_cache(r_list, v["users"], skew, ttl, cap_kb * (1 - share_get) / page_kb),
                               ttl_s=ttl, keys=v["users"]) if lists else 0.0
    h_item = h_query = 0.0
    if v["dax"]:
        ttl = v["dax_ttl_s"]
        cap_kb = DAX_NODE_MEMORY_GB[v["dax_node_type"]] * 1e6 * CACHE_MEMORY_USABLE
        if v["api_cache"]:
            # DAX sees only the stage cache's misses: a key comes back to DAX once per stage TTL at most,
            # so DAX hits while its own TTL outlasts the stage cache's, or when a write (write-through)
            # filled its item cache since; writes do not fill the query cache.
            t_api = max(v["api_cache_ttl_s"], 1e-9)
            h_item = ctx.cache("dax_item", "DAX item cache (behind the stage cache)",
                               lambda: stacked_ttl_hit_ratio(r_get, v["items"], skew, t_api, ttl,
                                                             write_rate=rate_per_second(writes)),
                               ttl_s=ttl, keys=v["items"]) if gets else 0.0
            h_query = ctx.cache("dax_query", "DAX query cache (behind the stage cache)",
                                lambda: stacked_ttl_hit_ratio(r_list, v["users"], skew, t_api, ttl),
                                ttl_s=ttl, keys=v["users"]) if lists else 0.0
        else:
            h_item = ctx.cache("dax_item", "DAX item cache",
                               zipf_cache(r_get, v["items"], skew, ttl, cap_kb / v["item_kb"]),
                               ttl_s=ttl, keys=v["items"]) if gets else 0.0
            h_query = ctx.cache("dax_query", "DAX query cache",
                                zipf_cache(r_list, v["users"], skew, ttl, cap_kb / page_kb),
                                ttl_s=ttl, keys=v["users"]) if lists else 0.0

    # -- paths -------------------------------------------------------------------------------
    net = lat.user_to_region(v["users_region"], HOME)
    api = lat.op("apigw.rest")
    lambda_rate = rate_per_second(gets * (1 - h_api_get) + lists * (1 - h_api_list) + writes)
    p_cold, fn = lambda_stages(lat, label="Todo function", duration_ms=v["lambda_duration_ms"],
                               memory_mb=v["lambda_memory_mb"], rate=lambda_rate, runtime=v["lambda_runtime"])

    def db_path(kind: str) -> list:
        op = lat.op("dynamodb.GetItem" if kind == "get" else "dynamodb.Query")
        if not v["dax"]:
            return [Hop(f"DynamoDB {'GetItem' if kind == 'get' else 'Query'}", "Amazon DynamoDB", op)]
        h = h_item if kind == "get" else h_query
        name = "dax_item" if kind == "get" else "dax_query"
        return [Cache(f"DAX {'item' if kind == 'get' else 'query'} cache", "Amazon DynamoDB Accelerator", name, h,
                      lat.op("dax.hit"), lat.op("dax.miss_overhead")),
                Hop(f"DynamoDB {'GetItem' if kind == 'get' else 'Query'}", "Amazon DynamoDB", op)]

    def read_class(kind: str, share: float, h_api: float) -> RequestClass:
        rc = RequestClass(f"read ({'GetItem' if kind == 'get' else 'list'})", share, group="read")
        rc.add(Hop("User - API Gateway round trip", "Network", net))
        rc.add(Hop("API Gateway (REST)", "Amazon API Gateway", api))
        if v["api_cache"]:
            rc.add(Cache("API Gateway stage cache", "Amazon API Gateway",
                         "api_cache_get" if kind == "get" else "api_cache_list", h_api, lat.op("apigw.cache_hit")))
        for st in fn:
            rc.add(st)
        for st in db_path(kind):
            rc.add(st)
        return rc

    write = RequestClass("write", writes / n, group="write")
    write.add(Hop("User - API Gateway round trip", "Network", net))
    write.add(Hop("API Gateway (REST)", "Amazon API Gateway", api))
    for st in fn:
        write.add(st)
    if v["dax"]:
        write.add(Hop("DAX write-through", "Amazon DynamoDB Accelerator", lat.op("dax.miss_overhead")))
    write.add(Hop("DynamoDB PutItem", "Amazon DynamoDB", lat.op("dynamodb.PutItem")))
    classes = [read_class("get", gets / n, h_api_get), read_class("list", lists / n, h_api_list), write]
    segments = [RequestClass("database_read", 1.0, db_path("get")),
                RequestClass("database_query", 1.0, db_path("list"))]

    # -- costs -------------------------------------------------------------------------------
    sheet = CostSheet(prices)
    sheet.add("apigw.rest.requests", n, note="cache hits are billed as requests too")
    if v["api_cache"]:
        sheet.add(api_cache_size_key(float(v["api_cache_gb"])), HOURS_PER_MONTH, note="730 hours a month")
    inv_get, inv_list = gets * (1 - h_api_get), lists * (1 - h_api_list)
    invocations = inv_get + inv_list + writes

    def mean_db_ms(kind: str) -> float:
        op = lat.op("dynamodb.GetItem" if kind == "get" else "dynamodb.Query").mean
        if not v["dax"]:
            return op
        h = h_item if kind == "get" else h_query
        return h * lat.op("dax.hit").mean + (1 - h) * (lat.op("dax.miss_overhead").mean + op)

    waited = (inv_get * mean_db_ms("get") + inv_list * mean_db_ms("list") +
              writes * lat.op("dynamodb.PutItem").mean) / invocations if invocations else 0.0
    bill_lambda(sheet, invocations, duration_ms=v["lambda_duration_ms"] + waited, memory_mb=v["lambda_memory_mb"],
                p_cold=p_cold, book=lat, runtime=v["lambda_runtime"], label="todo function")
    rru = inv_get * (1 - h_item) * _rru(v["item_kb"]) + inv_list * (1 - h_query) * _rru(page_kb)
    sheet.add("dynamodb.rru", rru, note="eventually consistent reads: 0.5 RRU per 4 KB")
    sheet.add("dynamodb.wru", writes * math.ceil(v["item_kb"]), note="1 WRU per KB written")
    sheet.add("dynamodb.storage", v["items"] * v["item_kb"] / 1e6)
    if v["dax"]:
        sheet.add(f"dax.node.{v['dax_node_type']}", v["dax_nodes"] * HOURS_PER_MONTH,
                  note=f"{v['dax_nodes']} nodes x 730 hours")
    sheet.add("cognito.mau.essentials", v["users"])
    sheet.add("s3.put", v["uploads_per_month"], item="PUT requests (users' uploads)")
    sheet.add("s3.get", v["downloads_per_month"], item="GET requests (users reading their own files)")
    sheet.add("s3.storage", v["stored_gb"])
    sheet.add("internet.egress", v["downloads_per_month"] * v["file_mb"] / 1e3, item="S3 data transfer out (files)")
    egress_gb = (gets * v["item_kb"] + lists * page_kb + writes * 0.5) / 1e6
    sheet.add("internet.egress", egress_gb, note="API responses")

    notes = [
        f"A list call returns {QUERY_PAGE_ITEMS} todos (assumption); a cache node holds entries in "
        f"{CACHE_MEMORY_USABLE:.0%} of its memory (assumption).",
        "The stage cache is keyed by path and caller, so one user's list is one entry; its capacity is split "
        "between todo and list entries by traffic share.",
        "Free tiers are not applied.",
    ]
    if v["dax"] and v["api_cache"]:
        notes.append("With both caches, DAX only sees the stage cache's misses: it helps only when its TTL is "
                     "longer than the stage cache's (modelled exactly under Poisson arrivals, without DAX's size "
                     "limit).")
    facts = {"lambda_cold_start_share": p_cold, "lambda_invocations": invocations,
             "dynamodb_rru": rru, "read_requests": reads, "write_requests": writes}
    return Plan(classes, sheet, typical=classes[0].name if gets >= lists else classes[1].name,
                segments=segments, facts=facts, notes=notes)
