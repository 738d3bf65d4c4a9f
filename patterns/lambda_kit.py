"""What the cases' Lambda handlers share: clients, the table reader, API Gateway proxy replies.

Deployed beside each handler module (``DEPLOY_WITH`` in the handler names it), so a
function's package holds everything it imports on AWS Lambda: the standard library,
boto3, and this file.
"""
from __future__ import annotations

import base64
import json
import os
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote_plus

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# S3's limits on what a handler writes back (deployed without the explorer, so stated here;
# app/core/facts.py holds the same values with their source and a test keeps them equal).
S3_KEY_MAX_BYTES = 1024        # an object key is at most 1,024 bytes of UTF-8
S3_METADATA_MAX_BYTES = 2048   # user-defined metadata: at most 2 KB, keys and values in UTF-8

try:  # inside the explorer: clients bound to the account of the run that invokes the function
    from app.runtime.clients import aws_client
except ImportError:  # on AWS Lambda: region and credentials from the function's environment
    from botocore.config import Config

    def aws_client(service: str, region: str | None = None):
        # S3 pre-signed URLs with Signature Version 4 (botocore presigns with version 2 in us-east-1)
        config = Config(signature_version="s3v4") if service == "s3" else None
        return boto3.client(service, region_name=region, config=config)


def client(service: str, region: str | None = None):
    """A client for ``service`` in ``region`` (the function's own region when None)."""
    return aws_client(service, region)


def dax_client(endpoint: str):
    """A DynamoDB-shaped client for the DAX cluster at ``endpoint`` (write-through, cached reads)."""
    try:  # inside the explorer: the emulated cluster of the invoking run
        from app.runtime.dataplanes.endpoints import lookup
    except ImportError:  # on AWS: the DAX SDK (amazon-dax-client) in the deployment package
        from amazondax import AmazonDaxClient
        return AmazonDaxClient(endpoint_url=endpoint)
    return lookup(endpoint)


def table_client():
    """Where items are read and written: the DAX cluster when DAX_ENDPOINT is set, else DynamoDB."""
    endpoint = os.environ.get("DAX_ENDPOINT")
    return dax_client(endpoint) if endpoint else client("dynamodb")


class _JSON(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return int(o) if o == int(o) else float(o)
        return super().default(o)


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> dict:
    """A Lambda proxy integration reply with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": "" if body is None else json.dumps(body, cls=_JSON),
        "isBase64Encoded": False,
    }


def item(raw: dict) -> dict:
    """A DynamoDB item in attribute-value form as plain Python values."""
    return {k: _deserializer.deserialize(v) for k, v in raw.items()}


def marshal(values: dict) -> dict:
    """Plain Python values as a DynamoDB item in attribute-value form."""
    return {k: _serializer.serialize(v) for k, v in values.items()}


def json_body(event: dict) -> dict:
    """The request body of a proxy event, which must be a JSON object."""
    raw = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def claims(event: dict) -> dict:
    """The Cognito authorizer's claims of a proxy event (empty without an authorizer)."""
    return ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}


def s3_key(record: dict) -> str:
    """The object key of an S3 event record, decoded.

    S3 writes keys into events URL-encoded: a space as ``+``, a literal ``+`` as ``%2B``,
    other characters (``(``, ``é``, ``日``) as the percent-encoded bytes of their UTF-8."""
    return unquote_plus(record["s3"]["object"]["key"], encoding="utf-8")


def fit_key(stem: str, suffix: str, max_bytes: int = S3_KEY_MAX_BYTES) -> str:
    """``stem + suffix`` as an S3 key: the stem is shortened (never mid-character) so the key
    stays within S3's limit in UTF-8 bytes."""
    room = max_bytes - len(suffix.encode("utf-8"))
    data = stem.encode("utf-8")
    if len(data) > room:
        stem = data[:max(room, 0)].decode("utf-8", errors="ignore")
    return stem + suffix


def ascii_metadata(values: dict[str, str], max_bytes: int = S3_METADATA_MAX_BYTES) -> dict[str, str]:
    """User-defined S3 metadata from any text: S3 sends it as HTTP headers, so the SDKs refuse
    values that are not ASCII.

    Each value is percent-encoded as UTF-8 (RFC 3986; ``urllib.parse.unquote`` reads it back),
    and the last values are shortened (never inside an escape) so keys and values together stay
    within S3's 2 KB; a shortened value ends with ``...``."""
    out: dict[str, str] = {}
    used = 0
    for name, value in values.items():
        room = max_bytes - used - len(name)
        if room <= 0:
            break
        encoded = _percent(str(value))
        if len(encoded) > room:      # shorten by whole characters, never inside a character's escapes
            kept, size = [], 3
            for ch in str(value):
                piece = _percent(ch)
                if size + len(piece) > room:
                    break
                kept.append(piece)
                size += len(piece)
            encoded = "".join(kept) + "..."
        out[name] = encoded
        used += len(name) + len(encoded)
    return out


def _percent(text: str) -> str:
    return quote(text, safe="/()!*'~,;:@=&$-._", encoding="utf-8")
