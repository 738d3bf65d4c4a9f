"""Firehose delivery emulation against a real moto server: objects are read back from S3."""
from __future__ import annotations

import base64
import gzip
import json
import re

import pytest
from botocore.exceptions import ClientError

from app.runtime.streaming import ManualClock
from app.runtime.streaming.firehose import FirehoseDelivery
from app.runtime.trace import Trace
from tests.streaming_handlers import enrich
from tests.streaming_support import acct  # noqa: F401

KEY = re.compile(r"^(?:raw/)?\d{4}/\d{2}/\d{2}/\d{2}/ingest-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}(\.gz|\.parquet)?$")


def text_handler(event, context=None):
    """The classic sample transform: upper-cases text records."""
    return {"records": [{"recordId": r["recordId"], "result": "Ok",
                         "data": base64.b64encode(base64.b64decode(r["data"]).upper()).decode()}
                        for r in event["records"]]}


def setup(acct, clock=None, **kw):
    s3 = acct.client("s3")
    s3.create_bucket(Bucket=f"ingest-{acct.account_id}")
    stream = FirehoseDelivery(acct.client("firehose"), s3, "ingest", f"ingest-{acct.account_id}",
                              role_arn=f"arn:aws:iam::{acct.account_id}:role/firehose", clock=clock or ManualClock(),
                              **kw)
    stream.create()
    return stream, s3


def objects(s3, bucket, prefix=""):
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_create_registers_configuration_in_moto(acct):
    stream, _ = setup(acct, buffer_interval_s=90, compression="GZIP", newline_delimiter=True)
    desc = acct.client("firehose").describe_delivery_stream(DeliveryStreamName="ingest")["DeliveryStreamDescription"]
    dest = desc["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert dest["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 90}
    assert dest["CompressionFormat"] == "GZIP"
    assert desc["DeliveryStreamARN"] == stream.arn


def test_interval_flush_uses_the_clock(acct):
    clock = ManualClock()
    stream, s3 = setup(acct, clock, buffer_mib=1, buffer_interval_s=60)
    for i in range(10):
        stream.put_record(json.dumps({"i": i}))
    clock.advance(59)
    assert stream.tick() is None
    assert objects(s3, stream.bucket) == {}
    clock.advance(1)
    key = stream.tick()
    assert KEY.match(key)
    body = objects(s3, stream.bucket)[key]
    # Firehose adds no delimiter: the records are concatenated as sent
    assert body == "".join(json.dumps({"i": i}) for i in range(10)).encode()
    assert stream.counters["flush_interval"] == 1 and stream.counters["objects_delivered"] == 1


def test_size_flush_at_buffer_mib(acct):
    stream, s3 = setup(acct, buffer_mib=1, buffer_interval_s=900)
    record = b"x" * (100 * 1024)
    for _ in range(10):
        stream.put_record(record)
    assert stream.objects == []
    stream.put_record(record)         # 11 x 100 KiB crosses 1 MiB
    assert len(stream.objects) == 1 and stream.counters["flush_size"] == 1
    assert len(objects(s3, stream.bucket)[stream.objects[0]]) == 11 * 100 * 1024


def test_newline_framing_and_gzip(acct):
    stream, s3 = setup(acct, compression="GZIP", newline_delimiter=True, prefix="raw/")
    stream.put_record_batch([json.dumps({"n": n}) for n in range(3)] + ['{"n": 3}\n'])
    key = stream.flush()
    assert KEY.match(key) and key.endswith(".gz") and key.startswith("raw/")
    lines = gzip.decompress(objects(s3, stream.bucket)[key]).decode().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [0, 1, 2, 3]


