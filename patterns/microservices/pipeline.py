"""Micro-services, executed: Route 53 in front of three services of different kinds.

Deploy creates, in the run's own account: the orders service (an ECS cluster, task
definition and service behind an ALB, its tasks writing to a DynamoDB table), with a second
orders site for the weighted (canary), latency (second region) and failover (standby region)
policies; the catalog (API Gateway -> Lambda, cache-aside through an ElastiCache cluster;
the stage cache with ``api_cache`` on); billing (an ALB and an EC2 Auto Scaling group whose
instances drain an SQS queue subscribed to the order events topic, writing invoices to an RDS
database); and a hosted zone with the ``orders`` record set in the chosen routing policy,
health checks for its endpoints, and records for catalog and billing.

Drive resolves ``orders.example.com`` 1,000 times per client region through the resolver
emulation (which reads records and health checks back from the backend), places orders at
the endpoint that answered (orders calls the catalog synchronously and publishes
``OrderPlaced`` asynchronously), reads the catalog again, lets the billing workers drain the
queue, and for ``failover`` marks the primary's health check failed and orders again.

With ``failover`` the standby region (us-west-2) can take an order on its own: the orders and
products tables are global tables with replicas there, a catalog function and API there read
the products replica (no ElastiCache in the standby), and the standby publishes ``OrderPlaced``
to a topic and queue of its own region, which the billing workers drain once us-east-1 is back;
the order itself replicates home through the orders global table.

Emulated where moto has no data plane (app/runtime/dataplanes): the ALBs and the containers
and instances behind them (in-process), the Route 53 resolver, ElastiCache (a real Redis
server when REDIS_URL is set), the REST API invocation and stage cache, and the billing SQL
(SQLite in-process behind the RDS instance). The checks are in :mod:`patterns.microservices.checks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app.core import facts
from app.engine.books import load_latency_book
from app.runtime.dataplanes.rds import SqlDatabase
from app.runtime.dataplanes.route53 import Resolver
from app.runtime.infra import ContainerService, LoadBalancedGroup, Queue, RestApi, Route, StageCache, record_set
from app.runtime.pipeline import Pipeline, RunContext
from patterns.microservices import checks, handlers
from patterns.microservices.case import HOME, LATENCY_REGION, STANDBY_REGION

ZONE = "example.com"
ORDERS = f"orders.{ZONE}"
RESOLUTIONS = 1000
WEIGHTS = {"blue": 90, "canary": 10}
CACHE_TTL_S = 300
PRODUCTS = {"p-100": ("Espresso machine", 24900), "p-200": ("Coffee grinder", 8900), "p-300": ("Milk jug", 1500)}
# The second orders site per policy: (record id, region).
DRAIN_STEP = "Billing workers drain the queue"
PLACE_STEP = "Place orders: catalog synchronously, OrderPlaced asynchronously"
FAILOVER_STEP = "The primary fails: Route 53 fails over and an order is placed again"
SECOND = {"weighted": ("canary", HOME), "latency": (LATENCY_REGION, LATENCY_REGION),
          "failover": ("secondary", STANDBY_REGION)}
REPLICA = {"latency": LATENCY_REGION, "failover": STANDBY_REGION}     # the orders table's second replica


def inter_region_rtt_ms(a: str, b: str) -> float:
    """The latency book's median round trip between two regions (cloudping.co)."""
    return load_latency_book().rtt(a, b).p50


@dataclass
class Site:
    record: str            # SetIdentifier of its record ("" for a simple record)
    service: ContainerService
    health_check: str = ""


@dataclass(frozen=True)
class Options:
    """The run's options (``build_pipeline``'s keyword arguments), read by the steps from the state."""

    resolutions: int = RESOLUTIONS      # how many times each client region resolves the orders name


