"""MyVideo's checks: who was allowed what, read back from the backend (the verify steps of the pipeline)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from app.core import facts
from app.runtime.pipeline import Check, Pipeline, RunContext

if TYPE_CHECKING:
    from patterns.paid_content.pipeline import State


def _answer(viewer: list[dict], label: str) -> dict:
    return next(v for v in viewer if v["request"] == label)


def _when(epoch: Any) -> str:
    """An epoch time as the UTC time it names."""
    from datetime import datetime, timezone

    try:
        return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError):
        return str(epoch)


def _conditions(condition: dict) -> str:
    """A CloudFront custom policy's conditions in words."""
    words = []
    if "DateGreaterThan" in condition:
        words.append(f"admits from {_when(condition['DateGreaterThan'].get('AWS:EpochTime'))}")
    if "DateLessThan" in condition:
        words.append(f"until {_when(condition['DateLessThan'].get('AWS:EpochTime'))}")
    if "IpAddress" in condition:
        words.append(f"from source IPs {condition['IpAddress'].get('AWS:SourceIp')}")
    return " ".join(words) or json.dumps(condition)


def v_register(ctx: RunContext["State"]):
    first, second = ctx.state.registrations
    items = ctx.client("dynamodb").scan(TableName=ctx.state.table)["Items"]
    ctx.artifact("premium_table", [{k: list(v.values())[0] for k, v in i.items()} for i in items])
    sub = ctx.state.subs["premium"]
    return Check("registering twice stores one premium item (conditional write)",
                 first["status"] == 201 and second["status"] == 200 and second.get("already_registered") is True
                 and [i["user_id"]["S"] for i in items] == [sub] and items[0]["premium"]["BOOL"] is True,
                 f"first POST /premium answered {first['status']}, the second {second['status']}"
                 + (" (already registered)" if second.get("already_registered") else "")
                 + f"; the table holds {len(items)} item{'' if len(items) == 1 else 's'}, user {sub}")


def v_refused(ctx: RunContext["State"]):
    refused = ctx.state.refused
    return Check("a user who is not premium is refused a URL with the reason",
                 refused["status"] == 403 and "premium" in refused.get("message", "") and "url" not in refused,
                 f"GET /videos/{{id}}/url by the free user answered {refused['status']}: {refused.get('message')}")


def v_direct(ctx: RunContext["State"]):
    d = ctx.state.direct_get
    return Check("a direct S3 GET of the video is denied", d["status"] == 403,
                 f"{d['request']}: {d['status']} ({d['reason']})")


