"""Invoking an API Gateway REST API (v1): routing, Lambda proxy, Cognito authorizer, stage cache.

moto keeps the control plane of REST APIs (resources, methods, integrations, stages,
authorizers) but cannot invoke one. :class:`RestApiInvoker` reads the API from moto and
answers requests as API Gateway does:

- **routing**: the path is matched against the API's resources, literal segments before
  ``{param}`` before greedy ``{proxy+}``; the method falls back to ``ANY``. No match gives
  403 ``Missing Authentication Token``, as on AWS;
- **Cognito user-pool authorizer**: the token from the identity source header is verified
  (RS256 against the pool's JWKS, issuer, audience among the pool's app clients,
  ``token_use`` ``id``, or ``access`` with a required scope when the method lists
  authorization scopes, expiry). A missing, forged or expired token gives 401
  ``Unauthorized`` and the function is never invoked; the claims go to
  ``requestContext.authorizer.claims`` as strings, as AWS sends them;
- **Lambda proxy integration** (``AWS_PROXY``): the REST v1 proxy event is built field for
  field, ``invoke(function_name, event)`` runs the handler, and the proxy response
  (``statusCode``, ``headers``, ``multiValueHeaders``, ``body``, ``isBase64Encoded``) is
  mapped back. A function error or a malformed response gives 502 ``Internal server error``;
- **stage cache** (:class:`StageCache`), when the stage has ``cacheClusterEnabled``: the key
  is method + resource path + the values of the cache-key parameters; only GET is cached
  unless a method-specific setting enables another method; TTL from ``methodSettings``
  (300 s default, 0 disables, at most 3600 s); LRU within the chosen cache size;
  responses over 1 MB are not cached; ``flush_stage_cache()`` empties it.

Cache keys: as on AWS, the resource path is the *template* (``/todos/{id}``), so
``/todos/1`` and ``/todos/2`` share one entry unless ``method.request.path.id`` is a
cache-key parameter, and callers share entries unless their ``Authorization`` header is
one. moto drops an integration's ``cacheKeyParameters``, so they can also be given to
the invoker (``cache_key_parameters={"GET /todos/{id}": [...]}``).

``Cache-Control: max-age=0``: honoured (the entry is refreshed from the integration)
only when the method setting ``requireAuthorizationForCacheControl`` is false. By
default it is true and, since callers here carry no IAM identity that could hold
``execute-api:InvalidateCache``, the header is then handled by
``unauthorizedCacheControlHeaderStrategy``: ``SUCCEED_WITH_RESPONSE_HEADER`` (default,
served from cache with a warning header), ``SUCCEED_WITHOUT_RESPONSE_HEADER`` or
``FAIL_WITH_403``.

Limitations: only ``AWS_PROXY`` Lambda integrations and ``NONE``/``COGNITO_USER_POOLS``
authorization are emulated (others are refused when the API is read); no throttling,
usage plans, API keys, request validation or mapping templates; no network latency
is added.
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

from app.core import facts
from app.runtime.dataplanes.lru import ExpiringLru
from app.runtime.dataplanes.tokens import CognitoTokenVerifier, TokenError, pool_id_from_arn
from app.runtime.streaming import FunctionFailed, Invoke, invoke_payload
from app.runtime.trace import Trace

CACHE_SIZES_GB = facts.APIGW_CACHE_SIZES_GB.value
MAX_TTL_S = facts.APIGW_CACHE_TTL_MAX_S.value
MAX_CACHED_BYTES = facts.APIGW_CACHE_MAX_RESPONSE_BYTES.value


@dataclass
class ApiResponse:
    status: int
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    multi_value_headers: dict[str, list[str]] = field(default_factory=dict)
    cache: str | None = None          # "hit", "miss" or None when the method is not cached
    invoked: bool = False             # whether the Lambda function ran for this request

    def json(self) -> Any:
        return json.loads(self.body)


def _error(status: int, message: str, error_type: str) -> ApiResponse:
    """A response API Gateway itself produces (the integration is not involved)."""
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}
    return ApiResponse(status, json.dumps({"message": message}), headers, {k: [v] for k, v in headers.items()})


class StageCache:
    """The cache of one stage: LRU within ``size_gb`` (one of :data:`CACHE_SIZES_GB`), per-entry TTL."""

    def __init__(self, size_gb: str = "0.5", clock: Callable[[], float] = time.monotonic) -> None:
        if str(size_gb) not in CACHE_SIZES_GB:
            raise ValueError(f"cache size {size_gb!r} GB is not offered; valid: {', '.join(CACHE_SIZES_GB)}")
        self.size_gb = str(size_gb)
        self.clock = clock
        self._lru = ExpiringLru(int(float(size_gb) * 1024 ** 3), clock)
        self.counters = {"hits": 0, "misses": 0, "flushes": 0, "not_cached_too_large": 0}

    @property
    def capacity_bytes(self) -> int:
        return self._lru.capacity_bytes

    @capacity_bytes.setter
    def capacity_bytes(self, value: int) -> None:
        self._lru.capacity_bytes = value

    def get(self, key: tuple) -> ApiResponse | None:
        with self._lru.lock:
            found, response = self._lru.get(key)
            self.counters["hits" if found else "misses"] += 1
            return response

    def put(self, key: tuple, response: ApiResponse, ttl_s: float) -> bool:
        size = len(response.body) + sum(len(k) + len(v) for k, v in response.headers.items())
        with self._lru.lock:
            if size > MAX_CACHED_BYTES:
                self._lru.remove(key)
                self.counters["not_cached_too_large"] += 1
                return False
            return self._lru.put(key, response, size, ttl_s)

    def invalidate(self, key: tuple) -> None:
        self._lru.remove(key)

    def flush(self) -> None:
        with self._lru.lock:
            self._lru.clear()
            self.counters["flushes"] += 1

    def stats(self) -> dict[str, Any]:
        with self._lru.lock:
            return {**self.counters, "evictions": self._lru.evictions, "entries": len(self._lru),
                    "bytes_used": self._lru.bytes_used, "capacity_bytes": self._lru.capacity_bytes}


@dataclass
class _Route:
    resource_id: str
    path: str                 # the template, e.g. /todos/{id}
    segments: list[str]
    methods: dict[str, dict]


def _match(segments: list[str], parts: list[str]) -> tuple[int, ...] | None:
    """A specificity score (higher wins) if the template segments match the path parts."""
    score = []
    for i, seg in enumerate(segments):
        if seg.startswith("{") and seg.endswith("+}"):
            return tuple(score + [0]) if i == len(segments) - 1 and len(parts) > i else None
        if i >= len(parts):
            return None
        if seg.startswith("{") and seg.endswith("}"):
            score.append(1)
        elif seg == parts[i]:
            score.append(2)
        else:
            return None
    return tuple(score) if len(parts) == len(segments) else None


def _path_parameters(segments: list[str], parts: list[str]) -> dict[str, str]:
    params = {}
    for i, seg in enumerate(segments):
        if seg.endswith("+}"):
            params[seg[1:-2]] = "/".join(parts[i:])
        elif seg.startswith("{"):
            params[seg[1:-1]] = parts[i]
    return params


def _multi(values: Mapping[str, Any] | None) -> dict[str, list[str]]:
    return {k: [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)] for k, v in (values or {}).items()}


def _claim_text(name: str, value: Any) -> str:
    if name in ("exp", "iat") and isinstance(value, (int, float)):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)


class RestApiInvoker:
    """Requests to one stage of a REST API held in moto.

    ``invoke(function_name, event)`` runs the Lambda function and returns its payload (a
    dict), or an object with ``.payload`` and ``.function_error``. ``verifier`` checks
    Cognito tokens (needed when a method uses a Cognito authorizer); ``cognito_client``
    lists the pool's app clients for the audience check.
    """

    service = "apigateway"

    def __init__(self, apigateway_client, rest_api_id: str, stage: str, invoke: Invoke, *,
                 verifier: CognitoTokenVerifier | None = None, cognito_client=None, trace: Trace | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 cache_key_parameters: Mapping[str, list[str]] | None = None) -> None:
        self.client = apigateway_client
        self.api_id = rest_api_id
        self.stage = stage
        self.invoke = invoke
        self.verifier = verifier
        self.cognito = cognito_client
        self.trace = trace if trace is not None else Trace()
        self.clock = clock
        self.wall_clock = wall_clock
        self.extra_cache_keys = dict(cache_key_parameters or {})
        self.region = apigateway_client.meta.region_name
        self.counters = {"requests": 0, "invocations": 0, "unauthorized": 0, "not_found": 0, "errors": 0}
        self.cache: StageCache | None = None
        self.refresh()

    # -- reading the API from moto -------------------------------------------------------------
    def refresh(self) -> None:
        """(Re)read resources, methods, authorizers and stage settings from the control plane."""
        api = self.client.get_rest_api(restApiId=self.api_id)
        self.binary_media_types = api.get("binaryMediaTypes", [])
        items = self.client.get_resources(restApiId=self.api_id, embed=["methods"], limit=500)["items"]
        self.routes = [_Route(r["id"], r["path"], [s for s in r["path"].split("/") if s],
                              r.get("resourceMethods", {})) for r in items]
        self.authorizers = {a["id"]: a for a in self.client.get_authorizers(restApiId=self.api_id)["items"]}
        for route in self.routes:
            for verb, method in route.methods.items():
                self._check_supported(route.path, verb, method)
        stage = self.client.get_stage(restApiId=self.api_id, stageName=self.stage)
        self.stage_variables = stage.get("variables") or None
        self.method_settings = stage.get("methodSettings", {})
        if stage.get("cacheClusterEnabled"):
            size = stage.get("cacheClusterSize", "0.5")
            if self.cache is None or self.cache.size_gb != str(size):
                self.cache = StageCache(size, self.clock)
        else:
            self.cache = None
        self._client_ids: dict[str, list[str]] = {}

    def _check_supported(self, path: str, verb: str, method: dict) -> None:
        auth = method.get("authorizationType", "NONE")
        if auth not in ("NONE", "COGNITO_USER_POOLS"):
            raise ValueError(f"{verb} {path}: authorizationType {auth} is not emulated (NONE, COGNITO_USER_POOLS)")
        integration = method.get("methodIntegration") or {}
        if integration.get("type") != "AWS_PROXY" or ":function:" not in integration.get("uri", ""):
            raise ValueError(f"{verb} {path}: integration {integration.get('type')} is not emulated; "
                             "use a Lambda proxy integration (AWS_PROXY)")

    # -- the data plane ------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, headers: Mapping[str, Any] | None = None,
                query: Mapping[str, Any] | None = None, body: str | bytes | None = None,
                source_ip: str = "127.0.0.1") -> ApiResponse:
        """Send one request to the stage; ``path`` may carry a query string."""
        method = method.upper()
        url = urlsplit(path)
        parts = [p for p in url.path.split("/") if p]
        multi_query = _multi(query)
        for k, v in parse_qsl(url.query, keep_blank_values=True):
            multi_query.setdefault(k, []).append(v)
        multi_headers = _multi(headers)
        self.counters["requests"] += 1
        with self.trace.span(self.service, f"{method} {url.path or '/'}", f"{self.api_id}/{self.stage}") as span:
            response = self._handle(method, url.path or "/", parts, multi_headers, multi_query, body, source_ip, span)
            span.cache = response.cache
            span.payload_bytes = len(response.body)
            span.detail.update(status_code=response.status, invoked=response.invoked)
            if response.status in (401, 403):
                span.status = "denied"
            elif response.status >= 500:
                span.status = "error"
            return response

    def _handle(self, method, path, parts, multi_headers, multi_query, body, source_ip, span) -> ApiResponse:
        scored = [(score, r) for r in self.routes if (score := _match(r.segments, parts)) is not None]
        route = max(scored, key=lambda pair: pair[0])[1] if scored else None
        spec = route and (route.methods.get(method) or route.methods.get("ANY"))
        if not spec:
            self.counters["not_found"] += 1
            return _error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        span.detail["resource"] = route.path
        lower_headers = {k.lower(): v for k, v in multi_headers.items()}
        claims = None
        if spec.get("authorizationType") == "COGNITO_USER_POOLS":
            try:
                claims = self._authorize(spec, lower_headers)
            except TokenError as exc:
                self.counters["unauthorized"] += 1
                span.detail["authorizer"] = exc.reason
                return _error(401, "Unauthorized", "UnauthorizedException")
        path_params = _path_parameters(route.segments, parts)
        settings = self._cache_settings(route.path, method)
        key = None
        if settings is not None:
            key = self._cache_key(method, route, spec, path_params, lower_headers, multi_query)
            refresh = self._wants_refresh(lower_headers, settings)
            if refresh == "fail":
                return _error(403, "Unauthorized to invalidate the cache", "AccessDeniedException")
            if refresh == "refresh":
                self.cache.invalidate(key)
            cached = self.cache.get(key)
            if cached is not None:
                hit = ApiResponse(cached.status, cached.body, dict(cached.headers),
                                  {k: list(v) for k, v in cached.multi_value_headers.items()}, "hit", False)
                if refresh == "warn":
                    hit.headers["Warning"] = "199 Cache-Control headers were ignored because the caller " \
                                             "was unauthorized."
                return hit
        event = self._event(method, path, route, spec, path_params, multi_headers, multi_query, body, source_ip,
                            claims)
        response, valid = self._call(spec, event)
        if key is not None:
            response.cache = "miss"
            if valid:
                self.cache.put(key, response, settings["ttl"])
        return response

    # -- authorizer -----------------------------------------------------------------------------------
    def _authorize(self, spec: dict, lower_headers: dict[str, list[str]]) -> dict:
        authorizer = self.authorizers[spec["authorizerId"]]
        source = authorizer.get("identitySource", "method.request.header.Authorization")
        token = (lower_headers.get(source.rsplit(".", 1)[-1].lower()) or [None])[-1]
        if self.verifier is None:
            raise ValueError("this API uses a Cognito authorizer: give the invoker a CognitoTokenVerifier")
        scopes = spec.get("authorizationScopes") or []
        last_error = TokenError("missing")
        for arn in authorizer.get("providerARNs", []):
            pool_id = pool_id_from_arn(arn)
            try:
                claims = self.verifier.verify(token, pool_id=pool_id, client_ids=self._pool_clients(pool_id),
                                              token_use="access" if scopes else "id")
            except TokenError as exc:
                last_error = exc
                continue
            if scopes and not set(claims.get("scope", "").split()) & set(scopes):
                raise TokenError("missing scope")
            return claims
        raise last_error

    def _pool_clients(self, pool_id: str) -> list[str] | None:
        if self.cognito is None:
            return None
        if pool_id not in self._client_ids:
            clients = self.cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
            self._client_ids[pool_id] = [c["ClientId"] for c in clients]
        return self._client_ids[pool_id]

    # -- stage cache ----------------------------------------------------------------------------------
    def _cache_settings(self, resource_path: str, method: str) -> dict | None:
        """TTL and cache-control settings when this method is cached on this stage, else None."""
        if self.cache is None:
            return None
        # Stage settings name a method as "~1todos~1{id}/GET" (the path with "/" escaped as "~1").
        specific = self.method_settings.get(f"{resource_path.replace('/', '~1')}/{method}")
        general = self.method_settings.get("*/*", {})
        if specific is not None and "cachingEnabled" in specific:
            enabled = specific["cachingEnabled"]
        else:
            enabled = method == "GET" and general.get("cachingEnabled", True)
        merged = {**general, **(specific or {})}
        ttl = merged.get("cacheTtlInSeconds", 300)
        if not 0 <= ttl <= MAX_TTL_S:
            raise ValueError(f"cacheTtlInSeconds {ttl} for {method} {resource_path}: valid values are 0 to "
                             f"{MAX_TTL_S} seconds")
        if not enabled or ttl == 0:
            return None
        return {"ttl": ttl,
                "require_auth": merged.get("requireAuthorizationForCacheControl", True),
                "strategy": merged.get("unauthorizedCacheControlHeaderStrategy", "SUCCEED_WITH_RESPONSE_HEADER")}

    def _cache_key(self, method, route, spec, path_params, lower_headers, multi_query) -> tuple:
        integration = spec.get("methodIntegration") or {}
        names = list(integration.get("cacheKeyParameters") or [])
        names += self.extra_cache_keys.get(f"{method} {route.path}", [])
        values = []
        for name in sorted(set(names)):
            where, _, param = name.removeprefix("method.request.").partition(".")
            if where == "path":
                values.append((name, path_params.get(param)))
            elif where in ("querystring", "multivaluequerystring"):
                values.append((name, tuple(multi_query.get(param, ()))))
            elif where in ("header", "multivalueheader"):
                values.append((name, tuple(lower_headers.get(param.lower(), ()))))
        return (method, route.path, tuple(values))

    @staticmethod
    def _wants_refresh(lower_headers: dict[str, list[str]], settings: dict) -> str | None:
        directives = ",".join(lower_headers.get("cache-control", [])).replace(" ", "").lower().split(",")
        if "max-age=0" not in directives:
            return None
        if not settings["require_auth"]:
            return "refresh"
        return {"FAIL_WITH_403": "fail", "SUCCEED_WITHOUT_RESPONSE_HEADER": None}.get(settings["strategy"], "warn")

    def flush_stage_cache(self) -> None:
        """Empty this stage's cache (FlushStageCache, which moto does not implement)."""
        if self.cache is not None:
            self.cache.flush()

    # -- the Lambda proxy -----------------------------------------------------------------------------
    def _event(self, method, path, route, spec, path_params, multi_headers, multi_query, body, source_ip,
               claims) -> dict[str, Any]:
        function_account = spec["methodIntegration"]["uri"].split(":function:")[0].rsplit(":", 1)[-1]
        domain = f"{self.api_id}.execute-api.{self.region}.amazonaws.com"
        now = self.wall_clock()
        request_id = str(uuid.uuid4())
        multi_headers = {**{"Host": [domain], "X-Forwarded-For": [source_ip], "X-Forwarded-Port": ["443"],
                            "X-Forwarded-Proto": ["https"],
                            "X-Amzn-Trace-Id": [f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}"]},
                         **multi_headers}
        user_agent = next((v[-1] for k, v in multi_headers.items() if k.lower() == "user-agent"), None)
        content_type = next((v[-1] for k, v in multi_headers.items() if k.lower() == "content-type"), "")
        is_b64 = isinstance(body, bytes) and content_type.split(";")[0] in self.binary_media_types
        if isinstance(body, bytes):
            body = base64.b64encode(body).decode() if is_b64 else body.decode()
        context = {
            "resourceId": route.resource_id, "resourcePath": route.path, "httpMethod": method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{self.stage}{path}", "accountId": function_account, "protocol": "HTTP/1.1",
            "stage": self.stage, "domainPrefix": self.api_id, "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {"cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
                         "sourceIp": source_ip, "principalOrgId": None, "accessKey": None,
                         "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None, "userArn": None,
                         "userAgent": user_agent, "user": None},
            "domainName": domain, "apiId": self.api_id,
        }
        if claims is not None:
            context["authorizer"] = {"claims": {k: _claim_text(k, v) for k, v in claims.items()}}
        return {
            "resource": route.path, "path": path, "httpMethod": method,
            "headers": {k: v[-1] for k, v in multi_headers.items()}, "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None, "stageVariables": self.stage_variables,
            "requestContext": context, "body": body, "isBase64Encoded": is_b64,
        }

    def _call(self, spec: dict, event: dict) -> tuple[ApiResponse, bool]:
        """The mapped response, and whether it came from a valid proxy response (only those are cached)."""
        function = spec["methodIntegration"]["uri"].split(":function:")[1].split("/")[0]
        self.counters["invocations"] += 1
        failed = _error(502, "Internal server error", "InternalServerErrorException")
        failed.invoked = True
        try:
            payload = invoke_payload(self.invoke, function, event)
        except FunctionFailed:
            self.counters["errors"] += 1
            return failed, False
        if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int) \
                or not isinstance(payload.get("body") or "", str):
            self.counters["errors"] += 1
            return failed, False
        headers = {k: str(v) for k, v in (payload.get("headers") or {}).items()}
        multi = _multi(payload.get("multiValueHeaders"))
        for k, v in headers.items():
            multi.setdefault(k, [v])
        for k, v in multi.items():
            headers.setdefault(k, v[-1])
        body = payload.get("body") or ""
        if payload.get("isBase64Encoded"):
            body = base64.b64decode(body)
        return ApiResponse(payload["statusCode"], body, headers, multi, None, True), True
