"""The IoT analytics run's checks, each read back from the backend with its figures in ``detail``."""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
from typing import Any

from app.core.facts import IOT_MAX_PAYLOAD_BYTES
from app.runtime.pipeline import Check, Pipeline, RunContext


def _objects(ctx: RunContext, bucket: str, prefix: str) -> list[dict]:
    out = []
    for page in ctx.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += page.get("Contents", [])
    return out


def _rows(ctx: RunContext, bucket: str, key: str) -> list[dict]:
    """The records of one delivered object (JSON lines, or Parquet read with DuckDB)."""
    body = ctx.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    if key.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(body)).to_pylist()
    if key.endswith(".gz"):
        body = gzip.decompress(body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def v_fleet(ctx: RunContext):
    iot, fleet = ctx.client("iot"), ctx.state.fleet
    typed = {t["thingName"] for t in iot.list_things(thingTypeName=fleet.thing_type)["things"]}
    active = attached = 0
    for thing, arn in fleet.things.items():
        principals = iot.list_thing_principals(thingName=thing)["principals"]
        cert = iot.describe_certificate(certificateId=arn.rsplit("/", 1)[1])["certificateDescription"]
        active += arn in principals and cert["status"] == "ACTIVE"
        attached += fleet.policy in [x["policyName"] for x in iot.list_attached_policies(target=arn)["policies"]]
    n = len(fleet.things)
    return Check("each device is a thing of the thing type with an active certificate and the fleet policy",
                 typed == set(fleet.things) and active == attached == n,
                 f"{len(typed)} things of type {fleet.thing_type}, {active}/{n} active certificates attached, "
                 f"policy {fleet.policy} on {attached}/{n}")


def v_rule(ctx: RunContext):
    st = ctx.state
    rule = next(iter(st.rules.stats()), "")
    stored = ctx.client("iot").get_topic_rule(ruleName=rule)["rule"]
    sqs = ctx.client("sqs")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=st.errors.url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        bodies += [json.loads(m["Body"]) for m in got]
    st.error_bodies = bodies
    malformed = st.kinds().get("malformed", 0)
    fleet_bodies = [b for b in bodies if b.get("thing") != st.yours]
    ctx.artifact("error_queue", bodies)
    counts = st.rules.stats()[rule]
    return [
        Check("oversized messages are refused by the broker and reach no rule",
              len(st.refused) == len(st.days) == st.rules.refused
              and all(r["error"] == "RequestEntityTooLargeException" for r in st.refused),
              f"{len(st.refused)} diagnostics dumps of {st.refused[0]['bytes']:,} bytes refused with "
              f"{st.refused[0]['error']} (limit {IOT_MAX_PAYLOAD_BYTES.value:,} bytes)" if st.refused
              else "no oversized message was refused"),
        Check("the topic rule reads back with its WHERE clause, Kinesis action and SQS error action",
              "WHERE" in stored["sql"] and "kinesis" in stored["actions"][0] and "sqs" in stored["errorAction"],
              f"sql {stored['sql']!r}; action kinesis to {stored['actions'][0]['kinesis']['streamName']}; "
              f"error action sqs"),
        Check("malformed messages reach the rule's error queue, and only they",
              len(bodies) == malformed == counts.get("errors", 0)
              and all("device_id" not in b for b in fleet_bodies),
              f"{malformed} published without a usable device id, {counts.get('errors', 0)} Kinesis action "
              f"errors, {len(bodies)} messages read back from the error queue"
              + (f" ({len(bodies) - len(fleet_bodies)} of them yours)" if st.yours else "")),
    ]


def v_firehose(ctx: RunContext):
    transform = ctx.values["firehose_transform"]
    parquet = ctx.values["format"] == "parquet"
    interval = ctx.values["buffer_interval"]
    st = ctx.state
    objs = _objects(ctx, st.ingest, "telemetry/")
    rows_by_key = {o["Key"]: _rows(ctx, st.ingest, o["Key"]) for o in objs}
    st.delivered_rows = rows_by_key
    fleet = [[r for r in rows if r.get("thing") != st.yours] for rows in rows_by_key.values()]
    spans = [(max(r["ts"] for r in rows) - min(r["ts"] for r in rows)) / 1000 for rows in fleet if rows]
    c = st.firehose.counters.as_dict()
    laid_out = all(re.match(r"telemetry/dt=\d{4}-\d{2}-\d{2}/", k) for k in rows_by_key)
    kinds = all(k.endswith(".parquet") for k in rows_by_key) if parquet else \
        all(not k.endswith(".parquet") for k in rows_by_key)
    out = [
        Check(f"objects hold at most {interval} s of records each (buffer interval, compressed time)",
              bool(objs) and max(spans) < interval,
              f"{len(objs)} objects; widest spans {max(spans, default=0):.0f} s of device time; flushes: "
              f"{c.get('flush_interval', 0)} by interval, {c.get('flush_size', 0)} by size "
              f"(buffer {st.buffer_mib:g} MiB)"),
        Check("objects land under date partitions in the chosen format", laid_out and kinds,
              f"{len(st.days)} days: " + ", ".join(sorted({k.split('/')[1] for k in rows_by_key}))
              + f"; {'Parquet' if parquet else 'JSON lines'}"),
    ]
    delivered = [r for rows in rows_by_key.values() for r in rows]
    kinds = st.kinds()
    calibrating = kinds.get("calibrating", 0)
    if transform:
        out.append(Check("the transform enriched every record and dropped the calibrating readings",
                         c.get("transform_dropped", 0) == calibrating and all("temperature_f" in r for r in delivered)
                         and not any(r["status"] == "calibrating" for r in delivered),
                         f"{c.get('transform_invocations', 0)} invocations: {c.get('transform_ok', 0)} Ok, "
                         f"{c.get('transform_dropped', 0)} Dropped ({calibrating} calibrating published), "
                         f"{c.get('transform_processingfailed', 0)} ProcessingFailed"))
    else:
        out.append(Check("without a transform the records arrive as the devices sent them",
                         not c.get("transform_invocations") and sum(r["status"] == "calibrating" for r in delivered)
                         == calibrating, f"{calibrating} calibrating readings delivered as sent, no Lambda"))
    pub = sum(kinds.values())
    filtered = kinds.get("sensor_fault", 0)
    errors = kinds.get("malformed", 0)
    dropped = c.get("transform_dropped", 0)
    failed = c.get("records_processing_failed", 0) + c.get("records_format_conversion_failed", 0)
    ledger = {"sent_by_devices": pub + len(st.refused), "refused_by_broker": len(st.refused), "published": pub, "delivered_to_s3": len(delivered), "dropped_by_transform": dropped,
              "error_action": errors, "left_out_by_where": filtered, "failed_in_firehose": failed,
              "yours": len(st.yours_sent)}
    ctx.artifact("ledger", ledger)
    out.append(Check("every record is accounted for",
                     pub == len(delivered) + dropped + errors + filtered + failed,
                     f"sent {pub + len(st.refused)}, {len(st.refused)} refused by the broker; "
                     f"published {pub} = delivered {len(delivered)} + dropped by the transform {dropped} + "
                     f"error action {errors} + left out by the rule's WHERE {filtered} + failed in Firehose {failed}"))
    return out


def v_glue(ctx: RunContext):
    from patterns.iot_analytics.pipeline import DATABASE, TABLE

    glue = ctx.client("glue")
    parts = glue.get_partitions(DatabaseName=DATABASE, TableName=TABLE)["Partitions"]
    table = glue.get_table(DatabaseName=DATABASE, Name=TABLE)["Table"]
    days = sorted(p["Values"][0] for p in parts)
    return Check("the S3 events registered one Glue partition per day", days == sorted(ctx.state.days)
                 and all(p["StorageDescriptor"]["Location"].endswith(f"dt={p['Values'][0]}/") for p in parts),
                 f"table {DATABASE}.{TABLE} ({table['StorageDescriptor']['SerdeInfo']['SerializationLibrary']}) "
                 f"partitions read back: {', '.join(days)}")


def v_athena(ctx: RunContext):
    parquet = ctx.values["format"] == "parquet"
    st = ctx.state
    s3 = ctx.client("s3")
    allq, day = st.queries
    bucket, key = re.match(r"s3://([^/]+)/(.*)$", allq["output"]).groups()
    # parsed as CSV: a quoted value may hold a line break (a device id with a newline)
    table = list(csv.reader(io.StringIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode(),
                                        newline="")))
    header, results = (table[0], table[1:]) if table else ([], [])
    readings = sum(int(r["readings"]) for r in allq["rows"])
    delivered = ctx.artifacts["ledger"]["delivered_to_s3"]
    json_bytes = st.firehose.counters["bytes_in"]
    out = [
        Check("the report's result CSV is in the reporting bucket at Athena's path",
              key.endswith(f"{allq['id']}.csv") and header[:2] == ["dt", "device_id"]
              and [r[1:2] for r in results] == [[r["device_id"]] for r in allq["rows"]],
              f"s3://{bucket}/{key}: {len(results)} rows; counts {readings} readings of "
              f"{delivered} delivered"),
        Check("a query on one day scans less than a query on all days (partition pruning)",
              0 < day["bytes_scanned"] < allq["bytes_scanned"] and readings == delivered,
              f"all days {allq['bytes_scanned']:,} bytes, one day {day['bytes_scanned']:,} bytes scanned"),
    ]
    if parquet:
        out.append(Check("Parquet scans fewer bytes than the same records as JSON",
                         allq["bytes_scanned"] < json_bytes,
                         f"Parquet, all days: {allq['bytes_scanned']:,} bytes scanned; the records as JSON "
                         f"Firehose received: {json_bytes:,} bytes"))
    return out


