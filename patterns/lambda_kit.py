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

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

try:  # inside the explorer: clients bound to the account of the run that invokes the function
    from app.runtime.clients import aws_client
except ImportError:  # on AWS Lambda: region and credentials from the function's environment
    from botocore.config import Config

    def aws_client(service: str, region: str | None = None):
        # S3 pre-signed URLs with Signature Version 4 (botocore presigns with version 2 in us-east-1)
        config = Config(signature_version="s3v4") if service == "s3" else None
        return boto3.client(service, region_name=region, config=config)


def client(service: str):
    return aws_client(service)


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
