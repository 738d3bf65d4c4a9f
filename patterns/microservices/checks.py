"""Micro-services' checks: what the run did, read back from the backend (the verify steps of the pipeline)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.core import format as fmt
from app.core import facts
from app.runtime.pipeline import Check, Pipeline, RunContext

if TYPE_CHECKING:
    from patterns.microservices.pipeline import State


def _reads(reads: list[dict]) -> str:
    """The catalog GETs in words: "again: 200, stage cache off, Lambda invoked, ElastiCache hit"."""
    return "; ".join(f"{r.get('when', 'read')}: {r.get('status')}, stage cache {r.get('stage_cache')}, Lambda "
                     f"{'invoked' if r.get('lambda_invoked') else 'not invoked'}"
                     + (f", ElastiCache {r['redis']}" if r.get("redis") else "") for r in reads)


def billed(ctx: RunContext["State"], order: dict) -> bool:
    """Whether billing's database holds an invoice for ``order``."""
    return bool(order.get("order_id")) and bool(ctx.state.db.execute(
        "SELECT order_id FROM invoices WHERE order_id = ?", (order["order_id"],)))


def v_records(ctx: RunContext["State"]):
    from patterns.microservices import pipeline as pl

    policy = ctx.values["routing_policy"]
    records = ctx.state.resolver.records(pl.ORDERS)
    fields = {"weighted": "Weight", "latency": "Region", "failover": "Failover"}.get(policy)
    described = [{k: r.get(k) for k in ("SetIdentifier", "Weight", "Region", "Failover", "HealthCheckId") if k in r}
                 for r in records]
    checks_listed = {h["Id"] for h in ctx.client("route53").list_health_checks()["HealthChecks"]}
    wanted = 1 if policy == "simple" else 2
    ok = len(records) == wanted and (fields is None or all(fields in r for r in records)) and \
        all(r.get("HealthCheckId") in checks_listed for r in records if policy != "simple")
    return Check(f"{policy} record set for {pl.ORDERS} read back", ok,
                 f"{fmt.count(len(records))} {'record' if len(records) == 1 else 'records'}"
                 + (": " + fmt.series(", ".join(f"{k} {v}" for k, v in d.items()) for d in described)
                    if any(described) else "")
                 + f"; {fmt.count(len(checks_listed))} health "
                   f"{'check' if len(checks_listed) == 1 else 'checks'} in the account")


def v_answers(ctx: RunContext["State"]):
    from patterns.microservices import pipeline as pl

    policy = ctx.values["routing_policy"]
    resolutions = ctx.state.options.resolutions
    shares = ctx.state.shares
    if policy == "simple":
        home = shares[pl.HOME]
        return Check("simple: every answer is the one record", home == {"simple": resolutions},
                     f"{resolutions:,} resolutions, answered by: {fmt.tally(home)}")
    if policy == "weighted":
        home, total = shares[pl.HOME], sum(pl.WEIGHTS.values())
        gaps = {k: abs(home.get(k, 0) / resolutions - w / total) * 100 for k, w in pl.WEIGHTS.items()}
        return Check("weighted: answers in proportion to the weights (within 3 points)",
                     all(g <= 3 for g in gaps.values()),
                     f"{resolutions:,} resolutions, answered by: {fmt.tally(home)}, for weights {fmt.tally(pl.WEIGHTS)}; "
                     + ", ".join(f"{k} off by {g:.1f} points" for k, g in gaps.items()))
    if policy == "latency":
        rtt = {c: {r: pl.inter_region_rtt_ms(c, r) for r in (pl.HOME, pl.LATENCY_REGION)} for c in shares}
        ok = shares[pl.HOME] == {pl.HOME: resolutions} and \
            shares[pl.LATENCY_REGION] == {pl.LATENCY_REGION: resolutions}
        return Check("latency: each client gets its lowest-latency region", ok,
                     "; ".join(f"clients near {c} answered by {fmt.tally(a)}" for c, a in shares.items())
                     + "; median round trips (latency book): "
                     + "; ".join(f"from {c} to " + fmt.series(f"{r} {fmt.duration(ms)}" for r, ms in to.items())
                                 for c, to in rtt.items()))
    home = shares[pl.HOME]
    return Check("failover: the healthy primary answers every query", home == {"primary": resolutions},
                 f"{resolutions:,} resolutions while the primary is healthy, answered by: {fmt.tally(home)}")


