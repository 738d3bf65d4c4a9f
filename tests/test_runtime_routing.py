"""Event sources -> Lambda on the embedded backend; effects read back from moto."""
from __future__ import annotations

import json

import moto
import pytest

from app.runtime import backend as rt_backend
from app.runtime.routing import RoutingError

H = "app.runtime.testpipelines.handlers"


def table(session, base="t", stream=None):
    name = session.name(base)
    kwargs = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": stream}} if stream else {}
    session.clients.client("dynamodb").create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        **kwargs)
    return name


def items(session, name):
    return session.clients.client("dynamodb").scan(TableName=name)["Items"]


def bucket(session, base="b"):
    name = session.name(base)
    session.clients.client("s3").create_bucket(Bucket=name)
    return name


def queue(session, base="q", **attrs):
    sqs = session.clients.client("sqs")
    url = sqs.create_queue(QueueName=session.name(base), Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def invocations(session, fn_name=None):
    return [s for s in session.trace.spans if s.service == "lambda" and s.operation == "Invoke"
            and (fn_name is None or s.resource == fn_name)]


# -- the mechanism (fails loudly when a moto upgrade breaks it) ---------------------------
def test_moto_version_is_the_one_the_hooks_were_written_for(runtime_session):
    assert moto.__version__ == rt_backend.MOTO_VERSION
    assert all(rt_backend.check_hooks().values()), rt_backend.check_hooks()


def test_s3_events_delivered_by_moto_carry_the_fields_aws_sends(runtime_session):
    s = runtime_session
    b = bucket(s)
    url, arn = queue(s)
    s.routing.s3_to_sqs(b, arn)
    s.clients.client("s3").put_object(Bucket=b, Key="photos/my cat.jpg", Body=b"abc")
    msgs = s.clients.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in msgs]
    assert any(b_.get("Event") == "s3:TestEvent" for b_ in bodies)      # S3 sends one on configuration
    record = next(b_ for b_ in bodies if "Records" in b_)["Records"][0]
    for key in ("userIdentity", "requestParameters", "responseElements"):
        assert record[key], key
    assert record["s3"]["object"]["key"] == "photos/my+cat.jpg"
    assert record["s3"]["object"]["sequencer"] and record["s3"]["object"]["size"] == 3
    assert "x-amz-request-id" in record["responseElements"]


# -- S3 ---------------------------------------------------------------------------------
def test_s3_to_lambda_with_filters(runtime_session):
    s = runtime_session
    b, t = bucket(s), table(s)
    s.lambdas.deploy("idx", f"{H}.index_upload", env={"TABLE": t})
    s.routing.s3_to_lambda(b, "idx", prefix="in/", suffix=".txt")
    s3 = s.clients.client("s3")
    s3.put_object(Bucket=b, Key="in/a b+c.txt", Body=b"12345")
    s3.put_object(Bucket=b, Key="out/skip.txt", Body=b"1")
    s3.put_object(Bucket=b, Key="in/skip.jpg", Body=b"1")
    got = items(s, t)
    assert [i["pk"]["S"] for i in got] == ["in/a b+c.txt"]        # decoded with unquote_plus
    assert got[0]["size"] == {"N": "5"} and got[0]["event"] == {"S": "ObjectCreated:Put"}
    assert got[0]["principal"]["S"].startswith("AWS:")
    # S3 -> Lambda is a resource-based permission plus a notification configuration, as on AWS
    policy = json.loads(s.clients.client("lambda").get_policy(FunctionName=s.lambdas.get("idx").name)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}


def test_s3_async_invocation_retried_twice_then_given_up(runtime_session):
    s = runtime_session
    b = bucket(s)
    fn = s.lambdas.deploy("bad", f"{H}.fail_always")
    s.routing.s3_to_lambda(b, "bad")
    s.clients.client("s3").put_object(Bucket=b, Key="x", Body=b"1")
    assert len(invocations(s, fn.name)) == 3
    assert s.routing.stats["async_failed"] == 1
    waits = [sp.detail["modelled_wait_s"] for sp in s.trace.spans if sp.operation == "RetryWait"]
    assert waits == [60, 120]
    assert s.lambdas.read_logs("bad").count("[ERROR] RuntimeError") == 3


