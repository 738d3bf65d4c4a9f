"""Kinesis Data Streams -> Lambda, polled as Lambda's event source mapping does it.

moto stores Kinesis records and answers GetShardIterator/GetRecords, but it never
invokes a function for them. :class:`KinesisEventSource` is the poller: for every
shard it reads a batch with GetRecords, builds the event Lambda sends (see
``build_event``), calls ``invoke(function_name, event)``, and checkpoints the shard
only when the batch succeeded.

Behaviour, as documented for Lambda's Kinesis event source:
- ``starting_position`` TRIM_HORIZON (oldest record) or LATEST (records written
  after the source was created).
- A failed batch (the function raised or returned a FunctionError) is read again
  from the same position on the next poll: records of a shard stay in order.
- ``maximum_retry_attempts`` (-1, AWS's default, means retry until it succeeds):
  once exceeded the batch is discarded, its shard and sequence range are kept in
  ``discarded`` (what an on-failure destination would receive).
- ``report_batch_item_failures``: the response ``{"batchItemFailures":
  [{"itemIdentifier": <sequence number>}]}`` checkpoints up to the lowest failed
  record and retries from it. An empty list means success; an identifier that is
  missing or not in the batch fails the whole batch.

Differences from AWS: polling happens when ``poll()``/``drain()`` is called, not
on a timer; shard splits and merges are not followed (shards are listed once);
there is no batching window, bisecting or parallelization factor. The mapping is
not registered with moto's CreateEventSourceMapping: moto 5.2.5 would then try to
run the function in Docker inside every PutRecord, one record per event.
"""
from __future__ import annotations

import base64
from typing import Any

from app.runtime.streaming import Counters, FunctionFailed, Invoke, Traced, invoke_payload
from app.runtime.trace import Trace

POSITIONS = ("TRIM_HORIZON", "LATEST")


