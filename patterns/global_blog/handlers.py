"""MyBlog.com's Lambda functions.

``posts_handler``     the posts API behind an API Gateway REST proxy integration:
                      GET /posts (newest first), GET /posts/{id}, POST /posts.
``welcome_email``     triggered by the users table's DynamoDB stream: for every INSERT
                      it sends a welcome email through SES from a verified address.
``thumbnail``         triggered by S3 ObjectCreated events on the uploads bucket: it
                      resizes the image with Pillow (longest side 200 px by default),
                      writes the thumbnail to the output bucket and, when configured,
                      publishes the thumbnail's details to SNS and/or SQS.

Environment:
    POSTS_TABLE        posts table, partition key ``blog`` (the site), sort key ``post_id``
    BLOG_ID            the site's partition (default ``main``)
    DAX_ENDPOINT       when set, post reads go through the DAX cluster at this endpoint
    SENDER_EMAIL       the SES-verified address welcome emails come from
    SITE_NAME          shown in the email (default ``MyBlog.com``)
    OUTPUT_BUCKET      where thumbnails go
    THUMB_MAX_SIDE     longest side of a thumbnail in pixels (default 200)
    THUMB_PREFIX       key prefix of thumbnails (default ``thumbnails/``)
    NOTIFY_TOPIC_ARN   optional SNS topic told about each thumbnail
    NOTIFY_QUEUE_URL   optional SQS queue told about each thumbnail

The module needs only the standard library, boto3 and Pillow (a Lambda layer on
AWS), so it deploys unchanged.
"""
from __future__ import annotations

import io
import json
import os
import time
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

MAX_TITLE = 200
MAX_BODY = 20_000
KEEP_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


# -- clients ------------------------------------------------------------------------------------
def _client(service: str):
    """The boto3 client for this invocation (region and credentials from the function's environment)."""
    return boto3.client(service)


def _dax_client(endpoint: str):
    """A DynamoDB-shaped client that reads through the DAX cluster at ``endpoint``."""
    from amazondax import AmazonDaxClient  # the AWS DAX SDK; only needed when DAX is on
    return AmazonDaxClient(endpoint_url=endpoint)


def _reader():
    endpoint = os.environ.get("DAX_ENDPOINT")
    return _dax_client(endpoint) if endpoint else _client("dynamodb")


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


# -- posts API ----------------------------------------------------------------------------------
class _JSON(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return int(o) if o == int(o) else float(o)
        return super().default(o)


def _response(status: int, body: Any = None) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Served-From-Region": _region()},
        "body": "" if body is None else json.dumps(body, cls=_JSON),
        "isBase64Encoded": False,
    }


def _item(raw: dict) -> dict:
    return {k: _deserializer.deserialize(v) for k, v in raw.items()}


def _new_post(event: dict) -> dict:
    raw = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        import base64
        raw = base64.b64decode(raw).decode()
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object with title and body")
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise ValueError(f"title must be a non-empty string of at most {MAX_TITLE} characters")
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise ValueError(f"body must be a string of at most {MAX_BODY} characters")
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    author = claims.get("cognito:username") or claims.get("sub") or data.get("author") or "anonymous"
    now_ms = int(time.time() * 1000)
    # Sort keys that start with the creation time list newest first with ScanIndexForward=False.
    return {"post_id": f"{now_ms:013d}-{uuid.uuid4().hex[:6]}", "title": title.strip(), "body": body,
            "author": str(author), "created_at": now_ms, "region": _region()}


def posts_handler(event: dict, context: Any = None) -> dict:
    table = os.environ["POSTS_TABLE"]
    blog = os.environ.get("BLOG_ID", "main")
    method = (event.get("httpMethod") or "").upper()
    post_id = (event.get("pathParameters") or {}).get("id")
    try:
        if method == "GET" and post_id:
            found = _reader().get_item(TableName=table, Key={"blog": {"S": blog}, "post_id": {"S": post_id}})
            if "Item" not in found:
                return _response(404, {"message": f"post {post_id} not found"})
            return _response(200, _item(found["Item"]))
        if method == "GET":
            limit = 20
            qs = event.get("queryStringParameters") or {}
            if qs.get("limit"):
                limit = max(1, min(100, int(qs["limit"])))
            page = _reader().query(TableName=table, KeyConditionExpression="blog = :b",
                                   ExpressionAttributeValues={":b": {"S": blog}},
                                   ScanIndexForward=False, Limit=limit)
            posts = [_item(i) for i in page.get("Items", [])]
            return _response(200, {"posts": posts, "count": len(posts)})
        if method == "POST" and not post_id:
            post = {"blog": blog, **_new_post(event)}
            _client("dynamodb").put_item(TableName=table,
                                         Item={k: _serializer.serialize(v) for k, v in post.items()})
            return _response(201, post)
    except (ValueError, json.JSONDecodeError) as exc:
        return _response(400, {"message": str(exc)})
    allowed = "GET" if post_id else "GET, POST"
    out = _response(405, {"message": f"{method or 'no method'} is not allowed here: use {allowed}"})
    out["headers"]["Allow"] = allowed
    return out


