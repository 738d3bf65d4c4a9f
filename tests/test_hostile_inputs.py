"""Hostile input beyond uploads: IoT payloads, sign-up addresses, Athena query input, S3 keys outside a
user's prefix and links; each refused or contained, nothing stored, and what comes next still works.
Effects are read back from the embedded backend."""
from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError
from streamlit.testing.v1 import AppTest

from app.core import facts
from app.core.cases import get_case
from app.runtime.clients import bound
from app.runtime.dataplanes.iam import Principal, S3Guard
from app.runtime.streaming.iot import IotRulesEngine
from app.ui.state import widget_key
from patterns.global_blog import handlers as blog
from patterns.iot_analytics.pipeline import RULE_SQL, report_sql
from tests.conftest import APP_ENTRY
from tests.streaming_support import acct  # noqa: F401
from tests.test_dataplane_iam import PER_USER, SUB, bucket  # noqa: F401
from tests.test_pipeline_handlers import _api_event, _blog_table, clients  # noqa: F401
from tests.test_streaming_athena import COLUMNS, make, run


# -- IoT: malformed JSON, missing fields, oversized ----------------------------------------------
def _records(kinesis, stream: str) -> list[tuple[str, dict]]:
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [(r["PartitionKey"], json.loads(r["Data"])) for r in kinesis.get_records(ShardIterator=it)["Records"]]


def _drain(sqs, url: str) -> list[dict]:
    bodies = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in got]
    return bodies


def test_hostile_iot_payloads_reach_no_stream_and_good_ones_still_flow(acct):
    """The fleet's own rule (SELECT *, WHERE temperature > -40, Kinesis keyed by ${device_id}, SQS error action)."""
    kinesis, sqs = acct.client("kinesis"), acct.client("sqs")
    kinesis.create_stream(StreamName="telemetry", ShardCount=1)
    errors = sqs.create_queue(QueueName="rule-errors")["QueueUrl"]
    engine = IotRulesEngine(acct.client("iot"), kinesis=kinesis, sqs=sqs, iot_data=acct.client("iot-data"))
    engine.create_rule("fleet", RULE_SQL, [{"kinesis": {"streamName": "telemetry", "partitionKey": "${device_id}",
                                                        "roleArn": "arn:aws:iam::1:role/iot"}}],
                       error_action={"sqs": {"queueUrl": errors, "roleArn": "arn:aws:iam::1:role/iot",
                                             "useBase64": False}})
    topic = "fleet/sensor-1/telemetry"
    # malformed JSON (cut short, not JSON at all, binary): no field to test, the WHERE does not hold
    for raw in (b'{"device_id": "sensor-1", "temperature": 2', b"temperature=21;device=sensor-1",
                b"\x00\xff\xfe binary", "[1, 2, 3]", b""):
        assert engine.publish(topic, raw, client_id="sensor-1") == []
    # a missing field: the rule matches, its Kinesis action has no partition key, the error action takes it
    assert engine.publish(topic, {"temperature": 21.0}, client_id="sensor-1") == ["fleet"]
    # oversized: refused by the broker with AWS's error, reaches no rule
    with pytest.raises(ClientError) as refused:
        engine.publish(topic, {"device_id": "sensor-1", "temperature": 20.0,
                               "dump": "0" * facts.IOT_MAX_PAYLOAD_BYTES.value})
    assert refused.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert str(facts.IOT_MAX_PAYLOAD_BYTES.value) in refused.value.response["Error"]["Message"]
    # and a good reading still flows
    assert engine.publish(topic, {"device_id": "sensor-1", "temperature": 19.5}, client_id="sensor-1") == ["fleet"]

    assert _records(kinesis, "telemetry") == [("sensor-1", {"device_id": "sensor-1", "temperature": 19.5,
                                                            "thing": "sensor-1"})]
    assert _drain(sqs, errors) == [{"temperature": 21.0, "thing": "sensor-1"}]
    assert engine.refused == 1 and engine.stats()["fleet"] == {"matched": 2, "actions_run": 2, "errors": 1}
    assert [(e["rule"], e["action"]) for e in engine.errors] == [("fleet", "kinesis")]


# -- the sign-up address of MyBlog.com: invalid, or carrying header injection ---------------------
BAD_SIGN_UPS = [
    ({"email": "not-an-address"}, "email must be an address"),
    ({"email": "two@@example.com"}, "email must be an address"),
    ({"email": "ana@example"}, "email must be an address"),
    ({"email": "ana example@example.com"}, "email must be an address"),
    ({"email": ["ana@example.com"]}, "email must be an address"),
    ({"email": "a" * 250 + "@example.com"}, "email must be an address"),
    ({"email": "ana@example.com\r\nBcc: everyone@example.com"}, "email must be one line"),
    ({"email": "ana@example.com\nSubject: you won"}, "email must be one line"),
    ({"email": "ana@example.com\r\n"}, "email must be one line"),
    ({"email": "ana@example.com\u2028Bcc: x@example.com"}, "email must be one line"),
    ({"email": "ana@example.com", "name": "Ana\r\nBcc: everyone@example.com"}, "name must be one line"),
    ({"email": "ana@example.com", "name": "Ana\x00"}, "name must be one line"),
]


