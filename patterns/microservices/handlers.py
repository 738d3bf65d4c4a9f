"""The three services' request handlers.

- :func:`catalog` is the catalog's Lambda function behind an API Gateway REST proxy
  integration: ``GET /products/{id}`` reads cache-aside, ElastiCache (Redis OSS or Valkey) first (the
  cluster at ``REDIS_ENDPOINT``), DynamoDB (``PRODUCTS_TABLE``) on a miss, then stores the
  product in Redis for ``CACHE_TTL_S`` seconds. Without ``REDIS_ENDPOINT`` (the standby region's
  catalog) it reads DynamoDB only.
- :func:`orders_app` builds the orders container's HTTP request handler (one per ECS task):
  ``POST /orders`` asks the catalog for the price synchronously over HTTP, writes the order
  to DynamoDB (the table's replica in ``table_region``) and publishes ``OrderPlaced`` to SNS
  (a client in the topic's region); ``GET /health`` answers the health check.
- :func:`billing` is the billing worker's handler for a batch of SQS messages (the SNS
  envelope of ``OrderPlaced`` in each body): it writes one invoice per order with SQL and
  reports failed messages as ``batchItemFailures``; :func:`billing_app` is the billing
  instances' web server (``GET /invoices/{order_id}``) and :func:`drain` the worker loop
  that receives from the queue, calls :func:`billing` and deletes what succeeded.
"""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from patterns.lambda_kit import client, item, marshal, response

DEPLOY_WITH = ("patterns.lambda_kit",)


def redis_client(endpoint: str):
    """The Redis cluster at ``endpoint``: inside the explorer the run's ElastiCache data plane."""
    try:
        from app.runtime.dataplanes.endpoints import lookup
    except ImportError:  # on AWS: a Redis client library in the deployment package
        import redis
        return redis.Redis(host=endpoint.split("//")[-1].split(":")[0], port=6379)
    return lookup(endpoint)


# -- catalog (Lambda behind API Gateway) ------------------------------------------------------------
def catalog(event: dict, context: Any) -> dict:
    if event.get("httpMethod") != "GET" or "id" not in (event.get("pathParameters") or {}):
        return response(404, {"message": "not found"})
    product_id = event["pathParameters"]["id"]
    cache = redis_client(os.environ["REDIS_ENDPOINT"]) if os.environ.get("REDIS_ENDPOINT") else None
    key = f"product:{product_id}"
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return response(200, {**json.loads(cached), "cache": "hit"})
    found = client("dynamodb").get_item(TableName=os.environ["PRODUCTS_TABLE"],
                                        Key={"product_id": {"S": product_id}}).get("Item")
    if found is None:
        return response(404, {"message": f"no product {product_id}"})
    product = item(found)
    product = {k: (int(v) if isinstance(v, Decimal) else v) for k, v in product.items()}
    if cache is None:
        return response(200, {**product, "cache": "none"})
    cache.set(key, json.dumps(product), ex=int(os.environ.get("CACHE_TTL_S", "300")))
    return response(200, {**product, "cache": "miss"})


# -- orders (container on ECS) ----------------------------------------------------------------------
def orders_app(*, table: str, topic_arn: str, catalog_get: Callable[[str], Any], region: str,
               table_region: str | None = None) -> Callable:
    """The orders container's handler: ``app(request, server) -> (status, body, headers)``."""
    def app(request, server):
        if request.path == "/health":
            return 200, {"status": "ok"}, {}
        if request.method != "POST" or request.path != "/orders":
            return 404, {"message": "not found"}, {}
        order = request.json() or {}
        if not order.get("customer") or not order.get("product_id") or int(order.get("quantity", 0)) < 1:
            return 400, {"message": "customer, product_id and quantity >= 1 are required"}, {}
        reply = catalog_get(order["product_id"])                  # synchronous call to the catalog
        if reply.status != 200:
            return 502, {"message": f"catalog answered {reply.status}"}, {}
        product = reply.json()
        placed = {"order_id": uuid.uuid4().hex[:12], "customer": order["customer"],
                  "product_id": order["product_id"], "quantity": int(order["quantity"]),
                  "unit_price_cents": int(product["price_cents"]),
                  "total_cents": int(product["price_cents"]) * int(order["quantity"]),
                  "served_by": server.target_id, "region": region}
        client("dynamodb", table_region).put_item(TableName=table, Item=marshal(placed),
                                                  ConditionExpression="attribute_not_exists(order_id)")
        client("sns", topic_arn.split(":")[3]).publish(
            TopicArn=topic_arn, Message=json.dumps({"type": "OrderPlaced", **placed}),
            MessageAttributes={"type": {"DataType": "String", "StringValue": "OrderPlaced"}})
        catalog_hop = {"status": reply.status, "cache": product.get("cache"),
                       "stage_cache": getattr(reply, "cache", None), "lambda_invoked": getattr(reply, "invoked", None)}
        return 201, {**placed, "catalog": catalog_hop}, {}
    return app


# -- billing (EC2 Auto Scaling workers) ------------------------------------------------------------
SCHEMA = ("CREATE TABLE IF NOT EXISTS invoices (order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, "
          "total_cents INTEGER NOT NULL, billed_by TEXT NOT NULL)")


def billing(event: dict, db, worker: str = "") -> dict:
    """One batch of SQS records: an invoice per OrderPlaced; failed messages are reported back."""
    failures = []
    for record in event.get("Records", []):
        try:
            body = json.loads(record["body"])
            order = json.loads(body["Message"]) if "Message" in body else body   # SNS envelope or raw
            if order.get("type") != "OrderPlaced":
                raise ValueError(f"not an OrderPlaced event: {order.get('type')!r}")
            db.execute("INSERT OR IGNORE INTO invoices VALUES (?, ?, ?, ?)",
                       (order["order_id"], order["customer"], int(order["total_cents"]), worker or "worker"))
        except (KeyError, ValueError, TypeError):
            failures.append({"itemIdentifier": record.get("messageId", "")})
    return {"batchItemFailures": failures}


def billing_app(db) -> Callable:
    def app(request, server):
        if request.path == "/health":
            return 200, {"status": "ok"}, {}
        if request.method == "GET" and request.path.startswith("/invoices/"):
            rows = db.execute("SELECT order_id, customer, total_cents, billed_by FROM invoices WHERE order_id = ?",
                              (request.path.rsplit("/", 1)[-1],))
            if not rows:
                return 404, {"message": "no invoice"}, {}
            return 200, dict(zip(("order_id", "customer", "total_cents", "billed_by"), rows[0], strict=True)), {}
        return 404, {"message": "not found"}, {}
    return app


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """ReceiveMessage's messages as the SQS event a consumer is given (the Lambda event shape)."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": region} for m in messages]}


def drain(sqs, queue_url: str, queue_arn: str, region: str, db, worker: str) -> int:
    """One poll of a billing worker: receive up to 10 messages, bill them, delete those that succeeded."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   AttributeNames=["All"]).get("Messages", [])
    if not messages:
        return 0
    reply = billing(sqs_event(messages, queue_arn, region), db, worker)
    failed = {f["itemIdentifier"] for f in reply["batchItemFailures"]}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
    return len(done)