# -- welcome email ------------------------------------------------------------------------------
def _welcome_text(name: str, site: str) -> tuple[str, str, str]:
    subject = f"Welcome to {site}, {name}!"
    text = (f"Hello {name},\n\nthank you for joining {site}. Your account is ready: "
            f"you can write your first post now.\n\nThe {site} team\n")
    html = (f"<p>Hello {name},</p><p>thank you for joining <b>{site}</b>. Your account is ready: "
            f"you can write your first post now.</p><p>The {site} team</p>")
    return subject, text, html


def welcome_email(event: dict, context: Any = None) -> dict:
    """Send one welcome email per new user (stream records with eventName INSERT and an email)."""
    sender = os.environ["SENDER_EMAIL"]
    site = os.environ.get("SITE_NAME", "MyBlog.com")
    ses = _client("ses")
    sent: list[dict] = []
    skipped = 0
    for record in event.get("Records", []):
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if record.get("eventName") != "INSERT" or "email" not in image:
            skipped += 1
            continue
        user = _item(image)
        email = str(user["email"])
        name = str(user.get("name") or email.split("@")[0])
        subject, text, html = _welcome_text(name, site)
        out = ses.send_email(Source=sender, Destination={"ToAddresses": [email]},
                             Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                                      "Body": {"Text": {"Data": text, "Charset": "UTF-8"},
                                               "Html": {"Data": html, "Charset": "UTF-8"}}})
        sent.append({"to": email, "subject": subject, "message_id": out["MessageId"]})
    return {"sent": sent, "skipped": skipped}


# -- thumbnails ---------------------------------------------------------------------------------
def make_thumbnail(data: bytes, max_side: int) -> tuple[bytes, dict]:
    """Resize ``data`` so its longest side is at most ``max_side``; keep the format where sensible."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        fmt = img.format if img.format in KEEP_FORMATS else "PNG"
        original = img.size
        thumb = img.copy()
    thumb.thumbnail((max_side, max_side))
    if fmt == "JPEG" and thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, format=fmt)
    return out.getvalue(), {"format": fmt, "content_type": KEEP_FORMATS[fmt],
                            "original_width": original[0], "original_height": original[1],
                            "width": thumb.size[0], "height": thumb.size[1]}


def thumbnail(event: dict, context: Any = None) -> dict:
    out_bucket = os.environ["OUTPUT_BUCKET"]
    max_side = int(os.environ.get("THUMB_MAX_SIDE", "200"))
    prefix = os.environ.get("THUMB_PREFIX", "thumbnails/")
    topic = os.environ.get("NOTIFY_TOPIC_ARN")
    queue = os.environ.get("NOTIFY_QUEUE_URL")
    s3 = _client("s3")
    made: list[dict] = []
    skipped = 0
    for record in event.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            skipped += 1
            continue
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])  # S3 sends keys URL-encoded, spaces as '+'
        if bucket == out_bucket and key.startswith(prefix):
            skipped += 1  # never resize our own output
            continue
        original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        data, info = make_thumbnail(original, max_side)
        base = key.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
        ext = {"JPEG": "jpg"}.get(info["format"], info["format"].lower())
        thumb_key = f"{prefix}{base}-{max_side}.{ext}"
        s3.put_object(Bucket=out_bucket, Key=thumb_key, Body=data, ContentType=info["content_type"],
                      Metadata={"source-bucket": bucket, "source-key": key,
                                "original-size": f"{info['original_width']}x{info['original_height']}"})
        detail = {"source": {"bucket": bucket, "key": key, "bytes": len(original)},
                  "thumbnail": {"bucket": out_bucket, "key": thumb_key, "bytes": len(data),
                                "width": info["width"], "height": info["height"], "format": info["format"]},
                  "original_size": [info["original_width"], info["original_height"]]}
        message = json.dumps(detail)
        if topic:
            detail["sns_message_id"] = _client("sns").publish(
                TopicArn=topic, Subject="Thumbnail ready", Message=message)["MessageId"]
        if queue:
            detail["sqs_message_id"] = _client("sqs").send_message(
                QueueUrl=queue, MessageBody=message)["MessageId"]
        made.append(detail)
    return {"thumbnails": made, "skipped": skipped}
