"""Amazon Data Firehose delivery to S3: buffering, Lambda transform, framing, GZIP, Parquet.

moto keeps the delivery stream's configuration but writes one S3 object per
PutRecord call at once, ignores buffering hints, compression and the transform,
and never reads from a Kinesis stream source. :class:`FirehoseDelivery` does the
delivery itself, into the real moto bucket:

- Sources: ``put_record``/``put_record_batch`` (Direct PUT), or ``poll_source()``
  reading the Kinesis source stream with GetRecords from LATEST (where Firehose
  starts reading when the delivery stream is created).
- Buffering: records are delivered when the buffer reaches ``buffer_mib`` MiB or
  when ``buffer_interval_s`` seconds have passed since its oldest record, whichever
  comes first. Time comes from the injectable ``clock``; the interval is checked on
  every put and by ``tick()`` (Firehose's own timer).
- Transform: at delivery the buffered records go to the function in invocations of
  at most 1 MiB of data (Firehose's default processor buffer), with the request
  ``{invocationId, deliveryStreamArn, region, records: [{recordId,
  approximateArrivalTimestamp (ms), data (base64)}]}`` (plus
  ``sourceKinesisStreamArn`` and ``kinesisRecordMetadata`` for a Kinesis source).
  The response must return every recordId once with ``result`` Ok, Dropped or
  ProcessingFailed and base64 ``data``. A failed invocation is retried
  ``transform_retries`` times (Firehose's default is 3); then, like records with
  ProcessingFailed or a malformed response, its records are written as JSON to
  ``<error_prefix>processing-failed/YYYY/MM/DD/HH/`` with attemptsMade,
  arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData and
  lambdaArn.
- Framing: Firehose concatenates record data exactly as received and adds no
  delimiter. ``newline_delimiter=True`` appends ``\\n`` to each record that does not
  already end with one, which is what Firehose's AppendDelimiterToRecord processor
  does; JSON-lines readers such as Athena need it.
- Output: ``compression="GZIP"`` gzips the object (``.gz`` suffix). ``format="parquet"``
  converts JSON records to one Parquet file per delivery (Snappy, with DuckDB), as
  record format conversion does; records that are not JSON objects go to
  ``<error_prefix>format-conversion-failed/YYYY/MM/DD/HH/`` in the documented error
  schema (attemptsMade, arrivalTimestamp, lastErrorCode, lastErrorMessage,
  attemptEndingTimestamp, rawData, sequenceNumber, subSequenceNumber; no
  dataCatalogTable, as no Glue table is involved here).
- Keys: ``<prefix>YYYY/MM/DD/HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<uuid>`` in UTC, from
  the arrival time of the oldest record in the object. A prefix with timestamp
  expressions (``dt=!{timestamp:yyyy-MM-dd}/``, Java date patterns yyyy MM dd HH mm ss)
  is evaluated at that time instead, and then, as on AWS, no YYYY/MM/DD/HH is added.

Differences from AWS: the processor buffer and the delivery buffer are one buffer
(the transform runs when the delivery buffer flushes); buffer size is measured on
the incoming data; Parquet columns are inferred from the records (Firehose takes
them from a Glue table); S3 delivery is not retried.
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import re
import tempfile
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from app.core import facts
from app.runtime.dataplanes import aws_error
from app.runtime.streaming import Clock, Counters, FunctionFailed, Invoke, Traced, invoke_payload
from app.runtime.trace import Trace

MIB = 1024 * 1024
RESULTS = ("Ok", "Dropped", "ProcessingFailed")
FORMATS = ("json", "parquet")
COMPRESSIONS = ("UNCOMPRESSED", "GZIP")
MAX_BATCH = facts.FIREHOSE_MAX_BATCH_RECORDS.value
MAX_RECORD_BYTES = facts.FIREHOSE_MAX_RECORD_BYTES.value
_SIZE, _INTERVAL = facts.FIREHOSE_BUFFER_MIB.value, facts.FIREHOSE_BUFFER_INTERVAL_S.value
CONVERSION_MIN_MIB = facts.FIREHOSE_CONVERSION_MIN_BUFFER_MIB.value


class FirehoseDelivery(Traced):
    """One delivery stream to one S3 bucket."""

    def __init__(self, firehose, s3, name: str, bucket: str, *, role_arn: str, kinesis=None,
                 source_stream: str | None = None, buffer_mib: float = 5, buffer_interval_s: float = 300,
                 compression: str = "UNCOMPRESSED", format: str = "json", newline_delimiter: bool = False,
                 prefix: str = "", error_prefix: str = "", transform_function: str | None = None,
                 invoke: Invoke | None = None, transform_retries: int = 3, trace: Trace | None = None,
                 clock: Clock = time.time, calls_traced: bool = False, tags: dict[str, str] | None = None) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, not {compression!r}")
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if format == "parquet" and compression != "UNCOMPRESSED":
            raise ValueError("format parquet needs compression UNCOMPRESSED (Parquet compresses itself)")
        if not _SIZE["min"] <= buffer_mib <= _SIZE["max"]:
            raise ValueError(f"buffer_mib must be a number from {_SIZE['min']} to {_SIZE['max']}, not {buffer_mib}")
        if format == "parquet" and buffer_mib < CONVERSION_MIN_MIB:
            raise ValueError(f"format parquet needs buffer_mib of at least {CONVERSION_MIN_MIB}, not {buffer_mib}: "
                             f"{facts.FIREHOSE_CONVERSION_MIN_BUFFER_MIB.says}")
        if not _INTERVAL["min"] <= buffer_interval_s <= _INTERVAL["max"]:
            raise ValueError(f"buffer_interval_s must be a number from {_INTERVAL['min']} to {_INTERVAL['max']}, "
                             f"not {buffer_interval_s}")
        if transform_function and invoke is None:
            raise ValueError("a transform_function needs an invoke callable")
        if source_stream and kinesis is None:
            raise ValueError("a Kinesis source_stream needs a kinesis client")
        self.firehose, self.s3, self.kinesis = firehose, s3, kinesis
        self.name, self.bucket, self.role_arn, self.source_stream = name, bucket, role_arn, source_stream
        self.buffer_bytes, self.buffer_interval_s = int(buffer_mib * MIB), buffer_interval_s
        self.compression, self.format, self.newline_delimiter = compression, format, newline_delimiter
        self.prefix, self.error_prefix = prefix, error_prefix
        self.transform_function, self.invoke, self.transform_retries = transform_function, invoke, transform_retries
        self.trace, self.clock, self.calls_traced = trace or Trace(), clock, calls_traced
        self.region = firehose.meta.region_name
        self.account_id = role_arn.split(":")[4]
        self.arn = f"arn:aws:firehose:{self.region}:{self.account_id}:deliverystream/{name}"
        self.source_arn = (f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{source_stream}"
                           if source_stream else None)
        self.tags = dict(tags or {})
        self.counters = Counters()
        self.objects: list[str] = []          # S3 keys delivered, in order
        self._buffer: list[dict] = []
        self._buffered = 0
        self._iterators: dict[str, str] = {}

    @property
    def lambda_arn(self) -> str | None:
        if not self.transform_function:
            return None
        if self.transform_function.startswith("arn:"):
            return self.transform_function
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.transform_function}"

    # -- control plane -----------------------------------------------------------
    def create(self) -> str:
        """Register the delivery stream in moto with this configuration; returns its ARN."""
        processors = []
        if self.transform_function:
            processors.append({"Type": "Lambda", "Parameters": [
                {"ParameterName": "LambdaArn", "ParameterValue": self.lambda_arn},
                {"ParameterName": "NumberOfRetries", "ParameterValue": str(self.transform_retries)}]})
        if self.newline_delimiter:
            processors.append({"Type": "AppendDelimiterToRecord", "Parameters": []})
        destination = {
            "RoleARN": self.role_arn, "BucketARN": f"arn:aws:s3:::{self.bucket}", "Prefix": self.prefix,
            "ErrorOutputPrefix": self.error_prefix, "CompressionFormat": self.compression,
            "BufferingHints": {"SizeInMBs": max(1, round(self.buffer_bytes / MIB)),
                               "IntervalInSeconds": int(self.buffer_interval_s)},
            "ProcessingConfiguration": {"Enabled": bool(processors), "Processors": processors},
        }
        kwargs: dict[str, Any] = {"DeliveryStreamName": self.name, "ExtendedS3DestinationConfiguration": destination}
        if self.tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        if self.source_stream:
            kwargs["DeliveryStreamType"] = "KinesisStreamAsSource"
            kwargs["KinesisStreamSourceConfiguration"] = {"KinesisStreamARN": self.source_arn,
                                                          "RoleARN": self.role_arn}
        with self.call_span("firehose", "CreateDeliveryStream", self.name):
            arn = self.firehose.create_delivery_stream(**kwargs)["DeliveryStreamARN"]
        self.arn = arn
        if self.source_stream:
            for shard in self.kinesis.list_shards(StreamName=self.source_stream)["Shards"]:
                self._iterators[shard["ShardId"]] = self.kinesis.get_shard_iterator(
                    StreamName=self.source_stream, ShardId=shard["ShardId"],
                    ShardIteratorType="LATEST")["ShardIterator"]
        return arn

    # -- sources -----------------------------------------------------------------
    def put_record(self, data: bytes | str) -> dict:
        """Direct PUT of one record; returns ``{"RecordId", "Encrypted"}`` as PutRecord does."""
        self._direct_put_allowed("PutRecord")
        return {"RecordId": self._accept(data), "Encrypted": False}

    def put_record_batch(self, records: list[bytes | str]) -> dict:
        """Direct PUT of up to 500 records, as PutRecordBatch."""
        if len(records) > MAX_BATCH:
            raise ValueError(f"put_record_batch takes at most {MAX_BATCH} records, not {len(records)}")
        self._direct_put_allowed("PutRecordBatch")
        ids = [self._accept(r) for r in records]
        return {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": i} for i in ids]}

    def _direct_put_allowed(self, operation: str) -> None:
        if self.source_stream:   # the error AWS answers, as boto3 raises it
            raise aws_error("InvalidArgumentException",
                            "This operation is not permitted on KinesisStreamAsSource delivery stream type. "
                            f"Write to Kinesis stream {self.source_stream} instead.", operation)

    def poll_source(self, limit: int = 10000) -> int:
        """Read new records from the Kinesis source stream into the buffer; returns how many."""
        if not self.source_stream:
            raise ValueError(f"delivery stream {self.name} has no Kinesis source; use put_record")
        count = 0
        for sid, iterator in list(self._iterators.items()):
            with self.call_span("kinesis", "GetRecords", self.source_stream) as span:
                out = self.kinesis.get_records(ShardIterator=iterator, Limit=limit)
                span.payload_bytes = sum(len(r["Data"]) for r in out["Records"])
            self._iterators[sid] = out.get("NextShardIterator") or iterator
            for r in out["Records"]:
                meta = {"shardId": sid, "partitionKey": r["PartitionKey"], "sequenceNumber": r["SequenceNumber"],
                        "subsequenceNumber": "", "approximateArrivalTimestamp":
                        r["ApproximateArrivalTimestamp"].astimezone(timezone.utc).isoformat(timespec="milliseconds")
                        .replace("+00:00", "Z")}
                self._accept(r["Data"], kinesis_meta=meta)
                count += 1
        return count

    def _accept(self, data: bytes | str, kinesis_meta: dict | None = None) -> str:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if len(raw) > MAX_RECORD_BYTES:
            raise ValueError(f"a Firehose record holds at most {MAX_RECORD_BYTES} bytes, not {len(raw)}")
        self.tick()
        record_id = uuid.uuid4().hex
        self._buffer.append({"id": record_id, "data": raw, "arrival": self.clock(), "kinesis": kinesis_meta})
        self._buffered += len(raw)
        self.counters.add("records_in")
        self.counters.add("bytes_in", len(raw))
        if self._buffered >= self.buffer_bytes:
            self.flush("size")
        return record_id

    # -- buffering ---------------------------------------------------------------
    def tick(self) -> str | None:
        """Deliver the buffer if its oldest record is ``buffer_interval_s`` old; returns the key."""
        if self._buffer and self.clock() - self._buffer[0]["arrival"] >= self.buffer_interval_s:
            return self.flush("interval")
        return None

    def flush(self, reason: str = "forced") -> str | None:
        """Deliver what is buffered now; ``reason`` is counted (size, interval, forced)."""
        records, self._buffer, self._buffered = self._buffer, [], 0
        if not records:
            return None
        self.counters.add(f"flush_{reason}")
        with self.trace.span("firehose", "Deliver", self.name, detail={"reason": reason, "records": len(records)}):
            if self.transform_function:
                records = self._transform(records)
            if self.format == "parquet":
                records = self._drop_non_json(records)
            if not records:
                return None
            return self._write_object(records)

    # -- transform ---------------------------------------------------------------
    def _transform(self, records: list[dict]) -> list[dict]:
        out: list[dict] = []
        for chunk in _chunks(records, MIB):
            out.extend(self._transform_chunk(chunk))
        return out

    def _transform_chunk(self, chunk: list[dict]) -> list[dict]:
        event: dict[str, Any] = {"invocationId": str(uuid.uuid4()), "deliveryStreamArn": self.arn,
                                 "region": self.region, "records": []}
        if self.source_arn:
            event["sourceKinesisStreamArn"] = self.source_arn
        for r in chunk:
            rec = {"recordId": r["id"], "approximateArrivalTimestamp": int(r["arrival"] * 1000),
                   "data": base64.b64encode(r["data"]).decode("ascii")}
            if r["kinesis"]:
                rec["kinesisRecordMetadata"] = r["kinesis"]
            event["records"].append(rec)
        error = ("", "")
        for attempt in range(1, self.transform_retries + 2):
            self.counters.add("transform_invocations")
            with self.call_span("lambda", "Invoke", self.transform_function,
                                 detail={"source": "firehose", "records": len(chunk)}) as span:
                try:
                    response = invoke_payload(self.invoke, self.transform_function, event)
                except FunctionFailed as exc:
                    span.status, error = "error", ("Lambda.FunctionError", str(exc))
                    continue
            try:
                return self._apply_response(chunk, response, attempt)
            except ValueError as exc:
                error = ("Lambda.InvalidResponse", str(exc))
                break
        self._write_failed(chunk, "processing-failed", error[0], error[1], attempt)
        return []

    def _apply_response(self, chunk: list[dict], response: Any, attempt: int) -> list[dict]:
        """Check the response against the contract, then keep Ok records; raise ValueError if malformed."""
        if not isinstance(response, dict) or not isinstance(response.get("records"), list):
            raise ValueError("the response has no records list")
        by_id = {}
        for rec in response["records"]:
            rid = rec.get("recordId") if isinstance(rec, dict) else None
            if rid in by_id:
                raise ValueError(f"recordId {rid} returned twice")
            by_id[rid] = rec
        expected = {r["id"] for r in chunk}
        if set(by_id) != expected:
            raise ValueError(f"{len(expected - set(by_id))} recordIds missing and "
                             f"{len(set(by_id) - expected)} unknown in the response")
        kept, failed = [], []
        for r in chunk:
            rec = by_id[r["id"]]
            result = rec.get("result")
            if result not in RESULTS:
                raise ValueError(f"result must be one of {', '.join(RESULTS)}, not {result!r}")
            self.counters.add(f"transform_{result.lower()}")
            if result == "Ok":
                try:
                    kept.append({**r, "data": base64.b64decode(rec.get("data") or "", validate=True)})
                except ValueError as exc:
                    raise ValueError(f"data of record {r['id']} is not base64") from exc
            elif result == "ProcessingFailed":
                failed.append(r)
        if failed:
            self._write_failed(failed, "processing-failed", "Lambda.ProcessingFailed",
                               "The function returned ProcessingFailed for this record", attempt)
        return kept

    def _drop_non_json(self, records: list[dict]) -> list[dict]:
        good, bad = [], []
        for r in records:
            try:
                ok = isinstance(json.loads(r["data"]), dict)
            except ValueError:
                ok = False
            (good if ok else bad).append(r)
        if bad:
            self._write_failed(bad, "format-conversion-failed", "DataFormatConversion.MalformedData",
                               "The record is not a JSON object", 1)
        return good

    # -- S3 ------------------------------------------------------------------------
    def _write_failed(self, records: list[dict], folder: str, code: str, message: str, attempts: int) -> None:
        now = int(self.clock() * 1000)
        if folder == "processing-failed":      # the transform's error schema
            lines = [{"attemptsMade": attempts, "arrivalTimestamp": int(r["arrival"] * 1000), "errorCode": code,
                      "errorMessage": message, "attemptEndingTimestamp": now,
                      "rawData": base64.b64encode(r["data"]).decode("ascii"), "lambdaArn": self.lambda_arn}
                     for r in records]
        else:                                  # record format conversion's error schema
            lines = [{"attemptsMade": attempts, "arrivalTimestamp": int(r["arrival"] * 1000), "lastErrorCode": code,
                      "lastErrorMessage": message, "attemptEndingTimestamp": now,
                      "rawData": base64.b64encode(r["data"]).decode("ascii"),
                      "sequenceNumber": (r["kinesis"] or {}).get("sequenceNumber"),
                      "subSequenceNumber": None}
                     for r in records]
        body = "".join(json.dumps(line) + "\n" for line in lines).encode()
        key = self._key(f"{self.error_prefix}{folder}/", records[0]["arrival"], "")
        with self.call_span("s3", "PutObject", f"{self.bucket}/{key}", payload_bytes=len(body)):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        self.counters.add(f"records_{folder.replace('-', '_')}", len(records))

    def _write_object(self, records: list[dict]) -> str:
        if self.format == "parquet":
            body, suffix = _to_parquet([r["data"] for r in records]), ".parquet"
        else:
            body = b"".join(self._framed(r["data"]) for r in records)
            suffix = ""
            if self.compression == "GZIP":
                body, suffix = gzip.compress(body), ".gz"
        key = self._key(self.prefix, records[0]["arrival"], suffix)
        with self.call_span("s3", "PutObject", f"{self.bucket}/{key}", payload_bytes=len(body)):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        self.objects.append(key)
        self.counters.add("objects_delivered")
        self.counters.add("records_delivered", len(records))
        self.counters.add("bytes_delivered", len(body))
        return key

    def _framed(self, data: bytes) -> bytes:
        if self.newline_delimiter and not data.endswith(b"\n"):
            return data + b"\n"
        return data

    def _key(self, prefix: str, arrival: float, suffix: str) -> str:
        t = datetime.fromtimestamp(arrival, tz=timezone.utc)
        folder = _TIMESTAMP.sub(lambda m: _java_date(m.group(1), t), prefix)
        if folder == prefix:
            folder = f"{prefix}{t:%Y/%m/%d/%H}/"
        return f"{folder}{self.name}-1-{t:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{suffix}"


_TIMESTAMP = re.compile(r"!\{timestamp:([^}]*)\}")
_JAVA_DATE = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


def _java_date(pattern: str, t: datetime) -> str:
    """A Java DateTimeFormatter pattern of the letters Firehose prefixes use (yyyy-MM-dd...) applied to ``t``."""
    return t.strftime(re.sub("|".join(_JAVA_DATE), lambda m: _JAVA_DATE[m.group(0)], pattern))


def _chunks(records: list[dict], limit: int):
    chunk, size = [], 0
    for r in records:
        if chunk and size + len(r["data"]) > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(r)
        size += len(r["data"])
    if chunk:
        yield chunk


def _to_parquet(rows: list[bytes]) -> bytes:
    """JSON records -> one Snappy Parquet file, columns inferred by DuckDB."""
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.parquet")
        with open(src, "wb") as f:
            for row in rows:
                f.write(row.rstrip(b"\n") + b"\n")
        con = duckdb.connect()
        try:
            con.execute(f"COPY (SELECT * FROM read_json_auto('{src}', format='newline_delimited')) "
                        f"TO '{dst}' (FORMAT parquet, COMPRESSION snappy)")
        finally:
            con.close()
        with open(dst, "rb") as f:
            return f.read()
