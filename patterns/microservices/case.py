"""Micro-services: services of different kinds composed behind one DNS name.

Route 53 points one record per service at that service's front door; the
services call each other synchronously over HTTPS and asynchronously through
SNS and SQS. The routing policy of the orders record decides where its
traffic goes: one endpoint, a weighted canary, the lowest-latency region or a
primary with a standby behind a health check.

Pipeline steps the diagram can highlight: dns, orders, orders_db, catalog_call,
api_cache, catalog, catalog_cache, publish, deliver, billing, billing_db,
canary, second_region, standby, standby_billing, health_check, replication.
"""
from __future__ import annotations

from diagrams import Cluster
from diagrams.aws.compute import EC2AutoScaling, ElasticContainerServiceService, Lambda
from diagrams.aws.database import RDS, Dynamodb, ElasticacheCacheNode, ElasticacheForRedis
from diagrams.aws.general import Users
from diagrams.aws.integration import SimpleNotificationServiceSnsTopic, SimpleQueueServiceSqsQueue
from diagrams.aws.network import APIGateway, ElbApplicationLoadBalancer, Route53, Route53HostedZone

from app.core.cases import Case, Component
from app.core.facts import (
    APIGW_CACHE_TTL_DEFAULT_S,
    APIGW_CACHE_TTL_MAX_S,
    ELASTICACHE_ENGINES,
    ROUTE53_ROUTING_POLICIES,
)
from app.core.params import Toggle

HOME = "us-east-1"
LATENCY_REGION = "eu-west-1"
STANDBY_REGION = "us-west-2"
POLICIES = ("simple", "weighted", "latency", "failover")

TOGGLES = (
    Toggle("routing_policy", "Route 53 routing policy (orders record)", "choice", "simple",
           "How Route 53 answers queries for orders.example.com: one target, weights, lowest latency "
           "or primary/secondary. Not offered here: geolocation (answers by the client's continent or "
           "country, with a default record) and multivalue answer (up to eight healthy records at random).",
           choices=POLICIES,
           exam_point="Simple returns one record set with no health check; weighted splits traffic by relative "
                      "weight (canary, blue/green); latency answers with the region of lowest measured latency "
                      "to the user; failover is active-passive and needs a health check on the primary."),
    Toggle("api_cache", "API Gateway caching (catalog)", "bool", False,
           "The catalog API's stage caches GET /products, so repeated lookups skip Lambda and Redis.",
           exam_point=f"API Gateway caching is set per stage (TTL {APIGW_CACHE_TTL_DEFAULT_S.text} by default, up to "
                      f"{APIGW_CACHE_TTL_MAX_S.text}) and can be "
                      "overridden per method; it also shields the callers' own services from catalog latency."),
)

