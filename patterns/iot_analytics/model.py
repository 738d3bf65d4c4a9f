"""Latency and cost model of the big-data ingestion case (iot-analytics).

Devices publish telemetry to IoT Core; a rule puts each message on a Kinesis data
stream; Firehose reads the stream, buffers (``buffer_interval`` seconds or the buffer
size, whichever fills first), optionally transforms batches with Lambda, optionally
converts to Parquet (``format``) and writes objects to the ingestion bucket. Each new
object raises an S3 event to SQS, worked by a Lambda function; reports are Athena
queries over the bucket, billed by the bytes they scan: partition pruning keeps the
days asked for, Parquet shrinks the data and lets Athena read only the needed columns.
"""
from __future__ import annotations

import math

from app.core.facts import FIREHOSE_CONVERSION_MIN_BUFFER_MIB
from app.core.params import Param
from app.engine.books import Dist, const
from app.engine.costs import HOURS_PER_MONTH, SECONDS_PER_MONTH, CostSheet
from app.engine.paths import Hop, RequestClass
from app.engine.run import BreakEven, Context, Plan, WhatIf
from app.engine.services import athena_scan_bytes, bill_lambda, firehose_buffer, firehose_wait

HOME = "us-east-1"
TRANSFORM_BATCH_MB = 1.0      # data Firehose hands to the transform per invocation (assumption, its default buffer)

RULE_ACTIONS = 1     # the topic rule has one action: put the message on the Kinesis stream

PARAMS = (
    Param("devices", "Devices", "int", 10_000, "Devices sending telemetry.", min=10, max=1_000_000, step=10,
          unit="devices"),
    Param("message_interval_s", "Seconds between messages", "float", 60.0, "How often each device reports.",
          min=1.0, max=3600.0, step=1.0, unit="s"),
    Param("message_kb", "Message size", "float", 0.5, "Size of one telemetry message (JSON).", min=0.1, max=128.0,
          step=0.1, unit="KB"),
    Param("buffer_mb", "Firehose buffer size", "float", 5.0, "Buffer size hint (1 to 128 MiB, default 5).",
          min=1.0, max=128.0, step=1.0, unit="MiB"),
    Param("transform_ms", "Transform time per batch", "float", 200.0, "Lambda time to transform one batch.",
          min=1.0, max=60_000.0, step=1.0, unit="ms"),
    Param("queries_per_month", "Athena queries per month", "int", 300, "Report queries run.", min=1,
          max=1_000_000, step=1, unit="queries/month"),
    Param("days_queried", "Days a query covers", "float", 1.0, "Time range a report reads.", min=1.0, max=365.0,
          step=1.0, unit="days"),
    Param("days_kept", "Days of data kept", "float", 90.0, "Retention in the ingestion bucket.", min=1.0, max=3650.0,
          step=1.0, unit="days"),
    Param("partitioned", "Partitioned by day", "bool", True,
          "Objects are laid out under dt=YYYY-MM-DD/ prefixes and queries filter on dt."),
    Param("parquet_ratio", "Parquet size / JSON size", "float", 0.2,
          "Compressed columnar size relative to JSON (typically 0.1-0.3).", min=0.02, max=1.0, step=0.01, unit="ratio"),
    Param("column_fraction", "Columns a query reads", "float", 0.25, "Share of the columns a report uses.",
          min=0.05, max=1.0, step=0.05, unit="share"),
)

# The option the What if page compares first (B = A with this option changed).
WHATIF = WhatIf("format", on="parquet", off="json")

BREAK_EVEN = (
    BreakEven("format", "queries_per_month", "Parquet conversion against Athena bytes scanned",
              "Athena data scanned (and S3 storage)", on="parquet", off="json"),
)


