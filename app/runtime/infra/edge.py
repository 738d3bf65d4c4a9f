"""The edge: CloudFront distributions (S3 or HTTP origins), their signing keys and key groups."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from app.core import facts
from app.runtime.infra.base import Builders, policy_document as _policy


@dataclass
class Distribution:
    """A CloudFront distribution in front of an S3 bucket through origin access control."""

    id: str
    arn: str
    domain: str
    bucket: str
    bucket_policy: dict
    edge: Any = field(repr=False)

    def get(self, path: str, **options: Any):
        return self.edge.get(path, **options)

    def visit(self, paths: Sequence[str], viewer_regions: Iterable[str], *, rounds: int = 1) -> list[dict]:
        """Viewers near each region request every path, ``rounds`` times over; per request: the viewer's region
        (``reader``), ``path``, ``status``, ``bytes``, the ``edge`` location that answered, its ``cache``
        outcome and whether it fetched from the origin (``origin_fetch``)."""
        out = []
        for region in viewer_regions:
            for _ in range(rounds):
                for path in paths:
                    r = self.get(path, viewer_region=region)
                    out.append({"reader": region, "path": path, "status": r.status, "bytes": len(r.body),
                                "edge": r.edge, "cache": r.cache, "origin_fetch": r.origin_fetched})
        return out

    def stats(self) -> dict:
        return self.edge.stats()


@dataclass
class SigningKey:
    """An RSA key pair whose public half is a CloudFront public key; the private half is in a secret."""

    key_id: str                           # the CloudFront public key id signatures name (Key-Pair-Id)
    secret: str                           # the Secrets Manager secret holding the PEM private key
    private_key: Any = field(repr=False)  # kept by the run only to forge with a key nobody trusts


class EdgeBuilders(Builders):
    """Builders of CloudFront distributions, public keys and key groups."""

    def signing_key(self, base: str) -> SigningKey:
        """A 2048-bit RSA key: its public half registered as a CloudFront public key, its private half
        stored in Secrets Manager (where a signing function reads it; never in code or environment)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        name = self.ctx.name(base)
        key_id = self._client("cloudfront").create_public_key(PublicKeyConfig={
            "CallerReference": uuid.uuid4().hex, "Name": name[-128:], "EncodedKey": public})["PublicKey"]["Id"]
        self._client("secretsmanager").create_secret(Name=name, SecretString=private,
                                                     Description=f"Private key of CloudFront public key {key_id}")
        return SigningKey(key_id, name, key)

    def key_group(self, base: str, keys: Iterable[SigningKey]) -> str:
        """A CloudFront key group trusting these public keys; returns its id."""
        ids = [k.key_id for k in keys]
        return self._client("cloudfront").create_key_group(KeyGroupConfig={
            "Name": self.ctx.name(base)[-128:], "Items": ids})["KeyGroup"]["Id"]

    def cloudfront(self, bucket: str, *, comment: str, default_root: str | None = None,
                   cache_policy: facts.Fact = facts.CF_CACHING_OPTIMIZED,
                   trusted_key_groups: Iterable[str] = ()) -> Distribution:
        """A distribution in front of ``bucket`` through origin access control; the bucket policy admits
        only this distribution. ``trusted_key_groups`` makes viewers present signed URLs or cookies."""
        cf = self._client("cloudfront")
        oac = cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": self.ctx.name(f"{bucket[-40:]}-oac"), "Description": comment, "SigningProtocol": "sigv4",
            "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]
        origin = {"Id": "origin", "DomainName": f"{bucket}.s3.{self.session.region}.amazonaws.com",
                  "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac["Id"]}
        dist = self._distribution(origin, comment, default_root, cache_policy, trusted_key_groups)
        policy = oac_bucket_policy(bucket, dist["ARN"])
        self._client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        edge = self.ctx.planes.cloudfront(dist["Id"], clock=self.ctx.clock)
        return Distribution(dist["Id"], dist["ARN"], dist["DomainName"], bucket, policy, edge)

    def cloudfront_custom_origin(self, domain: str, fetch: Callable[[str], tuple[int, bytes, dict]], *,
                                 comment: str, cache_policy: facts.Fact = facts.CF_CACHING_OPTIMIZED) -> Distribution:
        """A distribution in front of an HTTP origin (a load balancer's DNS name); ``fetch(path)`` is how the
        edge reaches that origin on this backend (its data plane), answering ``(status, body, headers)``."""
        origin = {"Id": "origin", "DomainName": domain, "CustomOriginConfig": {
            "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
        dist = self._distribution(origin, comment, None, cache_policy, ())
        edge = self.ctx.planes.cloudfront(dist["Id"], clock=self.ctx.clock,
                                          origin_fetch=lambda _domain, key: fetch("/" + key))
        return Distribution(dist["Id"], dist["ARN"], dist["DomainName"], "", {}, edge)

    def _distribution(self, origin: dict, comment: str, default_root: str | None, cache_policy: facts.Fact,
                      trusted_key_groups: Iterable[str]) -> dict:
        behavior: dict[str, Any] = {"TargetOriginId": "origin", "ViewerProtocolPolicy": "redirect-to-https",
                                    "CachePolicyId": cache_policy.value["id"]}
        groups = list(trusted_key_groups)
        if groups:
            behavior["TrustedKeyGroups"] = {"Enabled": True, "Quantity": len(groups), "Items": groups}
        config: dict[str, Any] = {"CallerReference": uuid.uuid4().hex, "Comment": comment, "Enabled": True,
                                  "Origins": {"Quantity": 1, "Items": [origin]}, "DefaultCacheBehavior": behavior}
        if default_root:
            config["DefaultRootObject"] = default_root
        dist = self._client("cloudfront").create_distribution_with_tags(DistributionConfigWithTags={
            "DistributionConfig": config,
            "Tags": {"Items": [{"Key": k, "Value": v} for k, v in self.session.tags.items()]}})["Distribution"]
        self.ctx.deployed.update(cloudfront_ttl_s=cache_policy.value["DefaultTTL"])
        return dist


def oac_bucket_policy(bucket: str, distribution_arn: str) -> dict:
    """The bucket policy origin access control needs: reads by CloudFront for this distribution only."""
    return _policy({"Sid": "AllowCloudFrontServicePrincipalReadOnly", "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}})
