"""Big data ingestion, executed: device telemetry through IoT Core, Kinesis and Firehose to S3, Glue and Athena.

Deploy creates, in the run's own account: an IoT thing type and one thing per device, each
with its own active certificate carrying the fleet's policy; a Kinesis data stream; the
ingestion and reporting buckets; the rule's error queue and the S3-event queue (SQS); the
Glue table of the telemetry (partitioned by ``dt``, JSON or Parquet as ``format`` says); the
functions (the Firehose transform when ``firehose_transform`` is on, and the partition
registrar fed by the S3-event queue); the Firehose stream reading the Kinesis stream; and the
topic rule whose SQL selects telemetry (its WHERE clause leaves out sensor faults) and puts it
on the stream keyed by ``${device_id}``, with an SQS error action.

A device message the user gives (``message``, checked by :data:`UPLOAD` before anything is
published, see :mod:`patterns.iot_analytics.messages`) is published on the last day by a thing
of its own, registered with the fleet; the rule tags what it outputs with the thing, so the
message's fate is read back from S3, Athena and the error queue.

Drive replays three days of telemetry in compressed time: each day the devices publish for
``duration`` simulated minutes, ``rate`` messages a minute each. The run's streaming clock
moves forward between messages (no sleeping), so Firehose flushes by its ``buffer_interval``
(or its buffer size) as it would over those hours. A message without a device id makes the
rule's Kinesis action fail (an empty partition key) and goes to the error queue. Every
object Firehose writes raises an S3 event to SQS; the registrar adds its day's partition to
Glue. Then the report queries run on Athena (DuckDB behind the Athena API) over all days and
over one day, their result CSVs landing in the reporting bucket.

Emulated where moto has no data plane: the IoT rules engine, Firehose delivery, Athena's SQL
and Lambda execution (in-process). Checks: :mod:`patterns.iot_analytics.checks`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from app.core import facts
from app.core.uploads import Upload
from app.runtime.infra import Fleet, Queue
from app.runtime.pipeline import Pipeline, RunContext
from app.runtime.streaming import ManualClock
from patterns.iot_analytics import checks
from patterns.iot_analytics.messages import EXTENSIONS, DeviceMessage, check_message

DAYS = 3
PARTITIONS_TIMEOUT_S = 30     # the register-partitions function's timeout
DATABASE, TABLE = "telemetry_lake", "telemetry"
PREFIX = "telemetry/dt=!{timestamp:yyyy-MM-dd}/"
RESULTS_PREFIX = "athena-results/"
TOPIC = "fleet/{thing}/telemetry"
RULE_SQL = "SELECT *, topic(2) AS thing FROM 'fleet/+/telemetry' WHERE temperature > -40"
CONSUMERS = ("Amazon Quick Sight (formerly QuickSight) builds dashboards on the reporting bucket through an Athena "
             "data source; Amazon Redshift loads the results with COPY from S3, or queries the lake in place with "
             "Redshift Spectrum. Neither runs here: they read the objects this run leaves in the reporting bucket.")
FLEET_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}"},
    {"Effect": "Allow", "Action": "iot:Publish",
     "Resource": "arn:aws:iot:*:*:topic/fleet/${iot:Connection.Thing.ThingName}/telemetry"}]}
COLUMNS = {"device_id": "string", "thing": "string", "ts": "bigint", "temperature": "double",
           "humidity": "double", "battery": "int", "status": "string"}
DUMP_BYTES = facts.IOT_MAX_PAYLOAD_BYTES.value + 1024       # one oversized message per day
ENRICHED = {"temperature_f": "double", "quality": "string"}


def report_sql(day: str | None = None) -> str:
    """The report query, over all days or one: a day is the only value put into it, and only as a date."""
    if day is not None:
        try:
            date.fromisoformat(day if isinstance(day, str) and len(day) == 10 else "")
        except ValueError:
            raise ValueError(f"the report query takes a day as YYYY-MM-DD, not {str(day)[:40]!r}") from None
    where = f"WHERE dt = '{day}' " if day else ""
    return (f"SELECT dt, device_id, count(*) AS readings, round(avg(temperature), 2) AS avg_temperature, "
            f"max(temperature) AS max_temperature FROM {TABLE} {where}GROUP BY dt, device_id ORDER BY dt, device_id")


@dataclass
class Telemetry:
    """The simulated fleet's traffic: ``devices`` publishing ``rate`` messages a minute for ``duration``
    simulated minutes on each of the run's days."""

    devices: int = 4
    rate: int = 4
    duration: int = 6

    def __post_init__(self) -> None:
        for name, low, high in (("devices", 1, 50), ("rate", 1, 30), ("duration", 1, 60)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}")

    def describe(self) -> dict:
        return {"devices": self.devices, "messages_per_minute": self.rate, "minutes_per_day": self.duration,
                "days": DAYS, "messages": self.devices * self.rate * self.duration * DAYS}