def record_to_event_record(record: dict, shard_id: str, *, stream_arn: str, region: str,
                           role_arn: str) -> dict:
    """One GetRecords record as an entry of Lambda's Kinesis event ``Records``."""
    arrival = record["ApproximateArrivalTimestamp"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(record["Data"]).decode("ascii"),
            "approximateArrivalTimestamp": arrival.timestamp() if hasattr(arrival, "timestamp") else float(arrival),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


class KinesisEventSource(Traced):
    """An event source mapping from one Kinesis stream to one function."""

    def __init__(self, kinesis, stream_name: str, function_name: str, invoke: Invoke, *,
                 role_arn: str, trace: Trace | None = None, batch_size: int = 100,
                 starting_position: str = "TRIM_HORIZON", report_batch_item_failures: bool = False,
                 maximum_retry_attempts: int = -1, calls_traced: bool = False) -> None:
        if starting_position not in POSITIONS:
            raise ValueError(f"starting_position must be one of {', '.join(POSITIONS)}, not {starting_position!r}")
        if not 1 <= batch_size <= 10000:
            raise ValueError(f"batch_size must be a number from 1 to 10000, not {batch_size}")
        self.kinesis, self.stream_name, self.function_name = kinesis, stream_name, function_name
        self.invoke, self.trace, self.role_arn = invoke, trace or Trace(), role_arn
        self.batch_size, self.report_batch_item_failures = batch_size, report_batch_item_failures
        self.maximum_retry_attempts, self.calls_traced = maximum_retry_attempts, calls_traced
        self.region = kinesis.meta.region_name
        summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
        self.stream_arn = summary["StreamARN"]
        self.counters = Counters()
        self.checkpoints: dict[str, str] = {}     # shard id -> last sequence number processed
        self.discarded: list[dict] = []
        self._attempts: dict[str, int] = {}
        self._iterators: dict[str, str] = {}
        for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
            sid = shard["ShardId"]
            self._iterators[sid] = kinesis.get_shard_iterator(
                StreamName=stream_name, ShardId=sid, ShardIteratorType=starting_position)["ShardIterator"]

    # -- polling -------------------------------------------------------------------
    def poll(self) -> int:
        """Read and deliver at most one batch per shard; returns the records delivered."""
        return sum(self._poll_shard(sid) for sid in list(self._iterators))

    def drain(self, max_polls: int = 1000) -> int:
        """Poll until the shards hold nothing new; returns records delivered.

        A batch that keeps failing with unlimited retries (AWS's default) would
        block its shard forever, as on AWS: ``drain`` then stops after the first
        round without progress and the next call tries again.
        """
        total = 0
        for _ in range(max_polls):
            read, done = self.counters["records_read"], self._progress()
            total += self.poll()
            if self.counters["records_read"] == read:
                break
            if self._progress() == done and self.maximum_retry_attempts < 0:
                break
        return total

    def _progress(self) -> int:
        return self.counters["records_delivered"] + self.counters["records_discarded"]

    def _poll_shard(self, sid: str) -> int:
        iterator = self._iterators[sid]
        with self.call_span("kinesis", "GetRecords", self.stream_name) as span:
            out = self.kinesis.get_records(ShardIterator=iterator, Limit=self.batch_size)
            span.payload_bytes = sum(len(r["Data"]) for r in out["Records"])
        records = out["Records"]
        if not records:
            self._iterators[sid] = out.get("NextShardIterator") or iterator
            return 0
        self.counters.add("records_read", len(records))
        event = {"Records": [record_to_event_record(r, sid, stream_arn=self.stream_arn, region=self.region,
                                                    role_arn=self.role_arn) for r in records]}
        failed_from = self._deliver(event, records)
        if failed_from is None:
            self._advance(sid, records[-1]["SequenceNumber"], out["NextShardIterator"])
            self.counters.add("records_delivered", len(records))
            return len(records)
        self._attempts[sid] = self._attempts.get(sid, 0) + 1
        retries = self._attempts[sid] - 1
        if 0 <= self.maximum_retry_attempts <= retries:
            self.discarded.append({"shardId": sid, "startSequenceNumber": records[failed_from]["SequenceNumber"],
                                   "endSequenceNumber": records[-1]["SequenceNumber"],
                                   "batchSize": len(records) - failed_from, "retryAttempts": retries})
            self.counters.add("records_discarded", len(records) - failed_from)
            self.counters.add("records_delivered", failed_from)   # those before the first failure
            self._advance(sid, records[-1]["SequenceNumber"], out["NextShardIterator"])
            return failed_from
        self.counters.add("batch_retries")
        if failed_from > 0:      # checkpoint what succeeded, re-read from the first failure
            self.checkpoints[sid] = records[failed_from - 1]["SequenceNumber"]
            self._iterators[sid] = self.kinesis.get_shard_iterator(
                StreamName=self.stream_name, ShardId=sid, ShardIteratorType="AT_SEQUENCE_NUMBER",
                StartingSequenceNumber=records[failed_from]["SequenceNumber"])["ShardIterator"]
            self.counters.add("records_delivered", failed_from)
        return failed_from

    def _advance(self, sid: str, sequence: str, next_iterator: str) -> None:
        self.checkpoints[sid] = sequence
        self._iterators[sid] = next_iterator
        self._attempts.pop(sid, None)

    def _deliver(self, event: dict, records: list[dict]) -> int | None:
        """Invoke once; None when the whole batch succeeded, else the index to retry from."""
        self.counters.add("invocations")
        with self.call_span("lambda", "Invoke", self.function_name,
                             detail={"source": "kinesis", "batch": len(records)}) as span:
            try:
                response = invoke_payload(self.invoke, self.function_name, event)
            except FunctionFailed as exc:
                span.status = "error"
                span.detail["error"] = str(exc)
                self.counters.add("function_errors")
                return 0
        if not self.report_batch_item_failures:
            return None
        return self._first_failure(response, records)

    def _first_failure(self, response: Any, records: list[dict]) -> int | None:
        if not isinstance(response, dict) or not response.get("batchItemFailures"):
            return None
        index = {r["SequenceNumber"]: i for i, r in enumerate(records)}
        positions = []
        for failure in response["batchItemFailures"]:
            ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if ident not in index:       # missing or unknown identifier: the whole batch failed
                self.counters.add("invalid_item_failures")
                return 0
            positions.append(index[ident])
        self.counters.add("item_failures_reported", len(positions))
        return min(positions)
