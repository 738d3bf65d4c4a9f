"""REST API invocation against an API really created in moto: routing, proxy event, authorizer, stage cache."""
from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from app.runtime.dataplanes.apigateway import RestApiInvoker, StageCache
from app.runtime.dataplanes.tokens import CognitoTokenVerifier, TokenError
from app.runtime.streaming import ManualClock
from app.runtime.trace import Trace
from tests.dataplane_support import user_pool

LAMBDA_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
              "arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations")


class Handler:
    """A plain Lambda handler standing in for ``invoke``: it records each event it gets."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def __call__(self, function_name: str, event: dict) -> dict:
        self.events.append((function_name, event))
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": json.dumps({"n": len(self.events), "path": event["path"],
                                    "user": ((event["requestContext"].get("authorizer") or {}).get("claims") or {})
                                    .get("cognito:username")})}


@pytest.fixture(scope="module")
def world(moto_endpoint):
    """A user pool with two users and a REST API with a Cognito authorizer, deployed to stage prod."""
    import boto3
    kw = dict(endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    idp, ag = boto3.client("cognito-idp", **kw), boto3.client("apigateway", **kw)
    pool, client_id, tokens = user_pool(idp, f"todo-{uuid.uuid4().hex[:6]}", ("alice", "bob"))
    api = ag.create_rest_api(name=f"todos-{uuid.uuid4().hex[:6]}")["id"]
    root = ag.get_resources(restApiId=api)["items"][0]["id"]
    auth = ag.create_authorizer(restApiId=api, name="cognito", type="COGNITO_USER_POOLS",
                                providerARNs=[pool["Arn"]], identitySource="method.request.header.Authorization")["id"]
    todos = ag.create_resource(restApiId=api, parentId=root, pathPart="todos")["id"]
    todo = ag.create_resource(restApiId=api, parentId=todos, pathPart="{id}")["id"]
    proxy = ag.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
    for resource, verb, secured in ((todos, "GET", True), (todos, "POST", True), (todo, "GET", True),
                                    (todo, "PUT", True), (proxy, "ANY", False)):
        ag.put_method(restApiId=api, resourceId=resource, httpMethod=verb,
                      authorizationType="COGNITO_USER_POOLS" if secured else "NONE",
                      **({"authorizerId": auth} if secured else {}))
        ag.put_integration(restApiId=api, resourceId=resource, httpMethod=verb, type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=LAMBDA_URI.format(name="todo-fn"))
    for stage in ("prod", "nocache"):
        ag.create_deployment(restApiId=api, stageName=stage, variables={"table": f"{stage}-todos"})
    ag.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
        {"op": "replace", "path": "/cacheClusterSize", "value": "1.6"}])
    return {"ag": ag, "idp": idp, "api": api, "pool": pool, "client_id": client_id, "tokens": tokens,
            "endpoint": moto_endpoint}


def make_invoker(world, stage="prod", handler=None, clock=None, **kwargs):
    handler = handler or Handler()
    verifier = kwargs.pop("verifier", None) or CognitoTokenVerifier(world["endpoint"])
    invoker = RestApiInvoker(world["ag"], world["api"], stage, handler, verifier=verifier, cognito_client=world["idp"],
                             clock=clock or ManualClock(), **kwargs)
    return invoker, handler


def bearer(world, user="alice"):
    return {"Authorization": world["tokens"][user]["IdToken"]}


def test_proxy_event_matches_the_documented_shape(world, load_event):
    invoker, handler = make_invoker(world, stage="nocache")
    response = invoker.request("GET", "/todos/3f2a?x=1&x=2&y=z", headers={**bearer(world), "User-Agent": "t/1"})
    assert response.status == 200 and response.invoked and response.cache is None
    function, event = handler.events[-1]
    sample = load_event("apigateway_proxy_cognito")
    assert function == "todo-fn"
    assert set(event) == set(sample)
    assert set(sample["requestContext"]) <= set(event["requestContext"])
    assert set(sample["requestContext"]["identity"]) <= set(event["requestContext"]["identity"])
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/todos/{id}", "/todos/3f2a", "GET")
    assert event["pathParameters"] == {"id": "3f2a"}
    assert event["queryStringParameters"] == {"x": "2", "y": "z"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["z"]}
    assert event["stageVariables"] == {"table": "nocache-todos"}
    assert event["headers"]["User-Agent"] == "t/1" and event["multiValueHeaders"]["User-Agent"] == ["t/1"]
    assert event["headers"]["Host"] == f"{world['api']}.execute-api.us-east-1.amazonaws.com"
    ctx = event["requestContext"]
    assert (ctx["resourcePath"], ctx["stage"], ctx["path"], ctx["apiId"]) == (
        "/todos/{id}", "nocache", "/nocache/todos/3f2a", world["api"])
    assert ctx["identity"]["userAgent"] == "t/1" and ctx["accountId"] == "123456789012"
    claims = ctx["authorizer"]["claims"]
    assert claims["cognito:username"] == "alice" and claims["token_use"] == "id"
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["exp"].endswith(" UTC " + claims["exp"][-4:]) and claims["exp"][:3].isalpha()
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_routing_prefers_literal_then_parameter_then_greedy(world):
    invoker, handler = make_invoker(world, stage="nocache")
    invoker.request("GET", "/todos", headers=bearer(world))
    assert handler.events[-1][1]["resource"] == "/todos" and handler.events[-1][1]["pathParameters"] is None
    invoker.request("DELETE", "/files/a/b c.txt")
    event = handler.events[-1][1]
    assert (event["resource"], event["pathParameters"]) == ("/{proxy+}", {"proxy": "files/a/b c.txt"})
    # A resource that matches but lacks the method: 403 as on AWS, even though {proxy+} has ANY.
    missing = invoker.request("DELETE", "/todos/1", headers=bearer(world))
    assert missing.status == 403 and missing.json() == {"message": "Missing Authentication Token"}
    assert missing.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert invoker.request("GET", "/").status == 403        # "/" itself has no method
    assert len(handler.events) == 2


def test_response_mapping_headers_and_base64_body(world):
    def binary(function, event):
        return {"statusCode": 201, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(b"\x89PNG").decode()}
    invoker, _ = make_invoker(world, stage="nocache", handler=binary)
    response = invoker.request("POST", "/todos", headers=bearer(world), body='{"title": "x"}')
    assert (response.status, response.body, response.headers["Content-Type"]) == (201, b"\x89PNG", "image/png")
    invoker, _ = make_invoker(world, stage="nocache")
    response = invoker.request("GET", "/todos", headers=bearer(world))
    assert response.multi_value_headers["Set-Cookie"] == ["a=1", "b=2"]
    assert response.json()["user"] == "alice"


@pytest.mark.parametrize("result", [
    RuntimeError("handler crashed"),
    {"body": "no status code"},
    {"statusCode": 200, "body": {"not": "a string"}},
    type("Failed", (), {"payload": {"errorMessage": "boom"}, "function_error": "Unhandled"})(),
])
def test_function_errors_and_malformed_responses_give_502(world, result):
    def handler(function, event):
        if isinstance(result, Exception):
            raise result
        return result
    trace = Trace()
    invoker, _ = make_invoker(world, handler=handler, trace=trace)
    response = invoker.request("GET", "/todos/1", headers=bearer(world))
    assert response.status == 502 and response.json() == {"message": "Internal server error"}
    assert trace.spans[-1].status == "error"
    assert invoker.cache.stats()["entries"] == 0        # a gateway error is not cached


def _forged(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:username"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


def test_authorizer_refuses_missing_forged_expired_and_foreign_tokens(world):
    clock = ManualClock(time.time())
    verifier = CognitoTokenVerifier(world["endpoint"], clock=clock)
    trace = Trace()
    invoker, handler = make_invoker(world, stage="nocache", verifier=verifier, trace=trace)
    token = world["tokens"]["alice"]["IdToken"]
    self_signed = jwt.encode({"sub": "x", "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{world['pool']['Id']}",
                              "token_use": "id", "aud": world["client_id"], "exp": int(clock.now) + 600},
                             "a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256",
                             headers={"kid": "dummy"})
    refused = {
        "missing": {},
        "malformed": {"Authorization": "not-a-jwt"},
        "forged": {"Authorization": _forged(token)},
        "self-signed": {"Authorization": self_signed},
        "access token without scopes": {"Authorization": world["tokens"]["alice"]["AccessToken"]},
    }
    for why, headers in refused.items():
        response = invoker.request("GET", "/todos/1", headers=headers)
        assert response.status == 401, why
        assert response.json() == {"message": "Unauthorized"} and not response.invoked
    assert invoker.request("GET", "/todos/1", headers={"Authorization": "Bearer " + token}).status == 200
    clock.now += 3600
    expired = invoker.request("GET", "/todos/1", headers={"Authorization": token})
    assert expired.status == 401
    assert len(handler.events) == 1
    assert invoker.counters["unauthorized"] == len(refused) + 1
    assert [s.detail.get("authorizer") for s in trace.spans if s.status == "denied"][-1] == "expired"


def test_verifier_checks_issuer_and_audience(world):
    verifier = CognitoTokenVerifier(world["endpoint"])
    token = world["tokens"]["bob"]["IdToken"]
    pool_id = world["pool"]["Id"]
    assert verifier.verify(token, pool_id=pool_id, client_ids=[world["client_id"]])["cognito:username"] == "bob"
    with pytest.raises(TokenError, match="wrong audience"):
        verifier.verify(token, pool_id=pool_id, client_ids=["another-client"])
    with pytest.raises(TokenError, match="wrong issuer"):
        verifier.verify(token, pool_id="us-east-1_other")
    with pytest.raises(TokenError, match="wrong token_use"):
        verifier.verify(token, pool_id=pool_id, token_use="access")


def test_stage_cache_answers_repeated_gets_without_the_lambda(world):
    clock, trace = ManualClock(), Trace()
    invoker, handler = make_invoker(world, clock=clock, trace=trace,
                                    cache_key_parameters={"GET /todos/{id}": ["method.request.path.id"]})
    assert invoker.cache.size_gb == "1.6"
    first = invoker.request("GET", "/todos/1", headers=bearer(world))
    second = invoker.request("GET", "/todos/1", headers=bearer(world))
    other = invoker.request("GET", "/todos/2", headers=bearer(world))
    assert (first.cache, second.cache, other.cache) == ("miss", "hit", "miss")
    assert second.body == first.body and not second.invoked
    assert len(handler.events) == 2
    assert [s.cache for s in trace.spans] == ["miss", "hit", "miss"]
    # Writes are not cached, and do not invalidate cached GETs (as on AWS).
    invoker.request("PUT", "/todos/1", headers=bearer(world), body="{}")
    invoker.request("PUT", "/todos/1", headers=bearer(world), body="{}")
    assert len(handler.events) == 4
    assert invoker.request("GET", "/todos/1", headers=bearer(world)).cache == "hit"
    # Default TTL 300 s.
    clock.now += 301
    assert invoker.request("GET", "/todos/1", headers=bearer(world)).cache == "miss"
    invoker.flush_stage_cache()
    assert invoker.request("GET", "/todos/2", headers=bearer(world)).cache == "miss"
    stats = invoker.cache.stats()
    assert (stats["hits"], stats["flushes"]) == (2, 1)


def test_without_cache_key_parameters_paths_and_users_share_an_entry(world):
    invoker, handler = make_invoker(world)
    invoker.request("GET", "/todos/1", headers=bearer(world, "alice"))
    shared = invoker.request("GET", "/todos/2", headers=bearer(world, "bob"))
    assert shared.cache == "hit" and shared.json()["path"] == "/todos/1" and shared.json()["user"] == "alice"
    keyed, _ = make_invoker(world, cache_key_parameters={
        "GET /todos/{id}": ["method.request.path.id", "method.request.header.Authorization"]})
    keyed.request("GET", "/todos/1", headers=bearer(world, "alice"))
    assert keyed.request("GET", "/todos/1", headers=bearer(world, "bob")).json()["user"] == "bob"
    assert len(handler.events) == 1


def test_unauthorized_request_never_reaches_the_cache(world):
    invoker, handler = make_invoker(world)
    invoker.request("GET", "/todos/1", headers=bearer(world))
    response = invoker.request("GET", "/todos/1")
    assert response.status == 401 and response.cache is None


def test_method_settings_from_moto_drive_ttl_methods_and_cache_control(world):
    ag, api = world["ag"], world["api"]
    stage = f"s{uuid.uuid4().hex[:6]}"
    ag.create_deployment(restApiId=api, stageName=stage)
    ag.update_stage(restApiId=api, stageName=stage, patchOperations=[
        {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
        {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
        {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": "60"},
        {"op": "replace", "path": "/~1todos/POST/caching/enabled", "value": "true"},
        {"op": "replace", "path": "/~1todos/GET/caching/ttlInSeconds", "value": "30"},
        {"op": "replace", "path": "/~1todos/GET/caching/requireAuthorizationForCacheControl", "value": "false"},
        {"op": "replace", "path": "/~1todos/GET/caching/enabled", "value": "true"}])
    clock = ManualClock()
    invoker, handler = make_invoker(world, stage=stage, clock=clock)
    assert invoker.cache.size_gb == "0.5"
    get = lambda **h: invoker.request("GET", "/todos", headers={**bearer(world), **h})
    assert [get().cache, get().cache] == ["miss", "hit"]
    # Honoured here: requireAuthorizationForCacheControl is false for GET /todos.
    assert get(**{"Cache-Control": "max-age=0"}).cache == "miss"
    assert get().cache == "hit"
    clock.now += 61
    assert get().cache == "miss"
    post = lambda: invoker.request("POST", "/todos", headers=bearer(world), body="{}")
    assert [post().cache, post().cache] == ["miss", "hit"]     # enabled for POST by a method setting
    # GET /todos/{id} keeps the default: the header is ignored, with a warning header.
    invoker.request("GET", "/todos/9", headers=bearer(world))
    ignored = invoker.request("GET", "/todos/9", headers={**bearer(world), "Cache-Control": "max-age=0"})
    assert ignored.cache == "hit" and ignored.headers["Warning"].startswith("199")
    clock.now += 59          # the stage-wide TTL (60 s) applies to GET /todos/{id}
    assert invoker.request("GET", "/todos/9", headers=bearer(world)).cache == "hit"
    clock.now += 2
    assert invoker.request("GET", "/todos/9", headers=bearer(world)).cache == "miss"
    ag.update_stage(restApiId=api, stageName=stage, patchOperations=[
        {"op": "replace", "path": "/*/*/caching/unauthorizedCacheControlHeaderStrategy", "value": "FAIL_WITH_403"}])
    invoker.refresh()
    refused = invoker.request("GET", "/todos/9", headers={**bearer(world), "Cache-Control": "max-age=0"})
    assert refused.status == 403
    ag.update_stage(restApiId=api, stageName=stage, patchOperations=[
        {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": "7200"}])
    invoker.refresh()
    with pytest.raises(ValueError, match="0 to 3600"):
        invoker.request("GET", "/todos/9", headers=bearer(world))


def test_stage_cache_validates_size_and_evicts_least_recently_used():
    with pytest.raises(ValueError, match="0.5, 1.6"):
        StageCache("2")
    from app.runtime.dataplanes.apigateway import ApiResponse
    cache = StageCache("0.5", clock=ManualClock())
    cache.capacity_bytes = 250
    for key in ("a", "b"):
        cache.put((key,), ApiResponse(200, "x" * 100), 300)
    cache.get(("a",))
    cache.put(("c",), ApiResponse(200, "x" * 100), 300)
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None
    assert cache.stats()["evictions"] == 1
    assert not cache.put(("big",), ApiResponse(200, "x" * 1048577), 300)


def test_unknown_stage_and_unemulated_methods_are_refused_when_the_api_is_read(world):
    from botocore.exceptions import ClientError

    ag = world["ag"]
    with pytest.raises(ClientError) as exc:
        make_invoker(world, stage="no-such-stage")
    assert exc.value.response["Error"]["Code"] == "NotFoundException"
    for auth, integration, fragment in (("AWS_IAM", "AWS_PROXY", "authorizationType AWS_IAM"),
                                        ("NONE", "MOCK", "integration MOCK")):
        api = ag.create_rest_api(name=f"other-{uuid.uuid4().hex[:6]}")["id"]
        root = ag.get_resources(restApiId=api)["items"][0]["id"]
        ag.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType=auth)
        ag.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type=integration,
                           integrationHttpMethod="POST", uri=LAMBDA_URI.format(name="todo-fn"))
        ag.create_deployment(restApiId=api, stageName="prod")
        handler = Handler()
        with pytest.raises(ValueError, match=fragment):
            RestApiInvoker(ag, api, "prod", handler)
        assert handler.events == []