@dataclass(frozen=True)
class Options:
    """The run's options (``build_pipeline``'s keyword arguments), read by the steps from the state."""

    telemetry: Telemetry = field(default_factory=Telemetry)
    message: DeviceMessage | None = None         # the user's device message, published on the last day


@dataclass
class State:
    """What the steps of an IoT analytics run share."""

    options: Options = field(default_factory=Options)

    fleet: Fleet | None = None
    stream: str = ""
    ingest: str = ""
    reporting: str = ""
    errors: Queue | None = None
    events: Queue | None = None
    firehose: Any = None
    rules: Any = None
    athena: Any = None
    clock: ManualClock | None = None
    buffer_mib: float = 0
    published: dict[str, int] = field(default_factory=dict)
    yours: str = ""                                          # the thing that publishes the user's message
    yours_sent: list[dict] = field(default_factory=list)     # what the rule did with each of its readings
    yours_athena: int | None = None                          # its readings Athena counts
    refused: list[dict] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    queries: list[dict] = field(default_factory=list)
    error_bodies: list[dict] = field(default_factory=list)
    delivered_rows: dict[str, list[dict]] = field(default_factory=dict)     # S3 key -> its records, read back

    def kinds(self) -> dict[str, int]:
        """What was published, by kind: the fleet's readings and the user's, as the rule took them."""
        out = dict(self.published)
        for sent in (s for s in self.yours_sent if s["kind"]):
            out[sent["kind"]] = out.get(sent["kind"], 0) + 1
        return out


def _message(n: int, device: str, day: int, ts: float) -> dict:
    """The n-th reading of a device on a day: calibrating readings, a sensor fault and a malformed one mixed in."""
    reading = {"device_id": device, "ts": int(ts * 1000), "temperature": round(18 + (n * 7 % 13) * 0.5 + day, 2),
               "humidity": round(40 + n * 3 % 20, 1), "battery": 100 - (n * 5 % 90), "status": "ok"}
    if n % 11 == 5:
        reading["status"] = "calibrating"
    if n % 37 == 17:
        reading["temperature"] = -999.0            # a sensor fault: the rule's WHERE leaves it out
    if n % 29 == 13:
        del reading["device_id"]                   # malformed: no device id to key the Kinesis record
    return reading


def _fields() -> tuple[dict[str, str], tuple[str, ...]]:
    """The fields of the devices' readings with their Glue column types, and those every reading has
    (over a cycle of the generator, which leaves the device id out of its malformed readings)."""
    sample = [_message(n, "sensor", 0, 0.0) for n in range(29 * 37)]
    fields = {k: COLUMNS[k] for k in COLUMNS if any(k in r for r in sample)}
    return fields, tuple(k for k in fields if all(k in r for r in sample))


READING_FIELDS, REQUIRED_FIELDS = _fields()


def example_reading() -> dict:
    """A reading as the devices send it, for the user to start from."""
    return _message(1, "my-sensor", 0, 1_767_254_400.0)


