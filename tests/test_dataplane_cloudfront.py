"""CloudFront edge emulation over a distribution and an S3 origin really created in moto."""
from __future__ import annotations

import datetime
import json
import time
import uuid

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.runtime.dataplanes.cloudfront import CloudFrontEdge
from app.runtime.streaming import ManualClock
from app.runtime.trace import Trace

OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def _rsa():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pem


def _signer(key_id, private_key):
    return CloudFrontSigner(key_id, lambda message: private_key.sign(message, padding.PKCS1v15(), hashes.SHA1()))


def _distribution(cf, bucket, behaviors):
    config = {
        "CallerReference": uuid.uuid4().hex, "Comment": "", "Enabled": True, "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": OPTIMIZED},
        "CacheBehaviors": {"Quantity": len(behaviors), "Items": behaviors},
    }
    return cf.create_distribution(DistributionConfig=config)["Distribution"]


@pytest.fixture(scope="module")
def world(moto_endpoint):
    import boto3
    kw = dict(endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    cf, s3 = boto3.client("cloudfront", **kw), boto3.client("s3", **kw)
    bucket = f"site-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>blog</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="img/a.png", Body=b"png-a", CacheControl="max-age=60")
    s3.put_object(Bucket=bucket, Key="img/b.png", Body=b"png-b", CacheControl="max-age=5")
    s3.put_object(Bucket=bucket, Key="private/doc.txt", Body=b"members only")
    s3.put_object(Bucket=bucket, Key="private/other.txt", Body=b"also private")
    private_key, pem = _rsa()
    public_key_id = cf.create_public_key(PublicKeyConfig={"CallerReference": uuid.uuid4().hex, "Name": "signer",
                                                          "EncodedKey": pem})["PublicKey"]["Id"]
    _, stray_pem = _rsa()
    stray_key_id = cf.create_public_key(PublicKeyConfig={"CallerReference": uuid.uuid4().hex, "Name": "stray",
                                                         "EncodedKey": stray_pem})["PublicKey"]["Id"]
    group = cf.create_key_group(KeyGroupConfig={"Name": f"g{uuid.uuid4().hex[:6]}", "Items": [public_key_id]})
    behaviors = [
        {"PathPattern": "/private/*", "TargetOriginId": "site", "ViewerProtocolPolicy": "https-only",
         "CachePolicyId": OPTIMIZED,
         "TrustedKeyGroups": {"Enabled": True, "Quantity": 1, "Items": [group["KeyGroup"]["Id"]]}},
        {"PathPattern": "img/*", "TargetOriginId": "site", "ViewerProtocolPolicy": "https-only",
         "CachePolicyId": "short-images"},
    ]
    dist = _distribution(cf, bucket, behaviors)
    other = _distribution(cf, bucket, [])
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowCloudFrontServicePrincipalReadOnly", "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}}]}))
    return {"cf": cf, "s3": s3, "bucket": bucket, "dist": dist, "other": other, "key": private_key,
            "key_id": public_key_id, "stray_key_id": stray_key_id}


def make_edge(world, dist="dist", **kwargs):
    kwargs.setdefault("clock", ManualClock(time.time()))
    kwargs.setdefault("cache_policies", {"short-images": {"MinTTL": 0, "DefaultTTL": 300, "MaxTTL": 30}})
    return CloudFrontEdge(world["cf"], world["s3"], world[dist]["Id"], **kwargs)


def test_each_edge_location_caches_on_its_own(world):
    trace = Trace()
    edge = make_edge(world, trace=trace)
    first = edge.get("/", viewer_region="us-east-1")
    assert (first.status, first.body, first.cache, first.edge) == (200, b"<h1>blog</h1>", "miss", "IAD")
    assert first.headers["X-Cache"] == "Miss from cloudfront" and first.origin_fetched
    second = edge.get(edge.url("/index.html"), viewer_region="us-east-1")
    assert (second.cache, second.headers["X-Cache"], second.origin_fetched) == ("hit", "Hit from cloudfront", False)
    assert edge.get("/index.html", viewer_region="eu-central-1").cache == "miss"
    assert edge.get("/index.html", viewer_region="eu-central-1").headers["X-Amz-Cf-Pop"].startswith("FRA")
    stats = edge.stats()
    assert stats["edges"]["IAD"] == {"hits": 1, "misses": 1, "objects": 1}
    assert stats["edges"]["FRA"]["hits"] == 1 and stats["origin_fetches"] == 2
    assert [s.cache for s in trace.spans if s.operation == "GET"] == ["miss", "hit", "miss", "hit"]
    with pytest.raises(ValueError, match="eu-west-1"):
        edge.get("/", viewer_region="mars-1")