def build(v: dict, ctx: Context) -> Plan:
    lat, prices = ctx.latency, ctx.prices
    msgs = v["devices"] * SECONDS_PER_MONTH / v["message_interval_s"]
    rate = msgs / SECONDS_PER_MONTH
    kb = v["message_kb"]
    mib_s = rate * kb / 1024.0
    ingest_gb = msgs * kb / 1e6
    parquet = v["format"] == "parquet"
    buffer_mb, raised = v["buffer_mb"], ""
    if parquet and buffer_mb < FIREHOSE_CONVERSION_MIN_BUFFER_MIB.value:
        buffer_mb = float(FIREHOSE_CONVERSION_MIN_BUFFER_MIB.value)
        raised = (f"Buffer size raised from {v['buffer_mb']:g} to {FIREHOSE_CONVERSION_MIN_BUFFER_MIB.text}: "
                  f"{FIREHOSE_CONVERSION_MIN_BUFFER_MIB.says}")
    every_s, by = firehose_buffer(v["buffer_interval"], buffer_mb, mib_s)
    objects = SECONDS_PER_MONTH / every_s
    stored_gb_month = ingest_gb * (v["parquet_ratio"] if parquet else 1.0)
    kept_gb = stored_gb_month * v["days_kept"] / 30.4

    wait = firehose_wait(v["buffer_interval"], buffer_mb, mib_s, lat)
    ingest = RequestClass("telemetry to S3", 1.0, group="ingest")
    ingest.add(Hop("Device - IoT Core", "Network", lat.user_to_edge()))
    ingest.add(Hop("IoT Core publish and rule", "AWS IoT Core", lat.op("iot.publish")))
    ingest.add(Hop("Kinesis PutRecord", "Amazon Kinesis Data Streams", lat.op("kinesis.PutRecord")))
    ingest.add(Hop("Kinesis to Firehose", "Amazon Kinesis Data Streams", lat.op("kinesis.propagation")))
    ingest.add(Hop("Firehose buffer", "Amazon Data Firehose", wait))
    if v["firehose_transform"]:
        ingest.add(Hop("Lambda transform", "AWS Lambda", const(v["transform_ms"], "transform time (workload input)",
                                                              assumption=True)))
    if parquet:
        ingest.add(Hop("Parquet conversion", "Amazon Data Firehose", const(500.0, "No AWS figure for conversion time",
                                                                          assumption=True)))
    ingest.add(Hop("S3 PutObject", "Amazon S3", lat.op("s3.PutObject")))

    scan_gb = athena_scan_bytes(ingest_gb * v["days_kept"] / 30.4, fmt=v["format"], partitioned=v["partitioned"],
                                days_queried=v["days_queried"], days_kept=v["days_kept"],
                                parquet_ratio=v["parquet_ratio"], column_fraction=v["column_fraction"])
    billed_gb = max(scan_gb, 0.01)   # 10 MB minimum per query
    rate_mb = lat.value("athena_scan_rate_mb_per_s")
    q = lat.op("athena.query")
    scan_ms = scan_gb * 1000 / rate_mb["value"] * 1000
    query = RequestClass("Athena report query", 1.0, [
        Hop("Athena query", "Amazon Athena", Dist(q.p50 + scan_ms, q.p90 + scan_ms, f"{q.source}; plus "
            f"{scan_gb:.3g} GB at {rate_mb['value']:g} MB/s ({rate_mb['source']})", "", True, "athena"))])

    sheet = CostSheet(prices)
    sheet.add("iot.messages", msgs * math.ceil(kb / 5.0), note="metered in 5 KB increments")
    sheet.add("iot.rules", msgs)
    sheet.add("iot.actions", msgs * RULE_ACTIONS, note=f"{RULE_ACTIONS} action per rule triggered (to Kinesis)")
    sheet.add("iot.connectivity", v["devices"] * SECONDS_PER_MONTH / 60.0, note="devices stay connected all month")
    shards = max(1, math.ceil(max(mib_s, rate / 1000.0)))
    sheet.add("kinesis.shard_hour", shards * HOURS_PER_MONTH, note=f"{shards} shard(s): 1 MB/s or 1,000 records/s each")
    sheet.add("kinesis.put_units", msgs * math.ceil(kb / 25.0), note="25 KB payload units")
    sheet.add("firehose.ingest.kinesis", msgs * max(5.0, math.ceil(kb / 5.0) * 5.0) / 1e6,
              note="read from the Kinesis stream; each record rounded up to 5 KB")
    if parquet:
        sheet.add("firehose.format_conversion", ingest_gb)
    if v["firehose_transform"]:
        batches = ingest_gb * 1000 / TRANSFORM_BATCH_MB
        bill_lambda(sheet, batches, duration_ms=v["transform_ms"], memory_mb=256, p_cold=0.01, book=lat,
                    label="Firehose transform")
    sheet.add("s3.put", objects, item="PUT requests (Firehose deliveries)")
    sheet.add("s3.storage", kept_gb, note=f"{v['days_kept']:g} days kept")
    sheet.add("sqs.requests", 3 * objects, note="send, receive and delete per S3 event")
    bill_lambda(sheet, objects, duration_ms=100, memory_mb=128, p_cold=0.5, book=lat, label="S3 event worker")
    sheet.add("athena.scanned", v["queries_per_month"] * billed_gb / 1e3,
              note=f"{scan_gb:.3g} GB per query, 10 MB minimum")
    sheet.add("s3.put", v["queries_per_month"], item="PUT requests (Athena results)")

    notes = [f"Firehose delivers every {every_s:.0f} s (the buffer {by} is reached first).",
             "Parquet size ratio and column share are inputs (typical values, not measured).",
             "Free tiers are not applied."]
    if raised:
        notes.insert(0, raised)
    facts = {"firehose_buffer_mib": buffer_mb, "messages_per_month": msgs, "ingest_gb_per_month": ingest_gb,
             "firehose_delivery_every_s": every_s,
             "firehose_flush_trigger": by, "s3_objects_per_month": objects, "kinesis_shards": shards,
             "athena_gb_scanned_per_query": scan_gb, "stored_gb": kept_gb}
    return Plan([ingest], sheet, typical=ingest.name, segments=[query], facts=facts, notes=notes)
