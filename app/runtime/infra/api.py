"""API Gateway: REST APIs with Lambda proxy routes, a Cognito authorizer and a stage cache."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from app.core import facts
from app.runtime.infra.base import Builders
from app.runtime.infra.identity import UserPool


@dataclass
class Route:
    """One method of a REST API: ``GET /todos/{id}`` proxied to ``function`` (a Lambda ARN)."""

    method: str
    path: str
    function: str
    cache_key: tuple[str, ...] = ()        # request parameters in the stage cache key
    authorized: bool = True                # behind the API's authorizer, when it has one
    fresh_on_request: bool = False         # a client may ask for a fresh copy with Cache-Control: max-age=0


@dataclass
class StageCache:
    size_gb: str = "0.5"
    ttl_s: int = facts.APIGW_CACHE_TTL_DEFAULT_S.value


@dataclass
class RestApi:
    """A REST API deployed to a stage; ``request`` invokes it as a client would."""

    id: str
    stage: str
    region: str
    cache: StageCache | None
    invoker: Any = field(repr=False)
    stage_settings: list = field(default_factory=list, repr=False)   # the stage's patch operations
    # In a run with injected faults, the ledger's count of this API's requests (RequestFlow): answered
    # below 500, or failed (the caller got a 5xx or a refused connection).
    flow: Any = field(default=None, repr=False)

    @property
    def invoke_url(self) -> str:
        return f"https://{self.id}.execute-api.{self.region}.amazonaws.com/{self.stage}"

    def request(self, method: str, path: str, *, headers: Mapping[str, Any] | None = None, body: Any = None,
                **options: Any):
        """Call the API; a dict or list ``body`` is sent as JSON."""
        h = dict(headers or {})
        if body is not None and not isinstance(body, (str, bytes)):
            h.setdefault("Content-Type", "application/json")
            body = json.dumps(body)
        if self.flow is None:
            return self.invoker.request(method, path, headers=h, body=body, **options)
        with self.flow.request() as req:
            try:
                answer = self.invoker.request(method, path, headers=h, body=body, **options)
            except Exception:
                req.fail()                 # the caller got the error (a refused connection)
                raise
            req.fail() if answer.status >= 500 else req.served(self.region)
        return answer

    @property
    def counters(self) -> dict:
        return self.invoker.counters

    @property
    def stage_cache(self):
        """The stage cache's data plane (hits, misses, flushes), None when caching is off."""
        return self.invoker.cache

    def set_cache_key(self, method: str, path: str, parameters: Sequence[str]) -> None:
        """Change which request parameters key a method's cached responses, redeploy and flush the cache.

        The integration is put again with its new ``cacheKeyParameters`` as on AWS; moto drops
        that field, so the emulated stage also records it."""
        apigw = self.invoker.client
        route = next(r for r in self.invoker.routes if r.path == path)
        current = apigw.get_integration(restApiId=self.id, resourceId=route.resource_id, httpMethod=method)
        spec = route.methods[method]
        auth = {"authorizationType": spec.get("authorizationType", "NONE")}
        if spec.get("authorizerId"):
            auth["authorizerId"] = spec["authorizerId"]
        apigw.put_method(restApiId=self.id, resourceId=route.resource_id, httpMethod=method,
                         requestParameters={k: True for k in parameters}, **auth)
        apigw.put_integration(restApiId=self.id, resourceId=route.resource_id, httpMethod=method, type=current["type"],
                              integrationHttpMethod=current.get("httpMethod", "POST"), uri=current["uri"],
                              cacheKeyParameters=list(parameters))
        apigw.create_deployment(restApiId=self.id, stageName=self.stage)
        if self.stage_settings:
            # AWS keeps a stage's settings across deployments; moto resets them, so they are put back.
            apigw.update_stage(restApiId=self.id, stageName=self.stage, patchOperations=self.stage_settings)
        self.invoker.extra_cache_keys[f"{method} {path}"] = list(parameters)
        self.invoker.refresh()
        self.invoker.flush_stage_cache()

    def describe_cache(self) -> str:
        if self.cache is None:
            return "off"
        return f"{self.cache.size_gb} GB, TTL {self.cache.ttl_s} s"