@dataclass
class State:
    """What the steps of a micro-services run share."""

    options: Options = field(default_factory=Options)

    orders_table: str = ""
    products_table: str = ""
    redis: Any = None
    redis_endpoint: str = ""
    catalog: RestApi | None = None
    topic: str = ""
    queue: Queue | None = None
    db: SqlDatabase | None = None
    db_instance: str = ""
    billing: LoadBalancedGroup | None = None
    sites: dict[str, Site] = field(default_factory=dict)
    zone_id: str = ""
    resolver: Resolver | None = None
    shares: dict[str, dict[str, int]] = field(default_factory=dict)
    orders: list[dict] = field(default_factory=list)
    depth: dict[str, int] = field(default_factory=dict)
    catalog_reads: list[dict] = field(default_factory=list)
    failover: dict[str, Any] = field(default_factory=dict)
    # failover: the standby region's own copies of what taking an order needs
    orders_global: Any = None
    products_global: Any = None
    standby_catalog: RestApi | None = None
    standby_topic: str = ""
    standby_queue: Queue | None = None


def client_regions(policy: str) -> tuple[str, ...]:
    """The regions the clients are in: a second one for the latency policy."""
    return (HOME, LATENCY_REGION) if policy == "latency" else (HOME,)


def queues(ctx: RunContext[State]) -> list[tuple[Queue, str]]:
    """The billing queues with their regions: us-east-1's, and the standby region's with ``failover``."""
    return [(ctx.state.queue, HOME)] + ([(ctx.state.standby_queue, STANDBY_REGION)] if ctx.state.standby_queue else [])


def billed_orders(state: State) -> list[dict]:
    """The orders billing should invoice: those placed, and the one the standby took during an outage."""
    during = [state.failover["order"]] if state.failover and state.failover["order"] not in state.orders else []
    return [o for o in state.orders + during if o.get("order_id")]


def queue_depth(ctx: RunContext[State]) -> int:
    """Messages in the billing queues (both regions' with ``failover``)."""
    return ctx.infra.queue_depth(q for q, _ in queues(ctx))


def place_order(ctx: RunContext[State], client_region: str, customer: str, product_id: str, quantity: int) -> dict:
    """Resolve the orders name as the client would, then POST the order to the endpoint that answered."""
    answer = ctx.state.resolver.resolve(ORDERS, client_region)
    site = next(s for s in ctx.state.sites.values() if s.service.dns_name == answer.value)
    reply = site.service.request("POST", "/orders", body={"customer": customer, "product_id": product_id,
                                                          "quantity": quantity})
    try:
        body = reply.json()
    except ValueError:
        body = {"error": reply.text}
    return {"customer": customer, "error": body.get("error") or body.get("message"), "client_region": client_region,
            "record": answer.record or "simple", "endpoint": answer.value,
            "region": site.service.region, "status": reply.status, "task": reply.served_by,
            "order_id": body.get("order_id"), "total_cents": body.get("total_cents"),
            "catalog": body.get("catalog")}


# -- deploy ----------------------------------------------------------------------------------------
def tables(ctx: RunContext[State]) -> None:
    policy = ctx.values["routing_policy"]
    ctx.state.orders_table = ctx.infra.table("orders", "order_id")
    ctx.state.products_table = products = ctx.infra.table("products", "product_id")
    if policy in REPLICA:        # the second region writes its orders to its own replica
        ctx.state.orders_global = ctx.infra.global_table(ctx.state.orders_table, [HOME, REPLICA[policy]])
    if policy == "failover":     # warm standby: the catalog's products replicated there too
        ctx.state.products_global = ctx.infra.global_table(products, [HOME, STANDBY_REGION])
    ddb = ctx.client("dynamodb")
    for pid, (name, cents) in PRODUCTS.items():
        ddb.put_item(TableName=products, Item={"product_id": {"S": pid}, "name": {"S": name},
                                               "price_cents": {"N": str(cents)}})
    if policy == "failover" and not ctx.state.products_global.wait_for_count(STANDBY_REGION, len(PRODUCTS)):
        raise RuntimeError(f"the products did not replicate to {STANDBY_REGION}")


def cache_cluster(ctx: RunContext[State]) -> None:
    cluster = ctx.infra.redis_cluster("catalog", node_type="cache.t4g.micro")
    ctx.state.redis, ctx.state.redis_endpoint = cluster.client, cluster.endpoint