def v_yours(ctx: RunContext):
    message = ctx.state.options.message
    transform = ctx.values["firehose_transform"]
    return _your_fate(ctx, message, transform)


def add_checks(p: Pipeline, options: Any) -> None:
    p.add("verify", "The fleet is registered with certificates and a policy", "iot", v_fleet)
    p.add("verify", "The rule routes telemetry and its errors", "iot", v_rule)
    p.add("verify", "Firehose buffered, transformed and laid out the objects", "firehose", v_firehose)
    p.add("verify", "Glue holds a partition per day", "glue", v_glue)
    p.add("verify", "Athena answered the reports", "athena", v_athena)
    if options.message is not None:
        p.add("verify", "Your device message's fate is read back", "iot", v_yours)


def _claim(found: list[tuple[str, dict]], reading: dict) -> str | None:
    """Take the first of ``found`` that carries every field of ``reading``; its place, or None."""
    for i, (where, row) in enumerate(found):
        if all(row.get(k) == v for k, v in reading.items()):
            del found[i]
            return where
    return None


def _your_fate(ctx: RunContext, message, transform: bool) -> Check:
    """Where each of the user's readings ended, from S3, the error queue and Athena; and whether that is
    what the rule did with it when it was published."""
    st = ctx.state
    delivered = [(f"s3://{st.ingest}/{key}", r) for key, rows in st.delivered_rows.items()       # read from S3
                 for r in rows if r.get("thing") == st.yours]
    queued = [(f"error queue {st.errors.url.rsplit('/', 1)[-1]}", b) for b in st.error_bodies
              if b.get("thing") == st.yours]
    out, agree = [], True
    for sent, reading in zip(st.yours_sent, message.readings):
        where = _claim(delivered, reading)
        if where is not None:
            fate = f"delivered to S3 ({where})"
            expected = sent["kind"] not in ("malformed", "sensor_fault", None) and not (
                transform and sent["kind"] == "calibrating")
        elif (where := _claim(queued, reading)) is not None:
            fate, expected = f"sent to the error action ({where})", sent["kind"] == "malformed"
        elif sent["kind"] == "sensor_fault":
            fate, expected = "left out by the rule's WHERE clause (in neither S3 nor the error queue)", True
        elif transform and sent["kind"] == "calibrating":
            fate, expected = "dropped by the Firehose transform, as a calibrating reading (not in S3)", True
        else:
            fate, expected = "found nowhere: in neither S3 nor the error queue", False
        agree &= expected
        out.append({"reading": sent["reading"], "device_id": reading.get("device_id", "(none)"),
                    "temperature": reading["temperature"], "status": reading["status"], "rule": sent["rule"],
                    "read_back": fate, "error": sent["error"]})
    in_s3 = sum(r["read_back"].startswith("delivered") for r in out)
    ctx.artifact("your_message", {"name": message.name, "thing": st.yours, "readings": out,
                                  "delivered": in_s3, "athena_counts": st.yours_athena})
    return Check("your device message's fate, read back, is what the rule did with it",
                 agree and not delivered and not queued and st.yours_athena == in_s3 and len(out) == len(
                     message.readings),
                 f"{message.name} from thing {st.yours}: "
                 + "; ".join(f"reading {r['reading']} {r['read_back']}" for r in out)
                 + f"; Athena counts {st.yours_athena} of its readings in the lake")
