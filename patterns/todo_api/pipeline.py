"""MyTodoList, executed: Cognito -> STS -> per-user S3 prefix, and todo CRUD through API Gateway.

Deploy creates, in the run's own account: a Cognito user pool and app client, an
identity pool whose authenticated role may only touch
``<bucket>/${cognito-identity.amazonaws.com:sub}/*``, the files bucket, the todos
table, the todo function, a DAX cluster (``dax`` on) and a REST API with a Cognito
authorizer (stage cache with ``api_cache`` on).

Drive then does what the app's users do: two users sign up, confirm and sign in;
each trades the ID token for an identity id and temporary STS credentials; user A
writes and reads under A's prefix and is refused under B's; requests without a
token, with a forged one and with an expired one are answered 401 by the
authorizer; the todos are created, read, updated and deleted through the API; the
same todo is read again to show the caches; finally a traffic run of N requests
over M todos with a Zipf popularity measures each cache's hit ratio.

Emulated where moto has no data plane (see app/runtime/dataplanes): the REST API
invocation and its authorizer and stage cache, DAX, the identity pool's GetId and
credentials, and the evaluation of the role's policy for S3 (moto cannot
substitute ``${cognito-identity.amazonaws.com:sub}``). Everything else is moto.
The checks are in :mod:`patterns.todo_api.checks`.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app.core import facts
from app.runtime.infra import Dax, IdentityPoolHandle, RestApi, Route, StageCache, UserPool, own_prefix_policy
from app.runtime.pipeline import Pipeline, RunContext
from patterns.todo_api import checks
from patterns.todo_api.traffic import Workload, summarize

PASSWORD = "Correct-Horse-7-battery"
USERS = (("alice", "alice@example.com"), ("bob", "bob@example.com"))
TOKEN_LIFETIME_S = facts.COGNITO_ID_TOKEN_VALIDITY_MIN.value * 60
PATH = ("api", "authorizer", "lambda", "api_cache", "dax", "dynamodb")   # the diagram edges of a todo request


@dataclass
class User:
    email: str
    sub: str
    id_token: str
    identity_id: str = ""
    identity_id_again: str = ""
    credentials: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    """The run's options (``build_pipeline``'s keyword arguments), read by the steps from the state."""

    workload: Workload = field(default_factory=Workload)


@dataclass
class State:
    """What the steps of a MyTodoList run share."""

    options: Options = field(default_factory=Options)

    user_pool: UserPool | None = None
    identities: IdentityPoolHandle | None = None
    bucket: str = ""
    table: str = ""
    dax: Dax | None = None
    function_arn: str = ""
    api: RestApi | None = None
    users: dict[str, User] = field(default_factory=dict)
    wrong_password: str | None = None
    own: dict[str, Any] = field(default_factory=dict)          # key, body, read, listing of alice's own write
    alice_s3: Any = None
    denied_key: str = ""
    denied: dict[str, Any] = field(default_factory=dict)
    unauthorized: list[dict] = field(default_factory=list)
    invocations_during_401: int = 0
    crud: dict[str, Any] = field(default_factory=dict)
    cache_reads: list[dict] = field(default_factory=list)
    traffic: dict[str, Any] = field(default_factory=dict)


def _forge(token: str, **changes: Any) -> str:
    """The same token with its payload edited and the original signature kept (a tampered token)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


def _api(ctx: RunContext[State], method: str, path: str, user: str | None = None, body: Any = None,
         headers: dict | None = None):
    h = dict(headers or {})
    if user:
        h["Authorization"] = ctx.state.users[user].id_token
    return ctx.state.api.request(method, path, headers=h, body=body)


def _read(ctx: RunContext[State], request) -> tuple[Any, dict[str, Any]]:
    """Make ``request()``: its answer, and which cache answered it."""
    dax = ctx.state.dax
    response, outcome = dax.answered(request) if dax else (request(), "not used")
    if dax is not None and not response.invoked:
        outcome = "not reached"
    api_cache = response.cache or ("off" if not ctx.values["api_cache"] else "not cached")
    return response, {"status": response.status, "api_cache": api_cache, "lambda_invoked": response.invoked,
                      "dax": outcome}


def _dax_counts(ctx: RunContext[State]) -> dict[str, int]:
    return ctx.state.dax.counts() if ctx.state.dax else {"hits": 0, "misses": 0}


# -- deploy ----------------------------------------------------------------------------------------
def user_pool(ctx: RunContext[State]) -> None:
    ctx.state.user_pool = ctx.infra.user_pool("todo-users", client_name="mobile-app")