@pytest.mark.parametrize("body,says", BAD_SIGN_UPS, ids=range(len(BAD_SIGN_UPS)))
def test_a_hostile_sign_up_is_refused_and_nothing_is_stored_or_sent(clients, monkeypatch, load_event, body, says):
    table = _blog_table(clients, monkeypatch)
    with bound(clients):
        answer = blog.api_handler(_api_event(load_event, "POST", "/users", body))
        assert answer["statusCode"] == 400 and says in json.loads(answer["body"])["message"]
        items = clients.client("dynamodb").scan(TableName=table)["Items"]
        assert items == []                               # no user item, so no stream record, no email
        ok = blog.api_handler(_api_event(load_event, "POST", "/users", {"email": "ana@example.com", "name": "Ana"}))
        assert ok["statusCode"] == 201                   # the API still serves the next sign-up
    assert len(clients.client("dynamodb").scan(TableName=table)["Items"]) == 1


def test_the_welcome_email_refuses_an_injected_address_and_escapes_the_name(clients, monkeypatch, load_event):
    """Items that reached the table some other way: the stream's function checks again."""
    ses = clients.client("ses")
    ses.verify_email_identity(EmailAddress="hello@myblog.example")
    monkeypatch.setenv("SENDER_EMAIL", "hello@myblog.example")
    event = load_event("dynamodb_stream")
    images = [{"email": {"S": "ana@example.com\r\nBcc: everyone@example.com"}, "name": {"S": "Ana"}},
              {"email": {"S": "bob@example.com"}, "name": {"S": "Bob\nBcc: everyone@example.com"}},
              {"email": {"S": "eve@example.com"}, "name": {"S": "<script>alert(1)</script>Eve"}}]
    record = event["Records"][0]
    event["Records"] = [{**record, "eventName": "INSERT", "dynamodb": {**record["dynamodb"], "NewImage": image}}
                        for image in images]
    with bound(clients):
        result = blog.welcome_email(event)
    assert [s["to"] for s in result["sent"]] == ["eve@example.com"] and result["skipped"] == 2
    stats = ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in stats) == 1
    html = blog._welcome_text("<script>alert(1)</script>Eve", "MyBlog.com")[2]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;Eve" in html


# -- Athena: only the case's own parameterised queries ----------------------------------------------
@pytest.mark.parametrize("day", ["2026-12-01' OR '1'='1", "2026-12-01'; DROP TABLE telemetry; --", "2026-13-01",
                                 "../../etc", "", 20261201])
def test_the_report_query_takes_only_a_date(day):
    with pytest.raises(ValueError, match="takes a day as YYYY-MM-DD"):
        report_sql(day)


def test_the_report_query_of_a_day_names_that_day_only():
    sql = report_sql("2026-12-01")
    assert "WHERE dt = '2026-12-01' GROUP BY" in sql and sql.count("'") == 2
    assert "WHERE" not in report_sql()


def test_a_second_statement_in_a_query_is_refused_as_athena_refuses_it(acct):
    athena, s3 = make(acct)
    athena.create_table("telemetry", "readings", f"s3://ingest-{acct.account_id}/raw/", COLUMNS)
    for sql in ("SELECT count(*) AS n FROM readings; DROP VIEW readings",
                "SELECT 1 AS n; SELECT 2 AS n", "WITH x AS (SELECT 1 AS n) SELECT * FROM x; PRAGMA version"):
        _, ex = run(athena, acct, sql)
        assert ex["Status"]["State"] == "FAILED", sql
        assert "Only one sql statement is allowed. Got: 2" in ex["Status"]["StateChangeReason"]
    _, ex = run(athena, acct, "SELECT ';' AS semicolon, count(*) AS n FROM readings")     # one statement
    assert ex["Status"]["State"] == "SUCCEEDED"


# -- S3 writes outside the user's prefix, through the IAM data plane --------------------------------
def _guard(aws, bucket_name: str, sub: str) -> S3Guard:
    policy = json.loads(json.dumps(PER_USER).replace("arn:aws:s3:::files", f"arn:aws:s3:::{bucket_name}"))
    return S3Guard(aws("s3"), Principal("arn:aws:sts::123456789012:assumed-role/auth/s", [policy], {SUB: sub}))


