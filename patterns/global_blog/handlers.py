"""MyBlog.com's Lambda functions.

``api_handler``       the blog API behind an API Gateway REST proxy integration:
                      GET /posts (newest first), GET /posts/{id}, POST /posts,
                      POST /users (sign-up: writes the user item the stream reacts to),
                      POST /uploads (a pre-signed PUT URL for an image).
``welcome_email``     triggered by the blog table's DynamoDB stream: for every INSERT of
                      a user item it sends a welcome email through SES from a verified address.
``thumbnail``         triggered by S3 ObjectCreated events on the uploads bucket: it
                      resizes the image with Pillow (longest side 200 px by default; an
                      image already within it is left as it is) and writes the thumbnail
                      to the thumbnails bucket (whose own event notification may fan out
                      to SNS or SQS).

One table holds posts and users: partition key ``pk``, sort key ``sk``. Posts are
``pk = "POST"``, ``sk = <post id>`` (ids start with the creation time, so a Query
lists them newest first); users are ``pk = "USER#<id>"``, ``sk = "PROFILE"``.

Environment:
    TABLE_NAME         the blog table
    DAX_ENDPOINT       when set, table reads and writes go through the DAX cluster at this endpoint
    UPLOAD_BUCKET      where pre-signed upload URLs point
    UPLOAD_URL_TTL     lifetime of an upload URL in seconds (default 300)
    USE_ACCELERATE     "1" to sign upload URLs for the S3 Transfer Acceleration endpoint
    SENDER_EMAIL       the SES-verified address welcome emails come from
    SITE_NAME          shown in the email (default ``MyBlog.com``)
    OUTPUT_BUCKET      where thumbnails go
    THUMB_MAX_SIDE     longest side of a thumbnail in pixels (default 200)
    THUMB_PREFIX       key prefix of thumbnails (default ``thumbnails/``)

The module needs only the standard library, boto3, Pillow (a Lambda layer on AWS) and
patterns/lambda_kit.py, which is packaged with it, so it deploys unchanged. While the SES account
is in the sandbox, welcome emails reach only verified recipients (and a daily cap applies) until
production access is granted.
"""
from __future__ import annotations

import html
import io
import json
import os
import re
import time
import uuid
from typing import Any

import boto3

from patterns.lambda_kit import ascii_metadata, fit_key, response, s3_key
from patterns.lambda_kit import claims as _claims
from patterns.lambda_kit import client as _client
from patterns.lambda_kit import item as _item
from patterns.lambda_kit import json_body as _json_body
from patterns.lambda_kit import marshal as _marshal
from patterns.lambda_kit import table_client as _table_client

DEPLOY_WITH = ("patterns.lambda_kit",)   # shared code packaged beside this module

POSTS_PARTITION = "POST"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Line breaks and other control characters: in an address or a name they could add mail headers (Bcc:...).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
MAX_TITLE = 200
MAX_BODY = 20_000
_AVOID_IN_KEYS = set('\\{}^%`[]"<>~#|')   # characters S3 advises against in object key names
KEEP_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


# -- clients ------------------------------------------------------------------------------------
def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


# -- blog API -----------------------------------------------------------------------------------
def _response(status: int, body: Any = None) -> dict:
    return response(status, body, {"X-Served-From-Region": _region()})


def _public(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


def _new_post(event: dict) -> dict:
    data = _json_body(event)
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise ValueError(f"title must be a non-empty string of at most {MAX_TITLE} characters")
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise ValueError(f"body must be a string of at most {MAX_BODY} characters")
    claims = _claims(event)
    author = claims.get("cognito:username") or claims.get("sub") or data.get("author") or "anonymous"
    now_ms = int(time.time() * 1000)
    # Ids that start with the creation time list newest first with ScanIndexForward=False.
    post_id = f"{now_ms:013d}-{uuid.uuid4().hex[:6]}"
    return {"pk": POSTS_PARTITION, "sk": post_id, "post_id": post_id, "title": title.strip(), "body": body,
            "author": str(author)[:100], "created_at": now_ms, "written_in": _region()}


def _new_user(event: dict) -> dict:
    data = _json_body(event)
    email, name = data.get("email"), data.get("name")
    for field, value in (("email", email), ("name", name)):
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError(f"{field} must be one line without control characters: a line break in it could add "
                             "mail headers, and it is refused")
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL.fullmatch(email.strip()):
        raise ValueError("email must be an address such as jane@example.com")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 100):
        raise ValueError("name must be a non-empty string of at most 100 characters")
    user_id = uuid.uuid4().hex[:12]
    user = {"pk": f"USER#{user_id}", "sk": "PROFILE", "user_id": user_id, "email": email.strip(),
            "created_at": int(time.time() * 1000)}
    if name:
        user["name"] = name.strip()
    return user


