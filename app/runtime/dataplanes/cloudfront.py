"""CloudFront's edge, emulated over a distribution held in moto.

moto stores distributions, key groups, public keys, origin access controls and
invalidations, but serves nothing. :class:`CloudFrontEdge` reads the distribution and
answers viewer requests as CloudFront does:

- **edge locations**: the viewer's region picks the location (:data:`EDGE_LOCATIONS`);
  each location has its own cache, with hit/miss counters, so the first viewer in
  each place pays an origin fetch;
- **cache behaviors**: the first behavior whose path pattern matches (``*`` and ``?``
  wildcards, in order) else the default one; the TTL comes from its cache policy:
  the origin's ``Cache-Control`` ``max-age``/``s-maxage`` clamped to [MinTTL, MaxTTL],
  otherwise DefaultTTL (``no-store``/``no-cache``/``private`` give MinTTL). moto has no
  cache-policy API, so the AWS managed policies are known by id
  (:data:`MANAGED_CACHE_POLICIES`, CachingOptimized: 1 s / 86400 s / 31536000 s) and
  others are given as ``cache_policies``; a behavior without a policy uses its legacy
  MinTTL/DefaultTTL/MaxTTL. Origin errors (403/404) are cached 10 s, CloudFront's default
  error-caching minimum TTL;
- **invalidations**: ``create_invalidation(paths)`` records the invalidation in moto and
  removes matching objects from every edge (a trailing ``*`` matches a prefix);
- **signed URLs and cookies**: a behavior with trusted key groups requires a signature by
  one of the groups' public keys (read from moto): canned policy (``Expires``) or custom
  policy (``Policy``: resource wildcards, ``DateLessThan``, optional ``DateGreaterThan``
  and ``IpAddress``), as query parameters or ``CloudFront-*`` cookies. A missing,
  expired, tampered or foreign signature gives 403 and never reaches the cache or origin;
- **origin access**: an S3 origin is fetched as the service principal
  ``cloudfront.amazonaws.com`` with ``aws:SourceArn`` = the distribution's ARN (origin
  access control), and the bucket policy decides through :func:`.iam.evaluate`; a bucket
  that admits only another distribution answers 403. ``origin_access="public"`` fetches
  as an anonymous caller instead. Another ``origin_fetch(bucket, key) -> (status, body,
  headers)`` callable can be given to the constructor.

Limitations: one cache tier (no regional edge caches or Origin Shield); edge caches are
unbounded in size; moto drops ``OriginAccessControlId`` from origins, so the access mode
is a constructor argument; only S3 origins and GET/HEAD; query strings, headers and
cookies are not part of the cache key except as a custom policy's
``QueryStringBehavior: all``; price classes and geo restrictions are not applied; no
latency is added (the trace shows this machine's time).
"""
from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from app.core import facts
from app.runtime.dataplanes.iam import evaluate, ip_in, wildcard
from app.runtime.trace import Trace

# Region of the viewer -> (edge location code, city). An assumption of this emulation: one
# representative location per region, named by its airport code; CloudFront has several
# locations in most of these places and routes each viewer by measured latency.
EDGE_LOCATIONS = {
    "us-east-1": ("IAD", "Ashburn"), "us-east-2": ("CMH", "Columbus"), "us-west-1": ("SFO", "San Francisco"),
    "us-west-2": ("SEA", "Seattle"), "ca-central-1": ("YUL", "Montreal"), "sa-east-1": ("GRU", "Sao Paulo"),
    "eu-west-1": ("DUB", "Dublin"), "eu-west-2": ("LHR", "London"), "eu-west-3": ("CDG", "Paris"),
    "eu-central-1": ("FRA", "Frankfurt"), "eu-north-1": ("ARN", "Stockholm"), "eu-south-1": ("MXP", "Milan"),
    "ap-northeast-1": ("NRT", "Tokyo"), "ap-northeast-2": ("ICN", "Seoul"), "ap-northeast-3": ("KIX", "Osaka"),
    "ap-southeast-1": ("SIN", "Singapore"), "ap-southeast-2": ("SYD", "Sydney"), "ap-south-1": ("BOM", "Mumbai"),
    "af-south-1": ("CPT", "Cape Town"), "me-south-1": ("BAH", "Bahrain"),
}
# AWS managed cache policies (CloudFront Developer Guide, "Use managed cache policies").
MANAGED_CACHE_POLICIES = {
    f.value["id"]: {"Name": name, **{k: v for k, v in f.value.items() if k != "id"}}
    for name, f in (("Managed-CachingOptimized", facts.CF_CACHING_OPTIMIZED),
                    ("Managed-CachingOptimizedForUncompressedObjects", facts.CF_CACHING_OPTIMIZED_UNCOMPRESSED),
                    ("Managed-CachingDisabled", facts.CF_CACHING_DISABLED))}