def catalog(ctx: RunContext[State]) -> None:
    policy = ctx.values["routing_policy"]
    fn = ctx.lambdas.deploy("catalog", handler="patterns.microservices.handlers.catalog", memory_mb=256,
                            env={"PRODUCTS_TABLE": ctx.state.products_table, "CACHE_TTL_S": str(CACHE_TTL_S),
                                 "REDIS_ENDPOINT": ctx.state.redis_endpoint}, description="Catalog lookups")
    ctx.state.catalog = ctx.infra.rest_api(
        "catalog-api", [Route("GET", "/products/{id}", fn.arn, cache_key=("method.request.path.id",),
                                   fresh_on_request=True)],
        cache=StageCache() if ctx.values["api_cache"] else None)
    if policy == "failover":     # the standby's catalog: the same function beside the products replica
        far = ctx.session.lambdas_in(STANDBY_REGION)
        far_fn = far.deploy("catalog", handler="patterns.microservices.handlers.catalog", memory_mb=256,
                            env={"PRODUCTS_TABLE": ctx.state.products_table},
                            description="Catalog lookups in the standby region")
        ctx.state.standby_catalog = ctx.infra.rest_api(
            "catalog-api", [Route("GET", "/products/{id}", far_fn.arn)], region=STANDBY_REGION, lambdas=far)


def messaging(ctx: RunContext[State]) -> None:
    policy = ctx.values["routing_policy"]
    ctx.state.topic = ctx.infra.topic("order-events")
    ctx.state.queue = q = ctx.infra.queue("billing")
    ctx.client("sns").subscribe(TopicArn=ctx.state.topic, Protocol="sqs", Endpoint=q.arn)
    if policy == "failover":     # the standby announces its orders in its own region; billed after recovery
        ctx.state.standby_topic = ctx.infra.topic("order-events", region=STANDBY_REGION)
        ctx.state.standby_queue = far = ctx.infra.queue("billing", region=STANDBY_REGION)
        ctx.client("sns", STANDBY_REGION).subscribe(TopicArn=ctx.state.standby_topic, Protocol="sqs",
                                                    Endpoint=far.arn)


def database(ctx: RunContext[State]) -> None:
    db = ctx.infra.database("billing", schema=handlers.SCHEMA, engine="postgres", instance_class="db.t4g.micro")
    ctx.state.db_instance, ctx.state.db = db.instance_id, db.sql


def billing_fleet(ctx: RunContext[State]) -> None:
    ctx.state.billing = ctx.infra.load_balanced_group("billing", handlers.billing_app(ctx.state.db), desired=2)


def orders_service(ctx: RunContext[State]) -> None:
    policy = ctx.values["routing_policy"]
    def site(base: str, record: str, region: str, cidr: str) -> Site:
        standby = region == STANDBY_REGION      # its own catalog and topic; the table is its region's replica
        catalog_api = ctx.state.standby_catalog if standby else ctx.state.catalog
        app = handlers.orders_app(table=ctx.state.orders_table, region=region,
                                  table_region=region if region == REPLICA.get(policy) else HOME,
                                  topic_arn=ctx.state.standby_topic if standby else ctx.state.topic,
                                  catalog_get=lambda pid: catalog_api.request("GET", f"/products/{pid}"))
        return Site(record, ctx.infra.container_service(base, app, tasks=2, region=region, cidr=cidr))
    first = {"simple": "", "weighted": "blue", "latency": HOME, "failover": "primary"}[policy]
    ctx.state.sites = {"first": site("orders", first, HOME, "10.1.0.0/16")}
    if policy in SECOND:
        record, region = SECOND[policy]
        ctx.state.sites["second"] = site("orders-2", record, region, "10.2.0.0/16")


def dns(ctx: RunContext[State]) -> None:
    policy = ctx.values["routing_policy"]
    zone = ctx.infra.hosted_zone(ZONE)
    ctx.state.zone_id, records = zone.id, []
    for s in ctx.state.sites.values():
        if policy != "simple":
            s.health_check = ctx.infra.health_check(f"hc-{s.record}", s.service.dns_name, path="/health")
        records.append(record_set(ORDERS, s.service.dns_name, policy=policy, set_id=s.record,
                                  health_check=s.health_check, weight=WEIGHTS.get(s.record),
                                  region=s.service.region, primary=s.record == "primary"))
    catalog_host = f"{ctx.state.catalog.id}.execute-api.{HOME}.amazonaws.com"
    records += [record_set(f"catalog.{ZONE}", catalog_host, ttl=300),
                record_set(f"billing.{ZONE}", ctx.state.billing.dns_name, ttl=300)]
    if policy == "weighted":
        ctx.deployed["canary_weight"] = WEIGHTS["canary"] / sum(WEIGHTS.values())
    zone.create_records(records)
    ctx.state.resolver = zone.resolver(rtt_ms=inter_region_rtt_ms)