def upload_options(data: bytes, name: str, subject: str | None = None) -> dict[str, Any]:
    """The run options for a device message the user gives (the Run page, ``run --upload PATH``):
    checked first; MessageRejected says why it cannot be published."""
    return {"message": check_message(data, name, fields=READING_FIELDS, required=REQUIRED_FIELDS,
                                     max_bytes=facts.IOT_MAX_PAYLOAD_BYTES.value, subject=subject)}


PASTED = "pasted.json"      # the name pasted text is read under: one JSON object, or an array of them


def pasted_options(text: str) -> dict[str, Any]:
    """The run options for readings pasted on the Run page: the same check as a file's, its sentences
    speaking of "the pasted text" rather than of a file name the user never gave."""
    return upload_options(text.encode(), PASTED, subject="the pasted text")


UPLOAD = Upload("a device message of one or a few readings", EXTENSIONS, facts.IOT_MAX_PAYLOAD_BYTES.value,
                upload_options)


# -- deploy ----------------------------------------------------------------------------------------
def fleet(ctx: RunContext[State]) -> None:
    telemetry = ctx.state.options.telemetry
    message = ctx.state.options.message
    ctx.state.fleet = ctx.infra.iot_fleet("sensor", telemetry.devices + bool(message), policy=FLEET_POLICY)
    if message:
        ctx.state.yours = list(ctx.state.fleet.things)[-1]
    ctx.state.stream = ctx.infra.kinesis_stream("telemetry")


def storage(ctx: RunContext[State]) -> None:
    transform = ctx.values["firehose_transform"]
    st = ctx.state
    st.ingest, st.reporting = ctx.infra.bucket("ingest"), ctx.infra.bucket("reporting")
    # The function's queue: visibility six times its timeout, and a dead-letter queue after 5 receives.
    st.errors = ctx.infra.queue("rule-errors")
    st.events = ctx.infra.queue("object-created", dead_letter_after=facts.SQS_MAX_RECEIVE_COUNT.value["used"],
                                VisibilityTimeout=str(facts.SQS_LAMBDA_VISIBILITY_FACTOR.value * PARTITIONS_TIMEOUT_S))
    st.athena = ctx.streaming.athena(clock=ctx.clock)
    columns = {**COLUMNS, **(ENRICHED if transform else {})}
    st.athena.create_table(DATABASE, TABLE, f"s3://{st.ingest}/telemetry/", columns,
                           format=ctx.values["format"], partition_keys={"dt": "string"})


def functions(ctx: RunContext[State]) -> None:
    transform = ctx.values["firehose_transform"]
    if transform:
        ctx.lambdas.deploy("firehose-transform", handler="patterns.iot_analytics.handlers.firehose_transform",
                           memory_mb=256, timeout_s=60, description="Enriches or drops telemetry for Firehose")
    ctx.lambdas.deploy("register-partitions", handler="patterns.iot_analytics.handlers.register_partitions",
                       env={"GLUE_DATABASE": DATABASE, "GLUE_TABLE": TABLE}, timeout_s=PARTITIONS_TIMEOUT_S,
                       description="Adds each new object's day to the Glue table")
    ctx.routing.s3_to_sqs(ctx.state.ingest, ctx.state.events.arn, prefix="telemetry/")
    ctx.routing.sqs_to_lambda(ctx.state.events.arn, "register-partitions", report_batch_item_failures=True)