def v_viewer(ctx: RunContext["State"]):
    from patterns.paid_content.pipeline import URL_TTL_S

    cloudfront = ctx.values["cloudfront"]
    grant, viewer = ctx.state.grant, ctx.state.viewer
    if "url" not in grant:
        return Check("the premium user is granted a URL", False,
                     f"GET /videos/{{id}}/url by the premium user answered {grant.get('status')}"
                     + (f" ({grant['message']})" if grant.get("message") else "")
                     + ": no URL was granted, so no viewer request was made")
    if not cloudfront:
        expires_in = int(parse_qs(urlsplit(grant["url"]).query).get("X-Amz-Expires", ["0"])[0])
        got = viewer[0]
        return [
            Check("the generator returns an S3 pre-signed URL (Signature Version 4)",
                  grant["kind"] == "s3-presigned" and "X-Amz-Signature=" in grant["url"]
                  and 0 < expires_in <= facts.S3_PRESIGNED_MAX_EXPIRY_S.value,
                  f"X-Amz-Expires={expires_in} s (at most {facts.S3_PRESIGNED_MAX_EXPIRY_S.value:,} s, 7 days)"),
            Check("the pre-signed URL fetched over HTTP returns the video", got["status"] == 200 and got["ok"],
                  f"HTTP GET answered {got['status']}, {got['bytes']:,} bytes equal to the stored video"),
        ]
    ok = _answer(viewer, "signed URL")
    again = _answer(viewer, "signed URL again (edge cache)")
    refusals = [v for v in viewer if v["status"] == 403]
    expected = {"expired": "expired", "tampered: path": "signature does not match",
                "tampered: expiry": "signature does not match", "outside the key group": "key not in a trusted",
                "unsigned": "missing signature", "outside the range": "", "no cookies": "missing signature"}
    wrong = [v for v in viewer if any(k in v["request"] for k in expected) and v["status"] != 403]
    policy = json.loads(ctx.client("s3").get_bucket_policy(Bucket=ctx.state.bucket)["Policy"])["Statement"][0]
    cookies = [v for v in viewer if v["request"].startswith("signed cookies")]
    inside = _answer(viewer, "custom policy, viewer inside 203.0.113.0/24")
    outside = _answer(viewer, "custom policy, viewer outside the range")
    return [
        Check("the edge serves the video for a valid signed URL, then from its cache",
              ok["status"] == 200 and ok["cache"] == "miss" and again["status"] == 200 and again["cache"] == "hit",
              f"{ok['status']} ({ok['cache']}), then {again['status']} ({again['cache']}); signed with key "
              f"{ctx.state.key.key_id}, read by the function from Secrets Manager"),
        Check("expired, tampered, untrusted-key and unsigned requests get 403",
              not wrong and all(v["refused"] for v in refusals) and len(refusals) >= 7,
              "; ".join(f"{v['request']}: {v['status']} ({v['refused']})" for v in refusals)),
        Check(f"the URL expires after {URL_TTL_S // 60} minutes, judged by the run's clock",
              "expired" in _answer(viewer, f"signed URL presented {URL_TTL_S // 60 + 1} minutes later (expired)")
              ["refused"], f"canned policy Expires={grant['expires']} ({_when(grant['expires'])})"),
        Check("a custom policy admits its IP range and refuses another",
              inside["status"] == 200 and outside["status"] == 403 and "ip" in outside["refused"].lower(),
              f"inside: {inside['status']}; outside: {outside['status']} ({outside['refused']}); the policy "
              + _conditions(grant["custom"]["policy"]["Statement"][0]["Condition"])),
        Check("signed cookies open the playlist and every segment",
              all(v["status"] == 200 for v in cookies) and len(cookies) == 3,
              ", ".join(f"{v['request'].split(': ')[1]}: {v['status']}" for v in cookies)
              + f"; resource {grant['cookies']['resource']}"),
        Check("only the distribution may read the bucket (origin access control)",
              policy["Principal"] == {"Service": "cloudfront.amazonaws.com"}
              and policy["Condition"]["StringEquals"]["AWS:SourceArn"] == ctx.state.distribution.arn,
              "bucket policy read back: s3:GetObject for cloudfront.amazonaws.com when AWS:SourceArn is the "
              "distribution"),
    ]


def v_secret(ctx: RunContext["State"]):
    cloudfront = ctx.values["cloudfront"]
    fn = ctx.client("lambda").get_function(FunctionName=ctx.lambdas.get("signed-url").arn)["Configuration"]
    env = (fn.get("Environment") or {}).get("Variables", {})
    if not cloudfront:
        return Check("S3 pre-signed URLs need no signing key", "SIGNING_SECRET" not in env,
                     "the function signs with its role's credentials")
    secret = ctx.client("secretsmanager").describe_secret(SecretId=ctx.state.key.secret)
    return Check("the signing key is read from Secrets Manager, not from code or environment",
                 env.get("SIGNING_SECRET") == ctx.state.key.secret
                 and not any("PRIVATE KEY" in v for v in env.values()) and secret["Name"] == ctx.state.key.secret,
                 f"environment names the secret {secret['Name']}; no key material in the environment")


def v_cache(ctx: RunContext["State"]):
    trap = ctx.state.cache_trap
    naive, keyed = trap[:2], trap[2:]
    return [
        Check("without the caller in the cache key, one user receives another's cached answer (unsafe)",
              naive[1]["cache"] == "hit" and naive[1]["caller"] == "free" and naive[1]["answer about"]
              == "premium" and not naive[1]["lambda_invoked"],
              f"the free user's GET /premium was a cache {naive[1]['cache']} and answered premium="
              f"{naive[1]['premium']} about the premium user"),
        Check("with the Authorization header in the key, each user gets their own answer (safe)",
              all(t["answer about"] == t["caller"] for t in keyed)
              and [t["cache"] for t in keyed] == ["miss", "miss", "hit"],
              "; ".join(f"{t['caller']}: {t['cache']}, about {t['answer about']}" for t in keyed)),
    ]


def add_checks(p: Pipeline, values: dict[str, Any]) -> None:
    cloudfront = values["cloudfront"]

    p.add("verify", "Premium registration is idempotent and stored", "dynamodb", v_register)
    p.add("verify", "Only premium users get a URL", "lambda", v_refused)
    p.add("verify", "The bucket cannot be read directly", "s3", v_direct)
    p.add("verify", "Viewers get the video only with a valid signature", "cloudfront" if cloudfront else "s3",
          v_viewer)
    p.add("verify", "The private key is kept in Secrets Manager, not in the function", "secretsmanager", v_secret)
    if values["api_cache"]:
        p.add("verify", "The stage cache keys per-user answers by the caller", "apigateway", v_cache)
