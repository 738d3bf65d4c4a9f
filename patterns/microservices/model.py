"""Latency and cost model of the micro-services case (microservices).

Clients in the US (near us-east-1) and Europe (near eu-west-1) resolve names with
Route 53 and place orders: ALB -> ECS orders service -> DynamoDB, a synchronous call
to the catalog (API Gateway -> Lambda -> ElastiCache for Redis OSS, optionally behind the stage
cache) and an OrderPlaced event published to SNS, delivered to the billing queue and
worked by EC2 instances writing to RDS (the asynchronous path is reported on its own).
Clients also browse the catalog directly.

The orders record's routing policy decides where orders go: ``simple`` and
``failover`` send everyone to us-east-1 (failover keeps a warm standby in us-west-2
with a health check and a table replica), ``weighted`` sends a share to a canary stack
in us-east-1, ``latency`` sends European clients to a second stack in eu-west-1 whose
table is a global-table replica (its catalog calls still cross to us-east-1).
"""
from __future__ import annotations

import math

from app.core.params import Param
from app.engine.costs import HOURS_PER_MONTH, CostSheet
from app.engine.kit import (
    duration_param,
    memory_param,
    requests_param,
    runtime_param,
    ttl_param,
    zipf_cache,
    zipf_param,
)
from app.engine.paths import Cache, Hop, RequestClass, Stage
from app.engine.run import BreakEven, Context, Plan, WhatIf
from app.engine.services import asg_instances, bill_lambda, lambda_stages, rate_per_second

HOME, EU, STANDBY = "us-east-1", "eu-west-1", "us-west-2"
TASK_RPS = 100.0            # requests a 0.5 vCPU / 1 GB orders task serves per second (assumption)
WORKER_ORDERS_PER_S = 50.0  # orders one billing instance works per second (assumption)
REQUESTS_PER_CONNECTION = 10.0  # requests sharing one new ALB connection (assumption)

PARAMS = (
    requests_param(10e6, "Client requests per month"),
    Param("order_share", "Orders among requests", "float", 0.2, "Share of requests that place an order; the rest "
          "browse the catalog.", min=0.01, max=1.0, step=0.01, unit="share"),
    Param("eu_share", "Clients in Europe", "float", 0.3,
          "Share of clients near eu-west-1; the rest are near us-east-1.", min=0.0, max=1.0, step=0.05, unit="share"),
    Param("canary_weight", "Canary weight", "float", 0.1, "Share of orders the weighted policy sends to v2.",
          min=0.0, max=0.5, step=0.05, unit="share"),
    Param("products", "Products in the catalog", "int", 10_000, "Distinct GET /products keys.",
          min=100, max=1_000_000, step=100, unit="products"),
    zipf_param(0.9),
    ttl_param("api_cache_ttl_s", "API cache TTL", 300, "Stage cache time to live.", lo=0),
    Param("dns_queries_per_request", "DNS queries per request", "float", 0.05,
          "Queries reaching Route 53 per client request; resolvers answer the rest from cache within the TTL.",
          min=0.0, max=1.0, step=0.01, unit="queries"),
    memory_param(256),
    runtime_param(),
    duration_param(10.0),
    Param("order_kb", "Order item size", "float", 1.0, "Size of one order item.", min=0.1, max=40.0, step=0.1,
          unit="KB"),
)

EXECUTED_CACHES = {"api_cache": ("apigateway", "re:GET /products.*")}

# The option the What if page compares first (B = A with this option changed).
WHATIF = WhatIf("api_cache")

BREAK_EVEN = (
    BreakEven("api_cache", "requests_per_month", "Catalog stage cache-hours against Lambda invocations avoided",
              "Lambda invocations of the catalog function"),
)


