"""The data planes built for a runtime session: API -> in-process Lambda -> DAX -> DynamoDB in the session's account."""
from __future__ import annotations

import json

import pytest

from app.runtime.dataplanes.wiring import DataPlanes
from app.runtime.session import RuntimeSession
from tests.dataplane_support import user_pool


@pytest.fixture
def session():
    s = RuntimeSession.moto()
    yield s
    s.close()


def test_cached_api_over_lambda_over_dax_in_the_sessions_account(session):
    planes = session.dataplanes
    ddb = session.clients.client("dynamodb")
    table = session.name("items")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    for i in ("1", "2"):
        ddb.put_item(TableName=table, Item={"id": {"S": i}, "title": {"S": f"item {i}"}})
    endpoint = f"dax://{session.name('cluster')}.dax-clusters.us-east-1.amazonaws.com:8111"
    dax = planes.dax(session.name("cluster"), endpoint=endpoint)
    fn = session.lambdas.deploy("reader", handler="tests.dataplane_handlers.get_item",
                                env={"TABLE_NAME": table, "DAX_ENDPOINT": endpoint})
    ag = session.clients.client("apigateway")
    api = ag.create_rest_api(name=session.name("items-api"))["id"]
    root = ag.get_resources(restApiId=api)["items"][0]["id"]
    items = ag.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    one = ag.create_resource(restApiId=api, parentId=items, pathPart="{id}")["id"]
    ag.put_method(restApiId=api, resourceId=one, httpMethod="GET", authorizationType="NONE")
    ag.put_integration(restApiId=api, resourceId=one, httpMethod="GET", type="AWS_PROXY", integrationHttpMethod="POST",
                       uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn.arn}/invocations")
    ag.create_deployment(restApiId=api, stageName="prod")
    # moto ignores create_deployment's cacheClusterEnabled; UpdateStage sets it.
    ag.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
        {"op": "replace", "path": "/cacheClusterSize", "value": "0.5"}])
    invoker = planes.rest_api(api, "prod", cache_key_parameters={"GET /items/{id}": ["method.request.path.id"]})

    first = invoker.request("GET", "/items/1")
    assert first.status == 200 and first.json()["title"] == "item 1" and first.cache == "miss"
    assert invoker.request("GET", "/items/1").cache == "hit"
    assert invoker.request("GET", "/items/2").json()["title"] == "item 2"
    invoker.flush_stage_cache()
    again = invoker.request("GET", "/items/1")      # the function runs again; DAX answers it from memory
    assert again.cache == "miss" and again.json()["request_id"] != first.json()["request_id"]
    assert dax.stats()["item_hits"] == 1 and dax.stats()["item_misses"] == 2

    spans = session.trace.spans
    assert [s.cache for s in spans if s.service == "apigateway" and s.operation.startswith("GET /items")] == [
        "miss", "hit", "miss", "miss"]
    assert [s.cache for s in spans if s.service == "dax"] == ["miss", "miss", "hit"]
    assert len([s for s in spans if s.service == "lambda" and s.operation == "Invoke"]) == 3
    # The DynamoDB reads behind the DAX misses are real calls of the session's clients, traced as such.
    assert len([s for s in spans if s.service == "dynamodb" and s.operation == "GetItem"]) == 2


def test_session_builds_its_data_planes_once(session):
    assert isinstance(session.dataplanes, DataPlanes) and session.dataplanes is session.dataplanes


def test_identity_pool_and_guarded_s3_in_the_sessions_account(session):
    planes = session.dataplanes
    c = session.clients
    idp = c.client("cognito-idp")
    pool, client_id, signed_in = user_pool(idp, session.name("users"), ("carol",))
    token = signed_in["carol"]["IdToken"]
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool['Id']}"
    pool_id = c.client("cognito-identity").create_identity_pool(
        IdentityPoolName=session.name("ids").replace("-", "_"), AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client_id}])["IdentityPoolId"]
    bucket = session.name("files")
    c.client("s3").create_bucket(Bucket=bucket)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id}}}]}
    iam = c.client("iam")
    role = iam.create_role(RoleName=session.name("auth"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="own", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                "Resource": f"arn:aws:s3:::{bucket}/${{cognito-identity.amazonaws.com:sub}}/*"}]}))
    assert role["Arn"].split(":")[4] == session.account_id

    ids = planes.identity_pool(pool_id, authenticated_role_arn=role["Arn"])
    identity = ids.get_id(IdentityPoolId=pool_id, Logins={provider: token})["IdentityId"]
    creds = ids.get_credentials_for_identity(IdentityId=identity, Logins={provider: token})["Credentials"]
    s3 = planes.s3_for_identity(ids, identity, creds)
    s3.put_object(Bucket=bucket, Key=f"{identity}/a.txt", Body=b"x")
    with pytest.raises(s3.exceptions.ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="someone-else/a.txt", Body=b"x")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    keys = [o["Key"] for o in c.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"{identity}/a.txt"]
    assert [s.status for s in session.trace.spans if s.service == "s3" and s.operation == "PutObject"][-1] == "denied"


def test_a_dax_endpoint_resolves_only_in_the_session_that_bound_it(session):
    from concurrent.futures import ThreadPoolExecutor

    other = RuntimeSession.moto()
    try:
        endpoint = "dax://shared-name.dax-clusters.us-east-1.amazonaws.com:8111"
        tables = {}
        for s in (session, other):
            ddb = s.clients.client("dynamodb")
            tables[s] = s.name("items")
            ddb.create_table(TableName=tables[s], BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
            ddb.put_item(TableName=tables[s], Item={"id": {"S": "1"}, "title": {"S": f"owned by {s.account_id}"}})
            s.lambdas.deploy("reader", handler="tests.dataplane_handlers.get_item",
                             env={"TABLE_NAME": tables[s], "DAX_ENDPOINT": endpoint})
        session.dataplanes.dax("cluster", endpoint=endpoint)
        event = {"pathParameters": {"id": "1"}}
        refused = other.lambdas.invoke("reader", event)
        assert refused.function_error == "Unhandled" and "LookupError" in json.dumps(refused.payload)
        other.dataplanes.dax("cluster", endpoint=endpoint)

        def read(s):
            result = s.lambdas.invoke("reader", event)
            return s, json.loads(result.payload["body"])["title"]
        with ThreadPoolExecutor(max_workers=2) as pool:        # sessions run side by side, as in the app
            answers = list(pool.map(read, [session, other] * 10))
        assert all(title == f"owned by {s.account_id}" for s, title in answers)
    finally:
        other.close()