def test_writes_outside_the_users_prefix_are_denied_before_they_reach_s3(aws, bucket):  # noqa: F811
    alice = _guard(aws, bucket, "us-east-1:aaaa")
    owner = aws("s3")
    owner.put_object(Bucket=bucket, Key="us-east-1:bbbb/keep.txt", Body=b"bob's")
    attempts = {
        "the bucket's root": lambda: alice.put_object(Bucket=bucket, Key="evil.txt", Body=b"x"),
        "another user's prefix": lambda: alice.put_object(Bucket=bucket, Key="us-east-1:bbbb/evil.txt", Body=b"x"),
        "a prefix that only starts alike": lambda: alice.put_object(Bucket=bucket, Key="us-east-1:aaaa-x/e.txt",
                                                                    Body=b"x"),
        "a prefix without its slash": lambda: alice.put_object(Bucket=bucket, Key="us-east-1:aaaa", Body=b"x"),
        "a copy into another prefix": lambda: alice.copy_object(Bucket=bucket, Key="us-east-1:bbbb/copy.txt",
                                                                CopySource={"Bucket": bucket,
                                                                            "Key": "us-east-1:bbbb/keep.txt"}),
        "a multipart upload": lambda: alice.create_multipart_upload(Bucket=bucket, Key="us-east-1:bbbb/big.bin"),
        "a batch delete": lambda: alice.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "us-east-1:aaaa/mine.txt"}, {"Key": "us-east-1:bbbb/keep.txt"}]}),
        "a pre-signed PUT": lambda: alice.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "us-east-1:bbbb/url.txt"}),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ClientError) as denied:
            attempt()
        assert denied.value.response["Error"]["Code"] == "AccessDenied", what
    # a key spelled with ".." is a literal key in S3: it stays under alice's own prefix
    alice.put_object(Bucket=bucket, Key="us-east-1:aaaa/../us-east-1:bbbb/dots.txt", Body=b"x")
    keys = sorted(o["Key"] for o in owner.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["us-east-1:aaaa/../us-east-1:bbbb/dots.txt", "us-east-1:bbbb/keep.txt"]
    assert owner.get_object(Bucket=bucket, Key="us-east-1:bbbb/keep.txt")["Body"].read() == b"bob's"
    assert alice.denied == len(attempts)
    alice.put_object(Bucket=bucket, Key="us-east-1:aaaa/after.txt", Body=b"still works")
    assert alice.get_object(Bucket=bucket, Key="us-east-1:aaaa/after.txt")["Body"].read() == b"still works"


# -- links: unknown cases, invalid values, HTML and script --------------------------------------------
SCRIPT = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"


@pytest.mark.parametrize("query", [
    {"case": SCRIPT},
    {"case": "todo-api", "dax": SCRIPT},
    {"case": "todo-api", SCRIPT: "on"},
    {"case": "no-such-case", "dax": "maybe"},
    {"case": "iot-analytics", "buffer_interval": "60; DROP TABLE x"},
], ids=["script-case", "script-value", "script-key", "unknown-case", "sql-in-a-number"])
def test_a_hostile_link_is_shown_as_text_and_the_page_keeps_working(query):
    at = AppTest.from_file(APP_ENTRY, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    notices = [w.value for w in at.warning if "link" in w.value]
    assert notices, "the link's problem is named"
    for shown in [*notices, *(m.value for m in at.markdown), *(c.value for c in at.caption)]:
        bare = re.sub(r"\\.", "", shown)                  # what is left once escaped characters are dropped
        assert "<script" not in bare and "<img" not in bare, shown
    case_id = query["case"] if query["case"] in ("todo-api", "iot-analytics") else "todo-api"
    case = get_case(case_id)
    toggle = case.toggles[0]
    assert at.title[0].value == case.title
    if toggle.kind == "bool":                           # the page still answers the next change
        at.toggle(key=widget_key(case, toggle)).set_value(not toggle.default).run()
        assert not at.exception and at.query_params[toggle.key] == ("on" if not toggle.default else "off")


# -- tables: a short table renders Markdown in its cells, so what a visitor wrote is escaped ----------
def _a_table_of(text: str) -> None:
    from app.ui.widgets import table

    table([{"device_id": text, "count": 3}], "hostile-table")


@pytest.mark.parametrize("text", ["**bold** [a link](http://e.com)", SCRIPT, "$x^2$ :material/home: `code`"],
                         ids=["markdown", "html", "formula-icon-code"])
def test_text_in_a_short_table_shows_as_written(text):
    at = AppTest.from_function(_a_table_of, args=(text,)).run()
    assert not at.exception
    cell = at.table[0].value.iloc[0, 0]
    # once Markdown reads its escapes, exactly the visitor's characters are left
    assert re.sub(r"\\(.)", r"\1", cell).replace("\u2060", "") == text
    for mark in ("**", "](", "<script", "$x", ":material", "`code"):
        if mark in text:
            assert mark not in re.sub(r"\\.", "", cell), cell   # no mark survives unescaped
