"""Kinesis -> Lambda event source against a real moto server."""
from __future__ import annotations

import base64
import json

import pytest

from app.runtime.streaming.kinesis import KinesisEventSource
from app.runtime.trace import Trace
from tests.streaming_support import acct  # noqa: F401

ROLE = "arn:aws:iam::123456789012:role/lambda-role"


def shape(value):
    """The structure of an event: keys and value types, not the values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def make_stream(acct, name="telemetry", shards=1):
    kinesis = acct.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return kinesis


def put(kinesis, name, payloads, key="device-1"):
    return [kinesis.put_record(StreamName=name, Data=json.dumps(p).encode(), PartitionKey=key)["SequenceNumber"]
            for p in payloads]


def sum_handler(table):
    """A real handler: decodes each record and stores it in DynamoDB."""
    def handler(event, context=None):
        for rec in event["Records"]:
            body = json.loads(base64.b64decode(rec["kinesis"]["data"]))
            table.put_item(Item={"id": rec["eventID"], "value": body["value"]})
        return {"stored": len(event["Records"])}
    return handler


def test_event_matches_documented_shape_and_handler_reads_sample(acct, load_event):
    sample = load_event("kinesis")
    kinesis = make_stream(acct)
    put(kinesis, "telemetry", [{"value": 1}])
    seen = []
    source = KinesisEventSource(kinesis, "telemetry", "fn", lambda name, ev: seen.append(ev), role_arn=ROLE)
    assert source.poll() == 1
    event = seen[0]
    assert shape(event) == shape(sample)
    rec = event["Records"][0]
    assert rec["eventID"] == f"shardId-000000000000:{rec['kinesis']['sequenceNumber']}"
    assert rec["eventSourceARN"] == f"arn:aws:kinesis:us-east-1:{acct.account_id}:stream/telemetry"
    assert json.loads(base64.b64decode(rec["kinesis"]["data"])) == {"value": 1}
    # the same handler code reads AWS's own sample
    texts = [base64.b64decode(r["kinesis"]["data"]).decode() for r in sample["Records"]]
    assert texts == ["Hello, this is a test.", "This is only a test."]


def test_batches_and_effect_read_back_from_dynamodb(acct):
    kinesis = make_stream(acct)
    ddb = acct.client("dynamodb")
    ddb.create_table(TableName="readings", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    table = acct.resource("dynamodb").Table("readings")
    put(kinesis, "telemetry", [{"value": i} for i in range(7)])
    batches = []
    handler = sum_handler(table)
    trace = Trace()
    source = KinesisEventSource(kinesis, "telemetry", "store", lambda n, ev: batches.append(len(ev["Records"]))
                                or handler(ev), role_arn=ROLE, batch_size=3, trace=trace)
    assert source.drain() == 7
    assert batches == [3, 3, 1]
    items = ddb.scan(TableName="readings")["Items"]
    assert sorted(int(i["value"]["N"]) for i in items) == list(range(7))
    assert source.counters["invocations"] == 3
    assert [s.operation for s in trace.spans if s.service == "lambda"] == ["Invoke"] * 3
    # nothing is delivered twice after the checkpoint
    assert source.poll() == 0 and len(batches) == 3


def test_latest_skips_older_records(acct):
    kinesis = make_stream(acct)
    put(kinesis, "telemetry", [{"value": 0}])
    seen = []
    source = KinesisEventSource(kinesis, "telemetry", "fn", lambda n, ev: seen.extend(ev["Records"]),
                                role_arn=ROLE, starting_position="LATEST")
    put(kinesis, "telemetry", [{"value": 1}, {"value": 2}])
    source.drain()
    assert [json.loads(base64.b64decode(r["kinesis"]["data"]))["value"] for r in seen] == [1, 2]


def test_failed_batch_is_retried_in_order_then_checkpointed(acct):
    kinesis = make_stream(acct)
    put(kinesis, "telemetry", [{"value": i} for i in range(4)])
    calls = []

    def flaky(name, event):
        calls.append([r["kinesis"]["sequenceNumber"] for r in event["Records"]])
        if len(calls) == 1:
            raise RuntimeError("boom")
    source = KinesisEventSource(kinesis, "telemetry", "fn", flaky, role_arn=ROLE, batch_size=10)
    assert source.poll() == 0
    assert source.counters["function_errors"] == 1 and source.counters["batch_retries"] == 1
    assert source.poll() == 4
    assert calls[0] == calls[1]
    assert source.checkpoints["shardId-000000000000"] == calls[0][-1]


def test_report_batch_item_failures_retries_from_lowest_failure(acct):
    kinesis = make_stream(acct)
    seqs = put(kinesis, "telemetry", [{"value": i} for i in range(5)])
    calls = []

    def partial(name, event):
        got = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        calls.append(got)
        if len(calls) == 1:
            return {"batchItemFailures": [{"itemIdentifier": seqs[3]}, {"itemIdentifier": seqs[2]}]}
        return {"batchItemFailures": []}
    source = KinesisEventSource(kinesis, "telemetry", "fn", partial, role_arn=ROLE,
                                report_batch_item_failures=True)
    assert source.poll() == 2
    assert source.checkpoints["shardId-000000000000"] == seqs[1]
    assert source.poll() == 3
    assert calls[1] == seqs[2:]
    assert source.counters["item_failures_reported"] == 2


def test_unknown_item_identifier_fails_whole_batch(acct):
    kinesis = make_stream(acct)
    seqs = put(kinesis, "telemetry", [{"value": i} for i in range(2)])
    responses = iter([{"batchItemFailures": [{"itemIdentifier": "nope"}]}, None])
    calls = []
    source = KinesisEventSource(kinesis, "telemetry", "fn",
                                lambda n, ev: calls.append(ev) or next(responses),
                                role_arn=ROLE, report_batch_item_failures=True)
    assert source.poll() == 0
    assert source.poll() == 2
    assert [r["kinesis"]["sequenceNumber"] for r in calls[1]["Records"]] == seqs


def test_maximum_retry_attempts_discards_batch(acct):
    kinesis = make_stream(acct)
    seqs = put(kinesis, "telemetry", [{"value": i} for i in range(3)])

    def always_fails(name, event):
        raise ValueError("bad record")
    source = KinesisEventSource(kinesis, "telemetry", "fn", always_fails, role_arn=ROLE,
                                maximum_retry_attempts=1)
    source.poll()
    source.poll()
    assert source.discarded == [{"shardId": "shardId-000000000000", "startSequenceNumber": seqs[0],
                                 "endSequenceNumber": seqs[2], "batchSize": 3, "retryAttempts": 1}]
    assert source.poll() == 0 and source.counters["records_discarded"] == 3


def test_several_shards_each_delivered(acct):
    kinesis = make_stream(acct, shards=2)
    for i in range(20):
        kinesis.put_record(StreamName="telemetry", Data=b"x", PartitionKey=f"k{i}")
    shards = set()
    source = KinesisEventSource(kinesis, "telemetry", "fn",
                                lambda n, ev: shards.update(r["eventID"].split(":")[0] for r in ev["Records"]),
                                role_arn=ROLE)
    assert source.drain() == 20
    assert shards == {"shardId-000000000000", "shardId-000000000001"}


def test_bad_settings_name_valid_values(acct):
    kinesis = make_stream(acct)
    with pytest.raises(ValueError, match="TRIM_HORIZON, LATEST"):
        KinesisEventSource(kinesis, "telemetry", "fn", print, role_arn=ROLE, starting_position="EARLIEST")


def test_missing_stream_is_resource_not_found(acct):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as exc:
        KinesisEventSource(acct.client("kinesis"), "no-such-stream", "fn", print, role_arn=ROLE)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_without_retries_a_partial_failure_delivers_the_records_before_it(acct):
    kinesis = make_stream(acct)
    seqs = put(kinesis, "telemetry", [{"value": i} for i in range(5)])
    source = KinesisEventSource(kinesis, "telemetry", "fn",
                                lambda n, ev: {"batchItemFailures": [{"itemIdentifier": seqs[2]}]},
                                role_arn=ROLE, report_batch_item_failures=True, maximum_retry_attempts=0)
    assert source.poll() == 2
    assert (source.counters["records_delivered"], source.counters["records_discarded"]) == (2, 3)
    assert source.discarded == [{"shardId": "shardId-000000000000", "startSequenceNumber": seqs[2],
                                 "endSequenceNumber": seqs[4], "batchSize": 3, "retryAttempts": 0}]
    assert source.poll() == 0
