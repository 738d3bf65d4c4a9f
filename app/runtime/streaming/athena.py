"""Athena queries run for real with DuckDB over the objects in the moto S3 bucket.

moto accepts StartQueryExecution and reports SUCCEEDED, but runs no SQL and writes
no result. :class:`AthenaEmulator` keeps the query in moto's API (the execution id
comes from moto's StartQueryExecution, so moto lists it) and does the work itself:

1. Tables come from the Glue Data Catalog in moto (``create_table`` helps define
   one): location ``s3://bucket/prefix/``, columns, partition keys and the SerDe
   that says JSON or Parquet.
2. For every catalog table named in the query, all objects under its location are
   fetched from S3 into a scratch folder, keeping their paths, and exposed to DuckDB
   as a view with the declared columns (JSON lines, gzipped when the key ends in
   ``.gz``, or Parquet). Path segments ``key=value`` become partition columns, as
   Hive-style partitions do in Athena.
3. The SQL runs in DuckDB. The result is written to ``<OutputLocation><id>.csv`` the
   way Athena writes it (a header row, every value in double quotes, NULL empty).
4. ``DataScannedInBytes`` is the sum of the sizes of the objects read. For Parquet
   Athena bills only the columns it reads; this emulation does not measure column
   chunks, so for Parquet it reports the whole objects (an upper bound).

States are recorded here (QUEUED, RUNNING, SUCCEEDED or FAILED with the reason)
and served by ``get_query_execution``/``get_query_results`` in Athena's response
shape. The query runs synchronously inside ``start_query_execution``. A partitioned
table whose partitions are registered in the Glue catalog is read from those
partitions only (as Athena does: unregistered data is not seen), and partitions are
pruned by the query's top-level ``key = 'value'`` and ``key IN (...)`` predicates on
partition keys (any other predicate on them reads every partition, an upper bound);
bytes scanned then count only the partitions read. SQL is
DuckDB's dialect, which agrees with Athena's (Trino) for ordinary SELECTs; only
SELECT and WITH statements are run, one per query (as Athena allows), and DuckDB may touch no file outside the query's
scratch folder. Differences from AWS: no DDL; no partition projection or MSCK REPAIR
(partitions are read from the paths).
"""
from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import time
from datetime import datetime, timezone
from typing import Any

from app.runtime.streaming import Clock, Counters, Traced
from app.runtime.trace import Trace

