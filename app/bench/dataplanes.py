"""Data planes: what a cache hit costs on this machine, next to the miss it saves.

Measured on the embedded moto server in a session of its own (torn down after); each
figure is the median of repeated calls through the session's emulated data plane.

- dax: ``get_item`` answered from the item cache, and the same read passed through to
  DynamoDB with ``ConsistentRead`` (what every miss pays).
- api_gateway: a GET answered from the stage cache, and the same GET on an uncached
  stage (routing, proxy event, the in-process Lambda function).
- cloudfront: a viewer GET answered from the edge cache, and the origin fetch a miss
  pays (bucket policy evaluated, GetObject from S3).
- iam: one evaluation of a per-user policy with a policy variable and a condition.

These are this machine's times for the emulations, not AWS latencies: the charts take
AWS's network latencies from their published sources.
"""
from __future__ import annotations

import json
import statistics

from app.bench import summary, timed_ms

SAMPLES = 200


def _hits(samples: list[float]) -> dict:
    """A hit takes microseconds: its median is given in microseconds too."""
    return {**summary(samples), "median_us": round(statistics.median(samples) * 1000, 1)}


def _dax(session) -> dict:
    ddb = session.clients.client("dynamodb")
    table = session.name("bench-dax")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    ddb.put_item(TableName=table, Item={"id": {"S": "1"}, "title": {"S": "item"}})
    dax = session.dataplanes.dax(session.name("bench-cluster"))
    key = {"id": {"S": "1"}}
    dax.get_item(TableName=table, Key=key)
    hit = timed_ms(lambda: dax.get_item(TableName=table, Key=key), SAMPLES)
    miss = timed_ms(lambda: dax.get_item(TableName=table, Key=key, ConsistentRead=True), SAMPLES // 10)
    return {"hit": _hits(hit), "passthrough": summary(miss), "stats": dax.stats()}


def _api(session) -> dict:
    fn = session.lambdas.deploy("bench-echo", handler="app.bench.dataplanes.echo")
    ag = session.clients.client("apigateway")
    api = ag.create_rest_api(name=session.name("bench-api"))["id"]
    root = ag.get_resources(restApiId=api)["items"][0]["id"]
    res = ag.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    ag.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE")
    ag.put_integration(restApiId=api, resourceId=res, httpMethod="GET", type="AWS_PROXY", integrationHttpMethod="POST",
                       uri=f"arn:aws:apigateway:{session.region}:lambda:path/2015-03-31/functions/{fn.arn}/invocations")
    for stage in ("cached", "uncached"):
        ag.create_deployment(restApiId=api, stageName=stage)
    ag.update_stage(restApiId=api, stageName="cached", patchOperations=[
        {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"}])
    cached, uncached = session.dataplanes.rest_api(api, "cached"), session.dataplanes.rest_api(api, "uncached")
    cached.request("GET", "/items")
    uncached.request("GET", "/items")
    hit = timed_ms(lambda: cached.request("GET", "/items"), SAMPLES)
    miss = timed_ms(lambda: uncached.request("GET", "/items"), SAMPLES // 10)
    return {"stage_cache_hit": _hits(hit), "uncached_request": summary(miss), "stats": cached.cache.stats()}


def _cloudfront(session) -> dict:
    s3, cf = session.clients.client("s3"), session.clients.client("cloudfront")
    bucket = session.name("bench-site")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>bench</h1>", ContentType="text/html")
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": session.name("bench-dist"), "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": f"{bucket}.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})["Distribution"]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}}]}))
    edge = session.dataplanes.cloudfront(dist["Id"])
    edge.get("/index.html")
    hit = timed_ms(lambda: edge.get("/index.html"), SAMPLES)
    miss = timed_ms(lambda: edge.s3_origin_fetch(bucket, "index.html"), SAMPLES // 10)
    return {"edge_hit": _hits(hit), "origin_fetch": summary(miss), "stats": edge.stats()}


def _iam() -> dict:
    from app.runtime.dataplanes.iam import evaluate

    sub = "cognito-identity.amazonaws.com:sub"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::files",
         "Condition": {"StringLike": {"s3:prefix": [f"${{{sub}}}/*"]}}}]}
    ctx = {sub: "us-east-1:aaaa", "s3:prefix": "us-east-1:aaaa/"}
    return {"evaluate": _hits(timed_ms(lambda: evaluate([policy], "s3:ListBucket", "arn:aws:s3:::files", ctx),
                                       SAMPLES))}


def run() -> dict:
    from app.runtime.session import RuntimeSession

    with RuntimeSession.moto() as session:
        return {"dax": _dax(session), "api_gateway": _api(session), "cloudfront": _cloudfront(session),
                "iam": _iam()}


def echo(event, context):
    """The function behind the benchmark's API: answers with the path it was asked for."""
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"path": event["path"]})}
