"""MyVideo, executed: premium registration, the signed-URL generator, and a private bucket behind CloudFront.

Deploy creates, in the run's own account: a Cognito user pool, the premium users
table, the private content bucket (a video, and an HLS playlist with its segments),
the two functions and one REST API with a Cognito authorizer (stage cache with
``api_cache``). With ``cloudfront`` on: an RSA signing key whose public half is a
CloudFront public key in a trusted key group and whose private half is in Secrets
Manager (the generator reads it there), and a distribution whose only way into the
bucket is origin access control. With it off, the generator hands out S3 pre-signed
URLs instead.

Drive: two users sign up and sign in; one registers as premium, twice (the second
changes nothing); the other is refused a URL with 403; a direct S3 GET of the video is
denied by the bucket policy; the premium user's signed URL is served by the edge, and
the edge refuses an expired URL (judged by the run's clock, moved past the expiry), a
tampered one, one signed with a key outside the key group and an unsigned one; a custom
policy works from its IP range and is refused from another; signed cookies open a
playlist and its segments. With ``api_cache``: the status GET cached without the
caller in its key serves one user's answer to another, then keyed by the
Authorization header each gets their own.

Emulated where moto has no data plane: the REST API invocation, authorizer and stage
cache, the CloudFront edge (signature verification is real RSA-SHA1 against the public
keys held in moto) and the bucket policy's evaluation. Checks: :mod:`patterns.paid_content.checks`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.runtime.infra import Distribution, RestApi, Route, SigningKey, StageCache, UserPool
from app.runtime.pipeline import Pipeline, RunContext
from patterns.paid_content import checks

PASSWORD = "Correct-Horse-7-battery"
USERS = {"premium": "pat.premium@example.com", "free": "fran.free@example.com"}
VIDEO = "v1"
URL_TTL_S = 900              # a URL lives 15 minutes; the stage cache (300 s by default) stays shorter
VIEWER_IP, OTHER_IP = "203.0.113.10", "198.51.100.7"
FILES = {
    f"videos/{VIDEO}/video.mp4": ("video/mp4", "max-age=86400", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2048),
    f"videos/{VIDEO}/playlist.m3u8": ("application/vnd.apple.mpegurl", "max-age=60",
                                      b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nsegment-0.ts\n"
                                      b"#EXTINF:6.0,\nsegment-1.ts\n#EXT-X-ENDLIST\n"),
    f"videos/{VIDEO}/segment-0.ts": ("video/mp2t", "max-age=86400", b"G" + b"\x00" * 1023),
    f"videos/{VIDEO}/segment-1.ts": ("video/mp2t", "max-age=86400", b"G" + b"\x01" * 1023),
}
API_PATH = ("api", "authorizer")


@dataclass
class State:
    """What the steps of a MyVideo run share."""

    user_pool: UserPool | None = None
    table: str = ""
    bucket: str = ""
    key: SigningKey | None = None
    stray_key: SigningKey | None = None
    distribution: Distribution | None = None
    api: RestApi | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    subs: dict[str, str] = field(default_factory=dict)
    registrations: list[dict] = field(default_factory=list)
    refused: dict[str, Any] = field(default_factory=dict)
    direct_get: dict[str, Any] = field(default_factory=dict)
    grant: dict[str, Any] = field(default_factory=dict)
    viewer: list[dict] = field(default_factory=list)         # each edge or S3 request and its answer
    cache_trap: list[dict] = field(default_factory=list)


def _call(ctx: RunContext[State], method: str, path: str, user: str, **options):
    r = ctx.state.api.request(method, path, headers={"Authorization": ctx.state.tokens[user]}, **options)
    return r, (r.json() if r.body else {})


def _tamper_path(url: str) -> str:
    return url.replace(f"/videos/{VIDEO}/video.mp4", f"/videos/{VIDEO}/segment-0.ts")


def _tamper_expiry(url: str) -> str:
    return re.sub(r"Expires=(\d+)", lambda m: f"Expires={int(m.group(1)) + 86400}", url)


def _sign_with(key: SigningKey, url: str, expires: int) -> str:
    from datetime import datetime, timezone

    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signer = CloudFrontSigner(key.key_id, lambda m: key.private_key.sign(m, padding.PKCS1v15(), hashes.SHA1()))
    return signer.generate_presigned_url(url, date_less_than=datetime.fromtimestamp(expires, timezone.utc))


# -- deploy ----------------------------------------------------------------------------------------
def basics(ctx: RunContext[State]) -> None:
    ctx.state.user_pool = ctx.infra.user_pool("myvideo-users", client_name="myvideo-app")
    ctx.state.table = ctx.infra.table("premium-users", "user_id")
    ctx.state.bucket = ctx.infra.bucket("content", files=FILES)


def distribution(ctx: RunContext[State]) -> None:
    ctx.state.key = ctx.infra.signing_key("video-signing-key")
    ctx.state.stray_key = ctx.infra.signing_key("untrusted-key")    # registered, in no key group
    group = ctx.infra.key_group("premium-viewers", [ctx.state.key])
    dist = ctx.state.distribution = ctx.infra.cloudfront(ctx.state.bucket, comment="MyVideo content",
                                                         trusted_key_groups=[group])
    ctx.artifact("distribution", {"domain": dist.domain, "key_group": group,
                                  "trusted_public_key": ctx.state.key.key_id,
                                  "untrusted_public_key": ctx.state.stray_key.key_id,
                                  "private_key_secret": ctx.state.key.secret,
                                  "bucket_policy": dist.bucket_policy})


def apps(ctx: RunContext[State]) -> None:
    cloudfront = ctx.values["cloudfront"]
    env = {"TABLE_NAME": ctx.state.table, "URL_TTL": str(URL_TTL_S)}
    if cloudfront:
        env.update(MODE="cloudfront", CONTENT_DOMAIN=ctx.state.distribution.domain,
                   KEY_PAIR_ID=ctx.state.key.key_id, SIGNING_SECRET=ctx.state.key.secret)
    else:
        env.update(MODE="s3", CONTENT_BUCKET=ctx.state.bucket)
    register = ctx.lambdas.deploy("register", handler="patterns.paid_content.handlers.register",
                                  env={"TABLE_NAME": ctx.state.table}, description="Premium registration")
    signer = ctx.lambdas.deploy("signed-url", handler="patterns.paid_content.handlers.signed_url", env=env,
                                memory_mb=256, description="Signed URLs for premium users")
    auth = "method.request.header.Authorization"
    routes = [Route("POST", "/premium", register.arn), Route("GET", "/premium", register.arn),
              Route("GET", "/videos/{id}/url", signer.arn, cache_key=(
                  auth, "method.request.path.id", "method.request.querystring.access",
                  "method.request.querystring.ip"))]
    ctx.state.api = ctx.infra.rest_api("myvideo-api", routes, authorizer=ctx.state.user_pool,
                                       cache=StageCache() if ctx.values["api_cache"] else None)
    ctx.artifact("api", {"invoke_url": ctx.state.api.invoke_url, "stage_cache": ctx.state.api.describe_cache()})


# -- drive -----------------------------------------------------------------------------------------
def sign_in(ctx: RunContext[State]) -> None:
    for who, email in USERS.items():
        ctx.state.subs[who] = ctx.state.user_pool.sign_up(email, PASSWORD)
        ctx.state.tokens[who] = ctx.state.user_pool.sign_in(email, PASSWORD)["IdToken"]


def register(ctx: RunContext[State]) -> None:
    for attempt in (1, 2):
        r, body = _call(ctx, "POST", "/premium", "premium")
        ctx.state.registrations.append({"attempt": attempt, "status": r.status, **body})
    ctx.artifact("registrations", ctx.state.registrations)


def not_premium(ctx: RunContext[State]) -> None:
    r, body = _call(ctx, "GET", f"/videos/{VIDEO}/url", "free")
    ctx.state.refused = {"status": r.status, "lambda_invoked": r.invoked, **body}
    ctx.artifact("not_premium", ctx.state.refused)


def direct(ctx: RunContext[State]) -> None:
    cloudfront = ctx.values["cloudfront"]
    key = f"videos/{VIDEO}/video.mp4"
    status, _, decision = ctx.planes.anonymous_s3_get(ctx.state.bucket, key)
    ctx.state.direct_get = {"request": f"GET s3://{ctx.state.bucket}/{key} (anonymous)", "status": status,
                            "reason": decision.reason,
                            "policy": ctx.client("s3").get_bucket_policy(Bucket=ctx.state.bucket)["Policy"]
                            if cloudfront else "none: the bucket has no policy, so nothing admits the caller"}
    ctx.artifact("direct_s3_get", ctx.state.direct_get)


def watch(ctx: RunContext[State]) -> None:
    cloudfront = ctx.values["cloudfront"]
    r, grant = _call(ctx, "GET", f"/videos/{VIDEO}/url", "premium")
    ctx.state.grant = {"status": r.status, **grant}
    if "url" not in grant:             # no URL was granted: there is nothing for a viewer to fetch
        ctx.artifact("grant", ctx.state.grant)
        return
    if not cloudfront:
        status, body, _ = ctx.planes.presigned_request("GET", grant["url"])
        ctx.state.viewer.append({"request": "S3 pre-signed URL", "status": status, "bytes": len(body),
                                 "ok": body == FILES[f"videos/{VIDEO}/video.mp4"][2]})
        ctx.artifact("viewer", ctx.state.viewer)
        ctx.artifact("grant", {**ctx.state.grant, "url": ctx.planes.aws_url(grant["url"])})
        return
    edge = ctx.state.distribution

    def view(label: str, url: str, **options) -> None:
        got = edge.get(url, **options)
        ctx.state.viewer.append({"request": label, "status": got.status, "cache": got.cache or "",
                                 "refused": got.reason or "", "bytes": len(got.body)})

    url = grant["url"]
    view("signed URL", url, source_ip=VIEWER_IP)
    view("signed URL again (edge cache)", url, source_ip=VIEWER_IP)
    ctx.clock.advance(URL_TTL_S + 60)
    try:
        view(f"signed URL presented {URL_TTL_S // 60 + 1} minutes later (expired)", url)
    finally:
        ctx.clock.reset()
    view("tampered: path edited, signature kept", _tamper_path(url))
    view("tampered: expiry pushed a day later, signature kept", _tamper_expiry(url))
    view("signed with a key outside the key group", _sign_with(ctx.state.stray_key, url.split("?")[0],
                                                                 grant["expires"]))
    view("unsigned URL", url.split("?")[0])
    _, custom = _call(ctx, "GET", f"/videos/{VIDEO}/url", "premium",
                      query={"access": "custom", "ip": "203.0.113.0/24"})
    view("custom policy, viewer inside 203.0.113.0/24", custom["url"], source_ip=VIEWER_IP)
    view("custom policy, viewer outside the range", custom["url"], source_ip=OTHER_IP)
    _, cookies = _call(ctx, "GET", f"/videos/{VIDEO}/url", "premium", query={"access": "cookies"})
    base = f"https://{edge.domain}/videos/{VIDEO}"
    for name in ("playlist.m3u8", "segment-0.ts", "segment-1.ts"):
        view(f"signed cookies: {name}", f"{base}/{name}", cookies=cookies["cookies"])
    view("no cookies: playlist.m3u8", f"{base}/playlist.m3u8")
    ctx.state.grant.update(custom=custom, cookies=cookies)
    ctx.artifact("viewer", ctx.state.viewer)
    ctx.artifact("grant", ctx.state.grant)


def cache_trap(ctx: RunContext[State]) -> None:
    api, trap = ctx.state.api, ctx.state.cache_trap

    def status(user: str, key: str) -> None:
        r, body = _call(ctx, "GET", "/premium", user)
        trap.append({"cache key": key, "caller": user, "cache": r.cache or "", "lambda_invoked": r.invoked,
                     "answer about": "premium" if body.get("user") == ctx.state.subs["premium"] else "free",
                     "premium": body.get("premium")})

    for user in ("premium", "free"):
        status(user, "method and path only")
    api.set_cache_key("GET", "/premium", ["method.request.header.Authorization"])
    for user in ("premium", "free", "premium"):
        status(user, "method, path and Authorization header")
    ctx.artifact("cache_trap", trap)


def build_pipeline(values: dict[str, Any]) -> Pipeline:
    cloudfront = values["cloudfront"]
    p = Pipeline("paid-content", values=values, state=State, live_unsupported=(
        "its API requests and the CloudFront edge go through the embedded backend's emulated API Gateway and "
        "CloudFront data planes, which have no meaning against AWS"),
        faults=("ddb_throttle_rate",))

    p.add("deploy", "Create the user pool, the premium users table and the content bucket", "s3", basics)
    if cloudfront:
        p.add("deploy", "Create the signing key, its key group and the distribution", "cloudfront", distribution)
    p.add("deploy", "Deploy the registration and signed-URL functions and the API", "apigateway", apps)
    p.add("drive", "Two users sign up and sign in", "cognito-idp", sign_in, ("signin",))
    p.add("drive", "Register one user as premium, twice", "apigateway", register,
          API_PATH + ("register", "register_db"))
    p.add("drive", "A user who is not premium asks for a URL", "apigateway", not_premium,
          API_PATH + ("signed_url", "premium_check"))
    p.add("drive", "Read the video straight from S3", "s3", direct, ("download",))
    p.add("drive", "The premium user gets a URL and watches", "cloudfront" if cloudfront else "s3", watch,
          API_PATH + ("signed_url", "premium_check", "sign", "download", "origin"))
    if values["api_cache"]:
        p.add("drive", "Status reads through the stage cache: the cache key trap", "apigateway", cache_trap,
              API_PATH + ("api_cache", "register"))
    checks.add_checks(p, values)
    return p