def test_transform_contract_and_processing_failed_prefix(acct, load_event):
    assert text_handler(load_event("firehose_transform"))["records"][0]["data"] == \
        base64.b64encode(b"HELLO WORLD").decode()
    seen = []
    stream, s3 = setup(acct, transform_function="enrich", invoke=lambda n, ev: seen.append(ev) or enrich(ev, None))
    stream.put_record_batch([json.dumps({"temp": 20}), json.dumps({"test": True}), json.dumps({"hum": 5}),
                             json.dumps({"temp": 30})])
    key = stream.flush()
    event = seen[0]
    sample = load_event("firehose_transform")
    assert set(event) == set(sample)
    assert set(event["records"][0]) == set(sample["records"][0])
    assert event["deliveryStreamArn"] == stream.arn
    delivered = [json.loads(line) for line in objects(s3, stream.bucket)[key].decode().splitlines()]
    assert delivered == [{"temp": 20, "temp_f": 68.0}, {"temp": 30, "temp_f": 86.0}]
    failed = objects(s3, stream.bucket, "processing-failed/")
    assert len(failed) == 1
    [(fkey, body)] = failed.items()
    assert re.match(r"processing-failed/\d{4}/\d{2}/\d{2}/\d{2}/ingest-1-", fkey)
    line = json.loads(body)
    assert line["errorCode"] == "Lambda.ProcessingFailed"
    assert json.loads(base64.b64decode(line["rawData"])) == {"hum": 5}
    assert line["lambdaArn"] == f"arn:aws:lambda:us-east-1:{acct.account_id}:function:enrich"
    c = stream.counters
    assert (c["transform_ok"], c["transform_dropped"], c["transform_processingfailed"]) == (2, 1, 1)


def test_failing_transform_is_retried_then_goes_to_error_prefix(acct):
    def broken(name, event):
        raise RuntimeError("handler crashed")
    stream, s3 = setup(acct, transform_function="broken", invoke=broken, error_prefix="errors/")
    stream.put_record(b'{"temp": 1}')
    assert stream.flush() is None
    assert stream.counters["transform_invocations"] == 4         # the first try and 3 retries
    [body] = objects(s3, stream.bucket, "errors/processing-failed/").values()
    line = json.loads(body)
    assert line["attemptsMade"] == 4 and line["errorCode"] == "Lambda.FunctionError"
    assert "handler crashed" in line["errorMessage"]
    assert objects(s3, stream.bucket, "2") == {}


def test_response_missing_a_record_id_fails_the_invocation(acct):
    def loses_one(name, event):
        return {"records": [{"recordId": event["records"][0]["recordId"], "result": "Ok",
                             "data": event["records"][0]["data"]}]}
    stream, s3 = setup(acct, transform_function="lossy", invoke=loses_one)
    stream.put_record_batch([b'{"a": 1}', b'{"a": 2}'])
    assert stream.flush() is None
    [body] = objects(s3, stream.bucket, "processing-failed/").values()
    assert [json.loads(x)["errorCode"] for x in body.decode().splitlines()] == ["Lambda.InvalidResponse"] * 2


def test_kinesis_source_feeds_the_transform_with_record_metadata(acct, load_event):
    kinesis = acct.client("kinesis")
    kinesis.create_stream(StreamName="telemetry", ShardCount=1)
    kinesis.put_record(StreamName="telemetry", Data=b'{"temp": 0}', PartitionKey="old")   # before: not read
    seen = []
    stream, s3 = setup(acct, kinesis=kinesis, source_stream="telemetry", newline_delimiter=True,
                       transform_function="enrich", invoke=lambda n, ev: seen.append(ev) or enrich(ev, None))
    for t in (10, 20):
        kinesis.put_record(StreamName="telemetry", Data=json.dumps({"temp": t}).encode(), PartitionKey="dev")
    assert stream.poll_source() == 2
    key = stream.flush()
    sample = load_event("firehose_transform_kinesis_source")
    assert set(seen[0]) == set(sample)
    assert set(seen[0]["records"][0]["kinesisRecordMetadata"]) == set(sample["records"][0]["kinesisRecordMetadata"])
    assert seen[0]["sourceKinesisStreamArn"].endswith(":stream/telemetry")
    rows = [json.loads(x) for x in objects(s3, stream.bucket)[key].decode().splitlines()]
    assert [r["temp"] for r in rows] == [10, 20]


