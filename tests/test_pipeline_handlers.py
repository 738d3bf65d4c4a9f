"""The todo and blog Lambda handlers, called as Lambda calls them, against the embedded moto server.

Each test works in an account of its own (assume_role on moto), binds the handler's
clients to it the way an invocation does, and reads the effect back from moto.
The AWS-documented sample events in tests/events/ go through the handlers too.
"""
from __future__ import annotations

import io
import json
import random

import pytest
from PIL import Image

from app.runtime.backend import get_backend
from app.runtime.clients import Clients, bound
from patterns.global_blog import handlers as blog
from patterns.global_blog.uploads import SAMPLE_IMAGE, UploadRejected, sample_image, validate_image
from patterns.todo_api import handlers as todo
from patterns.todo_api.traffic import Workload


@pytest.fixture
def clients():
    backend = get_backend()
    account = f"{random.randrange(10**11, 10**12)}"
    root = Clients(account_id="123456789012", access_key="testing", secret_key="testing",
                   endpoint_url=backend.endpoint_url)
    creds = root.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/handler-tests",
                                           RoleSessionName="handler-tests")["Credentials"]
    return Clients(account_id=account, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                   session_token=creds["SessionToken"], endpoint_url=backend.endpoint_url)


def _todo_table(clients: Clients, monkeypatch) -> str:
    name = "todos-handler-test"
    clients.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}, {"AttributeName": "todo_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                              {"AttributeName": "todo_id", "AttributeType": "S"}])
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.delenv("DAX_ENDPOINT", raising=False)
    return name


def _event(load_event, method: str, todo_id: str | None = None, body: dict | None = None, sub: str | None = None):
    event = load_event("apigateway_proxy_cognito")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    event["pathParameters"] = {"id": todo_id} if todo_id else None
    event["resource"] = "/todos/{id}" if todo_id else "/todos"
    event["body"] = json.dumps(body) if body is not None else None
    if sub:
        event["requestContext"]["authorizer"]["claims"]["sub"] = sub
    return event


def test_todo_crud_with_cognito_claims(clients, monkeypatch, load_event):
    table = _todo_table(clients, monkeypatch)
    with bound(clients):
        created = todo.handler(_event(load_event, "POST", body={"title": "buy milk"}))
        assert created["statusCode"] == 201
        item = json.loads(created["body"])
        sub = load_event("apigateway_proxy_cognito")["requestContext"]["authorizer"]["claims"]["sub"]
        assert item["user_id"] == sub and item["done"] is False

        stored = clients.client("dynamodb").get_item(
            TableName=table, Key={"user_id": {"S": sub}, "todo_id": {"S": item["todo_id"]}})["Item"]
        assert stored["title"] == {"S": "buy milk"}

        got = todo.handler(_event(load_event, "GET", item["todo_id"]))
        assert got["statusCode"] == 200 and json.loads(got["body"])["title"] == "buy milk"

        put = todo.handler(_event(load_event, "PUT", item["todo_id"], {"done": True}))
        assert put["statusCode"] == 200 and json.loads(put["body"])["done"] is True

        listed = json.loads(todo.handler(_event(load_event, "GET"))["body"])
        assert [t["todo_id"] for t in listed["todos"]] == [item["todo_id"]]

        # Another user cannot see or touch it: the partition key is the caller's sub.
        other = "0b6e1f0e-0000-4000-8000-000000000002"
        assert todo.handler(_event(load_event, "GET", item["todo_id"], sub=other))["statusCode"] == 404
        assert todo.handler(_event(load_event, "DELETE", item["todo_id"], sub=other))["statusCode"] == 404
        assert json.loads(todo.handler(_event(load_event, "GET", sub=other))["body"])["count"] == 0

        assert todo.handler(_event(load_event, "DELETE", item["todo_id"]))["statusCode"] == 204
        assert todo.handler(_event(load_event, "GET", item["todo_id"]))["statusCode"] == 404
    assert "Item" not in clients.client("dynamodb").get_item(
        TableName=table, Key={"user_id": {"S": sub}, "todo_id": {"S": item["todo_id"]}})


def test_todo_rejects_bad_input_and_anonymous_callers(clients, monkeypatch, load_event):
    _todo_table(clients, monkeypatch)
    with bound(clients):
        bad = todo.handler(_event(load_event, "POST", body={"title": ""}))
        assert bad["statusCode"] == 400 and "title" in json.loads(bad["body"])["message"]
        wrong = todo.handler(_event(load_event, "PATCH", "x"))
        assert wrong["statusCode"] == 405 and wrong["headers"]["Allow"] == "GET, PUT, DELETE"
        # The documented sample proxy event carries no authorizer claims: nobody to serve.
        anonymous = todo.handler(load_event("apigateway_proxy"))
        assert anonymous["statusCode"] == 401


def _blog_table(clients: Clients, monkeypatch, region: str = "us-east-1") -> str:
    name = "blog-handler-test"
    clients.client("dynamodb", region).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}])
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.delenv("DAX_ENDPOINT", raising=False)
    return name