def identity(ctx: RunContext[State]) -> None:
    ctx.state.bucket = bucket = ctx.infra.bucket("todo-files")
    ids = ctx.state.identities = ctx.infra.identity_pool("todo-identities", ctx.state.user_pool,
                                                         policy=own_prefix_policy(bucket),
                                                         policy_name="own-prefix-only")
    ctx.artifact("policy", {"role": ids.role_arn, "policy_name": ids.policy_name, "document": ids.policy,
                            "trust_policy": ids.trust_policy})


def table(ctx: RunContext[State]) -> None:
    ctx.state.table = ctx.infra.table("todos", "user_id", "todo_id")


def dax_cluster(ctx: RunContext[State]) -> None:
    ctx.state.dax = ctx.infra.dax("todos", clock=ctx.clock)      # TTLs on the run's clock


def function(ctx: RunContext[State]) -> None:
    env = {"TABLE_NAME": ctx.state.table}
    if ctx.state.dax:
        env["DAX_ENDPOINT"] = ctx.state.dax.endpoint
    fn = ctx.lambdas.deploy("todo", handler="patterns.todo_api.handlers.handler", env=env, memory_mb=256,
                            timeout_s=10, description="Todo CRUD behind API Gateway")
    ctx.state.function_arn = fn.arn


def rest_api(ctx: RunContext[State]) -> None:
    fn, auth = ctx.state.function_arn, "method.request.header.Authorization"
    # Cached GETs are keyed by the caller's token (and the todo id), so users never share an answer;
    # after its own write the app may ask for a fresh copy with Cache-Control: max-age=0.
    routes = [Route("GET", "/todos", fn, cache_key=(auth,)), Route("POST", "/todos", fn),
              Route("GET", "/todos/{id}", fn, cache_key=(auth, "method.request.path.id"), fresh_on_request=True),
              Route("PUT", "/todos/{id}", fn), Route("DELETE", "/todos/{id}", fn)]
    api = ctx.state.api = ctx.infra.rest_api("todo-api", routes, authorizer=ctx.state.user_pool,
                                             cache=StageCache() if ctx.values["api_cache"] else None,
                                             clock=ctx.clock)
    ctx.artifact("api", {"rest_api_id": api.id, "stage": api.stage, "invoke_url": api.invoke_url,
                         "stage_cache": (api.describe_cache() + ", key: method + path + id + Authorization")
                         if api.cache else "off",
                         "dax_endpoint": ctx.state.dax.endpoint if ctx.state.dax else "off"})


# -- drive -----------------------------------------------------------------------------------------
def sign_in(ctx: RunContext[State]) -> None:
    pool = ctx.state.user_pool
    for name, email in USERS:
        sub = pool.sign_up(email, PASSWORD)
        ctx.state.users[name] = User(email, sub, pool.sign_in(email, PASSWORD)["IdToken"])
    ctx.state.wrong_password = pool.refused(USERS[0][1], "not-the-password-1A")


def identities(ctx: RunContext[State]) -> None:
    for user in ctx.state.users.values():
        user.identity_id = ctx.state.identities.identity_id(user.id_token)
        user.identity_id_again = ctx.state.identities.identity_id(user.id_token)


def credentials(ctx: RunContext[State]) -> None:
    for user in ctx.state.users.values():
        user.credentials = ctx.state.identities.credentials(user.identity_id, user.id_token)


def own_prefix(ctx: RunContext[State]) -> None:
    alice, bucket = ctx.state.users["alice"], ctx.state.bucket
    s3 = ctx.state.alice_s3 = ctx.state.identities.s3_for(alice.identity_id, alice.credentials)
    key, body = f"{alice.identity_id}/notes/shopping-list.txt", b"milk, eggs, bread\n"
    caller = {"caller": "alice (STS credentials)"}
    with ctx.trace.span("s3", "PutObject", f"{bucket}/{key}", payload_bytes=len(body), detail=caller):
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain")
    with ctx.trace.span("s3", "GetObject", f"{bucket}/{key}", detail=caller):
        read = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with ctx.trace.span("s3", "ListObjectsV2", bucket, detail=caller):
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{alice.identity_id}/")
    ctx.state.own = {"key": key, "body": body, "read": read,
                     "listing": [o["Key"] for o in listed.get("Contents", [])]}