def test_parquet_conversion_readable_by_duckdb(acct, tmp_path):
    import duckdb
    stream, s3 = setup(acct, format="parquet", buffer_mib=64)
    stream.put_record_batch([json.dumps({"device": f"d{i % 3}", "temp": i}) for i in range(30)] + [b"not json"])
    key = stream.flush()
    assert key.endswith(".parquet")
    path = tmp_path / "x.parquet"
    path.write_bytes(objects(s3, stream.bucket)[key])
    assert duckdb.connect().execute(f"SELECT count(*), sum(temp) FROM '{path}'").fetchone() == (30, sum(range(30)))
    [body] = objects(s3, stream.bucket, "format-conversion-failed/").values()
    line = json.loads(body)
    assert base64.b64decode(line["rawData"]) == b"not json"
    # Firehose's documented schema for format conversion errors (not the transform's errorCode/lambdaArn)
    assert set(line) == {"attemptsMade", "arrivalTimestamp", "lastErrorCode", "lastErrorMessage",
                         "attemptEndingTimestamp", "rawData", "sequenceNumber", "subSequenceNumber"}
    assert line["lastErrorCode"].startswith("DataFormatConversion.")


def test_spans_and_bad_settings(acct):
    trace = Trace()
    stream, _ = setup(acct, trace=trace)
    stream.put_record(b"a")
    stream.flush()
    assert [s.operation for s in trace.spans] == ["CreateDeliveryStream", "PutObject", "Deliver"]
    with pytest.raises(ValueError, match="UNCOMPRESSED, GZIP"):
        FirehoseDelivery(None, None, "x", "b", role_arn="arn:aws:iam::1:role/r", compression="ZIP")
    # Record format conversion needs a buffer of at least 64 MiB, as Firehose's API insists.
    with pytest.raises(ValueError, match="at least 64, not 5: With record format conversion"):
        FirehoseDelivery(None, None, "x", "b", role_arn="arn:aws:iam::1:role/r", format="parquet", buffer_mib=5)
    with pytest.raises(ValueError, match="from 0 to 900"):
        FirehoseDelivery(None, None, "x", "b", role_arn="arn:aws:iam::1:role/r", buffer_interval_s=1000)


def test_direct_put_refused_on_a_kinesis_source_stream(acct):
    kinesis = acct.client("kinesis")
    kinesis.create_stream(StreamName="src", ShardCount=1)
    stream, _ = setup(acct, kinesis=kinesis, source_stream="src")
    for put in (lambda: stream.put_record(b"x"), lambda: stream.put_record_batch([b"x"])):
        with pytest.raises(ClientError) as exc:
            put()
        assert exc.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert "Kinesis stream src" in exc.value.response["Error"]["Message"]
    assert stream.counters["records_in"] == 0


def test_prefix_with_timestamp_expressions_replaces_the_default_hour_folders(acct):
    clock = ManualClock(1_764_576_000.0)          # 2025-12-01 08:00:00 UTC
    stream, s3 = setup(acct, clock, buffer_interval_s=60, prefix="telemetry/dt=!{timestamp:yyyy-MM-dd}/")
    stream.put_record(json.dumps({"i": 1}))
    clock.advance(60)
    key = stream.tick()
    assert key.startswith("telemetry/dt=2025-12-01/ingest-1-2025-12-01-08-00-00-")
    plain = FirehoseDelivery(acct.client("firehose"), s3, "plain", stream.bucket, role_arn=stream.role_arn,
                             clock=clock, buffer_interval_s=60, prefix="raw/")
    plain.put_record(b"x")
    clock.advance(60)
    assert plain.tick().startswith("raw/2025/12/01/08/plain-1-")
