"""The runtime core: backend, clients, sessions, in-process Lambda."""
from __future__ import annotations

import json
import threading

import pytest
from botocore.exceptions import ClientError

from app.runtime.backend import get_backend
from app.runtime.clients import aws_client, handler_clients
from app.runtime.session import RuntimeSession

HANDLERS = "app.runtime.testpipelines.handlers"


def make_table(session, base="items", stream=None):
    ddb = session.clients.client("dynamodb")
    name = session.name(base)
    kwargs = {}
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", **kwargs)
    return name


def test_one_server_per_process_started_lazily():
    a = get_backend()
    b = get_backend()
    assert a is b
    assert a.endpoint_url.startswith("http://127.0.0.1:")


def test_session_has_its_own_account_and_cannot_see_another(runtime_session):
    other = RuntimeSession.moto()
    try:
        assert other.account_id != runtime_session.account_id
        ident = runtime_session.clients.client("sts").get_caller_identity()
        assert ident["Account"] == runtime_session.account_id
        make_table(runtime_session, "mine")
        assert other.clients.client("dynamodb").list_tables()["TableNames"] == []
        bucket = runtime_session.name("private")
        runtime_session.clients.client("s3").create_bucket(Bucket=bucket)
        runtime_session.clients.client("s3").put_object(Bucket=bucket, Key="k", Body=b"secret")
        with pytest.raises(ClientError):
            other.clients.client("s3").get_object(Bucket=bucket, Key="k")
    finally:
        other.close()


def test_resource_names_are_prefixed_and_valid(runtime_session):
    name = runtime_session.name("My Uploads_Bucket")
    assert name.startswith(runtime_session.prefix + "-")
    assert name == name.lower() and len(name) <= 63 and "_" not in name


def test_credentials_never_in_repr(runtime_session):
    secret = runtime_session.clients._secret[1]
    assert secret and secret not in repr(runtime_session.clients) and secret not in repr(runtime_session)


def test_lambda_runs_in_process_with_context_env_and_account_clients(runtime_session):
    table = make_table(runtime_session)
    fn = runtime_session.lambdas.deploy("jobs", f"{HANDLERS}.process_jobs", env={"TABLE": table},
                                        memory_mb=256, timeout_s=10)
    # The control plane knows the function, with its zip, memory and environment.
    conf = runtime_session.clients.client("lambda").get_function(FunctionName=fn.name)["Configuration"]
    assert conf["MemorySize"] == 256 and conf["Environment"]["Variables"] == {"TABLE": table}
    assert conf["Handler"] == f"{HANDLERS}.process_jobs" and conf["CodeSize"] > 0
    event = {"Records": [{"messageId": "m1", "body": json.dumps({"id": 7})}]}
    result = runtime_session.lambdas.invoke("jobs", event)
    assert result.ok and result.payload == {"processed": 1}
    item = runtime_session.clients.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "7"}})["Item"]
    assert item["done"] == {"N": "1"}
    span = [s for s in runtime_session.trace.spans if s.service == "lambda" and s.operation == "Invoke"][-1]
    assert span.resource == fn.name and span.detail["memory_mb"] == 256


def test_context_object_and_environment_are_lambdas(runtime_session, tmp_path):
    import os
    seen = {}

    def probe(event, context):
        seen.update(name=context.function_name, arn=context.invoked_function_arn,
                    mem=context.memory_limit_in_mb, rid=context.aws_request_id,
                    left=context.get_remaining_time_in_millis(), env=os.environ.get("COLOUR"),
                    fn_env=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
                    account=aws_client("sts").get_caller_identity()["Account"])
        return "ok"

    fn = runtime_session.lambdas.deploy("probe", f"{HANDLERS}.fail_always", env={"COLOUR": "blue"}, timeout_s=3)
    fn.callable = probe   # same registration, a local probe as the code
    result = runtime_session.lambdas.invoke("probe", {})
    assert result.ok
    assert seen["name"] == fn.name and seen["arn"] == fn.arn and seen["mem"] == "128"
    assert seen["rid"] == result.request_id and 0 < seen["left"] <= 3000
    assert seen["env"] == "blue" and seen["fn_env"] == fn.name
    assert seen["account"] == runtime_session.account_id
    assert os.environ.get("COLOUR") is None      # the variable existed for the invocation only
    assert handler_clients().account_id == ""    # outside an invocation: boto3 defaults


def test_exception_is_function_error_and_logged_to_cloudwatch(runtime_session):
    runtime_session.lambdas.deploy("bad", f"{HANDLERS}.fail_always")
    result = runtime_session.lambdas.invoke("bad", {"x": 1})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "RuntimeError"
    assert "refuses every event" in result.payload["errorMessage"]
    logs = runtime_session.lambdas.read_logs("bad")
    assert "[ERROR] RuntimeError" in logs and "Traceback" in logs and "REPORT RequestId" in logs


