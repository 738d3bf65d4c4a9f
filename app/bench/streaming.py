"""Streaming figures on the embedded moto server, in a session of its own (torn down after).

- firehose: 1,000 JSON records put in two PutRecordBatch calls of 500, then the
  buffer delivered (newline framing, GZIP) to the S3 bucket: wall time of puts and
  delivery; the same with the Lambda transform; the same as Parquet.
- athena: a GROUP BY over the objects delivered above (fetched from S3, run in
  DuckDB, CSV written back), median of several runs, and the bytes scanned.
- iot: publish -> topic rule -> Kinesis PutRecord, median per message.
- global tables: replication lag of a write to one replica region, median.
"""
from __future__ import annotations

import base64
import json
import time

from app.bench import summary, timed_ms

RECORDS = 1000


def _records(n: int) -> list[str]:
    return [json.dumps({"device": f"d{i % 20}", "temp": 15 + (i * 7) % 20, "seq": i}) for i in range(n)]


def _deliver(session, name: str, bucket: str, **options) -> dict:
    stream = session.streaming.firehose(name, bucket, prefix=f"{name}/", buffer_interval_s=900, **options)
    records = _records(RECORDS)
    t0 = time.perf_counter()
    for i in range(0, RECORDS, 500):
        stream.put_record_batch(records[i:i + 500])
    stream.flush()
    ms = (time.perf_counter() - t0) * 1000
    return {"ms": round(ms, 1), "objects": stream.counters["objects_delivered"],
            "records_delivered": stream.counters["records_delivered"],
            "bytes_delivered": stream.counters["bytes_delivered"]}


def run() -> dict:
    from app.runtime.session import RuntimeSession

    out: dict = {}
    with RuntimeSession.moto() as session:
        s3 = session.clients.client("s3")
        bucket, reports = session.name("bench-ingest"), session.name("bench-reports")
        for b in (bucket, reports):
            s3.create_bucket(Bucket=b)
        session.lambdas.deploy("bench-transform", handler="app.bench.streaming.transform")
        out["firehose_1000_json_gzip"] = _deliver(session, "plain", bucket, newline_delimiter=True, compression="GZIP")
        out["firehose_1000_with_transform"] = _deliver(session, "transformed", bucket, newline_delimiter=True,
                                                       transform_function="bench-transform")
        out["firehose_1000_parquet"] = _deliver(session, "parquet", bucket, format="parquet", buffer_mib=64)

        athena = session.streaming.athena()
        columns = {"device": "string", "temp": "double", "seq": "bigint"}
        athena.create_table("bench", "readings_json", f"s3://{bucket}/plain/", columns)
        athena.create_table("bench", "readings_parquet", f"s3://{bucket}/parquet/", columns, format="parquet")
        for table in ("readings_json", "readings_parquet"):
            sql = f"SELECT device, count(*) AS n, avg(temp) AS avg_temp FROM {table} GROUP BY device ORDER BY device"
            qids: list[str] = []

            def query(sql: str = sql, qids: list[str] = qids) -> None:
                qids.append(athena.start_query_execution(
                    QueryString=sql, QueryExecutionContext={"Database": "bench"},
                    ResultConfiguration={"OutputLocation": f"s3://{reports}/athena/"})["QueryExecutionId"])
            samples = timed_ms(query, 5)
            ex = athena.get_query_execution(QueryExecutionId=qids[-1])["QueryExecution"]
            out[f"athena_{table}"] = {**summary(samples), "state": ex["Status"]["State"],
                                      "bytes_scanned": ex["Statistics"]["DataScannedInBytes"]}

        kinesis = session.clients.client("kinesis")
        stream = session.name("bench-telemetry")
        kinesis.create_stream(StreamName=stream, ShardCount=1)
        rules = session.streaming.iot_rules()
        rules.create_rule("bench", "SELECT * FROM 'bench/+'", [{"kinesis": {
            "streamName": stream, "roleArn": session.streaming.service_role("iot"), "partitionKey": "${topic(2)}"}}])
        rules.publish("bench/warm", {"v": 0})
        out["iot_publish_to_kinesis"] = summary(timed_ms(lambda: rules.publish("bench/d1", {"v": 1}), 30))

        table = session.streaming.global_table(session.name("bench-posts"), ["us-east-1", "eu-west-1"])
        table.create([{"AttributeName": "pk", "KeyType": "HASH"}], [{"AttributeName": "pk", "AttributeType": "S"}])
        for i in range(20):
            table.put_item("us-east-1", {"pk": {"S": f"k{i}"}})
            table.pump()
        out["global_table_lag"] = table.lag_summary()
    return out


def transform(event, context):
    """Firehose transform used by the benchmark: adds a Fahrenheit field to each record."""
    records = []
    for rec in event["records"]:
        body = json.loads(base64.b64decode(rec["data"]))
        body["temp_f"] = body["temp"] * 9 / 5 + 32
        records.append({"recordId": rec["recordId"], "result": "Ok",
                        "data": base64.b64encode(json.dumps(body).encode()).decode()})
    return {"records": records}
