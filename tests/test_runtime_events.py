"""Event shapes: the runtime's events carry every field of AWS's documented samples,
and the runtime's handlers work on those samples."""
from __future__ import annotations

import json
from urllib.parse import unquote_plus

from app.runtime import events
from app.runtime.testpipelines import handlers

H = "app.runtime.testpipelines.handlers"


USER_DATA = {"Keys", "NewImage", "OldImage", "MessageAttributes", "messageAttributes"}


def key_paths(obj, prefix=""):
    """Every key path of an event (list items merged; item images and attributes are user data)."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(prefix + k)
            if k not in USER_DATA:
                out |= key_paths(v, prefix + k + ".")
    elif isinstance(obj, list):
        for v in obj:
            out |= key_paths(v, prefix)
    return out


def test_s3_event_has_every_field_of_the_sample(load_event):
    sample = load_event("s3_put")
    built = events.s3_event(bucket="b", key="dir/red flower.jpg", size=3, etag='"abc"')
    assert key_paths(sample) <= key_paths(built)
    obj = built["Records"][0]["s3"]["object"]
    assert obj["key"] == "dir/red+flower.jpg" and unquote_plus(obj["key"]) == "dir/red flower.jpg"
    assert obj["eTag"] == "abc"


def test_s3_sequencer_grows_for_each_event():
    a = events.s3_event(bucket="b", key="k")["Records"][0]["s3"]["object"]["sequencer"]
    b = events.s3_event(bucket="b", key="k")["Records"][0]["s3"]["object"]["sequencer"]
    assert len(a) == len(b) and b > a


def test_s3_removed_event_has_no_size():
    rec = events.s3_event(bucket="b", key="k", event_name="ObjectRemoved:Delete")["Records"][0]
    assert "size" not in rec["s3"]["object"] and rec["s3"]["object"]["sequencer"]


def test_sqs_event_has_every_field_of_the_sample(load_event):
    sample = load_event("sqs_receive")
    built = events.sqs_event([{
        "MessageId": "m", "ReceiptHandle": "r", "Body": "{}", "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "s",
                       "ApproximateFirstReceiveTimestamp": "2"},
        "MessageAttributes": {"myAttribute": {"StringValue": "v", "DataType": "String"}}}],
        queue_arn="arn:aws:sqs:us-east-2:123456789012:q")
    assert key_paths(sample) <= key_paths(built)
    assert built["Records"][0]["messageAttributes"]["myAttribute"]["stringValue"] == "v"


def test_sns_event_has_every_field_of_the_sample(load_event):
    sample = load_event("sns_notification")
    built = events.sns_event(topic_arn="arn:aws:sns:us-east-1:123456789012:t",
                             subscription_arn="arn:aws:sns:us-east-1:123456789012:t:1", message="m",
                             attributes={"Test": {"DataType": "String", "StringValue": "TestString"},
                                         "TestBinary": {"Type": "Binary", "Value": "TestBinary"}})
    assert key_paths(sample) <= key_paths(built)


def test_stream_event_has_every_field_of_the_sample(load_event):
    sample = load_event("dynamodb_stream")
    raw = [{"eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1", "awsRegion": "us-west-2",
            "dynamodb": {"Keys": {"Id": {"N": "1"}}, "NewImage": {"Id": {"N": "1"}}, "OldImage": {"Id": {"N": "1"}},
                         "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}}]
    built = events.dynamodb_stream_event(raw, stream_arn="arn:aws:dynamodb:us-west-2:1:table/t/stream/x")
    assert key_paths(sample) <= key_paths(built)


def test_events_delivered_by_the_runtime_match_the_samples(runtime_session, load_event):
    """What a handler receives on the embedded backend has every field of AWS's samples."""
    s = runtime_session
    seen = {}

    def probe(kind):
        def fn(event, context):
            seen[kind] = event
        return fn

    for kind in ("s3", "sqs", "sns", "stream"):
        s.lambdas.deploy(kind, f"{H}.fail_always").callable = probe(kind)
    b = s.name("b")
    s.clients.client("s3").create_bucket(Bucket=b)
    s.routing.s3_to_lambda(b, "s3")
    sqs = s.clients.client("sqs")
    url = sqs.create_queue(QueueName=s.name("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s.routing.sqs_to_lambda(arn, "sqs")
    topic = s.clients.client("sns").create_topic(Name=s.name("t"))["TopicArn"]
    s.routing.sns_to_lambda(topic, "sns")
    t = s.name("t")
    s.clients.client("dynamodb").create_table(
        TableName=t, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    s.routing.stream_to_lambda(t, "stream")

    s.clients.client("s3").put_object(Bucket=b, Key="a b", Body=b"1")
    sqs.send_message(QueueUrl=url, MessageBody="hi",
                     MessageAttributes={"myAttribute": {"DataType": "String", "StringValue": "v"}})
    s.clients.client("sns").publish(TopicArn=topic, Message="m", Subject="s", MessageAttributes={
        "Test": {"DataType": "String", "StringValue": "x"}, "TestBinary": {"DataType": "Binary", "BinaryValue": b"x"}})
    ddb = s.clients.client("dynamodb")
    ddb.put_item(TableName=t, Item={"pk": {"S": "1"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "1"}, "v": {"S": "2"}})

    assert key_paths(load_event("s3_put")) <= key_paths(seen["s3"])
    assert key_paths(load_event("sqs_receive")) <= key_paths(seen["sqs"])
    assert key_paths(load_event("sns_notification")) <= key_paths(seen["sns"])
    assert key_paths(load_event("dynamodb_stream")) <= key_paths(seen["stream"])
    assert seen["s3"]["Records"][0]["s3"]["object"]["key"] == "a+b"
    assert seen["sqs"]["Records"][0]["eventSourceARN"] == arn
    assert seen["sns"]["Records"][0]["Sns"]["TopicArn"] == topic


# -- the runtime's handlers on the samples ---------------------------------------------------
def _table(s, base="t"):
    name = s.name(base)
    s.clients.client("dynamodb").create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return name


def test_index_upload_on_the_s3_sample(runtime_session, load_event):
    s = runtime_session
    t = _table(s)
    b = s.name("example-bucket")
    s.clients.client("s3").create_bucket(Bucket=b)
    s.clients.client("s3").put_object(Bucket=b, Key="test/key", Body=b"x" * 10)
    event = load_event("s3_put")
    event["Records"][0]["s3"]["bucket"]["name"] = b
    s.lambdas.deploy("idx", f"{H}.index_upload", env={"TABLE": t})
    assert s.lambdas.invoke("idx", event).payload == {"indexed": 1}
    item = s.clients.client("dynamodb").get_item(TableName=t, Key={"pk": {"S": "test/key"}})["Item"]
    assert item["size"] == {"N": "10"} and item["sequencer"] == {"S": "0A1B2C3D4E5F678901"}


def test_index_upload_on_the_s3_via_sqs_sample(runtime_session, load_event):
    s = runtime_session
    t = _table(s)
    b = s.name("example-bucket")
    s.clients.client("s3").create_bucket(Bucket=b)
    s.clients.client("s3").put_object(Bucket=b, Key="reports/annual report 2023.pdf", Body=b"pdf")
    event = load_event("s3_put_via_sqs")
    event["Records"][0]["body"] = event["Records"][0]["body"].replace("example-bucket", b)
    s.lambdas.deploy("idx", f"{H}.index_upload", env={"TABLE": t})
    assert s.lambdas.invoke("idx", event).payload == {"indexed": 1}
    assert s.clients.client("dynamodb").get_item(
        TableName=t, Key={"pk": {"S": "reports/annual report 2023.pdf"}}).get("Item")


def test_process_jobs_on_the_sqs_sample_reports_the_failed_message(runtime_session, load_event):
    s = runtime_session
    t = _table(s)
    s.lambdas.deploy("jobs", f"{H}.process_jobs", env={"TABLE": t, "PARTIAL": "1"})
    event = load_event("sqs_receive")
    out = s.lambdas.invoke("jobs", event).payload
    assert out == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert s.clients.client("dynamodb").get_item(TableName=t, Key={"pk": {"S": "job-1"}})["Item"]["done"] == {"N": "1"}


def test_record_sns_on_the_sns_sample(runtime_session, load_event):
    s = runtime_session
    t = _table(s)
    s.lambdas.deploy("rec", f"{H}.record_sns", env={"TABLE": t})
    s.lambdas.invoke("rec", load_event("sns_notification"))
    item = s.clients.client("dynamodb").get_item(
        TableName=t, Key={"pk": {"S": "95df01b4-ee98-5cb9-9903-4c221d41eb5e"}})["Item"]
    assert item["message"] == {"S": "Hello from SNS!"} and item["subject"] == {"S": "TestInvoke"}


def test_stream_handlers_on_the_stream_sample(runtime_session, load_event):
    s = runtime_session
    t = _table(s)
    s.lambdas.deploy("rec", f"{H}.record_stream", env={"TABLE": t})
    s.lambdas.invoke("rec", load_event("dynamodb_stream"))
    got = {i["name"]["S"]: i["fields"]["S"] for i in s.clients.client("dynamodb").scan(TableName=t)["Items"]}
    assert got == {"INSERT": "Keys,NewImage", "MODIFY": "Keys,NewImage,OldImage", "REMOVE": "Keys,OldImage"}
    s.clients.client("ses").verify_email_identity(EmailAddress="shop@example.com")
    s.lambdas.deploy("mail", f"{H}.email_new_orders", env={"SENDER": "shop@example.com",
                                                             "RECIPIENT": "buyer@example.com"})
    assert s.lambdas.invoke("mail", load_event("dynamodb_stream")).payload == {"sent": 1}   # INSERT only
    assert s.clients.client("ses").get_send_quota()["SentLast24Hours"] == 1.0


def test_handlers_fall_back_to_plain_boto3_outside_the_runtime(monkeypatch):
    """Outside an invocation the handler module's clients come from boto3's defaults (as on AWS)."""
    from app.runtime.clients import handler_clients

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    c = handler_clients()
    assert c.endpoint_url is None and c._default_chain
    assert json.loads(json.dumps({"ok": True}))
    assert handlers.aws_client.__module__ == "app.runtime.clients"


def test_object_removed_event_from_the_backend(runtime_session):
    s = runtime_session
    seen = []
    s.lambdas.deploy("gone", f"{H}.fail_always").callable = lambda event, context: seen.append(event)
    b = s.name("b")
    s3 = s.clients.client("s3")
    s3.create_bucket(Bucket=b)
    s.routing.s3_to_lambda(b, "gone", events_=("s3:ObjectRemoved:*",))
    s3.put_object(Bucket=b, Key="old file.txt", Body=b"1")
    s3.delete_object(Bucket=b, Key="old file.txt")
    assert len(seen) == 1
    record = seen[0]["Records"][0]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert record["s3"]["object"]["key"] == "old+file.txt"
    assert "size" not in record["s3"]["object"] and record["s3"]["object"]["sequencer"]


def test_index_upload_takes_non_ascii_keys_through_sqs(runtime_session, load_event):
    from urllib.parse import unquote_plus

    s = runtime_session
    t = _table(s)
    b = s.name("example-bucket")
    event = load_event("s3_put_unicode_key_via_sqs")
    body = json.loads(event["Records"][0]["body"])
    key = unquote_plus(body["Records"][0]["s3"]["object"]["key"])
    assert "(plage) + 日本 🌊" in key
    body["Records"][0]["s3"]["bucket"]["name"] = b
    event["Records"][0]["body"] = json.dumps(body)
    s.clients.client("s3").create_bucket(Bucket=b)
    s.clients.client("s3").put_object(Bucket=b, Key=key, Body=b"photo")
    s.lambdas.deploy("idx", f"{H}.index_upload", env={"TABLE": t})
    assert s.lambdas.invoke("idx", event).payload == {"indexed": 1}
    item = s.clients.client("dynamodb").get_item(TableName=t, Key={"pk": {"S": key}})["Item"]
    assert item["size"] == {"N": "5"}


def test_runtime_s3_events_encode_keys_as_the_samples_do(load_event):
    from urllib.parse import unquote_plus

    from app.runtime.events import encode_s3_key

    for sample in ("s3_put_unicode_key", "s3_put_long_key"):
        sent = load_event(sample)["Records"][0]["s3"]["object"]["key"]
        key = unquote_plus(sent)
        assert unquote_plus(encode_s3_key(key)) == key and encode_s3_key(key).isascii()