def _upload_url(event: dict) -> dict:
    bucket = os.environ["UPLOAD_BUCKET"]
    data = _json_body(event)
    filename = str(data.get("filename") or "image")
    content_type = str(data.get("content_type") or "application/octet-stream")
    if not content_type.startswith("image/"):
        raise ValueError(f"content_type must be an image type such as image/png, not {content_type!r}")
    # Any printable character the user typed stays (accents, CJK, emoji, parentheses); the ones S3
    # advises against in keys become "_".
    safe = "".join(c if c.isprintable() and c not in _AVOID_IN_KEYS else "_"
                   for c in filename.rsplit("/", 1)[-1])[:80].strip() or "image"
    key = f"uploads/{uuid.uuid4().hex[:8]}-{safe}"
    expires = int(os.environ.get("UPLOAD_URL_TTL", "300"))
    accelerated = os.environ.get("USE_ACCELERATE", "") in ("1", "true", "on")
    s3 = _s3_for_upload(accelerated)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
                                    ExpiresIn=expires, HttpMethod="PUT")
    return {"url": url, "method": "PUT", "bucket": bucket, "key": key, "content_type": content_type,
            "expires_in": expires, "accelerated": accelerated and ".s3-accelerate." in url}


def _s3_for_upload(accelerated: bool):
    """The S3 client that signs upload URLs: the accelerate endpoint when asked for and available.

    Transfer Acceleration exists only on AWS's own endpoints
    (``<bucket>.s3-accelerate.amazonaws.com``); against any other endpoint (an
    emulator) the URL is signed for the regular endpoint and the response says so.
    """
    s3 = _client("s3")
    if accelerated and s3.meta.endpoint_url.endswith(".amazonaws.com"):
        from botocore.config import Config
        return boto3.client("s3", region_name=s3.meta.region_name,
                            config=Config(s3={"use_accelerate_endpoint": True}))
    return s3


def api_handler(event: dict, context: Any = None) -> dict:
    """GET /posts, GET /posts/{id}, POST /posts, POST /users (sign-up), POST /uploads (pre-signed PUT URL)."""
    table = os.environ["TABLE_NAME"]
    method = (event.get("httpMethod") or "").upper()
    resource = event.get("resource") or event.get("path") or ""
    item_id = (event.get("pathParameters") or {}).get("id")
    try:
        if resource.startswith("/posts"):
            if method == "GET" and item_id:
                key = {"pk": {"S": POSTS_PARTITION}, "sk": {"S": item_id}}
                found = _table_client().get_item(TableName=table, Key=key)
                if "Item" not in found:
                    return _response(404, {"message": f"post {item_id} not found"})
                return _response(200, _public(_item(found["Item"])))
            if method == "GET":
                limit = 20
                qs = event.get("queryStringParameters") or {}
                if qs.get("limit"):
                    limit = max(1, min(100, int(qs["limit"])))
                page = _table_client().query(TableName=table, KeyConditionExpression="pk = :p",
                                       ExpressionAttributeValues={":p": {"S": POSTS_PARTITION}},
                                       ScanIndexForward=False, Limit=limit)
                posts = [_public(_item(i)) for i in page.get("Items", [])]
                return _response(200, {"posts": posts, "count": len(posts)})
            if method == "POST" and not item_id:
                post = _new_post(event)
                _table_client().put_item(TableName=table, Item=_marshal(post))
                return _response(201, _public(post))
            allowed = "GET" if item_id else "GET, POST"
        elif resource.startswith("/users"):
            if method == "POST" and not item_id:
                user = _new_user(event)
                _table_client().put_item(TableName=table, Item=_marshal(user),
                                             ConditionExpression="attribute_not_exists(pk)")
                return _response(201, _public(user))
            allowed = "POST"
        elif resource.startswith("/uploads"):
            if method == "POST":
                return _response(201, _upload_url(event))
            allowed = "POST"
        else:
            return _response(404, {"message": f"no route {resource!r}: use /posts, /posts/{{id}}, /users, /uploads"})
    except (ValueError, json.JSONDecodeError) as exc:
        return _response(400, {"message": str(exc)})
    out = _response(405, {"message": f"{method or 'no method'} is not allowed here: use {allowed}"})
    out["headers"]["Allow"] = allowed
    return out


# -- welcome email ------------------------------------------------------------------------------
def _welcome_text(name: str, site: str) -> tuple[str, str, str]:
    subject = f"Welcome to {site}, {name}!"
    text = (f"Hello {name},\n\nthank you for joining {site}. Your account is ready: "
            f"you can write your first post now.\n\nThe {site} team\n")
    name, site = html.escape(name), html.escape(site)      # the HTML part shows them as text
    html_part = (f"<p>Hello {name},</p><p>thank you for joining <b>{site}</b>. Your account is ready: "
                 f"you can write your first post now.</p><p>The {site} team</p>")
    return subject, text, html_part