def other_prefix(ctx: RunContext[State]) -> None:
    s3, bucket = ctx.state.alice_s3, ctx.state.bucket
    key = f"{ctx.state.users['bob'].identity_id}/notes/planted.txt"
    outcome: dict[str, Any] = {"request": f"PutObject s3://{bucket}/{key}", "caller": s3.principal.arn,
                               "caller_identity_id": ctx.state.users["alice"].identity_id}
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"not yours")
        outcome.update(status="allowed")
    except Exception as exc:  # botocore ClientError from the guard
        response = getattr(exc, "response", {})
        err = response.get("Error", {})
        outcome.update(status="denied", code=err.get("Code"), message=err.get("Message"),
                       http_status=response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                       decision=s3.last_denial)
    ctx.state.denied_key, ctx.state.denied = key, outcome
    ctx.artifact("denied_request", {**outcome, "policy": ctx.state.identities.policy})


def unauthorized(ctx: RunContext[State]) -> None:
    api, alice = ctx.state.api, ctx.state.users["alice"]
    before = api.counters["invocations"]
    attempts = []

    def attempt(label: str, token: str | None) -> None:
        r = api.request("GET", "/todos", headers={"Authorization": token} if token else {})
        attempts.append({"token": label, "status": r.status, "lambda_invoked": r.invoked})

    attempt("missing", None)
    attempt("forged (payload edited, signature kept)", _forge(alice.id_token, sub=ctx.state.users["bob"].sub))
    ctx.clock.advance(TOKEN_LIFETIME_S + 60)     # the run's clock: the token is presented an hour later
    try:
        attempt(f"expired (checked as if presented {TOKEN_LIFETIME_S // 60 + 1} minutes after sign-in)",
                alice.id_token)
    finally:
        ctx.clock.reset()
    ctx.state.unauthorized = attempts
    ctx.state.invocations_during_401 = api.counters["invocations"] - before
    ctx.artifact("unauthorized", attempts)


def crud(ctx: RunContext[State]) -> None:
    log: list[dict] = []

    def call(method, path, user, body=None):
        r = _api(ctx, method, path, user, body)
        log.append({"user": user, "request": f"{method} {path}", "status": r.status,
                    "body": r.body[:200] if isinstance(r.body, str) else f"<{len(r.body)} bytes>"})
        return r

    def answer(r) -> dict:
        """The JSON of a 2xx answer; {} when the request failed (its status is in the log)."""
        return r.json() if 200 <= r.status < 300 else {}

    def on(todo: dict, method: str, user: str, body=None):
        """A request about a todo the API created; not sent when its creation failed."""
        if not todo.get("todo_id"):
            log.append({"user": user, "request": f"{method} /todos/<id>", "status": None,
                        "body": "not sent: the POST that creates the todo failed"})
            return None
        return call(method, f"/todos/{todo['todo_id']}", user, body)

    made = [answer(call("POST", "/todos", "alice", {"title": t}))
            for t in ("Buy milk", "Book the dentist", "Renew passport")]
    bobs = answer(call("POST", "/todos", "bob", {"title": "Water the plants"}))
    listed = answer(call("GET", "/todos", "alice"))
    got, updated = on(made[0], "GET", "alice"), on(made[1], "PUT", "alice", {"done": True})
    deleted = on(made[2], "DELETE", "alice")
    gone, cross = on(made[2], "GET", "alice"), on(made[0], "GET", "bob")
    status = (lambda r: None if r is None else r.status)
    ctx.state.crud = {"made": made, "bobs": bobs, "listed": listed, "got": answer(got) if got else {},
                      "updated": answer(updated) if updated else {}, "updated_status": status(updated),
                      "deleted_status": status(deleted),
                      "gone_status": status(gone), "cross_status": status(cross),
                      "failed": [e for e in log if e["status"] is None or e["status"] >= 500]}
    ctx.artifact("requests", log)


def cached_reads(ctx: RunContext[State]) -> None:
    # A todo written earlier by another device: straight into the table, so no cache holds it yet.
    todo_id, path = "c0001", "/todos/c0001"
    ctx.client("dynamodb").put_item(TableName=ctx.state.table, Item={
        "user_id": {"S": ctx.state.users["alice"].sub}, "todo_id": {"S": todo_id}, "title": {"S": "Pay the rent"},
        "done": {"BOOL": False}, "created_at": {"N": "0"}, "updated_at": {"N": "0"}})
    reads = ctx.state.cache_reads

    def read(label: str, headers: dict | None = None) -> None:
        r, outcome = _read(ctx, lambda: _api(ctx, "GET", path, "alice", headers=headers))
        reads.append({"read": label, **outcome, "done": r.json().get("done")})

    # The reads are made at one instant of the run's clock: what the caches hold within their TTL does
    # not depend on how long this machine takes to make them.
    with ctx.clock.held():
        for i in range(3):
            read(f"GET {path} #{i + 1}")
        # A write through the API, then reads: what does each cache answer now?
        _api(ctx, "PUT", path, "alice", {"done": True})
        read(f"GET {path} after PUT done=true")
        if ctx.values["api_cache"]:
            read(f"GET {path} with Cache-Control: max-age=0", {"Cache-Control": "max-age=0"})
    ctx.artifact("cache_reads", reads)


