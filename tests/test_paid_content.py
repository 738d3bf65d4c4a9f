"""MyVideo executed: the CLI run for every option, the handlers on AWS sample events, the Run page."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from app.core.cases import get_case
from app.runtime.pipeline import Pipeline, load_pipeline, run_pipeline
from tests.runpage import open_run_page, press_run, table_with


def _run(case_run, **toggles: str) -> dict:
    code, out = case_run("paid-content", **toggles)
    assert code == (0 if out["ok"] else 1)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("cloudfront", ["on", "off"])
@pytest.mark.parametrize("api_cache", ["on", "off"])
def test_every_option_runs_green(case_run, cloudfront, api_cache):
    out = _run(case_run, cloudfront=cloudfront, api_cache=api_cache)
    checks = {c["name"]: c for c in out["checks"]}
    assert out["ok"], [c for c in out["checks"] if not c["ok"]]
    assert "403" in checks["a user who is not premium is refused a URL with the reason"]["detail"]
    assert "403" in checks["a direct S3 GET of the video is denied"]["detail"]
    assert checks["nothing left behind"]["ok"]
    if cloudfront == "on":
        refusals = checks["expired, tampered, untrusted-key and unsigned requests get 403"]["detail"]
        for reason in ("expired", "signature does not match", "key not in a trusted key group", "missing signature"):
            assert reason in refusals
        assert out["deployed"]["cloudfront_ttl_s"] == 86400
    else:
        assert "X-Amz-Expires=900" in checks["the generator returns an S3 pre-signed URL (Signature Version 4)"][
            "detail"]
    trap = "without the caller in the cache key, one user receives another's cached answer (unsafe)"
    assert (trap in checks) == (api_cache == "on")


def test_key_groups_the_backend_cannot_delete_go_with_the_account():
    """moto has no DeleteKeyGroup: the run's key group and public keys go when its account is released."""
    from app.runtime.clients import Clients
    from app.runtime.session import RuntimeSession

    session = RuntimeSession.moto()
    result = run_pipeline(load_pipeline(get_case("paid-content"), {"cloudfront": True, "api_cache": False}),
                          session=session, own_session=True, check_leftovers=True)
    assert result.ok and result.artifacts["distribution"]["key_group"]
    sts = Clients(account_id="123456789012", access_key="testing", secret_key="testing",
                  endpoint_url=session.clients.endpoint_url).client("sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{session.account_id}:role/look",
                            RoleSessionName="look")["Credentials"]
    look = Clients(account_id=session.account_id, access_key=creds["AccessKeyId"],
                   secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"],
                   endpoint_url=session.clients.endpoint_url, pin_account=True)
    assert not look.client("cloudfront").list_key_groups()["KeyGroupList"].get("Items")
    assert not look.client("cloudfront").list_public_keys()["PublicKeyList"].get("Items")
    assert not look.client("secretsmanager").list_secrets()["SecretList"]


def _proxy(load_event, path: str, resource: str, sub: str, query: dict | None = None, method: str = "GET"):
    event = load_event("apigateway_proxy_cognito")
    event.update(httpMethod=method, path=path, resource=resource, queryStringParameters=query, body=None)
    event["pathParameters"] = {"id": path.split("/")[2]} if "/videos/" in path else None
    event["requestContext"]["httpMethod"] = method
    event["requestContext"]["authorizer"]["claims"].update(sub=sub, email=f"{sub}@example.com")
    return event