def welcome_email(event: dict, context: Any = None) -> dict:
    """Send one welcome email per new user (stream records with eventName INSERT and an email).

    Idempotent: a stream batch is retried whole when one of its sends fails, and a dead-lettered batch
    may be redriven, so each user's item is marked ``welcome_sent_at`` once its email is out and a
    record whose user is already marked is skipped (with ``TABLE_NAME`` set; the mark's own MODIFY
    record is not an INSERT and is skipped too)."""
    sender = os.environ["SENDER_EMAIL"]
    site = os.environ.get("SITE_NAME", "MyBlog.com")
    table = os.environ.get("TABLE_NAME")
    ses = _client("ses")
    ddb = _client("dynamodb") if table else None
    sent: list[dict] = []
    skipped = 0
    for record in event.get("Records", []):
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if record.get("eventName") != "INSERT" or "email" not in image:
            skipped += 1
            continue
        user = _item(image)
        key = {"pk": {"S": str(user["pk"])}, "sk": {"S": str(user["sk"])}} if "pk" in user and "sk" in user else None
        if ddb is not None and key is not None and "welcome_sent_at" in ddb.get_item(
                TableName=table, Key=key, ConsistentRead=True).get("Item", {}):
            skipped += 1            # welcomed on an earlier attempt of this batch
            continue
        email = str(user["email"])
        name = str(user.get("name") or email.split("@")[0])
        if _CONTROL.search(email + name) or not _EMAIL.fullmatch(email):    # an item written by other means
            skipped += 1
            continue
        subject, text, html_body = _welcome_text(name, site)
        out = ses.send_email(Source=sender, Destination={"ToAddresses": [email]},
                             Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                                      "Body": {"Text": {"Data": text, "Charset": "UTF-8"},
                                               "Html": {"Data": html_body, "Charset": "UTF-8"}}})
        if ddb is not None and key is not None:
            ddb.update_item(TableName=table, Key=key, UpdateExpression="SET welcome_sent_at = :t",
                            ExpressionAttributeValues={":t": {"N": str(int(time.time() * 1000))}})
        sent.append({"to": email, "subject": subject, "message_id": out["MessageId"]})
    return {"sent": sent, "skipped": skipped}


# -- thumbnails ---------------------------------------------------------------------------------
def make_thumbnail(data: bytes, max_side: int) -> tuple[bytes, dict]:
    """Resize ``data`` so its longest side is at most ``max_side``; keep the format where sensible.

    An image already within ``max_side`` is left as it is (the same bytes): re-encoding it would
    only make it larger or lossier. ``info["resized"]`` says which."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        fmt = img.format if img.format in KEEP_FORMATS else "PNG"
        original = img.size
        if fmt == img.format and max(original) <= max_side:
            return data, {"format": fmt, "content_type": KEEP_FORMATS[fmt], "resized": False,
                          "original_width": original[0], "original_height": original[1],
                          "width": original[0], "height": original[1]}
        thumb = img.copy()
    thumb.thumbnail((max_side, max_side))
    if fmt == "JPEG" and thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, format=fmt)
    return out.getvalue(), {"format": fmt, "content_type": KEEP_FORMATS[fmt], "resized": True,
                            "original_width": original[0], "original_height": original[1],
                            "width": thumb.size[0], "height": thumb.size[1]}


def thumbnail(event: dict, context: Any = None) -> dict:
    out_bucket = os.environ["OUTPUT_BUCKET"]
    max_side = int(os.environ.get("THUMB_MAX_SIDE", "200"))
    prefix = os.environ.get("THUMB_PREFIX", "thumbnails/")
    s3 = _client("s3")
    made: list[dict] = []
    skipped = 0
    for record in event.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            skipped += 1
            continue
        bucket = record["s3"]["bucket"]["name"]
        key = s3_key(record)   # S3 sends keys URL-encoded: spaces as '+', UTF-8 bytes as %XX
        if bucket == out_bucket and key.startswith(prefix):
            skipped += 1  # never resize our own output
            continue
        original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        data, info = make_thumbnail(original, max_side)
        base = key.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
        ext = {"JPEG": "jpg"}.get(info["format"], info["format"].lower())
        thumb_key = fit_key(f"{prefix}{base}", f"-{max_side}.{ext}")   # the source's name, within 1,024 bytes
        # Metadata travels as HTTP headers and must be ASCII: the source key is percent-encoded.
        s3.put_object(Bucket=out_bucket, Key=thumb_key, Body=data, ContentType=info["content_type"],
                      Metadata=ascii_metadata({
                          "original-size": f"{info['original_width']}x{info['original_height']}",
                          "source-bucket": bucket, "source-key": key}))
        detail = {"source": {"bucket": bucket, "key": key, "bytes": len(original)},
                  "thumbnail": {"bucket": out_bucket, "key": thumb_key, "bytes": len(data),
                                "width": info["width"], "height": info["height"], "format": info["format"],
                                "resized": info["resized"]},
                  "original_size": [info["original_width"], info["original_height"]]}
        made.append(detail)
    return {"thumbnails": made, "skipped": skipped}
