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
"""
from __future__ import annotations

import base64
import json
import time
from typing import Any

from app.runtime.pipeline import Check, Pipeline, RunContext
from patterns.todo_api.traffic import Workload

STAGE = "prod"
PASSWORD = "Correct-Horse-7-battery"
USERS = (("alice", "alice@example.com"), ("bob", "bob@example.com"))
CACHE_TTL_S = 300
TOKEN_LIFETIME_S = 3600

# Which edges of the case's diagram each step travels (app.core.diagram highlights them).
DIAGRAM_STEPS = {
    "Sign up, confirm and sign in two users": ("signin",),
    "Trade ID tokens for identity ids": ("identity",),
    "Get temporary credentials from STS": ("sts",),
    "Write and read under the user's own prefix": ("s3",),
    "Try to write under another user's prefix": ("s3",),
    "Call the API without, with a forged and with an expired token": ("api", "authorizer"),
    "Todo CRUD through the API": ("api", "authorizer", "lambda", "dynamodb"),
    "Read the same todo again (caches)": ("api", "authorizer", "lambda", "api_cache", "dax", "dynamodb"),
    "Traffic run with a Zipf popularity": ("api", "authorizer", "lambda", "api_cache", "dax", "dynamodb"),
}


def highlight(result) -> set[str]:
    """Diagram step names of the path the run took (only steps that ran, only present components)."""
    names: set[str] = set()
    for step in result.steps:
        if step.status == "ok":
            names.update(DIAGRAM_STEPS.get(step.name, ()))
    return names


# -- helpers ------------------------------------------------------------------------------------
def _files_policy(bucket: str) -> dict:
    """The authenticated role's policy: each identity may only use its own prefix."""
    own = "${cognito-identity.amazonaws.com:sub}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{bucket}",
             "Condition": {"StringLike": {"s3:prefix": [f"{own}/", f"{own}/*"]}}},
            {"Sid": "ReadWriteOwnPrefix", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": f"arn:aws:s3:::{bucket}/{own}/*"},
        ],
    }


def _trust_policy(identity_pool_id: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id},
                          "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}},
        }],
    }


def _forge(token: str, **changes: Any) -> str:
    """The same token with its payload edited and the original signature kept (a tampered token)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


class _Clock:
    """Wall clock of the token verifier; a positive ``offset`` checks tokens as if presented later."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _planes(ctx: RunContext):
    """The run's emulated data planes; the token verifier's clock is the run's, so expiry can be shown."""
    planes = ctx.state.get("planes")
    if planes is None:
        from app.runtime.dataplanes.tokens import CognitoTokenVerifier
        from app.runtime.dataplanes.wiring import DataPlanes

        planes = DataPlanes(ctx.session)
        planes.verifier = CognitoTokenVerifier(ctx.clients.endpoint_url, clock=ctx.state.setdefault("clock", _Clock()))
        ctx.state["planes"] = planes
    return planes


def _auth(ctx: RunContext, user: str) -> dict[str, str]:
    return {"Authorization": ctx.state["users"][user]["id_token"]}


def _api(ctx: RunContext, method: str, path: str, user: str | None = None, body: Any = None,
         headers: dict | None = None):
    h = dict(headers or {})
    if user:
        h.update(_auth(ctx, user))
    if body is not None:
        h["Content-Type"] = "application/json"
    return ctx.state["api"].request(method, path, headers=h, body=json.dumps(body) if body is not None else None)


def _dax_counts(ctx: RunContext) -> dict[str, int]:
    dax = ctx.state.get("dax")
    if dax is None:
        return {"hits": 0, "misses": 0}
    s = dax.stats()
    return {"hits": s["item_hits"] + s["query_hits"], "misses": s["item_misses"] + s["query_misses"]}


def _read_outcome(ctx: RunContext, response, dax_before: dict[str, int]) -> dict[str, Any]:
    after = _dax_counts(ctx)
    if not ctx.values["dax"] or not response.invoked:
        dax = "not used" if not ctx.values["dax"] else "not reached"
    else:
        dax = "hit" if after["hits"] > dax_before["hits"] else "miss"
    api_cache = response.cache or ("off" if not ctx.values["api_cache"] else "not cached")
    return {"status": response.status, "api_cache": api_cache, "lambda_invoked": response.invoked, "dax": dax}


# -- the pipeline -------------------------------------------------------------------------------
def build_pipeline(values: dict[str, Any], workload: Workload | None = None) -> Pipeline:
    workload = workload or Workload()
    p = Pipeline("todo-api", live_unsupported=(
        "its API requests, DAX reads and identity-pool credentials go through the embedded backend's emulated "
        "API Gateway, DAX and Cognito identity data planes, which have no meaning against AWS"))

    @p.deploy("Create the user pool and app client", service="cognito-idp")
    def user_pool(ctx: RunContext) -> None:
        idp = ctx.client("cognito-idp")
        pool = idp.create_user_pool(
            PoolName=ctx.name("todo-users"), AutoVerifiedAttributes=["email"], UsernameAttributes=["email"],
            Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                                         "RequireNumbers": True, "RequireSymbols": False}},
            UserPoolTags=ctx.session.tags)["UserPool"]
        client = idp.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="mobile-app", GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            IdTokenValidity=60, TokenValidityUnits={"IdToken": "minutes"})["UserPoolClient"]
        ctx.state.update(user_pool_id=pool["Id"], user_pool_arn=pool["Arn"], app_client_id=client["ClientId"])

    @p.deploy("Create the identity pool, the per-user role and the files bucket", service="iam")
    def identity(ctx: RunContext) -> None:
        provider = f"cognito-idp.{ctx.clients.region}.amazonaws.com/{ctx.state['user_pool_id']}"
        pool = ctx.client("cognito-identity").create_identity_pool(
            IdentityPoolName=ctx.name("todo_identities").replace("-", "_"), AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": ctx.state["app_client_id"],
                                       "ServerSideTokenCheck": False}],
            IdentityPoolTags=ctx.session.tags)
        bucket = ctx.name("todo-files")
        ctx.client("s3").create_bucket(Bucket=bucket)
        ctx.client("s3").put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [
            {"Key": k, "Value": v} for k, v in ctx.session.tags.items()]})
        iam = ctx.client("iam")
        role_name = ctx.name("todo-authenticated")
        policy = _files_policy(bucket)
        role = iam.create_role(RoleName=role_name,
                               AssumeRolePolicyDocument=json.dumps(_trust_policy(pool["IdentityPoolId"])),
                               Tags=[{"Key": k, "Value": v} for k, v in ctx.session.tags.items()])["Role"]
        iam.put_role_policy(RoleName=role_name, PolicyName="own-prefix-only", PolicyDocument=json.dumps(policy))
        planes = _planes(ctx)
        ids = planes.identity_pool(pool["IdentityPoolId"])
        ids.set_identity_pool_roles(IdentityPoolId=pool["IdentityPoolId"], Roles={"authenticated": role["Arn"]})
        ctx.state.update(identity_pool=ids, identity_pool_id=pool["IdentityPoolId"], provider=provider,
                         bucket=bucket, role_arn=role["Arn"], verifier=planes.verifier)
        ctx.artifact("policy", {"role": role["Arn"], "policy_name": "own-prefix-only", "document": policy,
                                "trust_policy": _trust_policy(pool["IdentityPoolId"])})

    @p.deploy("Create the todos table", service="dynamodb")
    def table(ctx: RunContext) -> None:
        name = ctx.name("todos")
        ctx.client("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"},
                       {"AttributeName": "todo_id", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                                  {"AttributeName": "todo_id", "AttributeType": "S"}],
            Tags=[{"Key": k, "Value": v} for k, v in ctx.session.tags.items()])
        ctx.state["table"] = name

    if values.get("dax"):
        @p.deploy("Create the DAX cluster", service="dax")
        def dax_cluster(ctx: RunContext) -> None:
            iam = ctx.client("iam")
            role = iam.create_role(
                RoleName=ctx.name("dax-access"),
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
                Tags=[{"Key": k, "Value": v} for k, v in ctx.session.tags.items()])["Role"]
            cluster = ctx.client("dax").create_cluster(
                ClusterName=ctx.name("todos")[:20].rstrip("-"), NodeType="dax.t3.small", ReplicationFactor=1,
                IamRoleArn=role["Arn"], Tags=[{"Key": k, "Value": v} for k, v in ctx.session.tags.items()])["Cluster"]
            found = cluster.get("ClusterDiscoveryEndpoint") or {}
            endpoint = f"dax://{found.get('Address', cluster['ClusterName'])}:{found.get('Port', 8111)}"
            dax = _planes(ctx).dax(cluster["ClusterName"], endpoint=endpoint, node_type="dax.t3.small")
            ctx.state.update(dax=dax, dax_endpoint=endpoint)

    @p.deploy("Deploy the todo function", service="lambda")
    def function(ctx: RunContext) -> None:
        env = {"TABLE_NAME": ctx.state["table"]}
        if ctx.state.get("dax_endpoint"):
            env["DAX_ENDPOINT"] = ctx.state["dax_endpoint"]
        fn = ctx.lambdas.deploy("todo", handler="patterns.todo_api.handlers.handler", env=env, memory_mb=256,
                                timeout_s=10, description="Todo CRUD behind API Gateway")
        ctx.state["function_arn"] = fn.arn

    @p.deploy("Create the REST API with a Cognito authorizer", service="apigateway")
    def rest_api(ctx: RunContext) -> None:
        apigw = ctx.client("apigateway")
        api = apigw.create_rest_api(name=ctx.name("todo-api"), endpointConfiguration={"types": ["REGIONAL"]},
                                    tags=ctx.session.tags)
        api_id = api["id"]
        root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        todos = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="todos")["id"]
        one = apigw.create_resource(restApiId=api_id, parentId=todos, pathPart="{id}")["id"]
        authorizer = apigw.create_authorizer(
            restApiId=api_id, name="cognito", type="COGNITO_USER_POOLS",
            providerARNs=[ctx.state["user_pool_arn"]], identitySource="method.request.header.Authorization")["id"]
        uri = (f"arn:aws:apigateway:{ctx.clients.region}:lambda:path/2015-03-31/functions/"
               f"{ctx.state['function_arn']}/invocations")
        cache_keys = {"GET /todos": ["method.request.header.Authorization"],
                      "GET /todos/{id}": ["method.request.header.Authorization", "method.request.path.id"]}
        for resource_id, path, verbs in ((todos, "/todos", ("GET", "POST")),
                                         (one, "/todos/{id}", ("GET", "PUT", "DELETE"))):
            for verb in verbs:
                keys = cache_keys.get(f"{verb} {path}", [])
                params = {k: True for k in keys}
                apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb,
                                 authorizationType="COGNITO_USER_POOLS", authorizerId=authorizer,
                                 requestParameters=params)
                apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb,
                                      type="AWS_PROXY", integrationHttpMethod="POST", uri=uri,
                                      cacheKeyParameters=keys)
        ctx.client("lambda").add_permission(
            FunctionName=ctx.state["function_arn"], StatementId="apigateway-invoke", Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{ctx.clients.region}:{ctx.clients.account_id}:{api_id}/*/*/todos*")
        apigw.create_deployment(restApiId=api_id, stageName=STAGE)
        if ctx.values["api_cache"]:
            # Caching on for GETs (the default for cached stages), TTL 300 s; after its own write the app
            # may ask for a fresh copy with Cache-Control: max-age=0 on the item it changed.
            apigw.update_stage(restApiId=api_id, stageName=STAGE, patchOperations=[
                {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
                {"op": "replace", "path": "/cacheClusterSize", "value": "0.5"},
                {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
                {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": str(CACHE_TTL_S)},
                {"op": "replace", "path": "/~1todos~1{id}/GET/caching/enabled", "value": "true"},
                {"op": "replace", "path": "/~1todos~1{id}/GET/caching/ttlInSeconds", "value": str(CACHE_TTL_S)},
                {"op": "replace", "path": "/~1todos~1{id}/GET/caching/requireAuthorizationForCacheControl",
                 "value": "false"},
            ])
        invoker = _planes(ctx).rest_api(api_id, STAGE, cache_key_parameters=cache_keys)
        ctx.state.update(api=invoker, api_id=api_id)
        ctx.artifact("api", {"rest_api_id": api_id, "stage": STAGE,
                             "invoke_url": f"https://{api_id}.execute-api.{ctx.clients.region}.amazonaws.com/{STAGE}",
                             "stage_cache": "0.5 GB, TTL 300 s, key: method + path + id + Authorization"
                             if ctx.values["api_cache"] else "off",
                             "dax_endpoint": ctx.state.get("dax_endpoint") or "off"})

    # -- drive ---------------------------------------------------------------------------------
    @p.drive("Sign up, confirm and sign in two users", service="cognito-idp")
    def sign_in(ctx: RunContext) -> None:
        idp = ctx.client("cognito-idp")
        users: dict[str, dict] = {}
        for name, email in USERS:
            signed = idp.sign_up(ClientId=ctx.state["app_client_id"], Username=email, Password=PASSWORD,
                                 UserAttributes=[{"Name": "email", "Value": email}])
            idp.admin_confirm_sign_up(UserPoolId=ctx.state["user_pool_id"], Username=email)
            tokens = idp.initiate_auth(ClientId=ctx.state["app_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD})["AuthenticationResult"]
            users[name] = {"email": email, "sub": signed["UserSub"], "id_token": tokens["IdToken"],
                           "confirmed": signed.get("UserConfirmed", False)}
        wrong = None
        try:
            idp.initiate_auth(ClientId=ctx.state["app_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": USERS[0][1], "PASSWORD": "not-the-password-1A"})
        except idp.exceptions.NotAuthorizedException as exc:
            wrong = exc.response["Error"]["Code"]
        ctx.state.update(users=users, wrong_password=wrong)

    @p.drive("Trade ID tokens for identity ids", service="cognito-identity")
    def identities(ctx: RunContext) -> None:
        ids = ctx.state["identity_pool"]
        for user in ctx.state["users"].values():
            logins = {ctx.state["provider"]: user["id_token"]}
            user["identity_id"] = ids.get_id(IdentityPoolId=ctx.state["identity_pool_id"], Logins=logins)["IdentityId"]
            user["identity_id_again"] = ids.get_id(IdentityPoolId=ctx.state["identity_pool_id"],
                                                   Logins=logins)["IdentityId"]

    @p.drive("Get temporary credentials from STS", service="sts")
    def credentials(ctx: RunContext) -> None:
        ids = ctx.state["identity_pool"]
        for user in ctx.state["users"].values():
            got = ids.get_credentials_for_identity(IdentityId=user["identity_id"],
                                                   Logins={ctx.state["provider"]: user["id_token"]})
            user["credentials"] = got["Credentials"]

    def user_s3(ctx: RunContext, name: str):
        """An S3 client signed with the user's STS credentials, the role's policy evaluated per request."""
        user = ctx.state["users"][name]
        return _planes(ctx).s3_for_identity(ctx.state["identity_pool"], user["identity_id"], user["credentials"])

    @p.drive("Write and read under the user's own prefix", service="s3")
    def own_prefix(ctx: RunContext) -> None:
        s3 = user_s3(ctx, "alice")
        alice = ctx.state["users"]["alice"]
        bucket = ctx.state["bucket"]
        key = f"{alice['identity_id']}/notes/shopping-list.txt"
        body = b"milk, eggs, bread\n"
        with ctx.trace.span("s3", "PutObject", f"{bucket}/{key}", payload_bytes=len(body),
                            detail={"caller": "alice (STS credentials)"}):
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain")
        with ctx.trace.span("s3", "GetObject", f"{bucket}/{key}", detail={"caller": "alice (STS credentials)"}):
            read = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with ctx.trace.span("s3", "ListObjectsV2", bucket, detail={"caller": "alice (STS credentials)"}):
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{alice['identity_id']}/")
        ctx.state.update(alice_s3=s3, own_key=key, own_body=body, own_read=read,
                         own_listing=[o["Key"] for o in listed.get("Contents", [])])

    @p.drive("Try to write under another user's prefix", service="s3")
    def other_prefix(ctx: RunContext) -> None:
        s3 = ctx.state["alice_s3"]
        bob = ctx.state["users"]["bob"]
        key = f"{bob['identity_id']}/notes/planted.txt"
        outcome: dict[str, Any] = {"request": f"PutObject s3://{ctx.state['bucket']}/{key}",
                                   "caller": s3.principal.arn,
                                   "caller_identity_id": ctx.state["users"]["alice"]["identity_id"]}
        try:
            s3.put_object(Bucket=ctx.state["bucket"], Key=key, Body=b"not yours")
            outcome.update(status="allowed")
        except Exception as exc:  # botocore ClientError from the guard
            err = getattr(exc, "response", {}).get("Error", {})
            outcome.update(status="denied", code=err.get("Code"), message=err.get("Message"),
                           http_status=getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode"),
                           decision=s3.last_denial)
        ctx.state.update(denied_key=key, denied=outcome)
        ctx.artifact("denied_request", {**outcome, "policy": ctx.artifacts["policy"]["document"]})

    @p.drive("Call the API without, with a forged and with an expired token", service="apigateway")
    def unauthorized(ctx: RunContext) -> None:
        api = ctx.state["api"]
        alice = ctx.state["users"]["alice"]
        before = api.counters["invocations"]
        attempts = []
        r = api.request("GET", "/todos")
        attempts.append({"token": "missing", "status": r.status, "lambda_invoked": r.invoked})
        forged = _forge(alice["id_token"], sub=ctx.state["users"]["bob"]["sub"])
        r = api.request("GET", "/todos", headers={"Authorization": forged})
        attempts.append({"token": "forged (payload edited, signature kept)", "status": r.status,
                         "lambda_invoked": r.invoked})
        clock: _Clock = ctx.state["clock"]
        clock.offset = TOKEN_LIFETIME_S + 60
        try:
            r = api.request("GET", "/todos", headers=_auth(ctx, "alice"))
        finally:
            clock.offset = 0.0
        attempts.append({"token": f"expired (checked as if presented {TOKEN_LIFETIME_S // 60 + 1} minutes "
                                  "after sign-in)",
                         "status": r.status, "lambda_invoked": r.invoked})
        ctx.state.update(unauthorized=attempts, invocations_during_401=api.counters["invocations"] - before)
        ctx.artifact("unauthorized", attempts)

    @p.drive("Todo CRUD through the API", service="apigateway")
    def crud(ctx: RunContext) -> None:
        log: list[dict] = []

        def call(method, path, user, body=None):
            r = _api(ctx, method, path, user, body)
            log.append({"user": user, "request": f"{method} {path}", "status": r.status,
                        "body": r.body[:200] if isinstance(r.body, str) else f"<{len(r.body)} bytes>"})
            return r

        made = [call("POST", "/todos", "alice", {"title": t}).json()
                for t in ("Buy milk", "Book the dentist", "Renew passport")]
        bobs = call("POST", "/todos", "bob", {"title": "Water the plants"}).json()
        listed = call("GET", "/todos", "alice").json()
        first = made[0]["todo_id"]
        got = call("GET", f"/todos/{first}", "alice")
        updated = call("PUT", f"/todos/{made[1]['todo_id']}", "alice", {"done": True}).json()
        deleted = call("DELETE", f"/todos/{made[2]['todo_id']}", "alice")
        gone = call("GET", f"/todos/{made[2]['todo_id']}", "alice")
        cross = call("GET", f"/todos/{first}", "bob")
        ctx.state.update(made=made, bobs=bobs, listed=listed, got=got.json(), updated=updated,
                         deleted_status=deleted.status, gone_status=gone.status, cross_status=cross.status)
        ctx.artifact("requests", log)

    @p.drive("Read the same todo again (caches)", service="apigateway")
    def cached_reads(ctx: RunContext) -> None:
        # A todo written earlier by another device: straight into the table, so no cache holds it yet.
        alice = ctx.state["users"]["alice"]
        todo_id = "c0001"
        ctx.client("dynamodb").put_item(TableName=ctx.state["table"], Item={
            "user_id": {"S": alice["sub"]}, "todo_id": {"S": todo_id}, "title": {"S": "Pay the rent"},
            "done": {"BOOL": False}, "created_at": {"N": "0"}, "updated_at": {"N": "0"}})
        path = f"/todos/{todo_id}"
        reads = []

        def read(label: str, headers: dict | None = None) -> None:
            before = _dax_counts(ctx)
            r = _api(ctx, "GET", path, "alice", headers=headers)
            reads.append({"read": label, **_read_outcome(ctx, r, before), "done": r.json().get("done")})

        for i in range(3):
            read(f"GET {path} #{i + 1}")
        # A write through the API, then reads: what does each cache answer now?
        _api(ctx, "PUT", path, "alice", {"done": True})
        read(f"GET {path} after PUT done=true")
        if ctx.values["api_cache"]:
            read(f"GET {path} with Cache-Control: max-age=0", {"Cache-Control": "max-age=0"})
        ctx.state["cache_reads"] = reads
        ctx.artifact("cache_reads", reads)

    @p.drive("Traffic run with a Zipf popularity", service="apigateway")
    def traffic(ctx: RunContext) -> None:
        api = ctx.state["api"]
        alice = ctx.state["users"]["alice"]
        ddb = ctx.client("dynamodb")
        ids = [f"t{i:04d}" for i in range(workload.items)]
        for start in range(0, len(ids), 25):   # seed the todos straight into the table
            ddb.batch_write_item(RequestItems={ctx.state["table"]: [
                {"PutRequest": {"Item": {"user_id": {"S": alice["sub"]}, "todo_id": {"S": t},
                                         "title": {"S": f"Todo {t}"}, "done": {"BOOL": False},
                                         "created_at": {"N": "0"}, "updated_at": {"N": "0"}}}}
                for t in ids[start:start + 25]]})
        inv0, dax0 = api.counters["invocations"], _dax_counts(ctx)
        cache0 = dict(api.cache.stats()) if api.cache else None
        statuses: dict[int, int] = {}
        reads = writes = 0
        started = time.perf_counter()
        for kind, index in workload.draw():
            path = f"/todos/{ids[index]}"
            if kind == "read":
                r = _api(ctx, "GET", path, "alice")
                reads += 1
            else:
                r = _api(ctx, "PUT", path, "alice", {"done": bool(index % 2)})
                writes += 1
            statuses[r.status] = statuses.get(r.status, 0) + 1
        elapsed = (time.perf_counter() - started) * 1000
        dax1 = _dax_counts(ctx)
        summary: dict[str, Any] = {
            "workload": workload.describe(), "reads": reads, "writes": writes, "statuses": statuses,
            "lambda_invocations": api.counters["invocations"] - inv0,
            "measured_ms_total": round(elapsed, 1), "measured_ms_per_request": round(elapsed / workload.requests, 3),
        }
        if api.cache is not None:
            c1 = api.cache.stats()
            hits, misses = c1["hits"] - cache0["hits"], c1["misses"] - cache0["misses"]
            summary["api_cache"] = {"hits": hits, "misses": misses,
                                    "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None}
        if ctx.state.get("dax") is not None:
            hits, misses = dax1["hits"] - dax0["hits"], dax1["misses"] - dax0["misses"]
            summary["dax"] = {"hits": hits, "misses": misses,
                              "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None}
        ctx.state["traffic"] = summary
        ctx.artifact("traffic", summary)

    # -- verify --------------------------------------------------------------------------------
    @p.verify("Users signed in and received tokens", service="cognito-idp")
    def v_signin(ctx: RunContext):
        users = ctx.state["users"]
        idp = ctx.client("cognito-idp")
        statuses = {u["email"]: idp.admin_get_user(UserPoolId=ctx.state["user_pool_id"],
                                                   Username=u["email"])["UserStatus"] for u in users.values()}
        verifier = ctx.state["verifier"]
        claims = {name: verifier.verify(u["id_token"], pool_id=ctx.state["user_pool_id"],
                                        client_ids=[ctx.state["app_client_id"]]) for name, u in users.items()}
        return [
            Check("two users confirmed in the user pool", all(s == "CONFIRMED" for s in statuses.values()),
                  f"user status read back: {statuses}"),
            Check("ID tokens verify against the pool's JWKS",
                  all(claims[n]["sub"] == users[n]["sub"] for n in users),
                  "RS256 signature, issuer, audience and expiry checked; sub matches the sign-up"),
            Check("a wrong password is refused", ctx.state["wrong_password"] == "NotAuthorizedException",
                  f"InitiateAuth answered {ctx.state['wrong_password']}"),
        ]

    @p.verify("Identity ids are stable and credentials are temporary", service="cognito-identity")
    def v_identity(ctx: RunContext):
        users = ctx.state["users"]
        a, b = users["alice"], users["bob"]
        listed = ctx.client("cognito-identity").list_identities(IdentityPoolId=ctx.state["identity_pool_id"],
                                                                MaxResults=10)["Identities"]
        from app.runtime.clients import Clients

        c = a["credentials"]
        who = Clients(account_id=ctx.clients.account_id, region=ctx.clients.region, access_key=c["AccessKeyId"],
                      secret_key=c["SecretKey"], session_token=c["SessionToken"],
                      endpoint_url=ctx.clients.endpoint_url).client("sts").get_caller_identity()
        expires = c["Expiration"]
        return [
            Check("identity id is stable per user",
                  a["identity_id"] == a["identity_id_again"] and b["identity_id"] == b["identity_id_again"]
                  and a["identity_id"] != b["identity_id"],
                  f"alice {a['identity_id']} twice, bob {b['identity_id']} twice; "
                  f"the pool lists {len(listed)} identities"),
            Check("credentials are the role's temporary STS credentials",
                  who["Arn"].startswith(f"arn:aws:sts::{ctx.clients.account_id}:assumed-role/")
                  and c["AccessKeyId"].startswith("ASIA"),
                  f"GetCallerIdentity with them: {who['Arn']}; expire {expires}"),
        ]

    @p.verify("Per-user prefix: own writes succeed, another user's prefix is denied", service="s3")
    def v_prefix(ctx: RunContext):
        s3 = ctx.client("s3")
        bucket = ctx.state["bucket"]
        stored = s3.get_object(Bucket=bucket, Key=ctx.state["own_key"])["Body"].read()
        listing = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        ctx.artifact("s3_listing", {"bucket": bucket, "keys": listing})
        denied = ctx.state["denied"]
        planted = ctx.state["denied_key"] in listing
        return [
            Check("user wrote and read back under their own prefix",
                  stored == ctx.state["own_body"] == ctx.state["own_read"]
                  and ctx.state["own_key"] in ctx.state["own_listing"],
                  f"s3://{bucket}/{ctx.state['own_key']} ({len(stored)} bytes) read back from the backend"),
            Check("write under another user's prefix is denied by the role's policy",
                  denied["status"] == "denied" and denied.get("code") == "AccessDenied" and not planted,
                  f"{denied['request']}: {denied.get('code')} ({(denied.get('decision') or {}).get('reason')}); "
                  f"the object {'EXISTS' if planted else 'does not exist'} in the bucket"),
        ]

    @p.verify("Missing, forged and expired tokens get 401 and reach no Lambda", service="apigateway")
    def v_unauthorized(ctx: RunContext):
        attempts = ctx.state["unauthorized"]
        return Check("authorizer answers 401 without invoking the function",
                     len(attempts) == 3 and all(a["status"] == 401 and not a["lambda_invoked"] for a in attempts)
                     and ctx.state["invocations_during_401"] == 0,
                     "; ".join(f"{a['token']}: {a['status']}" for a in attempts)
                     + f"; function invocations meanwhile: {ctx.state['invocations_during_401']}")

    @p.verify("Todos in DynamoDB match what the API answered", service="dynamodb")
    def v_crud(ctx: RunContext):
        ddb = ctx.client("dynamodb")
        alice, bob = ctx.state["users"]["alice"], ctx.state["users"]["bob"]
        items = ddb.query(TableName=ctx.state["table"], KeyConditionExpression="user_id = :u",
                          ExpressionAttributeValues={":u": {"S": alice["sub"]}}, ConsistentRead=True)["Items"]
        by_id = {i["todo_id"]["S"]: i for i in items}
        made = ctx.state["made"]
        bob_items = ddb.query(TableName=ctx.state["table"], KeyConditionExpression="user_id = :u",
                              ExpressionAttributeValues={":u": {"S": bob["sub"]}}, ConsistentRead=True)["Items"]
        ctx.artifact("dynamodb_items", [{k: list(v.values())[0] for k, v in i.items()}
                                        for i in sorted(items + bob_items, key=lambda i: i["todo_id"]["S"])
                                        if not i["todo_id"]["S"].startswith("t0")][:20])
        return [
            Check("created todos are stored under the caller's sub",
                  made[0]["todo_id"] in by_id and made[1]["todo_id"] in by_id
                  and [i["title"]["S"] for i in bob_items if not i["todo_id"]["S"].startswith("t0")]
                  == ["Water the plants"],
                  f"alice holds {len(by_id)} items, bob {len(bob_items)}; read back with a consistent Query"),
            Check("update and delete reached the table",
                  by_id[made[1]["todo_id"]]["done"]["BOOL"] is True and made[2]["todo_id"] not in by_id
                  and ctx.state["deleted_status"] == 204 and ctx.state["gone_status"] == 404,
                  f"PUT set done=true; DELETE answered {ctx.state['deleted_status']}, "
                  f"then GET answered {ctx.state['gone_status']}"),
            Check("another user cannot read the todo", ctx.state["cross_status"] == 404,
                  f"bob's GET of alice's todo answered {ctx.state['cross_status']} (partition key is the caller)"),
        ]

    @p.verify("Caches behaved as configured", service="apigateway")
    def v_caches(ctx: RunContext):
        reads = ctx.state["cache_reads"]
        checks = []
        first3 = reads[:3]
        if ctx.values["api_cache"]:
            checks.append(Check("stage cache answers repeated GETs without Lambda",
                                first3[0]["api_cache"] == "miss" and first3[0]["lambda_invoked"]
                                and all(r["api_cache"] == "hit" and not r["lambda_invoked"] for r in first3[1:]),
                                ", ".join(f"{r['read']}: {r['api_cache']}, lambda "
                                          f"{'ran' if r['lambda_invoked'] else 'not invoked'}" for r in first3)))
            stale, fresh = reads[3], reads[4]
            checks.append(Check("after a write the cached GET is stale until the client asks for a fresh copy",
                                stale["api_cache"] == "hit" and stale["done"] is False
                                and fresh["lambda_invoked"] and fresh["done"] is True,
                                f"after PUT: {stale['api_cache']} with done={stale['done']}; with max-age=0: "
                                f"lambda ran, done={fresh['done']}"))
        else:
            checks.append(Check("without the stage cache every GET reaches Lambda",
                                all(r["lambda_invoked"] and r["api_cache"] == "off" for r in reads),
                                f"{len(reads)} GETs, {sum(r['lambda_invoked'] for r in reads)} invocations"))
        if ctx.values["dax"]:
            reached = [r for r in reads if r["lambda_invoked"]]
            checks.append(Check("DAX serves repeated reads from its item cache",
                                reached[0]["dax"] == "miss" and all(r["dax"] == "hit" for r in reached[1:]),
                                ", ".join(f"{r['read']}: DAX {r['dax']}" for r in reached)))
            after = [r for r in reads if "after PUT" in r["read"] or "max-age" in r["read"]]
            fresh = [r for r in after if r["lambda_invoked"]]
            checks.append(Check("DAX is write-through: a read after the write sees the new value",
                                all(r["done"] is True for r in fresh) and bool(fresh),
                                ", ".join(f"{r['read']}: done={r['done']} (DAX {r['dax']})" for r in fresh)))
        else:
            dax_spans = [s for s in ctx.trace.spans if s.service == "dax"]
            checks.append(Check("without DAX the function reads DynamoDB directly", not dax_spans,
                                f"{len(dax_spans)} DAX calls in the trace"))
        return checks

    @p.verify("Traffic run measured each cache's hit ratio", service="apigateway")
    def v_traffic(ctx: RunContext):
        t = ctx.state["traffic"]
        ok_status = sum(n for s, n in t["statuses"].items() if s == 200) == t["reads"] + t["writes"]
        parts = [f"{t['reads'] + t['writes']} requests ({t['reads']} GET, {t['writes']} PUT) in "
                 f"{t['measured_ms_total']:.0f} ms executed here; Lambda ran {t['lambda_invocations']} times"]
        good = ok_status and t["reads"] + t["writes"] == workload.requests
        if "api_cache" in t:
            parts.append(f"stage cache hit ratio {t['api_cache']['hit_ratio']}")
            good = good and t["lambda_invocations"] == t["writes"] + t["api_cache"]["misses"]
        else:
            good = good and t["lambda_invocations"] == workload.requests
        if "dax" in t:
            parts.append(f"DAX hit ratio {t['dax']['hit_ratio']}")
        return Check("traffic run completed and hit ratios were measured", good, "; ".join(parts))

    return p