def test_failed_async_event_goes_to_the_dead_letter_queue(runtime_session):
    s = runtime_session
    b = bucket(s)
    dlq_url, dlq_arn = queue(s, "fn-dlq")
    fn = s.lambdas.deploy("bad", f"{H}.fail_always", dead_letter_arn=dlq_arn, max_retry_attempts=1)
    # moto accepts DeadLetterConfig but does not keep it; the runtime does
    assert fn.dead_letter_arn == dlq_arn
    s.routing.s3_to_lambda(b, "bad")
    s.clients.client("s3").put_object(Bucket=b, Key="doomed.txt", Body=b"1")
    assert len(invocations(s, fn.name)) == 2                     # one retry, as configured
    dead = s.clients.client("sqs").receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert len(dead) == 1
    event = json.loads(dead[0]["Body"])
    assert event["Records"][0]["s3"]["object"]["key"] == "doomed.txt"
    attrs = dead[0]["MessageAttributes"]
    assert "refuses every event" in attrs["ErrorMessage"]["StringValue"] and attrs["RequestID"]["StringValue"]


def test_s3_to_sqs_to_lambda_skips_test_event_and_empties_queue(runtime_session):
    s = runtime_session
    b, t = bucket(s), table(s)
    url, arn = queue(s, VisibilityTimeout=60)
    s.lambdas.deploy("idx", f"{H}.index_upload", env={"TABLE": t})
    s.routing.s3_to_sqs(b, arn)
    s.routing.sqs_to_lambda(arn, "idx")
    s.clients.client("s3").put_object(Bucket=b, Key="k 1", Body=b"1")
    assert [i["pk"]["S"] for i in items(s, t)] == ["k 1"]
    attrs = s.clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_s3_to_sns_to_sqs_and_lambda(runtime_session):
    s = runtime_session
    b, t1, t2 = bucket(s), table(s, "via-sqs"), table(s, "via-sns")
    topic = s.clients.client("sns").create_topic(Name=s.name("uploads"))["TopicArn"]
    url, arn = queue(s, VisibilityTimeout=60)
    s.lambdas.deploy("from-queue", f"{H}.index_upload", env={"TABLE": t1})
    s.lambdas.deploy("from-topic", f"{H}.index_upload", env={"TABLE": t2})
    s.routing.sns_to_sqs(topic, arn)
    s.routing.sqs_to_lambda(arn, "from-queue")
    s.routing.sns_to_lambda(topic, "from-topic")
    s.routing.s3_to_sns(b, topic)
    s.clients.client("s3").put_object(Bucket=b, Key="a/b c.txt", Body=b"1")
    assert [i["pk"]["S"] for i in items(s, t1)] == ["a/b c.txt"]
    assert [i["pk"]["S"] for i in items(s, t2)] == ["a/b c.txt"]


# -- SNS --------------------------------------------------------------------------------
def test_sns_to_lambda_event_and_filter_policy(runtime_session):
    s = runtime_session
    t = table(s)
    sns = s.clients.client("sns")
    topic = sns.create_topic(Name=s.name("news"))["TopicArn"]
    s.lambdas.deploy("rec", f"{H}.record_sns", env={"TABLE": t})
    sub = s.routing.sns_to_lambda(topic, "rec", filter_policy={"kind": ["order"]})
    sent = sns.publish(TopicArn=topic, Message="hello", Subject="hi",
                       MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    sns.publish(TopicArn=topic, Message="ignored",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "other"}})
    got = items(s, t)
    assert len(got) == 1 and got[0]["message"]["S"] == "hello" and got[0]["subject"]["S"] == "hi"
    assert got[0]["pk"]["S"] == sent["MessageId"] and got[0]["topic"]["S"] == topic
    assert sub.startswith(topic)


# -- SQS --------------------------------------------------------------------------------
def send(session, url, bodies):
    sqs = session.clients.client("sqs")
    for b_ in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(b_))


def test_sqs_batches_respect_batch_size(runtime_session):
    s = runtime_session
    t = table(s)
    url, arn = queue(s, VisibilityTimeout=60)
    fn = s.lambdas.deploy("jobs", f"{H}.process_jobs", env={"TABLE": t})
    # messages sent before the mapping exists are waiting when it starts
    send(s, url, [{"id": i} for i in range(7)])
    s.routing.sqs_to_lambda(arn, "jobs", batch_size=3)
    s.routing.drain()
    assert len(items(s, t)) == 7
    sizes = [sp.payload_bytes for sp in invocations(s, fn.name)]
    assert len(sizes) == 3            # 3 + 3 + 1
    assert s.routing.stats["sqs_deleted"] == 7