def _api_event(load_event, method: str, resource: str, body: dict | None = None, item_id: str | None = None):
    event = load_event("apigateway_proxy")
    event.update({"httpMethod": method, "resource": resource, "path": resource, "isBase64Encoded": False,
                  "body": json.dumps(body) if body is not None else None, "queryStringParameters": None,
                  "pathParameters": {"id": item_id} if item_id else None})
    return event


def test_blog_posts_newest_first_and_sign_up(clients, monkeypatch, load_event):
    table = _blog_table(clients, monkeypatch)
    with bound(clients):
        first = json.loads(blog.api_handler(_api_event(load_event, "POST", "/posts",
                                                       {"title": "Hello", "body": "first"}))["body"])
        second = json.loads(blog.api_handler(_api_event(load_event, "POST", "/posts",
                                                        {"title": "Again", "body": "second"}))["body"])
        listed = json.loads(blog.api_handler(_api_event(load_event, "GET", "/posts"))["body"])
        assert [p["post_id"] for p in listed["posts"]][:2] == sorted([first["post_id"], second["post_id"]],
                                                                    reverse=True)
        one = blog.api_handler(_api_event(load_event, "GET", "/posts/{id}", item_id=first["post_id"]))
        assert json.loads(one["body"])["title"] == "Hello"
        assert one["headers"]["X-Served-From-Region"]

        user = blog.api_handler(_api_event(load_event, "POST", "/users", {"email": "ana@example.com", "name": "Ana"}))
        assert user["statusCode"] == 201
        uid = json.loads(user["body"])["user_id"]
        bad = blog.api_handler(_api_event(load_event, "POST", "/users", {"email": "not-an-address"}))
        assert bad["statusCode"] == 400 and "email" in bad["body"]
    stored = clients.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": f"USER#{uid}"},
                                                                       "sk": {"S": "PROFILE"}})["Item"]
    assert stored["email"] == {"S": "ana@example.com"}


def test_upload_url_is_a_working_presigned_put(clients, monkeypatch, load_event):
    import urllib.request

    _blog_table(clients, monkeypatch)
    s3 = clients.client("s3")
    bucket = f"uploads-{clients.account_id}"
    s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv("UPLOAD_BUCKET", bucket)
    monkeypatch.setenv("USE_ACCELERATE", "1")
    with bound(clients):
        out = blog.api_handler(_api_event(load_event, "POST", "/uploads",
                                          {"filename": "my photo.png", "content_type": "image/png"}))
        refused = blog.api_handler(_api_event(load_event, "POST", "/uploads",
                                              {"filename": "x.exe", "content_type": "application/x-msdownload"}))
    assert refused["statusCode"] == 400
    grant = json.loads(out["body"])
    # An emulated backend has no s3-accelerate endpoint: the answer says the URL is not accelerated.
    assert grant["accelerated"] is False
    data = SAMPLE_IMAGE.read_bytes()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in grant["url"]        # Signature Version 4
    # moto finds the bucket's account from no part of a SigV4 query signature: the caller names it
    # (what DataPlanes.presigned_request does for a run).
    request = urllib.request.Request(grant["url"], data=data, method="PUT",
                                     headers={"Content-Type": grant["content_type"],
                                              "x-moto-account-id": clients.account_id})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert s3.get_object(Bucket=bucket, Key=grant["key"])["Body"].read() == data


