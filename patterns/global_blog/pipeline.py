"""MyBlog.com, executed: static site, posts API, global tables, welcome email and thumbnails.

Deploy creates, in the run's own account: the static site bucket (behind a CloudFront
distribution with origin access control when ``cloudfront`` is on, otherwise a
public-read bucket), the blog table with its stream (a global table with a replica in
``replica_region`` when ``global_tables`` is on), the API, welcome-email and thumbnail
functions, a DAX cluster (``dax``), the REST API, the SES sender identity, the uploads
and thumbnails buckets with their event notifications, and an SNS topic or SQS queue
for the thumbnail fan-out (``fanout``).

Drive then plays the site's life: readers near us-east-1 and near the replica region
load the static pages; posts are published and read through the API; with global
tables the posts are replicated (lag measured) and the far readers are served by their
nearest replica; a new user signs up, the stream triggers the welcome email; an image
is uploaded with a pre-signed PUT URL called over HTTP, the S3 event triggers the
thumbnail function, and the thumbnail's own event fans out when asked.

Emulated where moto has no data plane: the REST API invocation, DAX, the CloudFront
edge, global-table replication and Lambda execution (in-process); the rest is moto.
"""
from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from app.runtime.pipeline import Check, Pipeline, RunContext
from patterns.global_blog.uploads import ImageUpload, sample_image

STAGE = "prod"
SENDER = "welcome@myblog.example"
SITE_NAME = "MyBlog.com"
THUMB_MAX_SIDE = 200
OPTIMIZED_CACHE_POLICY = "658327ea-f89d-4fab-a63d-7e88639e58f6"   # AWS managed CachingOptimized
NEW_USER = {"email": "maria.lopez@example.com", "name": "Maria Lopez"}
POSTS = (
    {"title": "Hello from MyBlog.com", "body": "The first post of the blog."},
    {"title": "Why global tables", "body": "Readers everywhere, writes anywhere."},
    {"title": "Caching at every layer", "body": "Edge, API and database caches compared."},
)

DIAGRAM_STEPS = {
    "Readers load the static site": ("static", "edge", "origin"),
    "Publish posts through the API": ("api", "lambda", "dax", "dynamodb"),
    "Read the posts again (DAX)": ("api", "lambda", "dax", "dynamodb"),
    "Replicate and read from the nearest replica": ("replication", "replica_api", "replica_lambda", "replica_read"),
    "Far readers call the API across regions": ("api", "lambda", "dynamodb"),
    "A new user signs up": ("api", "lambda", "dynamodb", "stream", "welcome", "ses"),
    "Upload an image through a pre-signed URL": ("api", "lambda", "upload", "s3_event", "thumbnail", "fanout"),
}


def highlight(result) -> set[str]:
    names: set[str] = set()
    for step in result.steps:
        if step.status == "ok":
            names.update(DIAGRAM_STEPS.get(step.name, ()))
    return names


SITE_FILES = {
    "index.html": ("text/html; charset=utf-8", "max-age=300",
                   b"<!doctype html><html><head><title>MyBlog.com</title><link rel=stylesheet href=/style.css>"
                   b"</head><body><h1>MyBlog.com</h1><div id=posts></div><script src=/app.js></script>"
                   b"</body></html>"),
    "style.css": ("text/css", "max-age=86400", b"body{font-family:sans-serif;max-width:40em;margin:auto}"),
    "app.js": ("application/javascript", "max-age=86400",
               b"fetch('/prod/posts').then(r=>r.json()).then(d=>{document.getElementById('posts').textContent="
               b"d.posts.map(p=>p.title).join(', ')});"),
}


def _logo() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    with Image.open(io.BytesIO(sample_image().data)) as img:
        small = img.copy()
    small.thumbnail((96, 96))
    small.save(buf, format="PNG")
    return buf.getvalue()


def _tags(ctx: RunContext) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in ctx.session.tags.items()]


def _http(method: str, url: str, data: bytes | None = None, headers: dict | None = None,
          timeout: float = 15) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def _api(ctx: RunContext, method: str, path: str, body: Any = None, *, replica: bool = False):
    api = ctx.state["replica_api"] if replica else ctx.state["api"]
    headers = {"Content-Type": "application/json"} if body is not None else {}
    return api.request(method, path, headers=headers, body=json.dumps(body) if body is not None else None)


def _dax_counts(ctx: RunContext) -> dict[str, int]:
    dax = ctx.state.get("dax")
    if dax is None:
        return {"hits": 0, "misses": 0}
    s = dax.stats()
    return {"hits": s["item_hits"] + s["query_hits"], "misses": s["item_misses"] + s["query_misses"]}