def test_handlers_on_the_aws_sample_event_sign_urls_in_cloudfront_format(runtime_session, load_event):
    """The API Gateway proxy sample event, with the Cognito authorizer's claims, through both functions."""
    p = Pipeline("handler-test")
    out: dict = {}

    @p.deploy("Deploy", service="lambda")
    def deploy(ctx):
        table = ctx.infra.table("premium", "user_id")
        key = ctx.infra.signing_key("signing")
        env = {"TABLE_NAME": table, "MODE": "cloudfront", "CONTENT_DOMAIN": "d111111abcdef8.cloudfront.net",
               "KEY_PAIR_ID": key.key_id, "SIGNING_SECRET": key.secret, "URL_TTL": "120"}
        ctx.lambdas.deploy("register", handler="patterns.paid_content.handlers.register", env={"TABLE_NAME": table})
        ctx.lambdas.deploy("signer", handler="patterns.paid_content.handlers.signed_url", env=env)
        out["key"] = key

    @p.drive("Call", service="lambda")
    def call(ctx):
        invoke = ctx.lambdas.invoke
        out["refused"] = invoke("signer", _proxy(load_event, "/videos/v1/url", "/videos/{id}/url", "u-1")).payload
        out["first"] = invoke("register", _proxy(load_event, "/premium", "/premium", "u-1", method="POST")).payload
        out["again"] = invoke("register", _proxy(load_event, "/premium", "/premium", "u-1", method="POST")).payload
        out["url"] = invoke("signer", _proxy(load_event, "/videos/v1/url", "/videos/{id}/url", "u-1")).payload
        out["cookies"] = invoke("signer", _proxy(load_event, "/videos/v1/url", "/videos/{id}/url", "u-1",
                                                 {"access": "cookies"})).payload

    result = run_pipeline(p, session=runtime_session)
    assert [s.status for s in result.steps] == ["ok", "ok"], [s.error for s in result.steps if s.error]
    assert out["refused"]["statusCode"] == 403 and "premium" in json.loads(out["refused"]["body"])["message"]
    assert out["first"]["statusCode"] == 201 and json.loads(out["again"]["body"])["already_registered"] is True
    url = json.loads(out["url"]["body"])["url"]
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    documented = urlsplit(load_event("cloudfront_signed_url_canned")["url"])
    assert list(parse_qs(parts.query)) == list(parse_qs(documented.query))    # the same fields, in that order
    # CloudFront's documented canned-policy format: Expires, Signature, Key-Pair-Id.
    assert parts.netloc == "d111111abcdef8.cloudfront.net" and parts.path == "/videos/v1/video.mp4"
    assert set(query) == {"Expires", "Signature", "Key-Pair-Id"} and query["Key-Pair-Id"] == [out["key"].key_id]
    cookies = json.loads(out["cookies"]["body"])["cookies"]
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    assert all(c not in "+=/" for c in cookies["CloudFront-Signature"])


def test_the_private_key_never_reaches_the_function_environment(case_run):
    out = _run(case_run, cloudfront="on")
    env_check = next(c for c in out["checks"] if c["name"].startswith("the signing key is read from Secrets"))
    assert env_check["ok"] and "PRIVATE KEY" not in json.dumps(out)


@pytest.mark.slow
def test_run_page_shows_refusals_and_the_cache_trap():
    at = open_run_page("paid-content")
    at.toggle(key="toggle:paid-content:api_cache").set_value(True).run()
    passed, total = press_run(at)
    assert passed == total
    viewer = table_with(at, "Why refused")
    assert "key not in a trusted key group" in set(viewer["Why refused"])
    trap = table_with(at, "Answer is about")
    assert list(trap["Answer is about"])[:2] == ["premium", "premium"]      # the leak, shown happening


def test_the_edge_refuses_the_documented_sample_url_signed_by_a_key_it_does_not_trust(capsys, load_event):
    """The Developer Guide's sample signed URL, presented to this run's distribution: parsed, then refused."""
    from app.runtime.infra import Infra
    from app.runtime.pipeline import RunContext
    from app.runtime.session import RuntimeSession

    with RuntimeSession.moto() as session:
        ctx = RunContext(session, {}, "edge-test")
        infra = Infra(ctx)
        bucket = infra.bucket("content", files={"videos/v1/video.mp4": ("video/mp4", "max-age=60", b"v")})
        group = infra.key_group("viewers", [infra.signing_key("trusted")])
        dist = infra.cloudfront(bucket, comment="sample", trusted_key_groups=[group])
        sample = urlsplit(load_event("cloudfront_signed_url_canned")["url"])
        got = dist.get(f"{sample.path}?{sample.query}")
        assert got.status == 403 and got.reason == "key not in a trusted key group"


def test_the_direct_read_step_runs_alone_on_the_bucket_and_distribution_its_deploy_steps_made(runtime_session):
    """One drive step alone: with the bucket behind origin access control, an anonymous GET straight to S3
    is refused, and the policy it met admits only the distribution."""
    from app.runtime.pipeline import RunContext
    from patterns.paid_content import checks, pipeline as video

    ctx = RunContext(runtime_session, {"cloudfront": True, "api_cache": False}, "paid-content", video.State)
    video.basics(ctx)
    video.distribution(ctx)
    assert ctx.state.direct_get == {}
    video.direct(ctx)
    got = ctx.state.direct_get
    assert got["status"] == 403, got
    assert json.loads(got["policy"])["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"] \
        == ctx.state.distribution.arn
    assert checks.v_direct(ctx).ok