COMPONENTS = (
    Component("clients", "Clients", "Client", "Web and mobile front ends calling the services by name."),
    Component("dns", "Route 53 hosted zone example.com", "Amazon Route 53",
              "One record per service: orders, catalog, billing."),
    Component("health_check", "Route 53 health check", "Amazon Route 53",
              "Probes the primary orders endpoint; failing it switches answers to the secondary.",
              when="routing_policy=failover"),
    Component("alb_a", "Orders load balancer", "Elastic Load Balancing (ALB)", "Front door of the orders service."),
    Component("ecs", "Orders service", "Amazon ECS", "Containers taking and storing orders."),
    Component("orders_table", "Orders table", "Amazon DynamoDB", "Orders by customer and order id."),
    Component("canary_alb", "Orders v2 load balancer", "Elastic Load Balancing (ALB)",
              "A new version receiving a small weighted share.", when="routing_policy=weighted"),
    Component("canary_ecs", "Orders service v2", "Amazon ECS", "The canary release of the orders service.",
              when="routing_policy=weighted"),
    Component("eu_alb", f"Orders load balancer ({LATENCY_REGION})", "Elastic Load Balancing (ALB)",
              "Second active region for European users.", when="routing_policy=latency"),
    Component("eu_ecs", f"Orders service ({LATENCY_REGION})", "Amazon ECS", "Same service, second region.",
              when="routing_policy=latency"),
    Component("eu_table", f"Orders table replica ({LATENCY_REGION})", "Amazon DynamoDB",
              "Global table replica, read and written locally.", when="routing_policy=latency"),
    Component("dr_alb", f"Standby load balancer ({STANDBY_REGION})", "Elastic Load Balancing (ALB)",
              "Secondary target, answered only while the primary is unhealthy.", when="routing_policy=failover"),
    Component("dr_ecs", f"Standby orders service ({STANDBY_REGION})", "Amazon ECS",
              "Warm standby copy of the service.", when="routing_policy=failover"),
    Component("dr_table", f"Orders table replica ({STANDBY_REGION})", "Amazon DynamoDB",
              "Global table replica kept current for the standby.", when="routing_policy=failover"),
    Component("dr_api", f"Standby catalog API ({STANDBY_REGION})", "Amazon API Gateway",
              "The catalog's front door in the standby region, so an order there needs nothing from the primary.",
              when="routing_policy=failover"),
    Component("dr_lambda", f"Standby catalog function ({STANDBY_REGION})", "AWS Lambda",
              "The same catalog function, reading the products replica (no cache in the standby).",
              when="routing_policy=failover"),
    Component("dr_products", f"Products table replica ({STANDBY_REGION})", "Amazon DynamoDB",
              "Global table replica of the catalog's products.", when="routing_policy=failover"),
    Component("dr_topic", f"Standby order events topic ({STANDBY_REGION})", "Amazon SNS",
              "OrderPlaced events of orders the standby takes.", when="routing_policy=failover"),
    Component("dr_queue", f"Standby billing queue ({STANDBY_REGION})", "Amazon SQS",
              "Holds the standby's orders until billing drains it once the primary region is back.",
              when="routing_policy=failover"),
    Component("api", "Catalog API", "Amazon API Gateway", "REST front door of the catalog service."),
    Component("api_cache", "Stage cache", "Amazon API Gateway", "Answers repeated GET /products.",
              when="api_cache"),
    Component("lambda", "Catalog function", "AWS Lambda", "Looks products up, Redis first."),
    Component("redis", "ElastiCache for Redis OSS", "Amazon ElastiCache",
              f"Product cache in the VPC (ElastiCache also runs {ELASTICACHE_ENGINES.value[0]}, the engine AWS now "
              "leads with)."),
    Component("topic", "Order events topic", "Amazon SNS", "OrderPlaced events for any interested service."),
    Component("queue", "Billing queue", "Amazon SQS", "Subscribed to the topic; buffers work for billing."),
    Component("alb_c", "Billing load balancer", "Elastic Load Balancing (ALB)", "Front door of the billing service."),
    Component("asg", "Billing instances", "Amazon EC2 Auto Scaling", "EC2 fleet serving and billing orders."),
    Component("rds", "Billing database", "Amazon RDS", "Invoices and payments, relational."),
)