# -- drive -----------------------------------------------------------------------------------------
def resolve(ctx: RunContext[State]) -> None:
    policy = ctx.values["routing_policy"]
    resolutions = ctx.state.options.resolutions
    regions = client_regions(policy)
    for region in regions:
        ctx.state.shares[region] = ctx.state.resolver.tally(ORDERS, region, resolutions)
    ctx.artifact("resolutions", {r: {k: {"answers": n, "share": n / resolutions} for k, n in s.items()}
                                 for r, s in ctx.state.shares.items()})


def place(ctx: RunContext[State]) -> None:
    policy = ctx.values["routing_policy"]
    regions = client_regions(policy)
    ctx.state.depth["before"] = queue_depth(ctx)
    # Each order counts in the ledger: taken (a 2xx from the region that served it) or failed (the customer
    # got the error, as a synchronous call does).
    flow = ctx.routing.requests("customers -> orders")
    for i, (pid, qty) in enumerate((("p-100", 1), ("p-200", 2), ("p-100", 1))):
        ctx.state.orders.append(flow.call(
            lambda: place_order(ctx, regions[i % len(regions)], f"customer-{i + 1}", pid, qty),
            lambda o: o["region"] if o["status"] < 300 else None))
    ctx.state.depth["after_orders"] = queue_depth(ctx)
    ctx.artifact("orders", ctx.state.orders)


def catalog_again(ctx: RunContext[State]) -> None:
    fn, redis = ctx.lambdas.get("catalog"), ctx.state.redis

    def read(when: str, **headers: str) -> None:
        before, hits, misses = fn.invocations, redis.counters["hits"], redis.counters["misses"]
        reply = ctx.state.catalog.request("GET", "/products/p-200", headers=headers)
        got_hit, got_miss = redis.counters["hits"] - hits, redis.counters["misses"] - misses
        ctx.state.catalog_reads.append({
            "when": when, "status": reply.status, "stage_cache": reply.cache or "off",
            "lambda_invoked": fn.invocations > before, "redis_gets": got_hit + got_miss,
            "redis": "hit" if got_hit else "miss" if got_miss else "not reached"})
    read("again")
    read("again")
    if ctx.values["api_cache"]:      # a client asking for a fresh copy passes the stage cache: Redis answers
        read("with Cache-Control: max-age=0", **{"Cache-Control": "max-age=0"})
    ctx.artifact("catalog_reads", ctx.state.catalog_reads)


def fail_primary(ctx: RunContext[State]) -> None:
    """The primary fails: with an injected outage its region is down (its ALB answers 503, so Route 53's
    health check fails); otherwise a failover drill marks the health check failed (Inverted)."""
    r53, primary = ctx.client("route53"), ctx.state.sites["first"]
    outage = ctx.region_down(HOME)
    if outage:     # the last answer before the outage: the resolve step's
        before = max(ctx.state.shares[HOME], key=ctx.state.shares[HOME].get)
    else:
        before = ctx.state.resolver.resolve(ORDERS, HOME).record
        r53.update_health_check(HealthCheckId=primary.health_check, Inverted=True)
    # Route 53 declares the endpoint unhealthy after FailureThreshold failed checks: the run's clock
    # moves on by that time (which also outlasts the record's TTL in resolvers' caches).
    started = ctx.clock.offset
    ctx.clock.advance(facts.R53_FAILOVER_S.value)
    failover_s = ctx.clock.offset - started     # before the order: its retries move the clock on too
    answers = ctx.state.resolver.tally(ORDERS, HOME, 100, span=False)

    def again() -> dict:
        return place_order(ctx, HOME, "customer-after-failover", "p-300", 3)
    order = ctx.routing.requests(f"orders during the {HOME} outage").call(
        again, lambda o: o["region"] if o["status"] < 500 else None) if outage else again()
    ctx.state.failover = {"cause": f"{HOME} down (injected region outage)" if outage else
                          "health check marked failed (Inverted=True)",
                          "answered_before": before, "answers_after": answers,
                          "primary_healthy_after": ctx.state.resolver.healthy(primary.health_check),
                          "failover_s": failover_s,
                          "primary_alb": primary.service.request("GET", "/health").status,
                          "order": order}
    if not outage:     # an order during the outage is counted in its own flow (the ledger)
        ctx.state.orders.append(order)
    ctx.artifact("failover", ctx.state.failover)