def test_ttl_from_cache_policy_and_origin_cache_control(world):
    clock = ManualClock(time.time())
    edge = make_edge(world, clock=clock)
    edge.get("/index.html")           # no Cache-Control: DefaultTTL 86400 of CachingOptimized
    edge.get("/img/a.png")            # max-age=60 clamped to the custom policy's MaxTTL 30
    edge.get("/img/b.png")            # max-age=5 kept (MinTTL 0)
    clock.now += 6
    assert [edge.get(p).cache for p in ("/index.html", "/img/a.png", "/img/b.png")] == ["hit", "hit", "miss"]
    clock.now += 25
    assert edge.get("/img/a.png").cache == "miss"
    clock.now += 86400 - 32         # 86399 s after the first fetch
    assert edge.get("/index.html").cache == "hit"
    clock.now += 1
    assert edge.get("/index.html").cache == "miss"
    hit = edge.get("/index.html")
    clock.now += 7
    assert int(edge.get("/index.html").headers["Age"]) == 7 and hit.cache == "hit"


def test_unknown_cache_policy_is_refused(world):
    edge = make_edge(world, cache_policies={})
    with pytest.raises(ValueError, match="cache_policies"):
        edge.get("/img/a.png")


def test_invalidation_clears_every_edge_and_is_recorded_in_moto(world):
    edge = make_edge(world)
    for region in ("us-east-1", "ap-northeast-1"):
        for path in ("/img/a.png", "/img/b.png", "/index.html"):
            edge.get(path, viewer_region=region)
    invalidation_id = edge.create_invalidation(["/img/*"])
    assert edge.stats()["invalidated_objects"] == 4
    assert edge.get("/img/a.png", viewer_region="ap-northeast-1").cache == "miss"
    assert edge.get("/index.html", viewer_region="ap-northeast-1").cache == "hit"
    listed = world["cf"].list_invalidations(DistributionId=world["dist"]["Id"])["InvalidationList"]["Items"]
    assert invalidation_id in [i["Id"] for i in listed]
    edge.create_invalidation(["/index.html"])
    assert edge.get("/index.html").cache == "miss"
    with pytest.raises(ValueError, match="must start with /"):
        edge.create_invalidation(["img/*"])
    with pytest.raises(ValueError):
        edge.create_invalidation(["/img/*/a.png"])


def test_bucket_admits_only_its_distribution(world):
    assert make_edge(world).get("/index.html").status == 200
    other = make_edge(world, dist="other")
    refused = other.get("/index.html")
    assert refused.status == 403 and refused.origin_fetched and b"AccessDenied" in refused.body
    assert make_edge(world, origin_access="public").get("/index.html").status == 403
    # Neither a missing object (403 without s3:ListBucket) nor a refusal is served for long: 10 s error caching.
    clock = ManualClock(time.time())
    edge = make_edge(world, clock=clock)
    assert edge.get("/nope.html").status == 403
    assert edge.get("/nope.html").cache == "hit"
    clock.now += 10
    assert edge.get("/nope.html").cache == "miss"


def test_canned_signed_url(world):
    clock = ManualClock(time.time())
    edge = make_edge(world, clock=clock)
    signer = _signer(world["key_id"], world["key"])
    expires = datetime.datetime.fromtimestamp(clock.now + 300, tz=datetime.UTC)
    url = signer.generate_presigned_url(edge.url("/private/doc.txt"), date_less_than=expires)
    ok = edge.get(url)
    assert (ok.status, ok.body) == (200, b"members only")
    assert edge.get(url).cache == "hit"
    fetches = edge.stats()["origin_fetches"]
    refusals = {
        "missing signature": edge.url("/private/doc.txt"),
        "resource tampered": url.replace("/private/doc.txt", "/private/other.txt"),
        "expiry tampered": url.replace(f"Expires={int(clock.now + 300)}", f"Expires={int(clock.now + 9999)}"),
        "signature tampered": url.replace("Signature=", "Signature=AAAA"),
        "stray key id": url.replace(world["key_id"], world["stray_key_id"]),
    }
    for why, bad in refusals.items():
        response = edge.get(bad)
        assert response.status == 403 and response.cache is None, why
    clock.now += 301
    assert edge.get(url).reason == "expired"
    assert edge.stats()["origin_fetches"] == fetches and edge.stats()["refused"] == len(refusals) + 1