def test_thumbnail_from_the_documented_s3_put_event(clients, monkeypatch, load_event):
    event = load_event("s3_put")
    s3 = clients.client("s3")
    source = f"example-{clients.account_id}"
    out_bucket = f"thumbs-{clients.account_id}"
    event["Records"][0]["s3"]["bucket"]["name"] = source   # bucket names are global: make it ours
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=out_bucket)
    s3.put_object(Bucket=source, Key="test/key", Body=SAMPLE_IMAGE.read_bytes())   # the sample's "test%2Fkey"
    monkeypatch.setenv("OUTPUT_BUCKET", out_bucket)
    monkeypatch.setenv("THUMB_MAX_SIDE", "150")
    with bound(clients):
        result = blog.thumbnail(event)
    made = result["thumbnails"][0]
    assert made["source"]["key"] == "test/key"
    body = s3.get_object(Bucket=out_bucket, Key=made["thumbnail"]["key"])["Body"].read()
    with Image.open(io.BytesIO(body)) as img:
        assert max(img.size) == 150
        assert img.size == (150, 100)   # 1200x800 keeps its 3:2 shape


def test_welcome_email_names_the_new_user(clients, monkeypatch, load_event):
    ses = clients.client("ses")
    ses.verify_email_identity(EmailAddress="hello@myblog.example")
    monkeypatch.setenv("SENDER_EMAIL", "hello@myblog.example")
    # The documented sample (Id/Message items, INSERT, MODIFY, REMOVE) holds no user: nothing is sent.
    with bound(clients):
        assert blog.welcome_email(load_event("dynamodb_stream")) == {"sent": [], "skipped": 3}
        event = load_event("dynamodb_stream")
        event["Records"][0]["dynamodb"]["NewImage"] = {"pk": {"S": "USER#1"}, "sk": {"S": "PROFILE"},
                                                       "email": {"S": "ana@example.com"}, "name": {"S": "Ana"}}
        result = blog.welcome_email(event)
    assert [s["to"] for s in result["sent"]] == ["ana@example.com"]
    assert "Ana" in result["sent"][0]["subject"]
    stats = ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in stats) == 1


def test_welcome_email_from_an_unverified_sender_fails(clients, monkeypatch, load_event):
    monkeypatch.setenv("SENDER_EMAIL", "nobody@unverified.example")
    event = load_event("dynamodb_stream")
    event["Records"][0]["dynamodb"]["NewImage"] = {"email": {"S": "ana@example.com"}}
    with bound(clients), pytest.raises(Exception, match="MessageRejected|not verified"):
        blog.welcome_email(event)


def test_upload_checks_refuse_before_storing():
    assert sample_image().width == 1200 and sample_image().height == 800
    with pytest.raises(UploadRejected, match="not an image"):
        validate_image(b"hello, this is text", "notes.txt")
    with pytest.raises(UploadRejected, match="over the .* limit"):
        validate_image(b"\x89PNG" + b"\0" * 2048, "big.png", max_bytes=1024)
    with pytest.raises(UploadRejected, match="empty"):
        validate_image(b"", "empty.png")
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="BMP")
    with pytest.raises(UploadRejected, match="BMP image: upload JPEG, PNG, GIF, WEBP"):
        validate_image(buf.getvalue(), "old.bmp")
    truncated = SAMPLE_IMAGE.read_bytes()[:4000]
    with pytest.raises(UploadRejected, match="damaged|not an image"):
        validate_image(truncated, "cut.png")