def build(v: dict, ctx: Context) -> Plan:
    lat, prices = ctx.latency, ctx.prices
    policy = v["routing_policy"]
    n = float(v["requests_per_month"])
    orders, browses = n * v["order_share"], n * (1 - v["order_share"])
    catalog_calls = orders + browses          # each order asks the catalog once
    groups = [(HOME, 1 - v["eu_share"]), (EU, v["eu_share"])]
    groups = [(r, s) for r, s in groups if s > 0]

    def order_region(user: str) -> str:
        return EU if policy == "latency" and user == EU else HOME

    h_api = 0.0
    if v["api_cache"]:
        h_api = ctx.cache("api_cache", "Catalog stage cache (GET /products)",
                          zipf_cache(rate_per_second(catalog_calls), v["products"], v["zipf_skew"],
                                     v["api_cache_ttl_s"]), ttl_s=v["api_cache_ttl_s"], keys=v["products"])
    lambda_calls = catalog_calls * (1 - h_api)
    p_cold, fn = lambda_stages(lat, label="Catalog function", duration_ms=v["lambda_duration_ms"],
                               memory_mb=v["lambda_memory_mb"], rate=rate_per_second(lambda_calls),
                               runtime=v["lambda_runtime"])

    def catalog_stages(caller: str) -> list[Stage]:
        st: list[Stage] = [Hop(f"Call catalog ({caller} - {HOME})", "Network",
                  lat.rtt(caller, HOME) if caller != HOME else lat.rtt(HOME, HOME)),
              Hop("API Gateway (REST)", "Amazon API Gateway", lat.op("apigw.rest"))]
        if v["api_cache"]:
            # a hit answers the catalog call (its function and Redis); the order goes on to publish OrderPlaced
            st.append(Cache("Catalog stage cache", "Amazon API Gateway", "api_cache", h_api, lat.op("apigw.cache_hit"),
                            answers=len(fn) + 1))
        st += fn + [Hop("ElastiCache (Redis OSS) GET", "Amazon ElastiCache", lat.op("elasticache.GET"))]
        return st

    classes: list[RequestClass] = []
    for user, share in groups:
        region = order_region(user)
        rc = RequestClass(f"place order ({user} -> {region})", orders * share / n, group="order")
        rc.add(Hop("Route 53 resolution", "Amazon Route 53", lat.op("route53.resolve")))
        rc.add(Hop(f"Client - ALB round trip ({user} - {region})", "Network", lat.user_to_region(user, region)))
        rc.add(Hop("ALB", "Elastic Load Balancing", lat.op("alb")))
        rc.add(Hop("Orders service (ECS)", "Amazon ECS", lat.op("ecs.handler")))
        rc.add(Hop("DynamoDB PutItem", "Amazon DynamoDB", lat.op("dynamodb.PutItem")))
        for st in catalog_stages(region):
            rc.add(st)
        rc.add(Hop("SNS Publish (OrderPlaced)", "Amazon SNS", lat.op("sns.Publish")))
        classes.append(rc)
        b = RequestClass(f"browse catalog ({user})", browses * share / n, group="browse")
        b.add(Hop("Route 53 resolution", "Amazon Route 53", lat.op("route53.resolve")))
        b.add(Hop(f"Client - API round trip ({user} - {HOME})", "Network", lat.user_to_region(user, HOME)))
        for st in catalog_stages(HOME)[1:]:
            b.add(st)
        classes.append(b)
    billing = RequestClass("order to invoice (asynchronous)", 1.0, [
        Hop("SNS delivery to SQS", "Amazon SNS", lat.op("sns.Publish")),
        Hop("SQS receive (long poll)", "Amazon SQS", lat.op("sqs.SendMessage")),
        Hop("Billing worker (EC2)", "Amazon EC2", lat.op("ec2.handler")),
        Hop("RDS insert", "Amazon RDS", lat.op("rds.query"))])

    # -- costs ----------------------------------------------------------------------------------
    sheet = CostSheet(prices)
    sheet.add("route53.zone", 1)
    dns = n * v["dns_queries_per_request"]
    sheet.add("route53.queries.latency" if policy == "latency" else "route53.queries.standard", dns)
    if policy == "failover":
        sheet.add("route53.health_check", 1, note="probes the primary orders endpoint")
    stacks: dict[str, float] = {}
    for user, share in groups:
        stacks[order_region(user)] = stacks.get(order_region(user), 0.0) + orders * share
    if policy == "weighted":
        stacks = {HOME: orders * (1 - v["canary_weight"]), f"{HOME} canary": orders * v["canary_weight"]}
    if policy == "failover":
        stacks[f"{STANDBY} standby"] = 0.0
    for name, count in stacks.items():
        rps = rate_per_second(count)
        tasks = max(2 if "canary" not in name else 1, math.ceil(rps * 3 / TASK_RPS))
        sheet.add("elb.alb_hour", HOURS_PER_MONTH, item="Orders ALB hours", region=name)
        sheet.add("elb.lcu_hour", HOURS_PER_MONTH * rps / REQUESTS_PER_CONNECTION / 25.0,
                  item="Orders ALB capacity units", region=name, note="25 new connections a second per LCU")
        sheet.add("fargate.vcpu_hour", tasks * 0.5 * HOURS_PER_MONTH, item=f"Orders tasks vCPU ({tasks} x 0.5 vCPU)",
                  region=name)
        sheet.add("fargate.gb_hour", tasks * 1.0 * HOURS_PER_MONTH, item=f"Orders tasks memory ({tasks} x 1 GB)",
                  region=name)
    wru = orders * math.ceil(v["order_kb"])
    if policy in ("latency", "failover"):
        for region in (HOME, EU if policy == "latency" else STANDBY):
            sheet.add("dynamodb.rwru", wru, region=region, note="orders table is a global table")
        sheet.add("interregion.transfer", orders * v["order_kb"] / 1e6, item="Orders replication traffic")
    else:
        sheet.add("dynamodb.wru", wru)
    sheet.add("apigw.rest.requests", catalog_calls, item="Catalog API requests")
    if v["api_cache"]:
        sheet.add("apigw.cache.0.5", HOURS_PER_MONTH, note="0.5 GB stage cache, 730 hours")
    bill_lambda(sheet, lambda_calls, duration_ms=v["lambda_duration_ms"] + lat.op("elasticache.GET").mean,
                memory_mb=v["lambda_memory_mb"], p_cold=p_cold, book=lat, runtime=v["lambda_runtime"],
                label="catalog function")
    sheet.add("elasticache.cache.t4g.micro", HOURS_PER_MONTH, note="one node")
    sheet.add("sns.publishes", orders)
    sheet.add("sqs.requests", 2 * orders, note="receive and delete per order (SNS delivery to SQS is free)")
    workers = asg_instances(rate_per_second(orders) * 3, WORKER_ORDERS_PER_S, 0.7, 2)
    sheet.add("ec2.t3.micro", workers * HOURS_PER_MONTH, item=f"Billing instances ({workers} x t3.micro)")
    sheet.add("elb.alb_hour", HOURS_PER_MONTH, item="Billing ALB hours")
    sheet.add("rds.db.t3.micro", HOURS_PER_MONTH)
    sheet.add("internet.egress", n * 2.0 / 1e6, note="2 KB per response")
    notes = [f"Assumptions: an orders task serves {TASK_RPS:g} requests/s at peak (3x average), a billing instance "
             f"{WORKER_ORDERS_PER_S:g} orders/s, {REQUESTS_PER_CONNECTION:g} requests per new ALB connection.",
             "Route 53 alias queries to AWS resources are free; the queries billed are the non-alias ones.",
             "Free tiers are not applied."]
    facts = {"billing_instances": workers, "lambda_cold_start_share": p_cold, "orders": orders,
             "dns_queries": dns, "order_stacks": list(stacks)}
    return Plan(classes, sheet, typical=classes[0].name, segments=[billing], facts=facts, notes=notes)
