"""The data planes moto lacks, emulated once, each with counters and tests.

- :mod:`.dax`: DynamoDB Accelerator (item cache, query cache, write-through).
- :mod:`.apigateway`: invoking a REST API (Lambda proxy), Cognito authorizer, stage cache.
- :mod:`.cloudfront`: edge caches per location, invalidations, signed URLs and cookies, origin access.
- :mod:`.iam`: policy evaluation with policy variables and conditions; an S3 client guard.
- :mod:`.identity`: Cognito identity pool ids and credentials.
- :mod:`.tokens`: Cognito user-pool JWT verification shared by the authorizer and the identity pool.
- :mod:`.elb`: an Application Load Balancer forwarding to healthy targets; in-process web servers per target.

Each is a plain class taking the boto3 clients, callables and :class:`~app.runtime.trace.Trace`
it needs; none imports streamlit.
"""
from __future__ import annotations

from botocore.exceptions import ClientError


def aws_error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    """A ``ClientError`` shaped as boto3 raises it for an AWS error response."""
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)