def v_orders(ctx: RunContext["State"]):
    ddb = ctx.client("dynamodb")
    stored = [ddb.get_item(TableName=ctx.state.orders_table, Key={"order_id": {"S": o["order_id"]}}).get("Item")
              for o in ctx.state.orders if o.get("order_id")]
    services = {}
    for name, site in ctx.state.sites.items():
        svc = ctx.client("ecs", site.service.region).describe_services(
            cluster=site.service.cluster_arn, services=[site.service.service_arn])["services"][0]
        healthy = site.service.plane.refresh()
        services[name] = (site.service.region, svc["desiredCount"], len(healthy))
    ok = bool(stored) and len(stored) == len(ctx.state.orders) and all(stored) and all(o["status"] == 201 for o in ctx.state.orders)
    return [
        Check("every order stored in the orders table", ok,
              f"{len(stored)} of {len(ctx.state.orders)} orders read back; served by tasks "
              f"{fmt.series(sorted({o['task'] for o in ctx.state.orders}))}"
              + "".join(f"; {o['customer']}'s order answered {o['status']}: {o['error']}"
                        for o in ctx.state.orders if o["status"] != 201)),
        Check("ECS services and their ALB targets read back",
              all(d == t == 2 for _, d, t in services.values()),
              "; ".join(f"{n} in {r}: desired {d}, healthy targets {t}" for n, (r, d, t) in services.items())),
    ]


def v_catalog(ctx: RunContext["State"]):
    hops = [o["catalog"] for o in ctx.state.orders if o.get("catalog")]
    redis = ctx.state.redis.stats()
    reads = ctx.state.catalog_reads
    missing = fmt.series(f"{o['customer']}'s ({o['error']})" for o in ctx.state.orders if not o.get("catalog"))
    out = [Check("orders got prices from the catalog over HTTP", bool(hops) and len(hops) == len(ctx.state.orders)
                 and all(h["status"] == 200 for h in hops),
                 "ElastiCache answer per order: " + fmt.series(h["cache"] for h in hops)
                 + (f"; no catalog answer for {missing}" if len(hops) < len(ctx.state.orders) else "")),
           Check("ElastiCache: first read a miss, a repeated product a hit (cache-aside)",
                 len(hops) >= 3 and hops[0]["cache"] == "miss" and redis["hits"] >= 1
                 and (hops[2]["cache"] == "hit" or ctx.values["api_cache"] and reads[-1]["redis"] == "hit"),
                 f"per order: {fmt.series(h['cache'] for h in hops)}; hits {redis['hits']}, misses {redis['misses']}, "
                 f"sets {redis['sets']} ({redis['data_plane']})")]
    if ctx.values["api_cache"]:
        stage = ctx.state.catalog.stage_cache.counters
        out.append(Check("with the stage cache: a repeated GET is answered by the stage cache, Lambda and ElastiCache not reached",
                         all(r["stage_cache"] == "hit" and not r["lambda_invoked"] and r["redis_gets"] == 0
                             for r in reads[:2]) and reads[2]["lambda_invoked"],
                         _reads(reads) + f"; stage cache hits {stage['hits']}, misses {stage['misses']}"))
    else:
        out.append(Check("no stage cache: every catalog GET invokes Lambda and reads ElastiCache",
                         all(r["lambda_invoked"] and r["redis_gets"] == 1 for r in reads), _reads(reads)))
    return out


def v_billing(ctx: RunContext["State"]):
    from patterns.microservices import pipeline as pl
    d = ctx.state.depth
    placed = pl.billed_orders(ctx.state)
    invoices = ctx.state.db.execute("SELECT order_id, billed_by FROM invoices")
    billed = {row[0] for row in invoices}
    via_alb = [ctx.state.billing.request("GET", f"/invoices/{o['order_id']}") for o in placed]
    db = ctx.client("rds").describe_db_instances(DBInstanceIdentifier=ctx.state.db_instance)["DBInstances"][0]
    return [
        Check("queue depth: empty, one message per order, drained",
              d["before"] == 0 and d["before_drain"] == len(placed) and d["after"] == 0,
              f"before {d['before']}, after orders {d['before_drain']}, after the workers drained {d['after']}"),
        Check("an invoice per order in the billing database", billed == {o["order_id"] for o in placed},
              f"{len(billed)} invoices by workers {fmt.series(sorted({r[1] for r in invoices}))}; RDS {db['Engine']} "
              f"{db['DBInstanceStatus']} at {db['Endpoint']['Address']} ({ctx.state.db.label})"),
        Check("billing's load balancer serves the invoices", bool(via_alb) and all(r.status == 200 for r in via_alb),
              f"GET /invoices/<id> answered {fmt.series(r.status for r in via_alb)} by instances "
              f"{fmt.series(sorted({r.served_by for r in via_alb}))}" if via_alb else
              "no order was taken, so there was no invoice to ask the load balancer for"),
    ]


def v_second_region(ctx: RunContext["State"]):
    from patterns.microservices import pipeline as pl
    far = [o for o in ctx.state.orders if o.get("order_id") and o["region"] == pl.LATENCY_REGION]
    written_there = sum(1 for s in ctx.trace.spans if s.step == pl.PLACE_STEP and s.service == "dynamodb"
                        and s.operation == "PutItem" and s.resource == ctx.state.orders_table
                        and s.detail.get("region") == pl.LATENCY_REGION)
    held = {r: sum(bool(ctx.client("dynamodb", r).get_item(
                TableName=ctx.state.orders_table, Key={"order_id": {"S": o["order_id"]}},
                ConsistentRead=True).get("Item")) for o in far) for r in (pl.LATENCY_REGION, pl.HOME)}
    return Check(f"latency: orders taken in {pl.LATENCY_REGION} are written to its own replica and "
                 f"replicated to {pl.HOME}",
                 bool(far) and written_there == held[pl.LATENCY_REGION] == held[pl.HOME] == len(far),
                 f"{len(far)} of {len(ctx.state.orders)} orders taken in {pl.LATENCY_REGION} (clients near it), "
                 f"{written_there} PutItem call{'s' * (written_there != 1)} made to {pl.LATENCY_REGION}; "
                 + "; ".join(f"{n} of them read back from the {r} replica" for r, n in held.items())
                 + " (a global table: each region writes locally, replication carries the item across)")