def test_sqs_visibility_timeout_must_cover_function_timeout(runtime_session):
    s = runtime_session
    _, arn = queue(s, VisibilityTimeout=10)
    s.lambdas.deploy("slow", f"{H}.fail_always", timeout_s=60)
    with pytest.raises(RoutingError, match="visibility timeout"):
        s.routing.sqs_to_lambda(arn, "slow")


def test_sqs_failures_retry_then_redrive_to_dlq(runtime_session):
    s = runtime_session
    t = table(s)
    dlq_url, dlq_arn = queue(s, "dlq")
    url, arn = queue(s, VisibilityTimeout=30,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    fn = s.lambdas.deploy("jobs", f"{H}.process_jobs", env={"TABLE": t})
    s.routing.sqs_to_lambda(arn, "jobs", batch_size=10)
    send(s, url, [{"id": "bad", "fail": True}])
    assert len(invocations(s, fn.name)) == 2          # received twice (maxReceiveCount), then moved
    dead = s.clients.client("sqs").receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"]
    assert json.loads(dead[0]["Body"]) == {"id": "bad", "fail": True}
    left = s.clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == "0" and left["ApproximateNumberOfMessagesNotVisible"] == "0"
    waits = [sp.detail for sp in s.trace.spans if sp.operation == "RetryWait"]
    assert waits and waits[0]["modelled_wait_s"] == 30


def test_sqs_whole_batch_fails_without_partial_responses(runtime_session):
    s = runtime_session
    t = table(s)
    dlq_url, dlq_arn = queue(s, "dlq")
    url, arn = queue(s, VisibilityTimeout=30,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    s.lambdas.deploy("jobs", f"{H}.process_jobs", env={"TABLE": t})
    send(s, url, [{"id": "good"}, {"id": "bad", "fail": True}])
    s.routing.sqs_to_lambda(arn, "jobs", batch_size=10)
    s.routing.drain()
    dead = s.clients.client("sqs").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["id"] for m in dead) == ["bad", "good"]   # the good one went too


def test_sqs_partial_batch_failures(runtime_session):
    s = runtime_session
    t = table(s)
    dlq_url, dlq_arn = queue(s, "dlq")
    url, arn = queue(s, VisibilityTimeout=30,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}))
    fn = s.lambdas.deploy("jobs", f"{H}.process_jobs", env={"TABLE": t, "PARTIAL": "1"})
    send(s, url, [{"id": "a"}, {"id": "bad", "fail": True}, {"id": "b"}])
    s.routing.sqs_to_lambda(arn, "jobs", batch_size=10, report_batch_item_failures=True)
    s.routing.drain()
    done = {i["pk"]["S"]: i["done"]["N"] for i in items(s, t)}
    assert done == {"a": "1", "b": "1"}                 # processed once each, never retried
    assert len(invocations(s, fn.name)) == 3            # the failed one alone, until maxReceiveCount
    dead = s.clients.client("sqs").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["id"] for m in dead] == ["bad"]


def test_sqs_without_redrive_stops_after_bound_and_keeps_message(runtime_session):
    s = runtime_session
    t = table(s)
    url, arn = queue(s, VisibilityTimeout=30)
    fn = s.lambdas.deploy("jobs", f"{H}.process_jobs", env={"TABLE": t})
    s.routing.sqs_to_lambda(arn, "jobs", retry_bound=4)
    send(s, url, [{"id": "bad", "fail": True}])
    assert len(invocations(s, fn.name)) == 4
    attrs = s.clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"    # in flight until its visibility timeout


# -- DynamoDB Streams ---------------------------------------------------------------------
@pytest.mark.parametrize("view, fields", [
    ("KEYS_ONLY", {"INSERT": "Keys", "MODIFY": "Keys", "REMOVE": "Keys"}),
    ("NEW_IMAGE", {"INSERT": "Keys,NewImage", "MODIFY": "Keys,NewImage", "REMOVE": "Keys"}),
    ("OLD_IMAGE", {"INSERT": "Keys", "MODIFY": "Keys,OldImage", "REMOVE": "Keys,OldImage"}),
    ("NEW_AND_OLD_IMAGES", {"INSERT": "Keys,NewImage", "MODIFY": "Keys,NewImage,OldImage",
                            "REMOVE": "Keys,OldImage"}),
])
def test_stream_view_types(runtime_session, view, fields):
    s = runtime_session
    src, out = table(s, "src", stream=view), table(s, "out")
    s.lambdas.deploy("rec", f"{H}.record_stream", env={"TABLE": out})
    s.routing.stream_to_lambda(src, "rec", batch_size=1)
    ddb = s.clients.client("dynamodb")
    ddb.put_item(TableName=src, Item={"pk": {"S": "1"}, "v": {"N": "1"}})
    ddb.put_item(TableName=src, Item={"pk": {"S": "1"}, "v": {"N": "2"}})
    ddb.delete_item(TableName=src, Key={"pk": {"S": "1"}})
    got = {i["name"]["S"]: i["fields"]["S"] for i in items(s, out)}
    assert got == fields
    assert {i["view"]["S"] for i in items(s, out)} == {view}