SERDES = {
    "json": ("org.openx.data.jsonserde.JsonSerDe", "org.apache.hadoop.mapred.TextInputFormat"),
    "parquet": ("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
}
HIVE_TO_DUCKDB = {"string": "VARCHAR", "int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT",
                  "smallint": "SMALLINT", "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT",
                  "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "date": "DATE"}


class AthenaEmulator(Traced):
    """StartQueryExecution / GetQueryExecution / GetQueryResults with real SQL."""

    def __init__(self, athena, s3, glue, *, trace: Trace | None = None, clock: Clock = time.time,
                 calls_traced: bool = False, tags: dict[str, str] | None = None) -> None:
        self.athena, self.s3, self.glue = athena, s3, glue
        self.trace, self.clock, self.calls_traced = trace or Trace(), clock, calls_traced
        self.tags = dict(tags or {})           # put on every Glue database this emulator creates
        self.counters = Counters()
        self._executions: dict[str, dict] = {}
        self._results: dict[str, tuple[list[str], list[tuple]]] = {}

    # -- catalog ---------------------------------------------------------------------
    def create_table(self, database: str, name: str, location: str, columns: dict[str, str], *,
                     format: str = "json", partition_keys: dict[str, str] | None = None,
                     tags: dict[str, str] | None = None) -> None:
        """Define an external table in the Glue catalog (creating the database if needed)."""
        if format not in SERDES:
            raise ValueError(f"format must be one of {', '.join(SERDES)}, not {format!r}")
        try:
            tags = {**self.tags, **(tags or {})}
            self.glue.create_database(DatabaseInput={"Name": database}, **({"Tags": tags} if tags else {}))
        except self.glue.exceptions.AlreadyExistsException:
            pass
        serde, input_format = SERDES[format]
        self.glue.create_table(DatabaseName=database, TableInput={
            "Name": name, "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": k, "Type": t} for k, t in (partition_keys or {}).items()],
            "StorageDescriptor": {"Location": location, "InputFormat": input_format,
                                  "Columns": [{"Name": k, "Type": t} for k, t in columns.items()],
                                  "SerdeInfo": {"SerializationLibrary": serde}}})

    # -- queries ---------------------------------------------------------------------
    def start_query_execution(self, QueryString: str, QueryExecutionContext: dict | None = None,
                              ResultConfiguration: dict | None = None, WorkGroup: str = "primary") -> dict:
        context = QueryExecutionContext or {"Database": "default"}
        output = (ResultConfiguration or {}).get("OutputLocation")
        if not output:
            raise ValueError("ResultConfiguration.OutputLocation (s3://bucket/prefix/) is required")
        qid = self.athena.start_query_execution(QueryString=QueryString, QueryExecutionContext=context,
                                                ResultConfiguration={"OutputLocation": output},
                                                WorkGroup=WorkGroup)["QueryExecutionId"]
        execution = {"QueryExecutionId": qid, "Query": QueryString, "StatementType": "DML",
                     "ResultConfiguration": {"OutputLocation": output.rstrip("/") + f"/{qid}.csv"},
                     "QueryExecutionContext": context, "WorkGroup": WorkGroup,
                     "Status": {"State": "QUEUED", "SubmissionDateTime": self._now()},
                     "Statistics": {"DataScannedInBytes": 0}}
        self._executions[qid] = execution
        self.counters.add("queries")
        self._run(execution)
        return {"QueryExecutionId": qid}

    def get_query_execution(self, QueryExecutionId: str) -> dict:
        return {"QueryExecution": self._execution(QueryExecutionId)}

    def get_query_results(self, QueryExecutionId: str) -> dict:
        execution = self._execution(QueryExecutionId)
        if execution["Status"]["State"] != "SUCCEEDED":
            raise ValueError(f"query {QueryExecutionId} is {execution['Status']['State']}: "
                             f"{execution['Status'].get('StateChangeReason', '')}")
        names, rows = self._results[QueryExecutionId]
        cell = (lambda v: {} if v is None else {"VarCharValue": _text(v)})
        return {"ResultSet": {
            "Rows": [{"Data": [{"VarCharValue": n} for n in names]}] + [{"Data": [cell(v) for v in r]} for r in rows],
            "ResultSetMetadata": {"ColumnInfo": [{"Name": n, "Label": n, "Type": "varchar"} for n in names]}}}

    def _execution(self, qid: str) -> dict:
        if qid not in self._executions:
            raise KeyError(f"no query execution {qid} (known: {', '.join(self._executions) or 'none'})")
        return self._executions[qid]

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def _run(self, execution: dict) -> None:
        import duckdb

        status, qid = execution["Status"], execution["QueryExecutionId"]
        status["State"] = "RUNNING"
        started = time.perf_counter()
        scratch = tempfile.mkdtemp(prefix="athena-")
        con = duckdb.connect()
        # The query reads only the table files fetched into the scratch folder: no other file of this
        # machine (credentials included) can be read or written through SQL, and that cannot be unset.
        con.execute(f"SET allowed_directories=['{scratch}']")
        con.execute("SET enable_external_access=false")
        con.execute("SET lock_configuration=true")
        try:
            with self.trace.span("athena", "RunQuery", qid) as span:
                try:
                    if not re.match(r"\s*(select|with)\b", execution["Query"], re.I):
                        raise ValueError("only SELECT and WITH queries are run")
                    statements = con.extract_statements(execution["Query"])
                    if len(statements) != 1:        # Athena's own answer to a second statement
                        raise ValueError(f"Only one sql statement is allowed. Got: {len(statements)}")
                    if statements[0].type != duckdb.StatementType.SELECT:
                        raise ValueError("only SELECT and WITH queries are run")
                    scanned = self._expose_tables(con, execution["QueryExecutionContext"].get("Database", "default"),
                                                  execution["Query"], scratch)
                    cursor = con.execute(execution["Query"])
                    names = [d[0] for d in cursor.description]
                    rows = cursor.fetchall()
                except (duckdb.Error, ValueError) as exc:
                    span.status = "error"
                    status.update(State="FAILED", StateChangeReason=str(exc).splitlines()[0],
                                  CompletionDateTime=self._now())
                    execution["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1006, "ErrorMessage": str(exc)}
                    self.counters.add("queries_failed")
                    return
                span.payload_bytes = scanned
                self._results[qid] = (names, rows)
                self._write_csv(execution["ResultConfiguration"]["OutputLocation"], names, rows)
            elapsed = int((time.perf_counter() - started) * 1000)
            execution["Statistics"] = {"DataScannedInBytes": scanned, "EngineExecutionTimeInMillis": elapsed,
                                       "TotalExecutionTimeInMillis": elapsed}
            status.update(State="SUCCEEDED", CompletionDateTime=self._now())
            self.counters.add("queries_succeeded")
            self.counters.add("bytes_scanned", scanned)
        finally:
            con.close()
            shutil.rmtree(scratch, ignore_errors=True)

    def _expose_tables(self, con, database: str, sql: str, scratch: str) -> int:
        """Fetch the objects of every catalog table the query names; returns the bytes read."""
        scanned = 0
        tables = self.glue.get_tables(DatabaseName=database)["TableList"] if self._has_database(database) else []
        for table in tables:
            name = table["Name"]
            if not re.search(rf"\b{re.escape(name)}\b", sql, re.I):
                continue
            storage = table["StorageDescriptor"]
            folder = os.path.join(scratch, name)
            keys = [p["Name"] for p in table.get("PartitionKeys", [])]
            registered = self._partitions(database, name) if keys else []
            if registered:
                files, size = [], 0
                for values, location in _pruned(registered, keys, sql):
                    where = os.path.join(folder, *(f"{k}={v}" for k, v in zip(keys, values)))
                    got, n = self._download(location, where)
                    files, size = files + got, size + n
                self.counters.add("partitions_read", len(_pruned(registered, keys, sql)))
            else:
                files, size = self._download(storage["Location"], folder)
            scanned += size
            columns = {c["Name"]: HIVE_TO_DUCKDB.get(c["Type"].lower(), "VARCHAR") for c in storage.get("Columns", [])}
            parts = [p["Name"] for p in table.get("PartitionKeys", [])]
            parquet = "parquet" in storage.get("SerdeInfo", {}).get("SerializationLibrary", "").lower()
            reader = _reader(files, columns, parts, parquet)
            con.execute(f'CREATE VIEW "{name}" AS {reader}')
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')       # "database"."table" works too
            con.execute(f'CREATE VIEW "{database}"."{name}" AS {reader}')
        return scanned

    def _partitions(self, database: str, table: str) -> list[tuple[list[str], str]]:
        """The table's partitions registered in the Glue catalog: (values, location)."""
        found = []
        for page in self.glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table):
            found += [(p["Values"], p["StorageDescriptor"]["Location"]) for p in page["Partitions"]]
        return found

    def _has_database(self, database: str) -> bool:
        try:
            self.glue.get_database(Name=database)
            return True
        except self.glue.exceptions.EntityNotFoundException:
            return False

    def _download(self, location: str, folder: str) -> tuple[list[str], int]:
        m = re.match(r"s3://([^/]+)/?(.*)$", location)
        if not m:
            raise ValueError(f"table location must look like s3://bucket/prefix/, not {location!r}")
        bucket, prefix = m.groups()
        files, size = [], 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):
                    continue
                path = os.path.join(folder, obj["Key"][len(prefix):].lstrip("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with self.call_span("s3", "GetObject", f"{bucket}/{obj['Key']}", payload_bytes=obj["Size"]):
                    # one GetObject, as the span says (a managed download_file adds a HeadObject and a thread pool)
                    body = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                with open(path, "wb") as fh:
                    fh.write(body)
                files.append(path)
                size += obj["Size"]
        return files, size

    def _write_csv(self, location: str, names: list[str], rows: list[tuple]) -> None:
        bucket, key = re.match(r"s3://([^/]+)/(.*)$", location).groups()
        out = io.StringIO()
        for row in [names, *rows]:
            out.write(",".join("" if v is None else '"' + _text(v).replace('"', '""') + '"' for v in row) + "\n")
        body = out.getvalue().encode()
        with self.call_span("s3", "PutObject", f"{bucket}/{key}", payload_bytes=len(body)):
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")


def _text(value: Any) -> str:
    """A value as Athena prints it in results (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _pruned(partitions: list[tuple[list[str], str]], keys: list[str], sql: str) -> list[tuple[list[str], str]]:
    """The partitions a query reads: those its top-level equality and IN predicates on partition keys admit."""
    m = re.search(r"\bwhere\b(.*?)(\bgroup\s+by\b|\border\s+by\b|\blimit\b|\bhaving\b|$)", sql, re.I | re.S)
    if not m or re.search(r"\bor\b", m.group(1), re.I):
        return partitions
    wanted: dict[str, set[str]] = {}
    for term in re.split(r"\band\b", m.group(1), flags=re.I):
        eq = re.fullmatch(r"\s*\"?(\w+)\"?\s*=\s*'([^']*)'\s*\)?\s*", term)
        listed = re.fullmatch(r"\s*\"?(\w+)\"?\s+in\s*\(([^)]*)\)\s*", term, re.I)
        if eq and eq.group(1) in keys:
            wanted.setdefault(eq.group(1), set()).add(eq.group(2))
        elif listed and listed.group(1) in keys:
            wanted.setdefault(listed.group(1), set()).update(re.findall(r"'([^']*)'", listed.group(2)))
    return [(values, loc) for values, loc in partitions
            if all(values[keys.index(k)] in allowed for k, allowed in wanted.items())]


def _reader(files: list[str], columns: dict[str, str], partitions: list[str], parquet: bool) -> str:
    """The SELECT that exposes a table's files with its declared columns."""
    wanted = [*columns, *partitions]
    select = ", ".join(f'"{c}"' for c in wanted) if wanted else "*"
    if not files:
        cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in columns.items()) or "NULL AS empty"
        return f"SELECT {cols} WHERE false"
    listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    hive = any("=" in part for f in files for part in f.split(os.sep))
    if parquet:
        return f"SELECT {select} FROM read_parquet({listing}, hive_partitioning={str(hive).lower()}, union_by_name=true)"
    spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in columns.items()) + "}"
    schema = f", columns={spec}" if columns else ""
    return (f"SELECT {select} FROM read_json({listing}, format='newline_delimited'{schema}, "
            f"hive_partitioning={str(hive).lower()}, compression='auto_detect')")