def firehose(ctx: RunContext[State]) -> None:
    transform = ctx.values["firehose_transform"]
    parquet = ctx.values["format"] == "parquet"
    interval = ctx.values["buffer_interval"]
    st = ctx.state
    st.buffer_mib = facts.FIREHOSE_BUFFER_MIB.value["default"]
    if parquet:
        st.buffer_mib = max(st.buffer_mib, facts.FIREHOSE_CONVERSION_MIN_BUFFER_MIB.value)
    start = (int(ctx.clock()) // 86400 - DAYS) * 86400 + 8 * 3600      # 08:00 UTC, three days ago
    st.clock = ManualClock(start)
    st.firehose = ctx.streaming.firehose(
        ctx.name("telemetry")[-64:], st.ingest, source_stream=st.stream,
        transform_function="firehose-transform" if transform else None, buffer_mib=st.buffer_mib,
        buffer_interval_s=interval, format=ctx.values["format"], newline_delimiter=not parquet, prefix=PREFIX,
        error_prefix="errors/", clock=st.clock)
    ctx.deployed.update(buffer_mb=st.buffer_mib)
    ctx.artifact("buffering", {
        "buffer_mib": st.buffer_mib, "buffer_interval_s": interval, "format": ctx.values["format"],
        "notice": (facts.FIREHOSE_CONVERSION_MIN_BUFFER_MIB if parquet else facts.FIREHOSE_BUFFER_MIB).says,
        "time": f"compressed: {DAYS} days of telemetry replayed on a simulated clock that moves between "
                f"messages, so a {interval} s buffer interval elapses without waiting"})


def rule(ctx: RunContext[State]) -> None:
    st = ctx.state
    st.rules = ctx.streaming.iot_rules(clock=st.clock)
    role = ctx.streaming.service_role("iot")
    st.rules.create_rule(ctx.name("telemetry_to_kinesis").replace("-", "_"), RULE_SQL, [
        {"kinesis": {"streamName": st.stream, "partitionKey": "${device_id}", "roleArn": role}}],
        error_action={"sqs": {"queueUrl": st.errors.url, "roleArn": role, "useBase64": False}})


# -- drive -----------------------------------------------------------------------------------------
def publish(ctx: RunContext[State]) -> None:
    telemetry = ctx.state.options.telemetry
    message = ctx.state.options.message
    interval = ctx.values["buffer_interval"]
    st, clock = ctx.state, ctx.state.clock
    counts = st.published
    things = [t for t in st.fleet.things if t != st.yours]
    step = 60.0 / telemetry.rate
    for day in range(DAYS):
        for slot in range(telemetry.duration * telemetry.rate):
            for i, thing in enumerate(things):
                n = slot * len(things) + i
                reading = _message(n, thing, day, clock())
                kind = ("malformed" if "device_id" not in reading else "sensor_fault"
                        if reading["temperature"] <= -40 else reading["status"])
                counts[kind] = counts.get(kind, 0) + 1
                st.rules.publish(TOPIC.format(thing=thing), reading, client_id=thing)
            if message and day == DAYS - 1 and slot == 0:
                _publish_yours(st, message)
            st.firehose.poll_source()
            clock.advance(step)
        dump = {"device_id": things[0], "ts": int(clock() * 1000), "diagnostics": "0" * DUMP_BYTES}
        try:                    # a diagnostics dump over the broker's payload limit: refused at the door
            st.rules.publish(TOPIC.format(thing=things[0]), dump, client_id=things[0])
        except ClientError as exc:
            st.refused.append({"device": things[0], "bytes": len(json.dumps(dump)),
                               "error": exc.response["Error"]["Code"]})
        st.days.append(_day(clock()))
        clock.advance(86400 - telemetry.duration * 60)                     # to the next morning
        st.firehose.tick()
    clock.advance(interval)
    st.firehose.tick()
    ctx.artifact("telemetry", {**telemetry.describe(), "published": dict(counts), "rule": RULE_SQL,
                               "refused_by_broker": st.refused, "yours": len(st.yours_sent),
                               "rule_stats": st.rules.stats(), "firehose": st.firehose.counters.as_dict()})


def partitions(ctx: RunContext[State]) -> None:
    ctx.routing.drain()


def report(ctx: RunContext[State]) -> None:
    message = ctx.state.options.message
    st = ctx.state
    output = f"s3://{st.reporting}/{RESULTS_PREFIX}"
    for label, sql in (("all days", report_sql()), (f"one day ({st.days[-1]})", report_sql(st.days[-1]))):
        qid = st.athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": DATABASE},
                                              ResultConfiguration={"OutputLocation": output})["QueryExecutionId"]
        execution = st.athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        rows = st.athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        header = [c["VarCharValue"] for c in rows[0]["Data"]]
        st.queries.append({"query": label, "sql": sql, "id": qid, "state": execution["Status"]["State"],
                           "output": execution["ResultConfiguration"]["OutputLocation"],
                           "bytes_scanned": execution["Statistics"]["DataScannedInBytes"],
                           "rows": [dict(zip(header, [c.get("VarCharValue") for c in r["Data"]]))
                                    for r in rows[1:]]})
    if message:
        sql = f"SELECT count(*) AS readings FROM {TABLE} WHERE thing = '{st.yours}'"    # a name of this run
        qid = st.athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": DATABASE},
                                              ResultConfiguration={"OutputLocation": output})["QueryExecutionId"]
        rows = st.athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        st.yours_athena = int(rows[1]["Data"][0]["VarCharValue"])
    ctx.artifact("athena", {"format": ctx.values["format"], "queries": st.queries})
    ctx.artifact("consumers", CONSUMERS)


