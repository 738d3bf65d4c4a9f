"""Athena emulation: SQL run with DuckDB over objects read from moto S3."""
from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

from app.runtime.streaming.athena import AthenaEmulator
from app.runtime.streaming.firehose import FirehoseDelivery
from tests.streaming_support import acct  # noqa: F401

COLUMNS = {"device": "string", "temp": "double"}


def make(acct):
    s3 = acct.client("s3")
    for b in ("ingest", "reports"):
        s3.create_bucket(Bucket=f"{b}-{acct.account_id}")
    return AthenaEmulator(acct.client("athena"), s3, acct.client("glue")), s3


def run(athena, acct, sql, database="telemetry"):
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": database},
                                       ResultConfiguration={"OutputLocation": f"s3://reports-{acct.account_id}/q/"})
    return qid["QueryExecutionId"], athena.get_query_execution(QueryExecutionId=qid["QueryExecutionId"])["QueryExecution"]


def bucket_size(s3, bucket, prefix):
    return sum(o["Size"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_query_over_firehose_gzip_objects_writes_csv(acct):
    athena, s3 = make(acct)
    fh = FirehoseDelivery(acct.client("firehose"), s3, "ingest", f"ingest-{acct.account_id}", prefix="raw/",
                          compression="GZIP", newline_delimiter=True,
                          role_arn=f"arn:aws:iam::{acct.account_id}:role/fh")
    fh.create()
    for batch in range(3):
        fh.put_record_batch([json.dumps({"device": f"d{i % 4}", "temp": i + batch, "extra": 1}) for i in range(50)])
        fh.flush()
    athena.create_table("telemetry", "readings", f"s3://ingest-{acct.account_id}/raw/", COLUMNS)
    qid, ex = run(athena, acct, "SELECT device, count(*) AS n, round(avg(temp), 2) AS avg_temp "
                               "FROM readings GROUP BY device ORDER BY device")
    assert ex["Status"]["State"] == "SUCCEEDED"
    assert ex["Statistics"]["DataScannedInBytes"] == bucket_size(s3, f"ingest-{acct.account_id}", "raw/")
    body = s3.get_object(Bucket=f"reports-{acct.account_id}", Key=f"q/{qid}.csv")["Body"].read().decode()
    assert ex["ResultConfiguration"]["OutputLocation"] == f"s3://reports-{acct.account_id}/q/{qid}.csv"
    assert body.splitlines()[0] == '"device","n","avg_temp"'
    rows = list(csv.DictReader(io.StringIO(body)))
    # expected values computed from the records, independently of the emulator
    records = [(f"d{i % 4}", i + b) for b in range(3) for i in range(50)]
    for row in rows:
        temps = [t for d, t in records if d == row["device"]]
        assert int(row["n"]) == len(temps)
        assert float(row["avg_temp"]) == round(sum(temps) / len(temps), 2)
    result = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    assert result[0]["Data"][0] == {"VarCharValue": "device"} and len(result) == 5
    # the execution is known to moto's Athena API too
    assert qid in acct.client("athena").list_query_executions()["QueryExecutionIds"]


def test_undeclared_columns_are_not_visible(acct):
    athena, s3 = make(acct)
    s3.put_object(Bucket=f"ingest-{acct.account_id}", Key="raw/a.json", Body=b'{"device": "x", "temp": 1, "secret": 2}\n')
    athena.create_table("telemetry", "readings", f"s3://ingest-{acct.account_id}/raw/", COLUMNS)
    _, ex = run(athena, acct, "SELECT secret FROM readings")
    assert ex["Status"]["State"] == "FAILED" and "secret" in ex["Status"]["StateChangeReason"]


def test_parquet_with_hive_partitions(acct, tmp_path):
    import duckdb
    athena, s3 = make(acct)
    for day, temps in {"2026-11-26": [1.0, 2.0], "2026-11-27": [10.0, 20.0, 30.0]}.items():
        path = tmp_path / f"{day}.parquet"
        rows = ", ".join(f"('d1', {t})" for t in temps)
        duckdb.connect().execute(f"COPY (SELECT * FROM (VALUES {rows}) v(device, temp)) TO '{path}' (FORMAT parquet)")
        s3.put_object(Bucket=f"ingest-{acct.account_id}", Key=f"pq/dt={day}/part-0.parquet", Body=path.read_bytes())
    athena.create_table("telemetry", "daily", f"s3://ingest-{acct.account_id}/pq/", COLUMNS, format="parquet",
                        partition_keys={"dt": "string"})
    qid, ex = run(athena, acct, "SELECT dt, sum(temp) AS total FROM daily GROUP BY dt ORDER BY dt")
    assert ex["Status"]["State"] == "SUCCEEDED"
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"][1:]
    assert [[c["VarCharValue"] for c in r["Data"]] for r in rows] == [["2026-11-26", "3.0"], ["2026-11-27", "60.0"]]
    assert ex["Statistics"]["DataScannedInBytes"] == bucket_size(s3, f"ingest-{acct.account_id}", "pq/")


def test_sql_error_and_non_select_fail_with_reason(acct):
    athena, _ = make(acct)
    athena.create_table("telemetry", "readings", f"s3://ingest-{acct.account_id}/raw/", COLUMNS)
    qid, ex = run(athena, acct, "SELEC device FROM readings")
    assert ex["Status"]["State"] == "FAILED" and ex["Status"]["StateChangeReason"]
    with pytest.raises(ValueError, match="FAILED"):
        athena.get_query_results(QueryExecutionId=qid)
    _, ex = run(athena, acct, "DROP TABLE readings")
    assert ex["Status"]["State"] == "FAILED" and "only SELECT" in ex["Status"]["StateChangeReason"]
    _, ex = run(athena, acct, "SELECT count(*) AS n FROM readings")    # empty location: zero rows, no error
    assert ex["Status"]["State"] == "SUCCEEDED" and ex["Statistics"]["DataScannedInBytes"] == 0
    assert athena.counters["queries_failed"] == 2


def test_sql_cannot_read_or_write_files_of_this_machine(acct, tmp_path):
    athena, s3 = make(acct)
    athena.create_table("telemetry", "readings", f"s3://ingest-{acct.account_id}/raw/", COLUMNS)
    secret = tmp_path / "credentials"
    secret.write_text("[default]\naws_secret_access_key = not-for-queries\n")
    for sql in (f"SELECT * FROM read_csv('{secret}')",
                f"WITH x AS (SELECT 1 AS n) SELECT * FROM x, read_text('{secret}')"):
        qid, ex = run(athena, acct, sql)
        assert ex["Status"]["State"] == "FAILED", sql
        assert "not-for-queries" not in ex["Status"]["StateChangeReason"]
    assert bucket_size(s3, f"reports-{acct.account_id}", "q/") == 0


def test_gzip_object_without_firehose(acct):
    athena, s3 = make(acct)
    body = gzip.compress(b'{"device": "a", "temp": 1.5}\n{"device": "b", "temp": null}\n')
    s3.put_object(Bucket=f"ingest-{acct.account_id}", Key="raw/x.gz", Body=body)
    athena.create_table("telemetry", "readings", f"s3://ingest-{acct.account_id}/raw/", COLUMNS)
    qid, ex = run(athena, acct, "SELECT device, temp FROM readings ORDER BY device")
    text = acct.client("s3").get_object(Bucket=f"reports-{acct.account_id}", Key=f"q/{qid}.csv")["Body"].read()
    assert text.decode().splitlines() == ['"device","temp"', '"a","1.5"', '"b",']


def test_database_qualified_names_and_booleans(acct):
    athena, s3 = make(acct)
    s3.put_object(Bucket=f"ingest-{acct.account_id}", Key="raw/a.json",
                  Body=b'{"device": "x", "temp": 31}\n{"device": "y", "temp": 12}\n')
    athena.create_table("telemetry", "readings", f"s3://ingest-{acct.account_id}/raw/", COLUMNS)
    qid, ex = run(athena, acct, 'SELECT device, temp > 30 AS hot FROM "telemetry"."readings" ORDER BY device')
    assert ex["Status"]["State"] == "SUCCEEDED", ex["Status"]
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"][1:]
    assert [[c["VarCharValue"] for c in r["Data"]] for r in rows] == [["x", "true"], ["y", "false"]]


def test_registered_partitions_are_read_and_pruned_by_the_query(acct, tmp_path):
    import duckdb
    athena, s3 = make(acct)
    bucket = f"ingest-{acct.account_id}"
    for day, temps in {"2026-11-26": [1.0, 2.0], "2026-11-27": [10.0, 20.0, 30.0], "2026-11-28": [5.0]}.items():
        path = tmp_path / f"{day}.parquet"
        rows = ", ".join(f"('d1', {t})" for t in temps)
        duckdb.connect().execute(f"COPY (SELECT * FROM (VALUES {rows}) v(device, temp)) TO '{path}' (FORMAT parquet)")
        s3.put_object(Bucket=bucket, Key=f"pq/dt={day}/part-0.parquet", Body=path.read_bytes())
    athena.create_table("telemetry", "daily", f"s3://{bucket}/pq/", COLUMNS, format="parquet",
                        partition_keys={"dt": "string"})
    glue = acct.client("glue")
    storage = glue.get_table(DatabaseName="telemetry", Name="daily")["Table"]["StorageDescriptor"]
    for day in ("2026-11-26", "2026-11-27"):          # 2026-11-28 is not registered: Athena does not see it
        glue.create_partition(DatabaseName="telemetry", TableName="daily", PartitionInput={
            "Values": [day], "StorageDescriptor": {**storage, "Location": f"s3://{bucket}/pq/dt={day}/"}})
    qid, every = run(athena, acct, "SELECT dt, sum(temp) AS total FROM daily GROUP BY dt ORDER BY dt")
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"][1:]
    assert [[c["VarCharValue"] for c in r["Data"]] for r in rows] == [["2026-11-26", "3.0"], ["2026-11-27", "60.0"]]
    assert every["Statistics"]["DataScannedInBytes"] == (bucket_size(s3, bucket, "pq/dt=2026-11-26/")
                                                        + bucket_size(s3, bucket, "pq/dt=2026-11-27/"))
    qid, one = run(athena, acct, "SELECT sum(temp) AS total FROM daily WHERE dt = '2026-11-27' AND temp > 0")
    assert athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"][1]["Data"][0]["VarCharValue"] == "60.0"
    assert one["Statistics"]["DataScannedInBytes"] == bucket_size(s3, bucket, "pq/dt=2026-11-27/")
    _, either = run(athena, acct, "SELECT count(*) FROM daily WHERE dt = '2026-11-27' OR temp > 1")
    assert either["Statistics"]["DataScannedInBytes"] == every["Statistics"]["DataScannedInBytes"]   # not pruned