ERROR_CACHING_TTL_S = facts.CF_ERROR_CACHING_TTL_S.value
_SIGNING_PARAMS = ("Expires", "Policy", "Signature", "Key-Pair-Id")


@dataclass
class EdgeResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    edge: str = ""                 # edge location code, e.g. "FRA"
    cache: str | None = None       # "hit", "miss", or None when refused before the cache
    origin_fetched: bool = False
    reason: str = ""               # why a request was refused


@dataclass
class _Cached:
    status: int
    body: bytes
    headers: dict[str, str]
    stored_at: float
    expires_at: float


def _b64_cloudfront(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


class CloudFrontEdge:
    """Viewer requests to one distribution held in moto."""

    service = "cloudfront"

    def __init__(self, cloudfront_client, s3_client, distribution_id: str, *, trace: Trace | None = None,
                 clock: Callable[[], float] = time.time, origin_access: str = "oac",
                 cache_policies: Mapping[str, Mapping[str, Any]] | None = None,
                 origin_fetch: Callable[[str, str], tuple[int, bytes, dict[str, str]]] | None = None) -> None:
        if origin_access not in ("oac", "public"):
            raise ValueError(f"origin_access must be oac or public, not {origin_access!r}")
        self.client = cloudfront_client
        self.s3 = s3_client
        self.distribution_id = distribution_id
        self.trace = trace if trace is not None else Trace()
        self.clock = clock
        self.origin_access = origin_access
        self.cache_policies = {**MANAGED_CACHE_POLICIES, **(cache_policies or {})}
        self.origin_fetch = origin_fetch or self.s3_origin_fetch    # (bucket, key) -> (status, body, headers)
        self._edges: dict[str, dict[str, _Cached]] = {}
        self._lock = threading.Lock()
        self.hits: Counter = Counter()
        self.misses: Counter = Counter()
        self.counters = {"origin_fetches": 0, "refused": 0, "invalidated_objects": 0}
        self.refresh()

    # -- reading the distribution ----------------------------------------------------------------
    def refresh(self) -> None:
        dist = self.client.get_distribution(Id=self.distribution_id)["Distribution"]
        self.arn, self.domain = dist["ARN"], dist["DomainName"]
        config = dist["DistributionConfig"]
        self.origins = {o["Id"]: o for o in config["Origins"]["Items"]}
        self.behaviors = list(config.get("CacheBehaviors", {}).get("Items") or [])
        self.default_behavior = config["DefaultCacheBehavior"]
        self.default_root_object = config.get("DefaultRootObject") or ""
        self._keys: dict[str, Any] = {}            # public key id -> key
        self._trusted: dict[str, set[str]] = {}     # path pattern ("" for the default) -> trusted key ids
        for behavior in self.behaviors + [self.default_behavior]:
            trusted = self._trusted.setdefault(behavior.get("PathPattern", ""), set())
            for group_id in self._key_groups(behavior):
                for key_id in self.client.get_key_group(Id=group_id)["KeyGroup"]["KeyGroupConfig"]["Items"]:
                    trusted.add(key_id)
                    if key_id not in self._keys:
                        pem = self.client.get_public_key(Id=key_id)["PublicKey"]["PublicKeyConfig"]["EncodedKey"]
                        self._keys[key_id] = serialization.load_pem_public_key(pem.encode())

    @staticmethod
    def _key_groups(behavior: Mapping) -> list[str]:
        groups = behavior.get("TrustedKeyGroups") or {}
        return list(groups.get("Items") or []) if groups.get("Enabled") else []

    def url(self, path: str) -> str:
        return f"https://{self.domain}{path if path.startswith('/') else '/' + path}"

    @staticmethod
    def edge_for(region: str) -> str:
        if region not in EDGE_LOCATIONS:
            raise ValueError(f"no edge location for region {region!r}; valid: {', '.join(EDGE_LOCATIONS)}")
        return EDGE_LOCATIONS[region][0]

    def _behavior(self, path: str) -> Mapping:
        for behavior in self.behaviors:
            if wildcard(behavior["PathPattern"].lstrip("/")).match(path.lstrip("/")):
                return behavior
        return self.default_behavior

    def _ttls(self, behavior: Mapping) -> dict[str, Any]:
        policy_id = behavior.get("CachePolicyId")
        if policy_id:
            if policy_id not in self.cache_policies:
                raise ValueError(f"cache policy {policy_id} is unknown: pass it as cache_policies "
                                 "(moto has no cache-policy API)")
            return self.cache_policies[policy_id]
        return {k: behavior.get(k, 0) for k in ("MinTTL", "DefaultTTL", "MaxTTL")}

    # -- viewer requests -----------------------------------------------------------------------
    def get(self, url: str, *, viewer_region: str = "us-east-1", cookies: Mapping[str, str] | None = None,
            source_ip: str = "203.0.113.10") -> EdgeResponse:
        """A viewer's GET of ``url`` (a full URL of the distribution, or a path)."""
        edge = self.edge_for(viewer_region)
        parts = urlsplit(url if "://" in url else self.url(url))
        path = parts.path or "/"
        if path == "/" and self.default_root_object:
            path = "/" + self.default_root_object
        with self.trace.span(self.service, "GET", path) as span:
            span.detail["edge"] = edge
            behavior = self._behavior(path)
            if self._key_groups(behavior):
                reason = self._check_signature(parts, behavior, cookies or {}, source_ip)
                if reason:
                    self.counters["refused"] += 1
                    span.status, span.detail["refused"] = "denied", reason
                    return EdgeResponse(403, b"<Error><Code>AccessDenied</Code></Error>",
                                        {"X-Cache": "Error from cloudfront"}, edge, None, False, reason)
            ttls = self._ttls(behavior)
            key = path
            if ttls.get("QueryStringBehavior") == "all":
                query = "&".join(p for p in parts.query.split("&") if p and p.split("=")[0] not in _SIGNING_PARAMS)
                key = f"{path}?{query}" if query else path
            now = self.clock()
            with self._lock:
                cached = self._edges.setdefault(edge, {}).get(key)
                if cached is not None and cached.expires_at <= now:
                    del self._edges[edge][key]
                    cached = None
            if cached is not None:
                self.hits[edge] += 1
                headers = {**cached.headers, "X-Cache": "Hit from cloudfront", "Age": str(int(now - cached.stored_at))}
                response = EdgeResponse(cached.status, cached.body, headers, edge, "hit")
            else:
                self.misses[edge] += 1
                response = self._from_origin(behavior, path, ttls, edge, key, now)
            response.headers["X-Amz-Cf-Pop"] = f"{edge}50-C1"
            span.cache, span.payload_bytes = response.cache, len(response.body)
            span.detail["status_code"] = response.status
            return response

    def _from_origin(self, behavior: Mapping, path: str, ttls: Mapping, edge: str, key: str, now: float) -> EdgeResponse:
        origin = self.origins[behavior["TargetOriginId"]]
        bucket = origin["DomainName"].split(".s3")[0]
        object_key = (origin.get("OriginPath", "") + path).lstrip("/")
        with self.trace.span(self.service, "OriginFetch", f"s3://{bucket}/{object_key}") as span:
            if object_key:
                status, body, headers = self.origin_fetch(bucket, object_key)
            else:   # "/" without a default root object: S3 refuses to list the bucket to CloudFront
                status, body, headers = 403, b"<Error><Code>AccessDenied</Code></Error>", {}
            span.detail.update(status_code=status, origin_access=self.origin_access)
            if status >= 400:
                span.status = "denied" if status == 403 else "error"
        self.counters["origin_fetches"] += 1
        ttl = ERROR_CACHING_TTL_S if status >= 400 else _ttl_from(headers.get("Cache-Control", ""), ttls)
        if ttl > 0:
            with self._lock:
                self._edges[edge][key] = _Cached(status, body, dict(headers), now, now + ttl)
        return EdgeResponse(status, body, {**headers, "X-Cache": "Miss from cloudfront" if status < 400
                                           else "Error from cloudfront"}, edge, "miss", True)

    def s3_origin_fetch(self, bucket: str, key: str) -> tuple[int, bytes, dict[str, str]]:
        """GetObject as CloudFront's origin access does: the bucket policy decides first."""
        if self.origin_access == "oac":
            caller = {"Service": "cloudfront.amazonaws.com"}
            context = {"aws:SourceArn": self.arn, "aws:SourceAccount": self.arn.split(":")[4]}
        else:
            caller, context = {"AWS": "anonymous"}, {}
        try:
            policy = json.loads(self.s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError:
            policy = {"Statement": []}
        resource = f"arn:aws:s3:::{bucket}/{key}"
        if not evaluate([policy], "s3:GetObject", resource, context, caller=caller):
            return 403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", {}
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
            # S3 says 404 only to callers allowed to list the bucket; others get 403.
            listable = evaluate([policy], "s3:ListBucket", f"arn:aws:s3:::{bucket}", context, caller=caller)
            code = (404, b"NoSuchKey") if listable else (403, b"AccessDenied")
            return code[0], b"<Error><Code>" + code[1] + b"</Code></Error>", {}
        headers = {"Content-Type": obj.get("ContentType", "binary/octet-stream"), "ETag": obj.get("ETag", "")}
        if obj.get("CacheControl"):
            headers["Cache-Control"] = obj["CacheControl"]
        return 200, obj["Body"].read(), headers

    # -- signed URLs and cookies ------------------------------------------------------------------
    def _check_signature(self, parts, behavior: Mapping, cookies: Mapping[str, str], source_ip: str) -> str:
        """Empty when the request carries a valid signature, else why it is refused."""
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        remaining = "&".join(p for p in parts.query.split("&") if p and p.split("=")[0] not in _SIGNING_PARAMS)
        resource = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{remaining}" if remaining else "")
        if "Signature" in query:
            fields = {k: query.get(k) for k in _SIGNING_PARAMS}
        elif "CloudFront-Signature" in cookies:
            fields = {k: cookies.get(f"CloudFront-{k}") for k in _SIGNING_PARAMS}
        else:
            return "missing signature"
        key_id = fields["Key-Pair-Id"]
        if key_id not in self._trusted[behavior.get("PathPattern", "")]:
            return "key not in a trusted key group"
        if fields["Policy"]:
            try:
                policy_bytes = _b64_cloudfront(fields["Policy"])
                statement = json.loads(policy_bytes)["Statement"][0]
            except (ValueError, KeyError, IndexError):
                return "malformed policy"
        elif fields["Expires"] and fields["Expires"].isdigit():
            statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": int(fields["Expires"])}}}
            policy_bytes = json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()
        else:
            return "missing policy or expiry"
        try:
            self._keys[key_id].verify(_b64_cloudfront(fields["Signature"] or ""), policy_bytes,
                                      padding.PKCS1v15(), hashes.SHA1())
        except (InvalidSignature, ValueError):
            return "signature does not match"
        return _policy_refusal(statement, resource, source_ip, self.clock())

    # -- invalidations ----------------------------------------------------------------------------
    def create_invalidation(self, paths: list[str], caller_reference: str | None = None) -> str:
        """Record an invalidation in moto and apply it at every edge; returns its id."""
        for p in paths:
            if not p.startswith("/") or "*" in p[:-1]:
                raise ValueError(f"invalidation path {p!r}: must start with / and may end with one *")
        response = self.client.create_invalidation(DistributionId=self.distribution_id, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": list(paths)},
            "CallerReference": caller_reference or f"inv-{time.time_ns()}"})
        removed = 0
        with self._lock:
            for cache in self._edges.values():
                for key in [k for k in cache if any(_invalidates(p, k.split("?")[0]) for p in paths)]:
                    del cache[key]
                    removed += 1
        self.counters["invalidated_objects"] += removed
        with self.trace.span(self.service, "CreateInvalidation", ",".join(paths)) as span:
            span.detail["objects_removed"] = removed
        return response["Invalidation"]["Id"]

    def stats(self) -> dict[str, Any]:
        edges = sorted(set(self.hits) | set(self.misses))
        return {"edges": {e: {"hits": self.hits[e], "misses": self.misses[e],
                              "objects": len(self._edges.get(e, {}))} for e in edges},
                **self.counters}


def _invalidates(pattern: str, path: str) -> bool:
    return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern


def _ttl_from(cache_control: str, ttls: Mapping[str, Any]) -> float:
    directives = {d.split("=")[0].strip().lower(): d.split("=")[1].strip() if "=" in d else ""
                  for d in cache_control.split(",") if d.strip()}
    low, default, high = ttls["MinTTL"], ttls["DefaultTTL"], ttls["MaxTTL"]
    if {"no-store", "no-cache", "private"} & set(directives):
        return low
    for name in ("s-maxage", "max-age"):
        if directives.get(name, "").isdigit():
            return min(max(int(directives[name]), low), high)
    return default


def _policy_refusal(statement: Mapping, resource: str, source_ip: str, now: float) -> str:
    condition = statement.get("Condition", {})
    if not wildcard(statement.get("Resource", "")).match(resource):
        return "resource not covered by the policy"
    expires = condition.get("DateLessThan", {}).get("AWS:EpochTime")
    if expires is None:
        return "policy has no DateLessThan"
    if now >= expires:
        return "expired"
    starts = condition.get("DateGreaterThan", {}).get("AWS:EpochTime")
    if starts is not None and now <= starts:
        return "not yet valid"
    cidr = condition.get("IpAddress", {}).get("AWS:SourceIp")
    if cidr and not ip_in(source_ip, cidr):
        return "source IP not allowed"
    return ""