def test_signature_from_another_private_key_is_refused(world):
    edge = make_edge(world)
    impostor_key, _ = _rsa()
    url = _signer(world["key_id"], impostor_key).generate_presigned_url(
        edge.url("/private/doc.txt"), date_less_than=datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(minutes=5))
    assert edge.get(url).reason == "signature does not match"


def test_custom_policy_wildcard_ip_and_start_time(world):
    clock = ManualClock(time.time())
    edge = make_edge(world, clock=clock)
    signer = _signer(world["key_id"], world["key"])
    now = datetime.datetime.fromtimestamp(clock.now, tz=datetime.UTC)
    policy = signer.build_policy(edge.url("/private/*"), now + datetime.timedelta(hours=1),
                                 ip_address="198.51.100.0/24")
    url = signer.generate_presigned_url(edge.url("/private/other.txt"), policy=policy)
    assert edge.get(url, source_ip="198.51.100.7").body == b"also private"
    assert edge.get(url, source_ip="203.0.113.1").reason == "source IP not allowed"
    later = signer.build_policy(edge.url("/private/*"), now + datetime.timedelta(hours=2),
                                date_greater_than=now + datetime.timedelta(hours=1))
    assert edge.get(signer.generate_presigned_url(edge.url("/private/doc.txt"), policy=later)).reason == \
        "not yet valid"
    narrow = signer.build_policy(edge.url("/private/doc.txt"), now + datetime.timedelta(hours=1))
    assert edge.get(signer.generate_presigned_url(edge.url("/private/other.txt"), policy=narrow)).reason == \
        "resource not covered by the policy"


def test_signed_cookies(world):
    clock = ManualClock(time.time())
    edge = make_edge(world, clock=clock)
    signer = _signer(world["key_id"], world["key"])
    expires = datetime.datetime.fromtimestamp(clock.now + 600, tz=datetime.UTC)
    policy = signer.build_policy(edge.url("/private/*"), expires)
    signed = signer.generate_presigned_url(edge.url("/x"), policy=policy)
    params = dict(p.split("=", 1) for p in signed.split("?", 1)[1].split("&"))
    cookies = {"CloudFront-Policy": params["Policy"], "CloudFront-Signature": params["Signature"],
               "CloudFront-Key-Pair-Id": params["Key-Pair-Id"]}
    assert edge.get("/private/doc.txt", cookies=cookies).status == 200
    assert edge.get("/private/other.txt", cookies=cookies).status == 200
    forged = {**cookies, "CloudFront-Policy": cookies["CloudFront-Policy"][:-8] + "AAAAAAAA"}
    assert edge.get("/private/doc.txt", cookies=forged).status == 403
    canned = signer.generate_presigned_url(edge.url("/private/doc.txt"), date_less_than=expires)
    canned_params = dict(p.split("=", 1) for p in canned.split("?", 1)[1].split("&"))
    canned_cookies = {f"CloudFront-{k}": v for k, v in canned_params.items()}
    assert edge.get("/private/doc.txt", cookies=canned_cookies).status == 200
    assert edge.get("/private/other.txt", cookies=canned_cookies).status == 403
    clock.now += 601
    assert edge.get("/private/doc.txt", cookies=cookies).reason == "expired"


def test_injected_origin_fetch_is_called_once_per_edge_and_ttl(world):
    calls = []

    def origin(bucket, key):
        calls.append((bucket, key))
        return 200, b"from elsewhere", {"Cache-Control": "max-age=100", "Content-Type": "text/plain"}

    clock = ManualClock(time.time())
    edge = make_edge(world, clock=clock, origin_fetch=origin)
    assert edge.get("/notes/a.txt").body == b"from elsewhere"
    assert edge.get("/notes/a.txt").cache == "hit"
    clock.now += 100
    assert edge.get("/notes/a.txt").cache == "miss"
    assert calls == [(world["bucket"], "notes/a.txt")] * 2