def diagram(v, kit) -> None:
    # Every component is drawn in every configuration; one an option turns off is drawn as off,
    # and a route an option replaces is laid out but not drawn, so nothing moves when the policy changes.
    policy = v["routing_policy"]
    clients = Users("Clients", nodeid="clients")
    with Cluster("Route 53 (global)", graph_attr={"labelloc": "b", "fontsize": "16"}):
        dns = Route53HostedZone("example.com\nhosted zone", nodeid="dns")
        check = Route53("Health check\nHTTPS /health", nodeid="health_check")

    with Cluster(f"AWS Cloud - {HOME}"):
        with Cluster("orders - containers"):
            alb_a = ElbApplicationLoadBalancer("ALB", nodeid="alb_a")
            ecs = ElasticContainerServiceService("Orders\nservice ECS", nodeid="ecs")
            orders = Dynamodb("Orders table", nodeid="orders_table")
        with kit.cluster("orders v2 - canary", on=policy == "weighted"):
            canary = ElbApplicationLoadBalancer("ALB v2", nodeid="canary_alb")
            canary_ecs = ElasticContainerServiceService("Orders\nservice v2", nodeid="canary_ecs")
        with Cluster("catalog - serverless"):
            api = APIGateway("Catalog API", nodeid="api")
            cache = ElasticacheCacheNode(f"Stage cache\nGET\nTTL {APIGW_CACHE_TTL_DEFAULT_S.text}",
                                         nodeid="api_cache")
            fn = Lambda("Catalog\nfunction", nodeid="lambda")
            redis = ElasticacheForRedis("ElastiCache\nRedis OSS", nodeid="redis")
        with Cluster("async messaging"):
            topic = SimpleNotificationServiceSnsTopic("SNS topic\norder events", nodeid="topic")
            queue = SimpleQueueServiceSqsQueue("SQS queue\nbilling", nodeid="queue")
        with Cluster("billing - instances"):
            alb_c = ElbApplicationLoadBalancer("ALB", nodeid="alb_c")
            asg = EC2AutoScaling("EC2 Auto\nScaling group", nodeid="asg")
            rds = RDS("RDS\nbilling DB", nodeid="rds")

    seconds = {}
    for name, region, title, service, on in (
            ("eu", LATENCY_REGION, "orders - second active region", "Orders\nservice ECS", policy == "latency"),
            ("dr", f"{STANDBY_REGION} (standby)", "orders - warm standby", "Orders\nservice\nstandby",
             policy == "failover")):
        with kit.cluster(f"AWS Cloud - {region}", on=on):
            with kit.cluster(title, on=on):
                seconds[name] = (ElbApplicationLoadBalancer("ALB", nodeid=f"{name}_alb"),
                                 ElasticContainerServiceService(service, nodeid=f"{name}_ecs"),
                                 Dynamodb("Orders table\nreplica", nodeid=f"{name}_table"))
            if name == "dr":     # what the standby needs besides its table: a catalog and a topic of its own
                with kit.cluster("catalog - standby", on=on):
                    dr_api = APIGateway("Catalog API", nodeid="dr_api")
                    dr_fn = Lambda("Catalog\nfunction", nodeid="dr_lambda")
                    dr_products = Dynamodb("Products table\nreplica", nodeid="dr_products")
                with kit.cluster("async messaging - standby", on=on):
                    dr_topic = SimpleNotificationServiceSnsTopic("SNS topic\norder events", nodeid="dr_topic")
                    dr_queue = SimpleQueueServiceSqsQueue("SQS queue\nbilling", nodeid="dr_queue")

    # Name resolution, then the orders record according to its policy.
    clients >> kit.edge("resolve names", step="dns") >> dns
    labels = {"simple": "alias (simple)", "weighted": "weight 90", "latency": f"latency: {HOME}",
              "failover": "failover PRIMARY"}
    dns >> kit.edge("orders.example.com\n" + labels[policy], step="orders") >> alb_a
    dns >> kit.edge("orders.example.com\nweight 10", step="canary") >> canary
    canary >> kit.edge("", step="canary") >> canary_ecs
    canary_ecs >> kit.edge("same table", step="canary") >> orders
    dns >> kit.edge(f"orders.example.com\nlatency: {LATENCY_REGION}", step="second_region") >> seconds["eu"][0]
    dns >> kit.edge("orders.example.com\nfailover SECONDARY", step="standby", style="dashed") >> seconds["dr"][0]
    dns >> kit.edge("evaluates", step="health_check", style="dotted") >> check
    check >> kit.edge("probe primary", step="health_check", style="dotted") >> alb_a
    for name, step in (("eu", "second_region"), ("dr", "standby")):
        second, second_ecs, second_table = seconds[name]
        second >> kit.edge("", step=step) >> second_ecs
        second_ecs >> kit.edge("local replica", step=step) >> second_table
        both_ways = kit.edge("global table\nreplication", step="replication")
        both_ways.reverse = True
        orders >> both_ways >> second_table

    dr_ecs = seconds["dr"][1]
    dr_ecs >> kit.edge("sync HTTPS\nGET /products", step="standby") >> dr_api
    dr_api >> kit.edge("proxy", step="standby") >> dr_fn
    dr_fn >> kit.edge("GetItem\nlocal replica", step="standby") >> dr_products
    dr_ecs >> kit.edge("publish OrderPlaced", step="standby", asynchronous=True) >> dr_topic
    dr_topic >> kit.edge("subscription", step="standby", asynchronous=True) >> dr_queue
    dr_queue >> kit.edge("drained after\nrecovery", step="standby_billing", asynchronous=True) >> asg

    dns >> kit.edge("catalog.example.com\nalias", step="catalog") >> api
    dns >> kit.edge("billing.example.com\nalias", step="billing") >> alb_c

    # Orders: store, ask the catalog synchronously, announce asynchronously.
    alb_a >> kit.edge("", step="orders") >> ecs
    ecs >> kit.edge("PutItem", step="orders_db") >> orders
    ecs >> kit.edge("sync HTTPS\nGET /products", step="catalog_call") >> api
    ecs >> kit.edge("publish OrderPlaced", step="publish", asynchronous=True) >> topic
    topic >> kit.edge("subscription", step="deliver", asynchronous=True) >> queue
    queue >> kit.edge("polled by\nworkers", step="billing", asynchronous=True) >> asg

    # Catalog.
    api >> kit.edge("cached GET", step="api_cache") >> cache
    api >> kit.edge("proxy", step="catalog") >> fn
    fn >> kit.edge("GET product", step="catalog_cache") >> redis

    # Billing.
    alb_c >> kit.edge("", step="billing") >> asg
    asg >> kit.edge("SQL", step="billing_db") >> rds