def traffic(ctx: RunContext[State]) -> None:
    workload = ctx.state.options.workload
    api, sub = ctx.state.api, ctx.state.users["alice"].sub
    ids = [f"t{i:04d}" for i in range(workload.items)]
    for start in range(0, len(ids), 25):   # seed the todos straight into the table
        ctx.client("dynamodb").batch_write_item(RequestItems={ctx.state.table: [
            {"PutRequest": {"Item": {"user_id": {"S": sub}, "todo_id": {"S": t}, "title": {"S": f"Todo {t}"},
                                     "done": {"BOOL": False}, "created_at": {"N": "0"},
                                     "updated_at": {"N": "0"}}}}
            for t in ids[start:start + 25]]})
    inv0, dax0 = api.counters["invocations"], _dax_counts(ctx)
    cache0 = dict(api.stage_cache.stats()) if api.stage_cache else None
    statuses: dict[int, int] = {}
    reads = writes = 0
    started = time.perf_counter()
    with ctx.clock.held():     # a burst at one instant of the run's clock: hit ratios do not depend on speed
        for kind, index in workload.draw():
            path = f"/todos/{ids[index]}"
            if kind == "read":
                r, reads = _api(ctx, "GET", path, "alice"), reads + 1
            else:
                r, writes = _api(ctx, "PUT", path, "alice", {"done": bool(index % 2)}), writes + 1
            statuses[r.status] = statuses.get(r.status, 0) + 1
    elapsed = (time.perf_counter() - started) * 1000
    cache1, dax1 = (api.stage_cache.stats() if api.stage_cache else None), _dax_counts(ctx)
    ctx.state.traffic = summarize(
        workload, reads=reads, writes=writes, statuses=statuses, elapsed_ms=elapsed,
        invocations=api.counters["invocations"] - inv0,
        api_cache=(cache1["hits"] - cache0["hits"], cache1["misses"] - cache0["misses"]) if cache0 else None,
        dax=(dax1["hits"] - dax0["hits"], dax1["misses"] - dax0["misses"]) if ctx.state.dax else None)
    ctx.artifact("traffic", ctx.state.traffic)


def build_pipeline(values: dict[str, Any], workload: Workload | None = None) -> Pipeline:
    options = Options(workload or Workload())
    p = Pipeline("todo-api", values=values, state=partial(State, options=options), live_unsupported=(
        "its API requests, DAX reads and identity-pool credentials go through the embedded backend's emulated "
        "API Gateway, DAX and Cognito identity data planes, which have no meaning against AWS"),
        faults=("ddb_throttle_rate",))

    p.add("deploy", "Create the user pool and app client", "cognito-idp", user_pool)
    p.add("deploy", "Create the identity pool, the per-user role and the files bucket", "iam", identity)
    p.add("deploy", "Create the todos table", "dynamodb", table)
    if values.get("dax"):
        p.add("deploy", "Create the DAX cluster", "dax", dax_cluster)
    p.add("deploy", "Deploy the todo function", "lambda", function)
    p.add("deploy", "Create the REST API with a Cognito authorizer", "apigateway", rest_api)
    p.add("drive", "Sign up, confirm and sign in two users", "cognito-idp", sign_in, ("signin",))
    p.add("drive", "Trade ID tokens for identity ids", "cognito-identity", identities, ("identity",))
    p.add("drive", "Get temporary credentials from STS", "sts", credentials, ("sts",))
    p.add("drive", "Write and read under the user's own prefix", "s3", own_prefix, ("s3",))
    p.add("drive", "Try to write under another user's prefix", "s3", other_prefix, ("s3",))
    p.add("drive", "Call the API without, with a forged and with an expired token", "apigateway", unauthorized,
          ("api", "authorizer"))
    p.add("drive", "Todo CRUD through the API", "apigateway", crud, ("api", "authorizer", "lambda", "dynamodb"))
    p.add("drive", "Read the same todo again (caches)", "apigateway", cached_reads, PATH)
    p.add("drive", "Traffic run with a Zipf popularity", "apigateway", traffic, PATH)
    checks.add_checks(p)
    return p