def build_pipeline(values: dict[str, Any], telemetry: Telemetry | None = None,
                   message: DeviceMessage | None = None) -> Pipeline:
    options = Options(telemetry or Telemetry(), message)
    parquet, transform = values["format"] == "parquet", values["firehose_transform"]
    p = Pipeline("iot-analytics", values=values, state=partial(State, options=options),
                 faults=("lambda_error_rate", "lambda_throttle_rate", "s3_event_delay_s"),
                 recover_before="Run the report queries on Athena", live_unsupported=(
        "its topic rule, Firehose delivery and Athena queries run on the embedded backend's emulations, which have "
        "no meaning against AWS"))

    p.add("deploy", "Register the device fleet", "iot", fleet)
    p.add("deploy", "Create the buckets, queues and Glue table", "glue", storage)
    p.add("deploy", "Deploy the functions and wire S3 to SQS to Lambda", "lambda", functions)
    p.add("deploy", "Create the Firehose stream from Kinesis", "firehose", firehose)
    p.add("deploy", "Create the topic rule with its error action", "iot", rule)
    p.add("drive", "Devices publish three days of telemetry", "iot", publish, (
          "publish", "rule", "error_action", "deliver", "land") + (("transform",) if transform else ()) + (
          ("schema",) if parquet else ()))
    p.add("drive", "S3 events register the partitions in Glue", "sqs", partitions, ("s3_event", "consume", "register"))
    p.add("drive", "Run the report queries on Athena", "athena", report, ("scan", "catalog", "results"))
    checks.add_checks(p, options)
    return p


def _publish_yours(st: State, message: DeviceMessage) -> None:
    """Publish the user's readings from their thing; keep what the rule did with each."""
    topic = TOPIC.format(thing=st.yours)
    for n, (reading, raw) in enumerate(zip(message.readings, message.payloads()), 1):
        errors = len(st.rules.errors)
        try:
            matched = st.rules.publish(topic, raw, client_id=st.yours)
        except ClientError as exc:
            st.yours_sent.append({"reading": n, "rule": "refused by the broker", "kind": None,
                                  "error": exc.response["Error"]["Code"]})
            continue
        failed = st.rules.errors[errors:]
        if not matched:
            rule, kind = "left out by the WHERE clause", "sensor_fault"
        elif failed:
            rule, kind = "Kinesis action failed: error action", "malformed"
        else:
            rule, kind = "put on the Kinesis stream", "calibrating" if reading["status"] == "calibrating" else "ok"
        st.yours_sent.append({"reading": n, "rule": rule, "kind": kind,
                              "error": failed[0]["error"][:300] if failed else ""})


def _day(t: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d")
