"""Storage: S3 buckets and DynamoDB tables (global tables included)."""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from app.runtime.infra.base import Builders, policy_document as _policy


class StorageBuilders(Builders):
    """Builders of buckets and tables."""

    def bucket(self, base: str, *, files: Mapping[str, tuple[str, str, bytes]] | None = None,
               cors_put: bool = False, accelerate: bool = False, public_read: bool = False) -> str:
        """A bucket (tagged by the client factory); ``files`` maps key -> (content type, cache control, body)."""
        s3 = self._client("s3")
        name = self.ctx.name(base)
        s3.create_bucket(Bucket=name)
        for key, (content_type, cache_control, body) in (files or {}).items():
            extra = {"CacheControl": cache_control} if cache_control else {}
            s3.put_object(Bucket=name, Key=key, Body=body, ContentType=content_type, **extra)
        if cors_put:
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [{
                "AllowedMethods": ["PUT"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 3000}]})
        if accelerate:
            s3.put_bucket_accelerate_configuration(Bucket=name, AccelerateConfiguration={"Status": "Enabled"})
        if public_read:
            self.allow_public_read(name)
        return name

    def allow_public_read(self, bucket: str) -> dict:
        """Let anyone read the bucket's objects (a website bucket without CloudFront); returns the policy."""
        s3 = self._client("s3")
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False})
        policy = public_read_policy(bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        return policy

    def table(self, base: str, hash_key: str, range_key: str | None = None, *, stream: str | None = None) -> str:
        """An on-demand table with string keys; ``stream`` is its stream view type (NEW_IMAGE...)."""
        keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
        name = self.ctx.name(base)
        extra: dict[str, Any] = {}
        if stream:
            extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
        self._client("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys], **extra)
        return name

    def global_table(self, table: str, regions: Sequence[str]):
        """Make ``table`` (created in ``regions[0]``, the session's region) a global table with a replica in
        each other region, replicated by the streaming emulation; returns the created
        :class:`app.runtime.streaming.global_tables.GlobalTable` (``wait_for_item``, ``lag_summary``...)."""
        replicas = self.ctx.streaming.global_table(table, list(regions))
        replicas.create()
        return replicas


def public_read_policy(bucket: str) -> dict:
    return _policy({"Sid": "PublicReadForWebsite", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*"})