def test_zipf_workload_is_skewed_and_repeatable():
    flat, skewed = Workload(requests=2000, skew=0.0), Workload(requests=2000, skew=1.5)
    assert skewed.draw() == skewed.draw()
    top = lambda w: sum(1 for _, i in w.draw() if i == 0) / w.requests
    assert top(skewed) > 0.3 > 0.1 > top(flat)
    reads = sum(1 for kind, _ in Workload(requests=2000, read_ratio=0.8).draw() if kind == "read")
    assert 1500 < reads < 1700
    with pytest.raises(ValueError, match="skew=5 is out of range"):
        Workload(skew=5)


def test_handler_reads_through_the_dax_cluster_bound_to_its_run(clients, monkeypatch, load_event):
    from app.runtime.dataplanes.dax import DaxClient
    from app.runtime.dataplanes.endpoints import bind, unbind
    from app.runtime.trace import Trace

    table = _todo_table(clients, monkeypatch)
    endpoint = "dax://todos.abc123.dax-clusters.us-east-1.amazonaws.com:8111"
    trace = Trace()
    dax = DaxClient(clients.client("dynamodb"), trace=trace)
    bind(clients, endpoint, dax)
    monkeypatch.setenv("DAX_ENDPOINT", endpoint)
    try:
        with bound(clients):
            made = json.loads(todo.handler(_event(load_event, "POST", body={"title": "through DAX"}))["body"])
            for _ in range(2):
                assert todo.handler(_event(load_event, "GET", made["todo_id"]))["statusCode"] == 200
        # Written through DAX (write-through), then both reads answered from its item cache.
        assert [(s.operation, s.cache) for s in trace.spans] == [("PutItem", None), ("GetItem", "hit"),
                                                                 ("GetItem", "hit")]
        stored = clients.client("dynamodb").get_item(TableName=table, Key={
            "user_id": {"S": made["user_id"]}, "todo_id": {"S": made["todo_id"]}})
        assert stored["Item"]["title"] == {"S": "through DAX"}
        # Another run's clients do not reach this cluster.
        other = Clients(account_id="999999999999", access_key="testing", secret_key="testing",
                        endpoint_url=clients.endpoint_url)
        with bound(other), pytest.raises(LookupError, match="no emulated data plane"):
            todo.handler(_event(load_event, "GET", made["todo_id"]))
    finally:
        unbind(clients)


@pytest.mark.parametrize("module", ["patterns.todo_api.handlers", "patterns.global_blog.handlers"])
def test_deployment_package_imports_without_the_explorer(module, tmp_path):
    """The zip registered with CreateFunction imports in a bare interpreter, as on AWS Lambda."""
    import subprocess
    import sys
    import zipfile

    from app.runtime.lambdas import module_zip

    zipfile.ZipFile(io.BytesIO(module_zip(module))).extractall(tmp_path)
    code = (f"import sys; sys.path.insert(0, '.'); import {module} as m, patterns.lambda_kit as kit; "
            "print(kit.aws_client.__module__, 'app' in sys.modules)")
    proc = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["patterns.lambda_kit", "False"]   # plain boto3 clients, nothing of the explorer


