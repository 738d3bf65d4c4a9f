"""MyVideo's Lambda functions, both behind an API Gateway REST API with a Cognito authorizer.

``register``     app 1, premium registration: POST /premium records the caller (their
                 Cognito ``sub``) as premium with a conditional write, so a second
                 registration changes nothing; GET /premium answers the caller's status.
``signed_url``   app 2, the URL generator: GET /videos/{id}/url looks the caller up in the
                 premium table; a caller who is not premium gets 403 with the reason. For a
                 premium caller, with ``MODE=cloudfront``, it signs with the private key of a
                 public key in the distribution's trusted key group, read from Secrets
                 Manager at run time (never from the code or the environment):
                 ``?access=url`` (default) a signed URL with a canned policy (``Expires``),
                 ``?access=custom&ip=<CIDR>`` a custom policy (valid from now, until the
                 expiry, from that source IP range only), ``?access=cookies`` signed cookies
                 for every file under the video's folder (an HLS playlist and its segments).
                 With ``MODE=s3`` it returns an S3 pre-signed GET URL (Signature Version 4,
                 at most 7 days) signed with the function's own role credentials.

Environment:
    TABLE_NAME       the premium users table (partition key ``user_id``)
    MODE             ``cloudfront`` or ``s3``
    CONTENT_DOMAIN   the distribution's domain name (cloudfront)
    KEY_PAIR_ID      the CloudFront public key id the signatures name (cloudfront)
    SIGNING_SECRET   the Secrets Manager secret holding the PEM private key (cloudfront)
    CONTENT_BUCKET   the private content bucket (s3)
    URL_TTL          lifetime of a URL or cookie in seconds (default 300)

Needs the standard library, boto3, ``cryptography`` (a Lambda layer on AWS) and
patterns/lambda_kit.py, packaged with it.
"""
from __future__ import annotations

import base64
import json
import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

try:
    from patterns.lambda_kit import claims, client, item, response
except ImportError:  # on AWS Lambda the kit is packaged at the top level
    from lambda_kit import claims, client, item, response  # type: ignore[no-redef]  # the same module, packaged

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

DEPLOY_WITH = ("patterns.lambda_kit",)   # shared code packaged beside this module
S3_PRESIGN_MAX_S = 7 * 24 * 3600         # SigV4 pre-signed URLs live at most 7 days
# (secret name, key): read once per execution environment, on first use
_private_key: tuple[str, RSAPrivateKey] | None = None


def _caller(event: dict) -> tuple[str, str]:
    c = claims(event)
    return c.get("sub", ""), c.get("email", "")


def _is_premium(sub: str) -> bool:
    got = client("dynamodb").get_item(TableName=os.environ["TABLE_NAME"], Key={"user_id": {"S": sub}},
                                      ConsistentRead=True)
    return "Item" in got and item(got["Item"]).get("premium") is True


def register(event: dict, context) -> dict:
    sub, email = _caller(event)
    if not sub:
        return response(401, {"message": "no signed-in caller"})
    if event.get("httpMethod") == "GET":
        return response(200, {"user": sub, "email": email, "premium": _is_premium(sub)})
    try:
        client("dynamodb").put_item(
            TableName=os.environ["TABLE_NAME"], ConditionExpression="attribute_not_exists(user_id)",
            Item={"user_id": {"S": sub}, "email": {"S": email}, "premium": {"BOOL": True},
                  "since": {"N": str(int(time.time()))}})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return response(200, {"user": sub, "premium": True, "already_registered": True})
    return response(201, {"user": sub, "premium": True, "already_registered": False})


def _signer():
    """A CloudFront signer with the private key read from Secrets Manager (once per environment)."""
    global _private_key
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if _private_key is None or _private_key[0] != os.environ["SIGNING_SECRET"]:
        pem = client("secretsmanager").get_secret_value(SecretId=os.environ["SIGNING_SECRET"])["SecretString"]
        loaded = serialization.load_pem_private_key(pem.encode(), None)
        if not isinstance(loaded, rsa.RSAPrivateKey):   # CloudFront verifies RSA-SHA1 signatures only
            raise ValueError("the signing secret holds no RSA private key")
        _private_key = (os.environ["SIGNING_SECRET"], loaded)
    key = _private_key[1]
    return CloudFrontSigner(os.environ["KEY_PAIR_ID"], lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA1()))


def _custom_policy(resource: str, expires: int, ip: str | None, starts: int | None = None) -> str:
    condition: dict = {"DateLessThan": {"AWS:EpochTime": expires}}
    if starts is not None:
        condition["DateGreaterThan"] = {"AWS:EpochTime": starts}
    if ip:
        condition["IpAddress"] = {"AWS:SourceIp": ip}
    return json.dumps({"Statement": [{"Resource": resource, "Condition": condition}]}, separators=(",", ":"))


def signed_url(event: dict, context) -> dict:
    sub, _ = _caller(event)
    video = (event.get("pathParameters") or {}).get("id", "")
    query = event.get("queryStringParameters") or {}
    if not sub:
        return response(401, {"message": "no signed-in caller"})
    if not _is_premium(sub):
        return response(403, {"message": "only premium subscribers get video URLs: the caller is not in the "
                                         "premium users table", "user": sub})
    ttl = int(os.environ.get("URL_TTL", "300"))
    now = int(time.time())
    expires = now + ttl
    if os.environ.get("MODE") == "s3":
        ttl = min(ttl, S3_PRESIGN_MAX_S)
        url = client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": os.environ["CONTENT_BUCKET"], "Key": f"videos/{video}/video.mp4"},
            ExpiresIn=ttl)
        return response(200, {"kind": "s3-presigned", "url": url, "expires_in": ttl, "user": sub})
    base = f"https://{os.environ['CONTENT_DOMAIN']}/videos/{video}"
    signer = _signer()
    access = query.get("access", "url")
    if access == "cookies":
        policy = _custom_policy(f"{base}/*", expires, None)
        return response(200, {"kind": "cloudfront-cookies", "resource": f"{base}/*", "expires": expires,
                              "cookies": _cookies(signer, policy), "policy": json.loads(policy), "user": sub})
    if access == "custom":
        policy = _custom_policy(f"{base}/video.mp4", expires, query.get("ip"), starts=now - 60)
        url = signer.generate_presigned_url(f"{base}/video.mp4", policy=policy)
        return response(200, {"kind": "cloudfront-custom-policy", "url": url, "expires": expires,
                              "policy": json.loads(policy), "user": sub})
    url = signer.generate_presigned_url(f"{base}/video.mp4",
                                        date_less_than=datetime.fromtimestamp(expires, UTC))
    return response(200, {"kind": "cloudfront-canned", "url": url, "expires": expires, "user": sub})


def _cloudfront_b64(data: bytes) -> str:
    """Base64 in CloudFront's URL-safe alphabet (+ -> -, = -> _, / -> ~)."""
    return base64.b64encode(data).decode().translate(str.maketrans("+=/", "-_~"))


def _cookies(signer, policy: str) -> dict[str, str]:
    """CloudFront-Policy, -Signature and -Key-Pair-Id cookies for a custom policy."""
    return {"CloudFront-Policy": _cloudfront_b64(policy.encode()),
            "CloudFront-Signature": _cloudfront_b64(signer.rsa_signer(policy.encode())),
            "CloudFront-Key-Pair-Id": signer.key_id}
