"""MyBlog.com's checks: what the run did, read back from the backend (the verify steps of the pipeline)."""
from __future__ import annotations

import io
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from app.runtime.mailbox import sent_emails
from app.core import format as fmt
from app.runtime.pipeline import Check, Pipeline, RunContext
from patterns.global_blog.uploads import ImageUpload

if TYPE_CHECKING:
    from patterns.global_blog.pipeline import State


def v_site(ctx: RunContext["State"]):
    fetched = ctx.state.site_fetches
    if not ctx.values["cloudfront"]:
        return Check("pages served straight from S3", all(f["status"] == 200 and f["body_ok"] for f in fetched),
                     f"{len(fetched)} anonymous HTTP GETs to the {ctx.session.region} bucket, every reader "
                     "region served from there; bytes equal to what was uploaded")
    stats = ctx.state.edge_stats
    edges = stats["edges"]
    policy = json.loads(ctx.client("s3").get_bucket_policy(Bucket=ctx.state.site_bucket)["Policy"])
    return [
        Check("pages served through CloudFront edge locations",
              all(f["status"] == 200 for f in fetched) and len(edges) == len({f["edge"] for f in fetched}),
              ", ".join(f"{code}: {e['hits']} hits / {e['misses']} misses" for code, e in edges.items())
              + f"; origin fetches {stats['origin_fetches']}"),
        Check("each edge fetches an object from the origin once, then serves it from its cache",
              stats["origin_fetches"] == sum(e["misses"] for e in edges.values())
              and all(e["hits"] == e["misses"] for e in edges.values())
              and all(f["cache"] == "miss" for f in fetched[:4]),
              f"{sum(e['hits'] for e in edges.values())} hits, {stats['origin_fetches']} origin fetches "
              f"for {len(fetched)} requests"),
        Check("the bucket admits only this distribution (origin access control)",
              policy["Statement"][0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
              and policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"]
              == ctx.state.distribution.arn,
              "bucket policy read back: s3:GetObject for cloudfront.amazonaws.com "
              "when AWS:SourceArn is the distribution"),
    ]


def v_posts(ctx: RunContext["State"]):
    items = ctx.client("dynamodb").query(TableName=ctx.state.table, KeyConditionExpression="pk = :p",
                                         ExpressionAttributeValues={":p": {"S": "POST"}},
                                         ConsistentRead=True)["Items"]
    stored = {i["sk"]["S"]: i["title"]["S"] for i in items}
    made = ctx.state.posts
    listed = [post["post_id"] for post in ctx.state.listed["posts"]]
    ctx.artifact("dynamodb_items", [{k: list(v.values())[0] for k, v in i.items()} for i in items])
    failed = [m for m in made if m["status"] != 201]
    return [
        Check("posts written through the API are in the table",
              all(m["status"] == 201 and stored.get(m["post_id"]) == m["title"] for m in made),
              f"{len(made) - len(failed)} of {len(made)} posts created (201), {len(stored)} read back with a "
              "consistent Query" + ("; POST /posts answered " + fmt.series(
                                        f"{st} (x{n})" for st, n in Counter(m["status"] for m in failed).items())
                                    if failed else "")),
        Check("the API lists posts newest first", listed[:len(made)] == sorted(listed[:len(made)], reverse=True)
              and not failed and set(m["post_id"] for m in made) <= set(listed),
              f"GET /posts returned {len(listed)} posts" if "status" not in ctx.state.listed
              else f"GET /posts answered {ctx.state.listed['status']}"),
    ]


def v_dax(ctx: RunContext["State"]):
    log = ctx.state.post_reads
    gets = [r for r in log if r["read"].startswith("GET /posts/")]
    if ctx.values["dax"]:
        stats = ctx.state.dax.stats()
        # The post was written through DAX (write-through), so even the first read is a hit.
        return Check("DAX answers repeated post reads from its item cache",
                     bool(gets) and all(r["dax"] == "hit" for r in gets),
                     (", ".join(f"{r['read']}: {r['dax']}" for r in gets) or "no post was created to read")
                     + f"; cluster counters: {stats['item_hits']} item hits, {stats['item_misses']} misses, "
                       f"{stats['writes']} write-through writes")
    dax_spans = [s for s in ctx.trace.spans if s.service == "dax"]
    return Check("without DAX the function reads DynamoDB directly", not dax_spans and
                 all(r["status"] == 200 for r in log), f"{len(log)} reads, {len(dax_spans)} DAX calls"
                 + "".join(f"; {r['read']} answered {r['status']}" for r in log if r["status"] != 200))


def v_far(ctx: RunContext["State"]):
    replica_region = ctx.values["replica_region"]
    far = ctx.state.far_reads
    ddb_far = ctx.client("dynamodb", replica_region)
    if ctx.values["global_tables"]:
        rep = ctx.state.replication
        lag = rep["lag"]
        desc = ddb_far.describe_table(TableName=ctx.state.table)["Table"]
        return [
            Check(f"posts replicated to {replica_region}",
                  bool(rep["replicated"]) and len(rep["replicated"]) == len(ctx.state.posts)
                  and desc["TableStatus"] == "ACTIVE",
                  f"{len(rep['replicated'])}/{len(ctx.state.posts)} posts read back from the replica "
                  f"table with consistent reads"),
            Check("replication lag measured", lag.get("n", 0) > 0,
                  f"{lag.get('n')} samples, median {lag.get('median_ms')} ms, max {lag.get('max_ms')} ms "
                  "(executed here: stream poll and replicated write)" if lag.get("n") else
                  "no sample: no write reached the replica to be timed"),
            Check("far readers are served by their nearest replica",
                  bool(far) and all(r["status"] == 200 and r["served_from"] == replica_region for r in far),
                  ", ".join(f"{r['request']}: {r['status']} from {r['served_from']}" for r in far)
                  or "no post was created to read"),
            Check("a write in the replica region reaches us-east-1 (active-active)", rep["far_post_home"],
                  f"post {rep['far_post']['post_id']} written in {replica_region}, read back in "
                  f"{ctx.session.region}: {rep['far_post_home']}" if rep["far_post"].get("post_id") else
                  f"POST /posts in {replica_region} answered {rep['far_post'].get('status')}: no post written"),
        ]
    try:
        ddb_far.describe_table(TableName=ctx.state.table)
        absent = False
    except ddb_far.exceptions.ResourceNotFoundException:
        absent = True
    return Check(f"one region serves everyone: readers near {replica_region} reach {ctx.session.region}",
                 absent and bool(far) and all(r["status"] == 200 and r["served_from"] == ctx.session.region
                                              for r in far),
                 f"no table in {replica_region}; " + (", ".join(f"{r['request']}: {r['status']} from "
                                                               f"{r['served_from']}" for r in far)
                                                     or "no post was created to read"))


def v_home_readers(ctx: RunContext["State"]):
    from patterns.global_blog.pipeline import created, post_key

    replica_region = ctx.values["replica_region"]
    h = ctx.state.home_readers
    home, reads, write = h["region"], h["reads"], h["write"]
    where = replica_region if h["down"] else home
    posts = {p["post_id"]: p["title"] for p in created(ctx.state.posts)}
    same = bool(reads) and all(r["status"] == 200 and r["body"].get("title") ==
                               posts.get(r["body"].get("post_id")) for r in reads)
    failed_over = sum(r["failed_over"] for r in reads)
    # the write reaches the other region once replication runs again (after the outage)
    other = home if h["down"] else replica_region
    post_id = (write["body"] or {}).get("post_id") if write["status"] == 201 else None
    arrived = bool(post_id) and ctx.state.global_table.wait_for_item(other, post_key(post_id))
    label = (f"with {home} down, its readers are served by the replica in {replica_region}" if h["down"]
             else f"readers near {home} are served by {home}")
    return [
        Check(label, same and all(r["served_from"] == where for r in reads)
              and failed_over == (len(reads) if h["down"] else 0),
              f"{len(reads)} reads of posts written before: {failed_over} failed over; "
              + ("; ".join(f"{r['request']}: {_tried(r)}" for r in reads) or "no post was created to read")),
        Check(f"a post written near {home} is taken by {where} and reaches {other}",
              write["status"] == 201 and write["served_from"] == where and arrived,
              f"{write['request']}: {_tried(write)}; "
              + (f"post {post_id} read back in {other}: {arrived}" if post_id else "no post was written")),
    ]


def v_email(ctx: RunContext["State"]):
    from patterns.global_blog.pipeline import NEW_USER, SENDER
    user = ctx.state.new_user
    sent = sent_emails(ctx.session)
    if sent is None:     # live SES keeps no copy of sent mail: show what the function reported
        sent = [{"message_id": "", "source": SENDER, "subject": "", "body": ctx.lambdas.read_logs("welcome"),
                 "to": []}]
    ours = [m for m in sent if NEW_USER["email"] in m["to"]]
    email = ours[-1] if ours else None
    ctx.artifact("email", email or {"missing": True})
    return [
        Check("the sign-up wrote the user item", user["status"] == 201 and "user_id" in user,
              f"POST /users answered {user['status']}"),
        Check("the stream triggered the welcome email, naming the new user",
              email is not None and NEW_USER["name"] in email["subject"] + email["body"]
              and email["source"] == SENDER,
              f"read back from SES: to {fmt.series(email['to'])}, from {email['source']}, subject {email['subject']!r}"
              if email else f"SES holds {len(sent)} messages, none to {NEW_USER['email']}"),
    ]


def v_thumbnail(ctx: RunContext["State"]):
    image = ctx.state.options.image
    thumb_max_side = ctx.state.options.thumb_max_side
    from PIL import Image

    up = ctx.state.upload
    grant = up["grant"]
    s3 = ctx.client("s3")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=ctx.state.thumbs).get("Contents", [])]
    uploads = [o["Key"] for o in s3.list_objects_v2(Bucket=ctx.state.uploads).get("Contents", [])]
    ctx.artifact("s3_listing", {ctx.state.uploads: uploads, ctx.state.thumbs: listed})
    checks = [Check("the pre-signed PUT over HTTP stored the image",
                    up["status"] == 200 and grant["key"] in uploads
                    and s3.get_object(Bucket=grant["bucket"], Key=grant["key"])["Body"].read() == image.data,
                    f"HTTP PUT answered {up['status']}; {fmt.count(image.size_bytes, 'bytes')} read back")]
    if not listed:
        failed = [s for s in ctx.trace.spans if s.service == "lambda" and s.status == "error"]
        reason = f"; the thumbnail function failed: {failed[-1].detail.get('error', '')}" if failed else ""
        checks.append(Check("the S3 event produced a thumbnail", False, "the thumbnails bucket is empty" + reason))
        return checks
    data = s3.get_object(Bucket=ctx.state.thumbs, Key=listed[0])["Body"].read()
    with Image.open(io.BytesIO(data)) as thumb:
        size = thumb.size
    ctx.artifact("thumbnail", {"original": {"name": image.name, "width": image.width, "height": image.height,
                                            "bytes": image.size_bytes, "data": image.data},
                               "thumbnail": {"bucket": ctx.state.thumbs, "key": listed[0], "width": size[0],
                                             "height": size[1], "bytes": len(data), "data": data}})
    checks.append(_thumbnail_check(image, size, data, thumb_max_side))
    if ctx.values["fanout"] != "none":
        message = fanout_message(ctx)
        ctx.artifact("fanout_message", message or {"missing": True})
        checks.append(Check(f"the thumbnail's S3 event reached {ctx.values['fanout'].upper()}",
                            message is not None and listed[0] in json.dumps(message),
                            f"message read back from the queue names {listed[0]}" if message
                            else "no message arrived"))
    if ctx.values["transfer_acceleration"]:
        acc = up["accelerate"]
        checks.append(Check("Transfer Acceleration is on for the uploads bucket", acc["bucket_setting"] == "Enabled",
                            f"bucket accelerate configuration read back: {acc['bucket_setting']}; "
                            f"upload went to the {acc['endpoint']}"))
    return checks