class ApiBuilders(Builders):
    """Builders of REST APIs."""

    def rest_api(self, base: str, routes: Sequence[Route], *, authorizer: UserPool | None = None,
                 stage: str = "prod", cache: StageCache | None = None, region: str | None = None,
                 lambdas=None, clock: Callable[[], float] | None = None) -> RestApi:
        """A REST API with Lambda proxy routes, an optional Cognito authorizer and stage cache.

        ``region`` and ``lambdas`` place it beside functions deployed in another region; ``clock``
        (the run's, ``ctx.clock``) times the stage cache's TTL instead of the process's clock."""
        region = region or self.session.region
        apigw = self._client("apigateway", region)
        api_id = apigw.create_rest_api(name=self.ctx.name(base), endpointConfiguration={"types": ["REGIONAL"]})["id"]
        resources = {"/": next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")}

        def resource(path: str) -> str:
            if path not in resources:
                parent, _, part = path.rpartition("/")
                resources[path] = apigw.create_resource(restApiId=api_id, parentId=resource(parent or "/"),
                                                        pathPart=part)["id"]
            return resources[path]

        auth_id = None
        if authorizer is not None:
            auth_id = apigw.create_authorizer(
                restApiId=api_id, name="cognito", type="COGNITO_USER_POOLS", providerARNs=[authorizer.arn],
                identitySource="method.request.header.Authorization")["id"]
        cache_keys: dict[str, list[str]] = {}
        for route in routes:
            rid = resource(route.path)
            auth = {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": auth_id} \
                if auth_id and route.authorized else {"authorizationType": "NONE"}
            apigw.put_method(restApiId=api_id, resourceId=rid, httpMethod=route.method,
                             requestParameters={k: True for k in route.cache_key}, **auth)
            uri = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{route.function}/invocations"
            apigw.put_integration(restApiId=api_id, resourceId=rid, httpMethod=route.method, type="AWS_PROXY",
                                  integrationHttpMethod="POST", uri=uri, cacheKeyParameters=list(route.cache_key))
            if route.cache_key:
                cache_keys[f"{route.method} {route.path}"] = list(route.cache_key)
        lam = self._client("lambda", region)
        for fn in dict.fromkeys(r.function for r in routes):
            lam.add_permission(FunctionName=fn, StatementId="apigateway-invoke", Action="lambda:InvokeFunction",
                               Principal="apigateway.amazonaws.com",
                               SourceArn=f"arn:aws:execute-api:{region}:{self.session.account_id}:{api_id}/*/*/*")
        apigw.create_deployment(restApiId=api_id, stageName=stage)
        ops: list[dict] = []
        if cache is not None:
            ops += [{"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
                   {"op": "replace", "path": "/cacheClusterSize", "value": cache.size_gb},
                   {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
                   {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": str(cache.ttl_s)}]
            for route in routes:
                if route.fresh_on_request:
                    where = f"/{route.path.replace('/', '~1')}/{route.method}/caching"
                    ops += [{"op": "replace", "path": f"{where}/enabled", "value": "true"},
                            {"op": "replace", "path": f"{where}/ttlInSeconds", "value": str(cache.ttl_s)},
                            {"op": "replace", "path": f"{where}/requireAuthorizationForCacheControl",
                             "value": "false"}]
            apigw.update_stage(restApiId=api_id, stageName=stage, patchOperations=ops)
            self.ctx.deployed.update(api_cache_gb=cache.size_gb, api_cache_ttl_s=cache.ttl_s)
        functions = lambdas or self.session.lambdas
        invoker = self.ctx.planes.rest_api(api_id, stage, region=region, cache_key_parameters=cache_keys,
                                           wall_clock=self.ctx.clock, **({"clock": clock} if clock else {}),
                                           invoke=lambda name, event: functions.invoke(name, event, source="apigateway"))
        # A run with faults counts the API's requests in its ledger: a synchronous failure reaches the caller.
        flow = self.ctx.routing.requests(f"callers -> {base} API ({region})") if self.session.faults else None
        return RestApi(api_id, stage, region, cache, invoker, ops, flow)