CASE = Case(
    id="microservices",
    title="Micro-services",
    tagline="Services of different kinds composed freely behind one DNS name.",
    story=(
        "A shop is split into three services, each built the way that suits it. Orders runs as containers "
        "on ECS behind an Application Load Balancer and keeps its orders in DynamoDB. The catalog is fully "
        "serverless: API Gateway, a Lambda function and an ElastiCache for Redis OSS cache of products (Valkey "
        "is the other Redis-compatible engine ElastiCache offers). Billing "
        "is an older application on an EC2 Auto Scaling group with an RDS database. Route 53 gives each "
        "service its own name in one hosted zone. When an order comes in, the orders service asks the "
        "catalog for prices synchronously, because it cannot answer without them, and announces the order "
        "on an SNS topic; billing picks it up from its own SQS queue whenever it is ready. The routing "
        "policy of the orders record shows how the same name can send users to a canary, to the nearest "
        "region, or to a standby region when the primary fails its health check."
    ),
    takeaways=(
        "There is no single right stack: each service picks the compute and database that fit it, and they "
        "meet only through their APIs and messages.",
        "Route 53 holds many records in one hosted zone; alias records point at load balancers, API Gateway "
        "or CloudFront, and alias queries to AWS resources are not charged.",
        "Weighted records split traffic by relative weight (canary, blue/green); latency records answer with "
        "the region closest to the user in network terms; failover records are active-passive and switch "
        "when the primary's health check fails.",
        f"Route 53 has {len(ROUTE53_ROUTING_POLICIES.value)} routing policies; the four above can be tried here, "
        "the others are: " + "; ".join(f"{name}, {what}" for name, what in ROUTE53_ROUTING_POLICIES.value.items()
                                       if name not in POLICIES) + ".",
        "Synchronous calls couple availability and latency: if the catalog is slow, ordering is slow. "
        "Caching (API Gateway, ElastiCache) reduces the coupling; it does not remove it.",
        "Asynchronous calls through SNS and SQS decouple services: SNS fans one event out to every "
        "subscriber, SQS holds the work until the consumer is ready, so billing can lag or restart without "
        "losing orders.",
        "A second region needs its data too: a DynamoDB global table gives the latency or standby region a "
        "local, writable replica. A warm standby also needs, in its own region, every service an order depends "
        "on (here the catalog and an order events topic), or it fails together with the primary.",
    ),
    components=COMPONENTS,
    toggles=TOGGLES,
    diagram=diagram,
)