def drain(ctx: RunContext[State]) -> None:
    billing = ctx.state.billing
    if ctx.state.orders_global is not None:     # orders taken in the second region replicate home
        for order in ctx.state.orders + [ctx.state.failover.get("order") or {}]:
            if order.get("order_id") and order.get("region") != HOME:
                order["replicated_home"] = ctx.state.orders_global.wait_for_item(
                    HOME, {"order_id": {"S": order["order_id"]}})
        if "order" in ctx.state.failover:
            ctx.state.failover["replicated_home"] = ctx.state.failover["order"].get("replicated_home", False)
    ctx.state.depth["before_drain"] = queue_depth(ctx)
    for _ in range(3):                     # a few polls per worker, round robin over the fleet
        for worker in billing.in_service():
            for q, region in queues(ctx):
                handlers.drain(ctx.client("sqs", region), q.url, q.arn, region, ctx.state.db, worker)
    ctx.state.depth["after"] = queue_depth(ctx)
    ctx.artifact("queue_depth", dict(ctx.state.depth))


def build_pipeline(values: dict[str, Any], *, resolutions: int = RESOLUTIONS) -> Pipeline:
    """``resolutions``: how many times each client region resolves the orders name (at least 1,000)."""
    if resolutions < RESOLUTIONS:
        raise ValueError(f"resolutions={resolutions} is too few to measure the weights: use at least {RESOLUTIONS:,}")
    policy = values["routing_policy"]
    p = Pipeline("microservices", values=values, state=partial(State, options=Options(resolutions)), live_unsupported=(
        "its load balancers, containers, instances, DNS answers, Redis and SQL run in the embedded backend's "
        "emulated data planes, which have no meaning against AWS"),
        faults=("ddb_throttle_rate",) + ("region_outage",) * (policy == "failover"),
        outage_from=FAILOVER_STEP if policy == "failover" else None,
        # the region comes back before billing drains its queue (in us-east-1)
        recover_before=DRAIN_STEP if policy == "failover" else None,
        refused_faults={"region_outage": f"the orders record uses the {policy} routing policy, so Route 53 has no "
                                         "standby to fail over to (set routing_policy=failover)"})

    p.add("deploy", "Create the orders and products tables", "dynamodb", tables)
    p.add("deploy", "Create the catalog's ElastiCache cluster", "elasticache", cache_cluster)
    p.add("deploy", "Deploy the catalog function and API", "apigateway", catalog)
    p.add("deploy", "Create the order events topic and the billing queue", "sns", messaging)
    p.add("deploy", "Create the billing database", "rds", database)
    p.add("deploy", "Launch the billing fleet behind its load balancer", "autoscaling", billing_fleet)
    p.add("deploy", "Deploy the orders service on ECS", "ecs", orders_service)
    p.add("deploy", "Create the hosted zone, health checks and records", "route53", dns)
    second_edge = {"weighted": "canary", "latency": "second_region", "failover": "standby"}.get(policy)
    p.add("drive", f"Resolve {ORDERS} {resolutions:,} times per client region", "route53", resolve,
          ("dns", "orders") + ((second_edge,) if policy in ("weighted", "latency") else ()))
    p.add("drive", PLACE_STEP, "ecs", place,
          ("dns", "orders", "orders_db", "catalog_call", "catalog", "catalog_cache", "publish", "deliver"))
    p.add("drive", "Read the catalog again", "apigateway", catalog_again, ("catalog", "api_cache", "catalog_cache"))
    if policy == "failover":
        p.add("drive", FAILOVER_STEP, "route53", fail_primary, ("health_check", "standby"))
    p.add("drive", DRAIN_STEP, "sqs", drain, ("deliver", "billing", "billing_db")
          + ("replication",) * (policy in REPLICA) + ("standby_billing",) * (policy == "failover"))
    checks.add_checks(p, values)
    return p