def v_failover(ctx: RunContext["State"]):
    from patterns.microservices import pipeline as pl
    f = ctx.state.failover
    primary = ctx.state.sites["first"].health_check
    config = ctx.client("route53").get_health_check(HealthCheckId=primary)["HealthCheck"]["HealthCheckConfig"]
    outage = f["cause"].startswith(f"{pl.HOME} down")
    order = f["order"]
    dns = f["answered_before"] == "primary" and f["answers_after"] == {"secondary": 100} and \
        not f["primary_healthy_after"]
    took = order["status"] == 201 and order["region"] == pl.STANDBY_REGION
    key = {"order_id": {"S": order.get("order_id") or ""}}
    replicas = {r: ctx.client("dynamodb", r).get_item(TableName=ctx.state.orders_table, Key=key,
                                                      ConsistentRead=True).get("Item")
                if order.get("order_id") else None for r in (pl.STANDBY_REGION, pl.HOME)}
    local = replicas[pl.STANDBY_REGION]
    took = took and local is not None and local["region"]["S"] == pl.STANDBY_REGION
    cause = (f"{pl.HOME} down: its ALB answered {f['primary_alb']} to GET /health" if outage
             else "Inverted=True")
    said = (f"primary health check {primary}: {cause} -> unhealthy; answers before: "
            f"{f['answered_before']}, after: {fmt.tally(f['answers_after'])}")
    if not outage:
        out = [Check("failover to the secondary after the primary's health check fails", dns and took,
                     f"{said}; order {order['order_id'] or 'not taken'}: {order['status']} in "
                     f"{order['region']}" + (f" ({order['error']})" if order.get("error") else ""))]
    else:
        out = [Check(f"Route 53 fails over to the secondary when {pl.HOME} is down", dns, said),
               Check(f"the standby in {pl.STANDBY_REGION} takes the order during the outage", took,
                     f"order sent to {order['endpoint']} ({order['region']}): {order['status']}"
                     + (f" {order['error']}" if order.get("error") else "")
                     + (f"; order {order['order_id']}: price from the catalog in {pl.STANDBY_REGION} "
                        "(its function reads the region's products replica, no ElastiCache there), "
                        f"{'read back from' if local else 'not found in'} the {pl.STANDBY_REGION} "
                        f"replica of the orders global table, OrderPlaced published to the "
                        f"{pl.STANDBY_REGION} order events topic and billing queue"
                        if order.get("order_id") else "")),
               Check(f"after {pl.HOME} recovers, the standby's order is replicated home and billed", bool(
                     took and replicas[pl.HOME] and f.get("replicated_home") and billed(ctx, order)),
                     f"order {order.get('order_id') or 'not taken'}: "
                     f"{'in' if replicas[pl.HOME] else 'not in'} the {pl.HOME} orders table (global "
                     f"table replication); {'invoiced' if billed(ctx, order) else 'not invoiced'} by "
                     f"billing, which drained the {pl.STANDBY_REGION} billing queue after the outage")]
    interval, threshold = config["RequestInterval"], config["FailureThreshold"]
    out.append(Check("time to fail over: the health check's interval x its failure threshold",
                     f["failover_s"] == interval * threshold == facts.R53_FAILOVER_S.value,
                     f"{interval} s x {threshold} checks = {interval * threshold} s on the run's clock "
                     f"(read back from the health check); measured {f['failover_s']} s"))
    return out


def add_checks(p: Pipeline, values: dict[str, Any]) -> None:
    from patterns.microservices import pipeline as pl

    policy = values["routing_policy"]
    p.add("verify", "The orders record set and its health checks are in the hosted zone", "route53", v_records)
    p.add("verify", "Route 53 answers per the routing policy", "route53", v_answers)
    p.add("verify", "Orders were taken by ECS tasks and stored in DynamoDB", "dynamodb", v_orders)
    p.add("verify", "The catalog answered synchronously, cache-aside through ElastiCache", "lambda", v_catalog)
    p.add("verify", "OrderPlaced went through SNS and SQS to billing", "sqs", v_billing)
    if policy == "latency":
        p.add("verify", f"Orders taken in {pl.LATENCY_REGION} are in its replica and replicated to {pl.HOME}",
              "dynamodb", v_second_region)
    if policy == "failover":
        p.add("verify", "After the primary fails, the secondary answers and the order completes", "route53", v_failover)
