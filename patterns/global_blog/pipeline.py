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
The checks are in :mod:`patterns.global_blog.checks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app.core import facts
from app.core.uploads import Upload
from app.runtime.infra import Dax, Distribution, Queue, RestApi, Route
from app.runtime.pipeline import Pipeline, RunContext
from patterns.global_blog import checks
from patterns.global_blog.handlers import make_thumbnail
from patterns.global_blog.uploads import EXTENSIONS, MAX_UPLOAD_BYTES, ImageUpload, sample_image, validate_image

SENDER = "welcome@myblog.example"
SITE_NAME = "MyBlog.com"
THUMB_MAX_SIDE = 200
NEW_USER = {"email": "maria.lopez@example.com", "name": "Maria Lopez"}
POSTS = (
    {"title": "Hello from MyBlog.com", "body": "The first post of the blog."},
    {"title": "Why global tables", "body": "Readers everywhere, writes anywhere."},
    {"title": "Caching at every layer", "body": "Edge, API and database caches compared."},
)
SITE_PATHS = ("/", "/style.css", "/app.js", "/img/logo.png")
API_PATH = ("api", "lambda", "dax", "dynamodb")
HOME_READERS = "Readers near us-east-1 read the posts, failing over to the replica"     # the diagram edges of a posts request
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


@dataclass(frozen=True)
class Options:
    """The run's options (``build_pipeline``'s keyword arguments), read by the steps from the state."""

    image: ImageUpload = field(default_factory=sample_image)     # the image uploaded for its thumbnail
    thumb_max_side: int = THUMB_MAX_SIDE


@dataclass
class State:
    """What the steps of a MyBlog.com run share."""

    options: Options = field(default_factory=Options)

    site_bucket: str = ""
    site_files: dict[str, bytes] = field(default_factory=dict)
    distribution: Distribution | None = None
    table: str = ""
    global_table: Any = None
    dax: Dax | None = None
    uploads: str = ""
    thumbs: str = ""
    replica_lambdas: Any = None
    api: RestApi | None = None
    replica_api: RestApi | None = None
    fanout_queue: Queue | None = None
    site_fetches: list[dict] = field(default_factory=list)
    edge_stats: dict = field(default_factory=dict)
    posts: list[dict] = field(default_factory=list)
    post_reads: list[dict] = field(default_factory=list)
    listed: dict = field(default_factory=dict)
    replication: dict[str, Any] = field(default_factory=dict)
    far_reads: list[dict] = field(default_factory=list)
    home_readers: dict[str, Any] = field(default_factory=dict)
    new_user: dict = field(default_factory=dict)
    upload: dict[str, Any] = field(default_factory=dict)


def post_key(post_id: str) -> dict:
    """The blog table's key of a post."""
    return {"pk": {"S": "POST"}, "sk": {"S": post_id}}


def upload_options(data: bytes, name: str) -> dict[str, Any]:
    """The run options for a file the user gives (the Run page's upload, ``run --upload PATH``):
    the image is checked first, and UploadRejected says why it cannot be used."""
    return {"image": validate_image(data, name)}


UPLOAD = Upload("an image for the thumbnail", tuple(e for exts in EXTENSIONS.values() for e in exts),
                MAX_UPLOAD_BYTES, upload_options)


def created(posts: list[dict]) -> list[dict]:
    """The posts the API created (a failed POST has no post id)."""
    return [post for post in posts if post.get("post_id")]


# -- deploy ----------------------------------------------------------------------------------------
def site(ctx: RunContext[State]) -> None:
    logo = make_thumbnail(sample_image().data, 96)[0]       # the sample image, 96 px
    files = {**SITE_FILES, "img/logo.png": ("image/png", "max-age=604800", logo)}
    ctx.state.site_bucket = ctx.infra.bucket("site", files=files)
    ctx.state.site_files = {k: v[2] for k, v in files.items()}


def distribution(ctx: RunContext[State]) -> None:
    dist = ctx.state.distribution = ctx.infra.cloudfront(ctx.state.site_bucket, comment="MyBlog.com static site",
                                                         default_root="index.html")
    ctx.artifact("site", {"served_by": "CloudFront", "domain": dist.domain, "bucket": dist.bucket,
                          "bucket_policy": dist.bucket_policy})


def public_site(ctx: RunContext[State]) -> None:
    policy = ctx.infra.allow_public_read(ctx.state.site_bucket)
    ctx.artifact("site", {"served_by": "S3 directly", "bucket": ctx.state.site_bucket,
                          "bucket_policy": policy})


def table(ctx: RunContext[State]) -> None:
    replica_region = ctx.values["replica_region"]
    view = "NEW_AND_OLD_IMAGES" if ctx.values["global_tables"] else "NEW_IMAGE"
    ctx.state.table = ctx.infra.table("blog", "pk", "sk", stream=view)
    if ctx.values["global_tables"]:
        ctx.state.global_table = ctx.infra.global_table(ctx.state.table, [ctx.session.region, replica_region])


def dax_cluster(ctx: RunContext[State]) -> None:
    ctx.state.dax = ctx.infra.dax("blog")


def buckets(ctx: RunContext[State]) -> None:
    ctx.state.uploads = ctx.infra.bucket("uploads", cors_put=True, accelerate=ctx.values["transfer_acceleration"])
    ctx.state.thumbs = ctx.infra.bucket("thumbnails")


def functions(ctx: RunContext[State]) -> None:
    replica_region = ctx.values["replica_region"]
    thumb_max_side = ctx.state.options.thumb_max_side
    env = {"TABLE_NAME": ctx.state.table, "UPLOAD_BUCKET": ctx.state.uploads, "UPLOAD_URL_TTL": "300"}
    if ctx.values["transfer_acceleration"]:
        env["USE_ACCELERATE"] = "1"
    if ctx.state.dax:
        env["DAX_ENDPOINT"] = ctx.state.dax.endpoint
    ctx.lambdas.deploy("blog-api", handler="patterns.global_blog.handlers.api_handler", env=env,
                       memory_mb=256, timeout_s=10, description="Posts, sign-up and upload URLs")
    ctx.lambdas.deploy("welcome", handler="patterns.global_blog.handlers.welcome_email",
                       env={"SENDER_EMAIL": SENDER, "SITE_NAME": SITE_NAME, "TABLE_NAME": ctx.state.table},
                       timeout_s=30,
                       description="Welcome email for each new user")
    # An S3 event that fails every attempt is kept in the function's dead-letter queue, not dropped.
    ctx.lambdas.deploy("thumbnail", handler="patterns.global_blog.handlers.thumbnail", memory_mb=512,
                       timeout_s=60, description="Thumbnail for each uploaded image",
                       dead_letter_arn=ctx.infra.queue("thumbnail-dlq").arn,
                       env={"OUTPUT_BUCKET": ctx.state.thumbs, "THUMB_MAX_SIDE": str(thumb_max_side)})
    if ctx.values["global_tables"]:
        far = ctx.state.replica_lambdas = ctx.session.lambdas_in(replica_region)
        far.deploy("blog-api", handler="patterns.global_blog.handlers.api_handler",
                   env={"TABLE_NAME": ctx.state.table, "UPLOAD_BUCKET": ctx.state.uploads},
                   memory_mb=256, timeout_s=10, description="Posts API next to the replica")


def rest_api(ctx: RunContext[State]) -> None:
    replica_region = ctx.values["replica_region"]
    def posts_routes(fn: str) -> list[Route]:
        return [Route("GET", "/posts", fn), Route("POST", "/posts", fn), Route("GET", "/posts/{id}", fn)]

    fn = ctx.lambdas.get("blog-api").arn
    ctx.state.api = ctx.infra.rest_api("blog-api", posts_routes(fn) + [Route("POST", "/users", fn),
                                                                       Route("POST", "/uploads", fn)])
    if ctx.values["global_tables"]:
        far = ctx.state.replica_lambdas
        ctx.state.replica_api = ctx.infra.rest_api("blog-api", posts_routes(far.get("blog-api").arn),
                                                   region=replica_region, lambdas=far)


def welcome_wiring(ctx: RunContext[State]) -> None:
    ctx.client("ses").verify_email_identity(EmailAddress=SENDER)
    # A batch that still fails after its retries is described to the on-failure queue (and the shard
    # moves on) instead of blocking the stream until its records expire.
    failures = ctx.infra.queue("welcome-failures")
    ctx.routing.stream_to_lambda(ctx.state.table, "welcome", batch_size=10, starting_position="LATEST",
                                 max_retry_attempts=facts.DDB_STREAM_RETRIES.value["used"],
                                 on_failure_arn=failures.arn)


def thumbnail_wiring(ctx: RunContext[State]) -> None:
    ctx.routing.s3_to_lambda(ctx.state.uploads, "thumbnail", prefix="uploads/")
    if ctx.values["fanout"] != "none":     # with SNS, the queue stands for a subscriber (a mobile push, an indexer)
        queue = "thumbnail-subscriber" if ctx.values["fanout"] == "sns" else "thumbnail-work"
        ctx.state.fanout_queue = ctx.infra.bucket_fanout(ctx.state.thumbs, ctx.values["fanout"], queue,
                                                         topic="thumbnail-ready", prefix="thumbnails/")


# -- drive -----------------------------------------------------------------------------------------
def readers(ctx: RunContext[State]) -> None:
    replica_region = ctx.values["replica_region"]
    fetched = ctx.state.site_fetches
    regions = (ctx.session.region, replica_region)
    if ctx.values["cloudfront"]:
        fetched += ctx.state.distribution.visit(SITE_PATHS, regions, rounds=2)
        ctx.state.edge_stats = ctx.state.distribution.stats()
    else:
        for region in regions:
            for path in SITE_PATHS:
                key = "index.html" if path == "/" else path.lstrip("/")
                status, body, decision = ctx.planes.anonymous_s3_get(ctx.state.site_bucket, key,
                                                                     detail={"reader": region})
                fetched.append({"reader": region, "path": path, "status": status, "bytes": len(body),
                                "served_from": f"S3 {ctx.session.region}", "bucket_policy": decision.reason,
                                "body_ok": body == ctx.state.site_files[key]})
    ctx.artifact("site_fetches", fetched)


def publish(ctx: RunContext[State]) -> None:
    for post in POSTS:
        r = ctx.state.api.request("POST", "/posts", body=post)
        ctx.state.posts.append({"status": r.status, **(r.json() if r.status == 201 else {"error": r.body})})


def reads(ctx: RunContext[State]) -> None:
    made, log = created(ctx.state.posts), ctx.state.post_reads
    # The first post is read three times (none when no post was created: the listing only).
    repeated = [(f"GET /posts/{made[0]['post_id']} #{i + 1}", f"/posts/{made[0]['post_id']}")
                for i in range(3)] if made else []
    for label, path in repeated + [("GET /posts", "/posts")]:
        r, dax = ctx.state.dax.answered(lambda: ctx.state.api.request("GET", path)) if ctx.state.dax else \
            (ctx.state.api.request("GET", path), "not used")
        log.append({"read": label, "status": r.status, "dax": dax,
                    "served_from": r.headers.get("X-Served-From-Region")})
    ctx.state.listed = r.json() if r.status == 200 else {"posts": [], "status": r.status}
    ctx.artifact("post_reads", log)


def far_read(ctx: RunContext[State], api: RestApi, post_id: str) -> dict:
    replica_region = ctx.values["replica_region"]
    r = api.request("GET", f"/posts/{post_id}")
    return {"reader": replica_region, "request": f"GET /posts/{post_id}", "status": r.status,
            "served_from": r.headers.get("X-Served-From-Region")}


def replicate(ctx: RunContext[State]) -> None:
    replica_region = ctx.values["replica_region"]
    gt, wanted = ctx.state.global_table, [post["post_id"] for post in created(ctx.state.posts)]
    replicated = [key["sk"]["S"] for key in gt.wait_for_items(replica_region, [post_key(p) for p in wanted])]
    far_reads = ctx.state.far_reads = [far_read(ctx, ctx.state.replica_api, pid) for pid in wanted[:2]]
    # Active-active: a post written next to the far readers reaches us-east-1 too.
    answer = ctx.state.replica_api.request("POST", "/posts", body={
        "title": f"Written in {replica_region}", "body": "Replicated back home."})
    far_post = answer.json() if answer.status == 201 else {"status": answer.status, "error": answer.body}
    back = bool(far_post.get("post_id")) and gt.wait_for_item(ctx.session.region,
                                                              post_key(far_post["post_id"]))
    ctx.state.replication = {"replicated": replicated, "far_post": far_post, "far_post_home": back,
                             "lag": gt.lag_summary()}
    ctx.artifact("replication", {"regions": [ctx.session.region, replica_region], "lag": gt.lag_summary(),
                                 "samples": gt.lag_samples[:10], "far_reads": far_reads,
                                 "written_in_replica": far_post.get("post_id"), "seen_in_home": back})


def far_readers(ctx: RunContext[State]) -> None:
    replica_region = ctx.values["replica_region"]
    far_reads = ctx.state.far_reads = [far_read(ctx, ctx.state.api, post["post_id"])
                                       for post in created(ctx.state.posts)[:2]]
    ctx.artifact("replication", {"regions": [ctx.session.region], "far_reads": far_reads,
                                 "note": f"global tables off: readers near {replica_region} are served "
                                         f"by {ctx.session.region}"})


def sign_up(ctx: RunContext[State]) -> None:
    r = ctx.state.api.request("POST", "/users", body=NEW_USER)
    ctx.routing.drain()   # the stream's poller hands the INSERT to the welcome function
    ctx.state.new_user = {"status": r.status, **(r.json() if r.status == 201 else {"error": r.body})}


def upload(ctx: RunContext[State]) -> None:
    image = ctx.state.options.image
    grant = ctx.state.api.request("POST", "/uploads", body={"filename": image.name,
                                                            "content_type": image.content_type}).json()
    accelerate = None
    if ctx.values["transfer_acceleration"]:
        status = ctx.client("s3").get_bucket_accelerate_configuration(Bucket=ctx.state.uploads).get("Status")
        accelerate = {"bucket_setting": status, "url_accelerated": grant.get("accelerated", False),
                      "endpoint": "s3-accelerate" if grant.get("accelerated") else
                      "regular S3 endpoint (the embedded backend has no s3-accelerate endpoint)"}
    status, body = ctx.planes.presigned_upload(
        grant["url"], image.data, image.content_type, resource=f"{grant['bucket']}/{grant['key']}",
        detail=None if accelerate is None else {"transfer_acceleration": accelerate,
                                                "accelerated": bool(grant.get("accelerated"))})
    ctx.routing.drain()   # S3 -> thumbnail function -> thumbnails bucket -> fan-out
    ctx.state.upload = {"grant": grant, "status": status, "body": body[:300], "accelerate": accelerate}
    aws_url = f"https://{grant['bucket']}.s3.{ctx.session.region}.amazonaws.com/{grant['key']}"
    ctx.artifact("upload", {"request": f"PUT {aws_url}", "status": status,
                            "bytes": image.size_bytes, "content_type": image.content_type,
                            "url_expires_in_s": grant.get("expires_in"),
                            "transfer_acceleration": accelerate or "off"})


def home_readers(ctx: RunContext[State]) -> None:
    """Readers near us-east-1 call their region's API and fail over to the replica's API when it does
    not answer; one of them writes a post (active-active: either region takes it)."""
    replica_region = ctx.values["replica_region"]
    home = ctx.session.region
    flow = ctx.routing.requests(f"readers in {home} -> failover to {replica_region}")
    apis = ((home, ctx.state.api), (replica_region, ctx.state.replica_api))
    down = ctx.region_down(home)
    reads = [flow.first_answer(apis, "GET", f"/posts/{post['post_id']}")
             for post in created(ctx.state.posts)]
    write = flow.first_answer(apis, "POST", "/posts", {
        "title": f"Written while {home} is {'down' if down else 'up'}",
        "body": "Active-active: either region takes the write."})
    ctx.state.home_readers = {"region": home, "down": down, "reads": reads, "write": write}
    ctx.artifact("home_readers", {"region": home, "region_down": down,
                                  "reads": [{k: v for k, v in r.items() if k != "body"} for r in reads],
                                  "write": {k: v for k, v in write.items() if k != "body"}})


def build_pipeline(values: dict[str, Any], image: ImageUpload | None = None,
                   thumb_max_side: int = THUMB_MAX_SIDE) -> Pipeline:
    options = Options(image or sample_image(), thumb_max_side)
    faults = ("lambda_error_rate", "lambda_throttle_rate", "s3_event_delay_s", "ddb_throttle_rate", "ses_reject_rate")
    p = Pipeline("global-blog", values=values, state=partial(State, options=options), live_unsupported=(
        "its CloudFront edge, DAX reads, API requests and global-table replication go through the embedded "
        "backend's emulations, which have no meaning against AWS"),
        faults=faults + ("region_outage",) * bool(values["global_tables"]),
        outage_from=HOME_READERS if values["global_tables"] else None,
        refused_faults={"region_outage": "global tables are off, so the blog lives in one region and has no "
                                         "replica to fail over to (set global_tables=on)"})

    p.add("deploy", "Upload the static site to S3", "s3", site)
    if values["cloudfront"]:
        p.add("deploy", "Create the CloudFront distribution with origin access control", "cloudfront", distribution)
    else:
        p.add("deploy", "Allow public reads of the site bucket", "s3", public_site)
    p.add("deploy", "Create the blog table with its stream", "dynamodb", table)
    if values["dax"]:
        p.add("deploy", "Create the DAX cluster", "dax", dax_cluster)
    p.add("deploy", "Create the uploads and thumbnails buckets", "s3", buckets)
    p.add("deploy", "Deploy the functions", "lambda", functions)
    p.add("deploy", "Create the REST API", "apigateway", rest_api)
    p.add("deploy", "Wire the stream to the welcome function and verify the sender", "ses", welcome_wiring)
    p.add("deploy", "Wire the uploads bucket to the thumbnail function", "s3", thumbnail_wiring)
    p.add("drive", "Readers load the static site", "cloudfront" if values["cloudfront"] else "s3", readers,
          ("static", "edge", "origin"))
    p.add("drive", "Publish posts through the API", "apigateway", publish, API_PATH)
    p.add("drive", "Read the posts again through DAX" if values["dax"] else "Read the posts again from DynamoDB",
          "dax" if values["dax"] else "dynamodb", reads, API_PATH)
    if values["global_tables"]:
        p.add("drive", "Replicate and read from the nearest replica", "dynamodb", replicate,
              ("replication", "replica_api", "replica_lambda", "replica_read"))
    else:
        p.add("drive", "Far readers call the API across regions", "apigateway", far_readers,
              ("api", "lambda", "dynamodb"))
    p.add("drive", "A new user signs up", "apigateway", sign_up,
          ("api", "lambda", "dynamodb", "stream", "welcome", "ses"))
    p.add("drive", "Upload an image through a pre-signed URL", "s3", upload,
          ("api", "lambda", "upload", "s3_event", "thumbnail", "fanout"))
    if values["global_tables"]:
        p.add("drive", HOME_READERS, "apigateway", home_readers,
              ("api", "replica_api", "replica_lambda", "replica_read"))
    checks.add_checks(p, values)
    return p