def add_checks(p: Pipeline, values: dict[str, Any]) -> None:
    p.add("verify", "Static site served", "s3", v_site)
    p.add("verify", "Posts stored and listed newest first", "dynamodb", v_posts)
    p.add("verify", "DAX behaviour" if values["dax"] else "Reads go straight to DynamoDB",
          "dax" if values["dax"] else "dynamodb", v_dax)
    p.add("verify", "Readers far away", "dynamodb", v_far)
    if values["global_tables"]:
        p.add("verify", "Readers near us-east-1 fail over to the replica", "dynamodb", v_home_readers)
    p.add("verify", "Welcome email sent", "ses", v_email)
    p.add("verify", "Thumbnail made", "s3", v_thumbnail)


def _tried(request: dict) -> str:
    """The regions a request tried and what each answered: ``us-east-1 502 -> eu-west-1 200``."""
    return " -> ".join(f"{t['region']} {t['status']}" for t in request["tried"])


def _thumbnail_check(image: ImageUpload, size: tuple[int, int], data: bytes, max_side: int) -> Check:
    """The thumbnail read back: resized to ``max_side`` with its aspect kept, or, for an image already
    within it, the image as it was uploaded (the same bytes)."""
    was, made = f"{image.width}x{image.height}", f"{size[0]}x{size[1]}"
    if max(image.width, image.height) <= max_side:
        same = data == image.data
        return Check(f"an image within {max_side} px is left as it is", same,
                     f"already {was}, within {max_side} px: left as it is, the same {fmt.count(len(data), 'bytes')}" if same
                     else f"already {was}, within {max_side} px, but the thumbnail read back is {made}, "
                          f"{fmt.count(image.size_bytes)} -> {fmt.count(len(data), 'bytes')}")
    expected = expected_size(image.width, image.height, max_side)
    return Check(f"thumbnail's longest side is {max_side} px, aspect kept", size == expected,
                 f"{was} -> {made} (expected {expected[0]}x{expected[1]}), "
                 f"{fmt.count(image.size_bytes)} -> {fmt.count(len(data), 'bytes')}")


def expected_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """What Pillow's thumbnail() makes: longest side max_side (never enlarged), aspect kept."""
    from PIL import Image

    img = Image.new("L", (width, height))
    img.thumbnail((max_side, max_side))
    return img.size


def fanout_message(ctx: RunContext["State"]) -> dict | None:
    sqs = ctx.client("sqs")
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=ctx.state.fanout_queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
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