@pytest.mark.parametrize("sample", ["s3_put_unicode_key", "s3_put_long_key"])
def test_thumbnail_takes_any_valid_key(clients, monkeypatch, load_event, sample):
    """Keys with spaces as '+', a literal '+', parentheses, non-ASCII letters, an emoji, or 1,024 bytes long."""
    from urllib.parse import unquote, unquote_plus

    from app.core.facts import S3_KEY_MAX_BYTES, S3_METADATA_MAX_BYTES

    event = load_event(sample)
    key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
    assert not key.isascii()
    s3 = clients.client("s3")
    source, out_bucket = f"example-{clients.account_id}", f"thumbs-{clients.account_id}"
    event["Records"][0]["s3"]["bucket"]["name"] = source
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=out_bucket)
    s3.put_object(Bucket=source, Key=key, Body=SAMPLE_IMAGE.read_bytes())
    monkeypatch.setenv("OUTPUT_BUCKET", out_bucket)
    with bound(clients):
        made = blog.thumbnail(event)["thumbnails"][0]
    assert made["source"]["key"] == key
    thumb_key = made["thumbnail"]["key"]
    assert len(thumb_key.encode("utf-8")) <= S3_KEY_MAX_BYTES.value
    stem = key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    assert thumb_key.startswith("thumbnails/" + stem[:40]) and thumb_key.endswith("-200.png")   # the sample is a PNG
    head = s3.head_object(Bucket=out_bucket, Key=thumb_key)
    meta = head["Metadata"]
    assert all(v.isascii() for v in meta.values())
    assert sum(len(k) + len(v) for k, v in meta.items()) <= S3_METADATA_MAX_BYTES.value
    if meta["source-key"].endswith("..."):      # 1,024 bytes percent-encoded do not fit in 2 KB
        assert key.startswith(unquote(meta["source-key"][:-3]))
    else:
        assert unquote(meta["source-key"]) == key
    assert meta["original-size"] == "1200x800"
    with Image.open(io.BytesIO(s3.get_object(Bucket=out_bucket, Key=thumb_key)["Body"].read())) as img:
        assert max(img.size) == 200


def test_metadata_is_ascii_within_s3s_limit():
    from urllib.parse import unquote

    from patterns.lambda_kit import ascii_metadata, fit_key

    meta = ascii_metadata({"source-key": "uploads/Crème brûlée (2) + 猫 🐱.png", "n": "plain-ascii_1.0"})
    assert meta["n"] == "plain-ascii_1.0"
    assert meta["source-key"].isascii() and unquote(meta["source-key"]) == "uploads/Crème brûlée (2) + 猫 🐱.png"
    long = ascii_metadata({"a": "é" * 2000, "b": "x"})
    assert sum(len(k) + len(v) for k, v in long.items()) <= 2048
    assert long["a"].endswith("...") and unquote(long["a"][:-3]) == "é" * len(unquote(long["a"][:-3]))
    key = fit_key("thumbnails/" + "日" * 400, "-200.png")
    assert len(key.encode()) <= 1024 and key.endswith("-200.png") and key.encode().decode() == key


def test_handler_limits_match_the_facts():
    """The handlers deploy without the explorer, so they state S3's limits themselves: the same values."""
    from app.core.facts import S3_KEY_MAX_BYTES, S3_METADATA_MAX_BYTES
    from patterns import lambda_kit

    assert lambda_kit.S3_KEY_MAX_BYTES == S3_KEY_MAX_BYTES.value
    assert lambda_kit.S3_METADATA_MAX_BYTES == S3_METADATA_MAX_BYTES.value


def test_a_run_makes_the_thumbnail_of_an_upload_with_a_non_ascii_name():
    from app.core.cases import get_case
    from app.runtime.pipeline import load_pipeline, run_pipeline
    from app.runtime.session import RuntimeSession

    case = get_case("global-blog")
    values = {t.key: t.default for t in case.toggles} | {"cloudfront": False}
    name = "Été à Paris (plage) 日本 🌊.png"
    image = validate_image(SAMPLE_IMAGE.read_bytes(), name)
    session = RuntimeSession.moto()
    try:
        result = run_pipeline(load_pipeline(case, values, image=image), values, session=session, own_session=False)
        assert result.ok, [c for c in result.checks if not c.ok]
        s3 = session.clients.client("s3")
        thumbs = [b["Name"] for b in s3.list_buckets()["Buckets"] if "thumbnails" in b["Name"]]
        keys = [o["Key"] for b in thumbs for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]
        assert len(keys) == 1 and keys[0].startswith("thumbnails/") and "Été à Paris (plage) 日本 🌊" in keys[0]
        data = s3.get_object(Bucket=thumbs[0], Key=keys[0])["Body"].read()
        with Image.open(io.BytesIO(data)) as img:
            assert max(img.size) == 200
    finally:
        session.close()