def test_stream_checkpoint_latest_and_batches(runtime_session):
    s = runtime_session
    src, out = table(s, "src", stream="NEW_IMAGE"), table(s, "out")
    ddb = s.clients.client("dynamodb")
    ddb.put_item(TableName=src, Item={"pk": {"S": "before"}})
    fn = s.lambdas.deploy("rec", f"{H}.record_stream", env={"TABLE": out})
    s.routing.stream_to_lambda(src, "rec", starting_position="LATEST", batch_size=100)
    ddb.put_item(TableName=src, Item={"pk": {"S": "after"}})
    ddb.put_item(TableName=src, Item={"pk": {"S": "after2"}})
    s.routing.drain()
    assert len(items(s, out)) == 2                   # "before" predates the mapping
    assert len(invocations(s, fn.name)) == 2        # each write delivered promptly, never twice


def test_stream_failed_batch_retried_then_skipped(runtime_session):
    s = runtime_session
    src = table(s, "src", stream="NEW_IMAGE")
    fn = s.lambdas.deploy("bad", f"{H}.fail_always")
    s.routing.stream_to_lambda(src, "bad", max_retry_attempts=2)
    s.clients.client("dynamodb").put_item(TableName=src, Item={"pk": {"S": "1"}})
    assert len(invocations(s, fn.name)) == 3
    assert s.routing.stats["stream_batches_skipped"] == 1
    s.clients.client("dynamodb").put_item(TableName=src, Item={"pk": {"S": "2"}})
    assert len(invocations(s, fn.name)) == 6         # the next record, not the skipped one again


def test_stream_partial_batch_failure_and_on_failure_destination(runtime_session):
    s = runtime_session
    src, out = table(s, "src", stream="NEW_IMAGE"), table(s, "out")
    dest_url, dest_arn = queue(s, "stream-failures")
    ddb = s.clients.client("dynamodb")
    for pk, extra in (("a", {}), ("bad", {"fail": {"BOOL": True}}), ("c", {})):
        ddb.put_item(TableName=src, Item={"pk": {"S": pk}, **extra})
    fn = s.lambdas.deploy("partial", f"{H}.stream_partial", env={"TABLE": out})
    s.routing.stream_to_lambda(src, "partial", batch_size=10, max_retry_attempts=2,
                               report_batch_item_failures=True, on_failure_arn=dest_arn)
    assert len(invocations(s, fn.name)) == 3                # the batch, then two retries from "bad"
    seen = {i["pk"]["S"]: i["seen"]["N"] for i in items(s, out)}
    assert seen == {"a": "1", "c": "3"}                     # "a" checkpointed, "c" re-sent with "bad"
    failure = json.loads(s.clients.client("sqs").receive_message(QueueUrl=dest_url)["Messages"][0]["Body"])
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == ddb.describe_table(TableName=src)["Table"]["LatestStreamArn"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3


def test_stream_requires_a_stream(runtime_session):
    s = runtime_session
    t = table(s)
    s.lambdas.deploy("rec", f"{H}.record_stream", env={"TABLE": t})
    with pytest.raises(RoutingError, match="no stream"):
        s.routing.stream_to_lambda(t, "rec")


def test_stream_to_lambda_to_ses(runtime_session):
    s = runtime_session
    src = table(s, "orders", stream="NEW_IMAGE")
    s.clients.client("ses").verify_email_identity(EmailAddress="shop@example.com")
    s.lambdas.deploy("mail", f"{H}.email_new_orders", env={"SENDER": "shop@example.com", "RECIPIENT": "x@example.com"})
    s.routing.stream_to_lambda(src, "mail")
    s.clients.client("dynamodb").put_item(TableName=src, Item={"pk": {"S": "o1"}, "email": {"S": "a@example.com"}})
    assert s.clients.client("ses").get_send_quota()["SentLast24Hours"] == 1.0
    assert "sent 1 emails" in s.lambdas.read_logs("mail")