def build_pipeline(values: dict[str, Any], image: ImageUpload | None = None,
                   thumb_max_side: int = THUMB_MAX_SIDE) -> Pipeline:
    image = image or sample_image()
    replica_region = values["replica_region"]
    p = Pipeline("global-blog", live_unsupported=(
        "its CloudFront edge, DAX reads, API requests and global-table replication go through the embedded "
        "backend's emulations, which have no meaning against AWS"))

    # -- deploy ------------------------------------------------------------------------------------
    @p.deploy("Upload the static site to S3", service="s3")
    def site(ctx: RunContext) -> None:
        s3 = ctx.client("s3")
        bucket = ctx.name("site")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags(ctx)})
        files = dict(SITE_FILES)
        files["img/logo.png"] = ("image/png", "max-age=604800", _logo())
        for key, (content_type, cache_control, body) in files.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl=cache_control)
        ctx.state.update(site_bucket=bucket, site_files={k: v[2] for k, v in files.items()})

    if values["cloudfront"]:
        @p.deploy("Create the CloudFront distribution with origin access control", service="cloudfront")
        def distribution(ctx: RunContext) -> None:
            from app.runtime.dataplanes.wiring import DataPlanes

            cf = ctx.client("cloudfront")
            bucket = ctx.state["site_bucket"]
            oac = cf.create_origin_access_control(OriginAccessControlConfig={
                "Name": ctx.name("site-oac"), "Description": "MyBlog.com site bucket",
                "SigningProtocol": "sigv4", "SigningBehavior": "always",
                "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]
            dist = cf.create_distribution_with_tags(DistributionConfigWithTags={
                "DistributionConfig": {
                    "CallerReference": uuid.uuid4().hex, "Comment": "MyBlog.com static site", "Enabled": True,
                    "DefaultRootObject": "index.html",
                    "Origins": {"Quantity": 1, "Items": [{
                        "Id": "site", "DomainName": f"{bucket}.s3.{ctx.session.region}.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac["Id"]}]},
                    "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                             "CachePolicyId": OPTIMIZED_CACHE_POLICY}},
                "Tags": {"Items": _tags(ctx)}})["Distribution"]
            policy = {"Version": "2012-10-17", "Statement": [{
                "Sid": "AllowCloudFrontServicePrincipalReadOnly", "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}}]}
            ctx.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
            ctx.state.update(edge=DataPlanes(ctx.session).cloudfront(dist["Id"]), distribution=dist)
            ctx.artifact("site", {"served_by": "CloudFront", "domain": dist["DomainName"],
                                  "bucket": bucket, "bucket_policy": policy})
    else:
        @p.deploy("Allow public reads of the site bucket", service="s3")
        def public_site(ctx: RunContext) -> None:
            bucket = ctx.state["site_bucket"]
            policy = {"Version": "2012-10-17", "Statement": [{
                "Sid": "PublicReadForWebsite", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*"}]}
            s3 = ctx.client("s3")
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False})
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
            ctx.artifact("site", {"served_by": "S3 directly", "bucket": bucket, "bucket_policy": policy})

    @p.deploy("Create the blog table with its stream", service="dynamodb")
    def table(ctx: RunContext) -> None:
        name = ctx.name("blog")
        view = "NEW_AND_OLD_IMAGES" if values["global_tables"] else "NEW_IMAGE"
        ctx.client("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view}, Tags=_tags(ctx))
        ctx.state["table"] = name
        if values["global_tables"]:
            gt = ctx.session.streaming.global_table(name, [ctx.session.region, replica_region])
            gt.create()
            ctx.state["global_table"] = gt

    if values["dax"]:
        @p.deploy("Create the DAX cluster", service="dax")
        def dax_cluster(ctx: RunContext) -> None:
            from app.runtime.dataplanes.wiring import DataPlanes

            role = ctx.client("iam").create_role(
                RoleName=ctx.name("dax-access"), Tags=_tags(ctx),
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]}))["Role"]
            cluster = ctx.client("dax").create_cluster(
                ClusterName=ctx.name("blog")[:20].rstrip("-"), NodeType="dax.t3.small", ReplicationFactor=1,
                IamRoleArn=role["Arn"], Tags=_tags(ctx))["Cluster"]
            found = cluster.get("ClusterDiscoveryEndpoint") or {}
            endpoint = f"dax://{found.get('Address', cluster['ClusterName'])}:{found.get('Port', 8111)}"
            ctx.state.update(dax=DataPlanes(ctx.session).dax(cluster["ClusterName"], endpoint=endpoint),
                             dax_endpoint=endpoint)

    @p.deploy("Create the uploads and thumbnails buckets", service="s3")
    def buckets(ctx: RunContext) -> None:
        s3 = ctx.client("s3")
        uploads, thumbs = ctx.name("uploads"), ctx.name("thumbnails")
        for bucket in (uploads, thumbs):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags(ctx)})
        s3.put_bucket_cors(Bucket=uploads, CORSConfiguration={"CORSRules": [{
            "AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 3000}]})
        if values["transfer_acceleration"]:
            s3.put_bucket_accelerate_configuration(Bucket=uploads, AccelerateConfiguration={"Status": "Enabled"})
        ctx.state.update(uploads=uploads, thumbs=thumbs)

    @p.deploy("Deploy the functions", service="lambda")
    def functions(ctx: RunContext) -> None:
        env = {"TABLE_NAME": ctx.state["table"], "UPLOAD_BUCKET": ctx.state["uploads"], "UPLOAD_URL_TTL": "300"}
        if values["transfer_acceleration"]:
            env["USE_ACCELERATE"] = "1"
        if ctx.state.get("dax_endpoint"):
            env["DAX_ENDPOINT"] = ctx.state["dax_endpoint"]
        api_fn = ctx.lambdas.deploy("blog-api", handler="patterns.global_blog.handlers.api_handler", env=env,
                                    memory_mb=256, timeout_s=10, description="Posts, sign-up and upload URLs")
        ctx.lambdas.deploy("welcome", handler="patterns.global_blog.handlers.welcome_email",
                           env={"SENDER_EMAIL": SENDER, "SITE_NAME": SITE_NAME}, timeout_s=30,
                           description="Welcome email for each new user")
        ctx.lambdas.deploy("thumbnail", handler="patterns.global_blog.handlers.thumbnail", memory_mb=512,
                           timeout_s=60, description="Thumbnail for each uploaded image",
                           env={"OUTPUT_BUCKET": ctx.state["thumbs"], "THUMB_MAX_SIDE": str(thumb_max_side)})
        ctx.state["api_fn_arn"] = api_fn.arn
        if values["global_tables"]:
            from app.runtime.lambdas import Lambdas

            far = Lambdas(clients=ctx.session.use_region(replica_region), trace=ctx.trace,
                          name=lambda base: ctx.session.name(f"{replica_region}-{base}"), tags=ctx.session.tags)
            fn = far.deploy("blog-api", handler="patterns.global_blog.handlers.api_handler",
                            env={"TABLE_NAME": ctx.state["table"], "UPLOAD_BUCKET": ctx.state["uploads"]},
                            memory_mb=256, timeout_s=10, description="Posts API next to the replica")
            ctx.state.update(replica_lambdas=far, replica_fn_arn=fn.arn)

    def make_api(ctx: RunContext, region: str, fn_arn: str, invoke) -> tuple[str, Any]:
        from app.runtime.dataplanes.apigateway import RestApiInvoker

        apigw = ctx.client("apigateway", region)
        api_id = apigw.create_rest_api(name=ctx.name("blog-api"), tags=ctx.session.tags,
                                       endpointConfiguration={"types": ["REGIONAL"]})["id"]
        root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        uri = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
        posts = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="posts")["id"]
        one = apigw.create_resource(restApiId=api_id, parentId=posts, pathPart="{id}")["id"]
        routes = [(posts, ("GET", "POST")), (one, ("GET",))]
        if region == ctx.session.region:
            users = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="users")["id"]
            uploads = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="uploads")["id"]
            routes += [(users, ("POST",)), (uploads, ("POST",))]
        for resource_id, verbs in routes:
            for verb in verbs:
                apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb, authorizationType="NONE")
                apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, type="AWS_PROXY",
                                      integrationHttpMethod="POST", uri=uri)
        ctx.client("lambda", region).add_permission(
            FunctionName=fn_arn, StatementId="apigateway-invoke", Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{region}:{ctx.clients.account_id}:{api_id}/*/*/*")
        apigw.create_deployment(restApiId=api_id, stageName=STAGE)
        return api_id, RestApiInvoker(apigw, api_id, STAGE, invoke, trace=ctx.trace)

    @p.deploy("Create the REST API", service="apigateway")
    def rest_api(ctx: RunContext) -> None:
        lambdas = ctx.lambdas
        api_id, invoker = make_api(ctx, ctx.session.region, ctx.state["api_fn_arn"],
                                   lambda name, event: lambdas.invoke(name, event, source="apigateway"))
        ctx.state.update(api=invoker, api_id=api_id)
        if values["global_tables"]:
            far = ctx.state["replica_lambdas"]
            far_id, far_invoker = make_api(ctx, replica_region, ctx.state["replica_fn_arn"],
                                           lambda name, event: far.invoke(name, event, source="apigateway"))
            ctx.state.update(replica_api=far_invoker, replica_api_id=far_id)

    @p.deploy("Wire the stream to the welcome function and verify the sender", service="ses")
    def welcome_wiring(ctx: RunContext) -> None:
        ctx.client("ses").verify_email_identity(EmailAddress=SENDER)
        ctx.routing.stream_to_lambda(ctx.state["table"], "welcome", batch_size=10, starting_position="LATEST")

    @p.deploy("Wire the uploads bucket to the thumbnail function", service="s3")
    def thumbnail_wiring(ctx: RunContext) -> None:
        ctx.routing.s3_to_lambda(ctx.state["uploads"], "thumbnail", prefix="uploads/")
        fanout = values["fanout"]
        if fanout == "sns":
            sns, sqs = ctx.client("sns"), ctx.client("sqs")
            topic = sns.create_topic(Name=ctx.name("thumbnail-ready"), Tags=_tags(ctx))["TopicArn"]
            # A subscriber to read what the topic delivers (in the app: a mobile push, an indexer, ...).
            url = sqs.create_queue(QueueName=ctx.name("thumbnail-subscriber"), tags=ctx.session.tags)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            ctx.routing.sns_to_sqs(topic, arn)
            ctx.routing.s3_to_sns(ctx.state["thumbs"], topic, prefix="thumbnails/")
            ctx.state.update(topic_arn=topic, fanout_queue=url)
        elif fanout == "sqs":
            sqs = ctx.client("sqs")
            url = sqs.create_queue(QueueName=ctx.name("thumbnail-work"), tags=ctx.session.tags)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            ctx.routing.s3_to_sqs(ctx.state["thumbs"], arn, prefix="thumbnails/")
            ctx.state.update(fanout_queue=url)

    # -- drive -------------------------------------------------------------------------------------
    @p.drive("Readers load the static site", service="cloudfront" if values["cloudfront"] else "s3")
    def readers(ctx: RunContext) -> None:
        paths = ["/", "/style.css", "/app.js", "/img/logo.png"]
        fetched: list[dict] = []
        if values["cloudfront"]:
            edge = ctx.state["edge"]
            for region in (ctx.session.region, replica_region):
                for _ in range(2):
                    for path in paths:
                        r = edge.get(path, viewer_region=region)
                        fetched.append({"reader": region, "path": path, "status": r.status, "bytes": len(r.body),
                                        "edge": r.edge, "cache": r.cache, "origin_fetch": r.origin_fetched})
            ctx.state["edge_stats"] = edge.stats()
        else:
            from app.runtime.dataplanes.iam import evaluate

            endpoint = ctx.clients.endpoint_url
            bucket = ctx.state["site_bucket"]
            policy = json.loads(ctx.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
            # An anonymous GET: AWS finds the bucket by its name. moto keeps buckets per account and refuses
            # unsigned cross-account reads, so the request names the owner's account in moto's header, and the
            # bucket policy is evaluated for the anonymous caller (moto does not enforce bucket policies).
            headers = {"x-moto-account-id": ctx.clients.account_id} if endpoint else {}
            for region in (ctx.session.region, replica_region):
                for path in paths:
                    key = "index.html" if path == "/" else path.lstrip("/")
                    url = (f"{endpoint}/{bucket}/{key}" if endpoint
                           else f"https://{bucket}.s3.{ctx.session.region}.amazonaws.com/{key}")
                    with ctx.trace.span("s3", "GET (anonymous HTTP)", f"{bucket}/{key}",
                                        detail={"reader": region}) as span:
                        decision = evaluate([policy], "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}",
                                            caller={"AWS": "*"})
                        span.detail["bucket_policy"] = decision.reason
                        if decision:
                            status, body, _ = _http("GET", url, headers=headers)
                        else:
                            status, body = 403, b"<Error><Code>AccessDenied</Code></Error>"
                            span.status = "denied"
                        span.payload_bytes = len(body)
                        span.detail["status_code"] = status
                    fetched.append({"reader": region, "path": path, "status": status, "bytes": len(body),
                                    "served_from": f"S3 {ctx.session.region}", "bucket_policy": decision.reason,
                                    "body_ok": body == ctx.state["site_files"][key]})
        ctx.state["site_fetches"] = fetched
        ctx.artifact("site_fetches", fetched)

    @p.drive("Publish posts through the API", service="apigateway")
    def publish(ctx: RunContext) -> None:
        made = []
        for post in POSTS:
            r = _api(ctx, "POST", "/posts", post)
            made.append({"status": r.status, **(r.json() if r.status == 201 else {"error": r.body})})
        ctx.state["posts"] = made

    @p.drive("Read the posts again (DAX)", service="dax" if values["dax"] else "dynamodb")
    def reads(ctx: RunContext) -> None:
        post_id = ctx.state["posts"][0]["post_id"]
        log = []
        for i in range(3):
            before = _dax_counts(ctx)
            r = _api(ctx, "GET", f"/posts/{post_id}")
            after = _dax_counts(ctx)
            log.append({"read": f"GET /posts/{post_id} #{i + 1}", "status": r.status,
                        "dax": ("hit" if after["hits"] > before["hits"] else "miss") if values["dax"] else "not used",
                        "served_from": r.headers.get("X-Served-From-Region")})
        before = _dax_counts(ctx)
        listed = _api(ctx, "GET", "/posts")
        after = _dax_counts(ctx)
        log.append({"read": "GET /posts", "status": listed.status,
                    "dax": ("hit" if after["hits"] > before["hits"] else "miss") if values["dax"] else "not used",
                    "served_from": listed.headers.get("X-Served-From-Region")})
        ctx.state.update(post_reads=log, listed=listed.json())
        ctx.artifact("post_reads", log)

    if values["global_tables"]:
        @p.drive("Replicate and read from the nearest replica", service="dynamodb")
        def replicate(ctx: RunContext) -> None:
            gt = ctx.state["global_table"]
            ddb_far = ctx.client("dynamodb", replica_region)
            wanted = [p_["post_id"] for p_ in ctx.state["posts"]]
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                gt.pump()
                present = [pid for pid in wanted if "Item" in ddb_far.get_item(
                    TableName=ctx.state["table"], Key={"pk": {"S": "POST"}, "sk": {"S": pid}}, ConsistentRead=True)]
                if len(present) == len(wanted):
                    break
            far_reads = []
            for pid in wanted[:2]:
                r = _api(ctx, "GET", f"/posts/{pid}", replica=True)
                far_reads.append({"reader": replica_region, "request": f"GET /posts/{pid}", "status": r.status,
                                  "served_from": r.headers.get("X-Served-From-Region")})
            # Active-active: a post written next to the far readers reaches us-east-1 too.
            far_post = _api(ctx, "POST", "/posts", {"title": f"Written in {replica_region}",
                                                    "body": "Replicated back home."}, replica=True).json()
            home = ctx.client("dynamodb")
            deadline = time.perf_counter() + 10
            back = False
            while time.perf_counter() < deadline and not back:
                gt.pump()
                back = "Item" in home.get_item(TableName=ctx.state["table"], ConsistentRead=True,
                                               Key={"pk": {"S": "POST"}, "sk": {"S": far_post["post_id"]}})
            ctx.state.update(replicated=present, far_reads=far_reads, far_post=far_post, far_post_home=back,
                             lag=gt.lag_summary(), lag_samples=list(gt.lag_samples))
            ctx.artifact("replication", {"regions": [ctx.session.region, replica_region], "lag": gt.lag_summary(),
                                         "samples": gt.lag_samples[:10], "far_reads": far_reads,
                                         "written_in_replica": far_post.get("post_id"),
                                         "seen_in_home": back})
    else:
        @p.drive("Far readers call the API across regions", service="apigateway")
        def far_readers(ctx: RunContext) -> None:
            far_reads = []
            for post in ctx.state["posts"][:2]:
                r = _api(ctx, "GET", f"/posts/{post['post_id']}")
                far_reads.append({"reader": replica_region, "request": f"GET /posts/{post['post_id']}",
                                  "status": r.status, "served_from": r.headers.get("X-Served-From-Region")})
            ctx.state["far_reads"] = far_reads
            ctx.artifact("replication", {"regions": [ctx.session.region], "far_reads": far_reads,
                                         "note": f"global tables off: readers near {replica_region} are served "
                                                 f"by {ctx.session.region}"})

    @p.drive("A new user signs up", service="apigateway")
    def sign_up(ctx: RunContext) -> None:
        r = _api(ctx, "POST", "/users", NEW_USER)
        ctx.routing.drain()   # the stream's poller hands the INSERT to the welcome function
        ctx.state["new_user"] = {"status": r.status, **(r.json() if r.status == 201 else {"error": r.body})}

    @p.drive("Upload an image through a pre-signed URL", service="s3")
    def upload(ctx: RunContext) -> None:
        grant_response = _api(ctx, "POST", "/uploads", {"filename": image.name, "content_type": image.content_type})
        grant = grant_response.json()
        accelerate = None
        if values["transfer_acceleration"]:
            status = ctx.client("s3").get_bucket_accelerate_configuration(Bucket=ctx.state["uploads"]).get("Status")
            accelerate = {"bucket_setting": status, "url_accelerated": grant.get("accelerated", False),
                          "endpoint": "s3-accelerate" if grant.get("accelerated") else
                          "regular S3 endpoint (the embedded backend has no s3-accelerate endpoint)"}
        with ctx.trace.span("s3", "PUT (pre-signed URL over HTTP)", f"{grant['bucket']}/{grant['key']}",
                            payload_bytes=image.size_bytes) as span:
            status, body, _ = _http("PUT", grant["url"], data=image.data,
                                    headers={"Content-Type": image.content_type})
            span.detail.update(status_code=status, url_host=grant["url"].split("/")[2])
            if accelerate is not None:
                span.detail["transfer_acceleration"] = accelerate
                span.detail["accelerated"] = bool(grant.get("accelerated"))
            if status != 200:
                span.status = "error"
        ctx.routing.drain()   # S3 -> thumbnail function -> thumbnails bucket -> fan-out
        ctx.state.update(grant=grant, put_status=status, put_body=body[:300], accelerate=accelerate)
        ctx.artifact("upload", {"request": f"PUT {grant['url'].split('?')[0]}", "status": status,
                                "bytes": image.size_bytes, "content_type": image.content_type,
                                "url_expires_in_s": grant.get("expires_in"),
                                "transfer_acceleration": accelerate or "off"})

    # -- verify ------------------------------------------------------------------------------------
    @p.verify("Static site served", service="s3")
    def v_site(ctx: RunContext):
        fetched = ctx.state["site_fetches"]
        if values["cloudfront"]:
            stats = ctx.state["edge_stats"]
            edges = stats["edges"]
            first = [f for f in fetched[:4]]
            checks = [
                Check("pages served through CloudFront edge locations",
                      all(f["status"] == 200 for f in fetched) and len(edges) == len({f["edge"] for f in fetched}),
                      ", ".join(f"{code}: {e['hits']} hits / {e['misses']} misses" for code, e in edges.items())
                      + f"; origin fetches {stats['origin_fetches']}"),
                Check("each edge fetches an object from the origin once, then serves it from its cache",
                      stats["origin_fetches"] == sum(e["misses"] for e in edges.values())
                      and all(e["hits"] == e["misses"] for e in edges.values())
                      and all(f["cache"] == "miss" for f in first),
                      f"{sum(e['hits'] for e in edges.values())} hits, {stats['origin_fetches']} origin fetches "
                      f"for {len(fetched)} requests"),
            ]
            s3 = ctx.client("s3")
            policy = json.loads(s3.get_bucket_policy(Bucket=ctx.state["site_bucket"])["Policy"])
            checks.append(Check("the bucket admits only this distribution (origin access control)",
                                policy["Statement"][0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
                                and policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"]
                                == ctx.state["distribution"]["ARN"],
                                "bucket policy read back: s3:GetObject for cloudfront.amazonaws.com "
                                "when AWS:SourceArn is the distribution"))
            return checks
        return Check("pages served straight from S3", all(f["status"] == 200 and f["body_ok"] for f in fetched),
                     f"{len(fetched)} anonymous HTTP GETs to the {ctx.session.region} bucket, every reader region "
                     "served from there; bytes equal to what was uploaded")

    @p.verify("Posts stored and listed newest first", service="dynamodb")
    def v_posts(ctx: RunContext):
        ddb = ctx.client("dynamodb")
        items = ddb.query(TableName=ctx.state["table"], KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": "POST"}}, ConsistentRead=True)["Items"]
        stored = {i["sk"]["S"]: i["title"]["S"] for i in items}
        made = ctx.state["posts"]
        listed = [p_["post_id"] for p_ in ctx.state["listed"]["posts"]]
        ctx.artifact("dynamodb_items", [{k: list(v.values())[0] for k, v in i.items()
                                         if not k.startswith("aws:rep")} for i in items])
        return [
            Check("posts written through the API are in the table",
                  all(m["status"] == 201 and stored.get(m["post_id"]) == m["title"] for m in made),
                  f"{len(made)} posts created (201), {len(stored)} read back with a consistent Query"),
            Check("the API lists posts newest first", listed[:len(made)] == sorted(listed[:len(made)], reverse=True)
                  and set(m["post_id"] for m in made) <= set(listed), f"GET /posts returned {len(listed)} posts"),
        ]

    @p.verify("DAX behaviour", service="dax")
    def v_dax(ctx: RunContext):
        log = ctx.state["post_reads"]
        gets = [r for r in log if r["read"].startswith("GET /posts/")]
        if values["dax"]:
            stats = ctx.state["dax"].stats()
            # The post was written through DAX (write-through), so even the first read is a hit.
            return Check("DAX answers repeated post reads from its item cache",
                         all(r["dax"] == "hit" for r in gets),
                         ", ".join(f"{r['read']}: {r['dax']}" for r in gets)
                         + f"; cluster counters: {stats['item_hits']} item hits, {stats['item_misses']} misses, "
                           f"{stats['writes']} write-through writes")
        dax_spans = [s for s in ctx.trace.spans if s.service == "dax"]
        return Check("without DAX the function reads DynamoDB directly", not dax_spans and
                     all(r["status"] == 200 for r in log), f"{len(log)} reads, {len(dax_spans)} DAX calls")

    @p.verify("Readers far away", service="dynamodb")
    def v_far(ctx: RunContext):
        far = ctx.state["far_reads"]
        if values["global_tables"]:
            lag = ctx.state["lag"]
            ddb_far = ctx.client("dynamodb", replica_region)
            desc = ddb_far.describe_table(TableName=ctx.state["table"])["Table"]
            return [
                Check(f"posts replicated to {replica_region}",
                      len(ctx.state["replicated"]) == len(ctx.state["posts"]) and desc["TableStatus"] == "ACTIVE",
                      f"{len(ctx.state['replicated'])}/{len(ctx.state['posts'])} posts read back from the replica "
                      f"table with consistent reads"),
                Check("replication lag measured", lag.get("n", 0) > 0,
                      f"{lag.get('n')} samples, median {lag.get('median_ms')} ms, max {lag.get('max_ms')} ms "
                      "(executed here: stream poll and replicated write)"),
                Check("far readers are served by their nearest replica",
                      all(r["status"] == 200 and r["served_from"] == replica_region for r in far),
                      ", ".join(f"{r['request']}: {r['status']} from {r['served_from']}" for r in far)),
                Check("a write in the replica region reaches us-east-1 (active-active)", ctx.state["far_post_home"],
                      f"post {ctx.state['far_post'].get('post_id')} written in {replica_region}, "
                      f"read back in {ctx.session.region}: {ctx.state['far_post_home']}"),
            ]
        ddb_far = ctx.client("dynamodb", replica_region)
        try:
            ddb_far.describe_table(TableName=ctx.state["table"])
            absent = False
        except ddb_far.exceptions.ResourceNotFoundException:
            absent = True
        return Check(f"one region serves everyone: readers near {replica_region} reach {ctx.session.region}",
                     absent and all(r["status"] == 200 and r["served_from"] == ctx.session.region for r in far),
                     f"no table in {replica_region}; " + ", ".join(f"{r['request']}: from {r['served_from']}"
                                                                  for r in far))

    @p.verify("Welcome email sent", service="ses")
    def v_email(ctx: RunContext):
        user = ctx.state["new_user"]
        sent = _sent_emails(ctx)
        ours = [m for m in sent if NEW_USER["email"] in m["to"]]
        email = ours[-1] if ours else None
        ctx.artifact("email", email or {"missing": True})
        return [
            Check("the sign-up wrote the user item", user["status"] == 201 and "user_id" in user,
                  f"POST /users answered {user['status']}"),
            Check("the stream triggered the welcome email, naming the new user",
                  email is not None and NEW_USER["name"] in email["subject"] + email["body"]
                  and email["source"] == SENDER,
                  f"read back from SES: to {email['to']}, from {email['source']}, subject {email['subject']!r}"
                  if email else f"SES holds {len(sent)} messages, none to {NEW_USER['email']}"),
        ]

    @p.verify("Thumbnail made", service="s3")
    def v_thumbnail(ctx: RunContext):
        from PIL import Image

        grant = ctx.state["grant"]
        s3 = ctx.client("s3")
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=ctx.state["thumbs"]).get("Contents", [])]
        uploads = [o["Key"] for o in s3.list_objects_v2(Bucket=ctx.state["uploads"]).get("Contents", [])]
        ctx.artifact("s3_listing", {ctx.state["uploads"]: uploads, ctx.state["thumbs"]: listed})
        checks = [Check("the pre-signed PUT over HTTP stored the image",
                        ctx.state["put_status"] == 200 and grant["key"] in uploads
                        and s3.get_object(Bucket=grant["bucket"], Key=grant["key"])["Body"].read() == image.data,
                        f"HTTP PUT answered {ctx.state['put_status']}; {image.size_bytes} bytes read back")]
        if not listed:
            checks.append(Check("the S3 event produced a thumbnail", False, "the thumbnails bucket is empty"))
            return checks
        data = s3.get_object(Bucket=ctx.state["thumbs"], Key=listed[0])["Body"].read()
        with Image.open(io.BytesIO(data)) as thumb:
            size = thumb.size
        expected = _expected_size(image.width, image.height, thumb_max_side)
        ctx.artifact("thumbnail", {"original": {"name": image.name, "width": image.width, "height": image.height,
                                                "bytes": image.size_bytes, "data": image.data},
                                   "thumbnail": {"bucket": ctx.state["thumbs"], "key": listed[0], "width": size[0],
                                                 "height": size[1], "bytes": len(data), "data": data}})
        checks.append(Check(f"thumbnail's longest side is {thumb_max_side} px, aspect kept",
                            size == expected and len(data) < image.size_bytes,
                            f"{image.width}x{image.height} -> {size[0]}x{size[1]} (expected {expected[0]}x"
                            f"{expected[1]}), {image.size_bytes} -> {len(data)} bytes"))
        if values["fanout"] != "none":
            message = _fanout_message(ctx)
            ctx.artifact("fanout_message", message or {"missing": True})
            checks.append(Check(f"the thumbnail's S3 event reached {values['fanout'].upper()}",
                                message is not None and listed[0] in json.dumps(message),
                                f"message read back from the queue names {listed[0]}" if message
                                else "no message arrived"))
        if values["transfer_acceleration"]:
            acc = ctx.state["accelerate"]
            checks.append(Check("Transfer Acceleration is on for the uploads bucket",
                                acc["bucket_setting"] == "Enabled",
                                f"bucket accelerate configuration read back: {acc['bucket_setting']}; "
                                f"upload went to the {acc['endpoint']}"))
        return checks

    return p


def _expected_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """What Pillow's thumbnail() makes: longest side max_side (never enlarged), aspect kept."""
    from PIL import Image

    img = Image.new("L", (width, height))
    img.thumbnail((max_side, max_side))
    return img.size


def _sent_emails(ctx: RunContext) -> list[dict]:
    """The emails the backend's SES accepted for this run's account."""
    if ctx.backend == "moto":
        from moto.ses.models import ses_backends

        backend = ses_backends[ctx.clients.account_id][ctx.session.region]
        out = []
        for m in backend.sent_messages:
            dest = getattr(m, "destinations", {}) or {}
            out.append({"message_id": m.id, "source": m.source, "subject": getattr(m, "subject", ""),
                        "body": getattr(m, "body", ""), "to": list(dest.get("ToAddresses", []))})
        return out
    # Live SES keeps no copy of sent mail: show what the function reported sending.
    logs = ctx.lambdas.read_logs("welcome")
    return [{"message_id": "", "source": SENDER, "subject": "", "body": logs, "to": []}]


def _fanout_message(ctx: RunContext) -> dict | None:
    sqs = ctx.client("sqs")
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=ctx.state["fanout_queue"], MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for m in got.get("Messages", []):
            body = json.loads(m["Body"])
            if body.get("Type") == "Notification":       # SNS envelope around the S3 event
                inner = json.loads(body["Message"])
                if inner.get("Event") == "s3:TestEvent":
                    continue
                return {"via": "SNS -> SQS subscription", "sns_envelope": {k: body[k] for k in
                                                                           ("Type", "TopicArn", "Subject", "MessageId")
                                                                           if k in body}, "s3_event": inner}
            if body.get("Event") == "s3:TestEvent":
                continue
            return {"via": "SQS", "s3_event": body}
    return None
