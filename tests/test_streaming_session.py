"""The streaming emulations wired to a runtime session: IoT -> Kinesis -> Firehose -> S3 -> Athena."""
from __future__ import annotations

import csv
import io
import json

from tests.streaming_handlers import enrich


def test_transform_handler_against_sample_event(load_event):
    event = load_event("firehose_transform_kinesis_source")
    for rec in event["records"]:
        rec["data"] = "eyJ0ZW1wIjogMjB9"          # {"temp": 20}
    out = enrich(event, None)["records"]
    assert [r["recordId"] for r in out] == ["record1", "record2"]
    assert all(r["result"] == "Ok" for r in out)


def test_iot_analytics_flow_in_a_session(runtime_session):
    s = runtime_session
    kinesis, s3, ddb = (s.clients.client(x) for x in ("kinesis", "s3", "dynamodb"))
    stream, bucket, reports, table = s.name("telemetry"), s.name("ingest"), s.name("reports"), s.name("readings")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    for b in (bucket, reports):
        s3.create_bucket(Bucket=b)
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    s.lambdas.deploy("enrich", handler="tests.streaming_handlers.enrich")
    s.lambdas.deploy("store", handler="tests.streaming_handlers.store_readings", env={"READINGS_TABLE": table})

    rules = s.streaming.iot_rules()
    rules.create_rule("telemetry", "SELECT device, temp, test FROM 'plant/+/telemetry'",
                      [{"kinesis": {"streamName": stream, "roleArn": s.lambdas.role_arn(),
                                    "partitionKey": "${topic(2)}"}}])
    firehose = s.streaming.firehose("ingest", bucket, source_stream=stream, transform_function="enrich",
                                    newline_delimiter=True, compression="GZIP", prefix="raw/", error_prefix="errors/",
                                    buffer_interval_s=60)
    consumer = s.streaming.kinesis_to_lambda(stream, "store", batch_size=25, report_batch_item_failures=True,
                                             maximum_retry_attempts=1)

    readings = [{"device": f"d{i % 3}", "temp": 20 + i % 7} for i in range(40)] + [{"device": "d0", "test": True}]
    for r in readings:
        rules.publish(f"plant/{r['device']}/telemetry", r)
    assert firehose.poll_source() == 41
    key = firehose.flush()
    assert consumer.drain() == 40                      # the reading without a temperature fails, is retried once,
    assert consumer.discarded[0]["batchSize"] == 1     # then discarded
    assert ddb.scan(TableName=table, Select="COUNT")["Count"] == 40

    athena = s.streaming.athena()
    athena.create_table("telemetry", "readings", f"s3://{bucket}/raw/", {"device": "string", "temp": "double",
                                                                         "temp_f": "double"})
    qid = athena.start_query_execution(
        QueryString="SELECT device, count(*) AS n, max(temp_f) AS max_f FROM readings GROUP BY device ORDER BY device",
        QueryExecutionContext={"Database": "telemetry"},
        ResultConfiguration={"OutputLocation": f"s3://{reports}/athena/"})["QueryExecutionId"]
    body = s3.get_object(Bucket=reports, Key=f"athena/{qid}.csv")["Body"].read().decode()
    rows = {r["device"]: r for r in csv.DictReader(io.StringIO(body))}
    for device in ("d0", "d1", "d2"):
        mine = [r["temp"] for r in readings if r["device"] == device and "temp" in r]
        assert int(rows[device]["n"]) == len(mine)
        assert float(rows[device]["max_f"]) == round(max(mine) * 9 / 5 + 32, 2)
    assert key.startswith("raw/") and key.endswith(".gz")

    # spans: emulated work once, API calls once (recorded by the session's clients)
    ops = [(sp.service, sp.operation) for sp in s.trace.spans]
    assert ("firehose", "Deliver") in ops and ("athena", "RunQuery") in ops
    assert ops.count(("lambda", "Invoke")) == 1 + 3   # one transform; Kinesis: 25, 16 (one fails), 1 retried
    assert ("iot", "Action:kinesis") in ops

    report = s.teardown()
    assert not report["errors"]
    assert s.inventory() == []


def test_global_table_in_a_session(runtime_session):
    s = runtime_session
    name = s.name("posts")
    table = s.streaming.global_table(name, ["us-east-1", "eu-west-1"])
    table.create([{"AttributeName": "pk", "KeyType": "HASH"}], [{"AttributeName": "pk", "AttributeType": "S"}])
    table.put_item("us-east-1", {"pk": {"S": "hello"}})
    assert table.pump() == 1
    item = s.clients.client("dynamodb", "eu-west-1").get_item(TableName=name, Key={"pk": {"S": "hello"}})["Item"]
    assert json.loads(json.dumps(item)) == {"pk": {"S": "hello"}}     # no aws:rep:* attributes (2019.11.21)
    assert table.last_writer("eu-west-1", {"pk": {"S": "hello"}}) == "us-east-1"
    assert [sp.operation for sp in s.trace.spans if sp.operation == "Replicate"] == ["Replicate"]
    assert "eu-west-1" in s.regions
    s.teardown()
    assert s.inventory() == []