def test_concurrent_invocations_see_their_own_environment_and_account():
    sessions = [RuntimeSession.moto() for _ in range(4)]
    out = {}

    def probe(event, context):
        import os
        return {"env": os.environ["WHO"], "acct": aws_client("sts").get_caller_identity()["Account"]}

    try:
        for i, s in enumerate(sessions):
            fn = s.lambdas.deploy("probe", f"{HANDLERS}.fail_always", env={"WHO": str(i)})
            fn.callable = probe

        def go(i, s):
            out[i] = [s.lambdas.invoke("probe", {}).payload for _ in range(5)]

        threads = [threading.Thread(target=go, args=(i, s)) for i, s in enumerate(sessions)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        for i, s in enumerate(sessions):
            assert out[i] == [{"env": str(i), "acct": s.account_id}] * 5
    finally:
        for s in sessions:
            s.close()


def test_teardown_empties_the_account_only(runtime_session):
    other = RuntimeSession.moto()
    try:
        make_table(other, "keep")
        make_table(runtime_session, "gone")
        runtime_session.lambdas.deploy("bad", f"{HANDLERS}.fail_always")
        assert runtime_session.inventory()
        report = runtime_session.teardown()
        assert report["errors"] == []
        assert runtime_session.inventory(everywhere=True) == []
        assert other.clients.client("dynamodb").list_tables()["TableNames"] == [other.name("keep")]
    finally:
        other.close()


def test_teardown_covers_the_services_the_cases_use(runtime_session):
    s = runtime_session
    c = s.clients
    role = c.client("iam").create_role(RoleName=s.name("dax"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    c.client("dax").create_cluster(ClusterName=s.name("dax"), NodeType="dax.t3.small", ReplicationFactor=1,
                                   IamRoleArn=role)
    pool = c.client("cognito-idp").create_user_pool(PoolName="users")["UserPool"]
    c.client("cognito-idp").create_user_pool_domain(Domain=s.name("login"), UserPoolId=pool["Id"])
    ident = c.client("cognito-identity").create_identity_pool(IdentityPoolName="ids",
                                                              AllowUnauthenticatedIdentities=False)
    c.client("apigateway").create_rest_api(name="api")
    c.client("athena").create_work_group(Name="reports")
    c.client("kinesis").create_stream(StreamName=s.name("k"), ShardCount=1)
    c.client("sns").create_topic(Name=s.name("t"))
    # every create call carried the run's tag, whatever the service calls its tag parameter
    tag = {"explorer:run-id": s.run_id}
    assert pool["UserPoolTags"] == tag and ident["IdentityPoolTags"] == tag
    assert sorted(x.split(":")[0] for x in s.inventory()) == [
        "apigateway", "athena", "cognito-identity", "cognito-idp", "dax", "iam", "kinesis", "sns"]
    report = s.teardown()
    assert report["errors"] == [] and s.inventory(everywhere=True) == []


def test_invoke_api_runs_the_function_in_process(runtime_session):
    import base64

    s = runtime_session
    t = make_table(s)
    s.lambdas.deploy("jobs", f"{HANDLERS}.process_jobs", env={"TABLE": t})
    s.lambdas.deploy("bad", f"{HANDLERS}.fail_always")
    lam = s.clients.client("lambda")
    event = {"Records": [{"messageId": "m", "body": json.dumps({"id": "via-api"})}]}
    resp = lam.invoke(FunctionName=s.lambdas.get("jobs").name, Payload=json.dumps(event), LogType="Tail")
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert json.loads(resp["Payload"].read()) == {"processed": 1}
    assert "REPORT RequestId" in base64.b64decode(resp["LogResult"]).decode()
    assert s.clients.client("dynamodb").get_item(TableName=t, Key={"pk": {"S": "via-api"}})["Item"]
    bad = lam.invoke(FunctionName=s.lambdas.get("bad").arn, Payload=b"{}")
    assert bad["FunctionError"] == "Unhandled"
    assert json.loads(bad["Payload"].read())["errorType"] == "RuntimeError"
    assert lam.invoke(FunctionName=s.lambdas.get("jobs").name, InvocationType="Event",
                      Payload=json.dumps(event))["StatusCode"] == 202
    assert s.clients.client("dynamodb").get_item(TableName=t, Key={"pk": {"S": "via-api"}})["Item"]["done"] == {"N": "2"}
    invokes = [sp for sp in s.trace.spans if sp.service == "lambda" and sp.operation == "Invoke"]
    assert len(invokes) == 3          # one span per run, none doubled by the API call

    def caller(event, context):      # a handler invoking another function through the API
        out = aws_client("lambda").invoke(FunctionName=event["target"], Payload=json.dumps(event["inner"]))
        return json.loads(out["Payload"].read())

    s.lambdas.deploy("caller", f"{HANDLERS}.fail_always").callable = caller
    got = s.lambdas.invoke("caller", {"target": s.lambdas.get("jobs").name, "inner": event})
    assert got.payload == {"processed": 1}


def test_a_closed_session_leaves_no_state_in_moto():
    from moto.core.base_backend import BackendDict

    s = RuntimeSession.moto()
    make_table(s)
    s.clients.client("sqs").create_queue(QueueName=s.name("q"))
    assert any(s.account_id in b.keys() for b in BackendDict._instances)
    s.close()
    assert not any(s.account_id in b.keys() for b in BackendDict._instances)


def test_sdk_calls_reach_the_server_in_process_and_presigned_urls_over_http(runtime_session, monkeypatch):
    import socket

    s3 = runtime_session.clients.client("s3")
    bucket = runtime_session.name("wire")
    s3.create_bucket(Bucket=bucket)
    opened = []
    real = socket.create_connection
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: opened.append(a[0]) or real(*a, **k))
    body = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="dir/naïve name.bin", Body=body, Metadata={"my_key": "v"})
    got = s3.get_object(Bucket=bucket, Key="dir/naïve name.bin")
    assert got["Body"].read() == body and got["ContentLength"] == len(body)
    assert got["Metadata"] == {"my_key": "v"}
    assert s3.head_object(Bucket=bucket, Key="dir/naïve name.bin")["ContentLength"] == len(body)
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="absent")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    assert opened == []        # answered without a socket
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/naïve name.bin"})
    status, got_body, _ = runtime_session.dataplanes.presigned_request("GET", url)   # plain HTTP: the port
    assert (status, got_body) == (200, body)
    assert opened
