"""Questions the engine answers for the big-data ingestion case: numbers drawn, the model decides.

- ``format-cost``: a fleet and a reporting load are drawn (devices, message rate and size, queries a month,
  days a query covers, days kept, the share of columns read, how much Parquet shrinks the data); which
  format in the ingestion bucket costs less a month, JSON or Parquet converted by Firehose, and by how much.
  Distractors: the other format cheaper by the same amount, the saving on Athena scans alone (without the
  conversion fee and the storage), and the saving off by a factor of ten.
- ``delivery-objects``: a fleet and the Firehose buffering hints are drawn, with the format; how many objects
  Firehose writes to the ingestion bucket in a month. Distractors: one object per interval when the size
  fills first, the configured size when Parquet conversion raises it to its minimum, one object per
  buffer-size fill when the interval ends first, one a minute, one per message, ten times the answer.
- ``stream-shards``: a fleet is drawn; the fewest shards the Kinesis data stream needs for its writes.
  Distractors: the count by bytes alone or by records alone, the count at the 2 MB/s a shard can be read,
  and twice the answer.

Each drill's evidence shows the drawn inputs, the modelled figures and the published prices or limits they
rest on. Pure Python: no streamlit.
"""
from __future__ import annotations

import math
import random
from typing import Any

from app.core import format as fmt
from app.core.cases import Case
from app.core.facts import FIREHOSE_BUFFER_MIB, FIREHOSE_CONVERSION_MIN_BUFFER_MIB
from app.engine.books import load_price_book
from app.engine.costs import SECONDS_PER_MONTH
from app.engine.drills import Drill, Evidence, Template, first_distinct, lettered
from app.engine.run import Plan, build, resolve_values

DEVICES = (500, 2_000, 10_000, 50_000, 200_000)
MESSAGE_INTERVALS_S = (5.0, 10.0, 30.0, 60.0, 300.0)
MESSAGE_KB = (0.2, 0.5, 1.0, 2.0, 4.0)
BUFFER_INTERVALS_S = (60, 120, 300, 600, 900)
BUFFER_MB = (1.0, 5.0, 16.0, 32.0, 64.0, 128.0)
SAA = "SAA-C03"


# -- shared pieces --------------------------------------------------------------------------------
def _fleet(rng: random.Random, devices=DEVICES, intervals=MESSAGE_INTERVALS_S, sizes=MESSAGE_KB) -> dict[str, Any]:
    return {"devices": rng.choice(devices), "message_interval_s": rng.choice(intervals),
            "message_kb": rng.choice(sizes)}


def _plan(case: Case, given: dict[str, Any]) -> tuple[dict[str, Any], Plan]:
    values = resolve_values(case, given)
    plan, _ = build(case, values)
    return values, plan


def _toggles(case: Case, values: dict[str, Any]) -> dict[str, Any]:
    return {t.key: values[t.key] for t in case.toggles}


def _days(n: float) -> str:
    return "1 day" if n == 1 else f"{n:g} days"


def _athena_usd(plan: Plan) -> float:
    return plan.costs.by_service().get("Amazon Athena", 0.0)




def _fleet_evidence(values: dict[str, Any]) -> list[Evidence]:
    return [Evidence("Devices", fmt.count(values["devices"], "devices"), "input"),
            Evidence("One message from each device every", fmt.duration(values["message_interval_s"] * 1000),
                     "input"),
            Evidence("Message size", fmt.number(values["message_kb"], "KB"), "input")]


def _fleet_text(values: dict[str, Any]) -> str:
    return (f"{fmt.count(values['devices'])} devices each publish a {fmt.number(values['message_kb'])} KB reading "
            f"every {fmt.duration(values['message_interval_s'] * 1000)} through AWS IoT Core to a Kinesis data "
            f"stream")


# -- format-cost ----------------------------------------------------------------------------------
def _format_cost(case: Case, rng: random.Random, seed: int) -> Drill:
    kept = float(rng.choice((1, 3, 7, 30, 90, 365)))
    workload = {**_fleet(rng), "queries_per_month": rng.choice((3, 30, 300, 3_000, 30_000)),
                "days_queried": min(kept, float(rng.choice((1, 7, 30)))), "days_kept": kept,
                "column_fraction": rng.choice((0.1, 0.25, 0.5, 1.0)),
                "parquet_ratio": rng.choice((0.1, 0.2, 0.3, 0.5)), "buffer_interval": rng.choice(BUFFER_INTERVALS_S)}
    json_v, json_plan = _plan(case, {**workload, "format": "json"})
    pq_v, pq_plan = _plan(case, {**workload, "format": "parquet"})
    json_usd, pq_usd = json_plan.costs.total, pq_plan.costs.total
    saving = abs(json_usd - pq_usd)
    athena_saving = abs(_athena_usd(json_plan) - _athena_usd(pq_plan))
    cheaper, dearer = ("Parquet", "JSON") if pq_usd < json_usd else ("JSON", "Parquet")
    figures = f"the model prices JSON at {fmt.usd(json_usd)} and Parquet at {fmt.usd(pq_usd)} a month"

    def say(fmt_name: str, usd: float) -> str:
        return f"{fmt_name}, about {fmt.usd(usd)} a month less"

    right = (say(cheaper, saving), f"Right: {figures}; the difference is the Athena scans and the storage saved "
                                   f"against the Firehose conversion fee.")
    wrong = [(say(dearer, saving), f"Wrong: {figures}, so {cheaper} is the cheaper one."),
             (say(cheaper, athena_saving), "Wrong: that is the saving on Athena scans alone; the conversion fee "
                                           "and the smaller storage change the total."),
             (say(cheaper, saving * 10), f"Wrong: ten times the modelled difference; {figures}."),
             (say(cheaper, saving / 10), f"Wrong: a tenth of the modelled difference; {figures}.")]
    options, answers = lettered(rng, first_distinct(right, wrong))
    price = _price_evidence(("athena.scanned", "firehose.format_conversion", "s3.storage"))
    evidence = _fleet_evidence(json_v) + [
        Evidence("Report queries a month", fmt.count(json_v["queries_per_month"]), "input"),
        Evidence("Days a query covers, of days kept",
                 f"{json_v['days_queried']:g} of {json_v['days_kept']:g} (partitioned by day)", "input"),
        Evidence("Share of columns a report reads", fmt.percent(json_v["column_fraction"]), "input"),
        Evidence("Parquet size / JSON size", f"{json_v['parquet_ratio']:g}", "input"),
        Evidence("Buffering hints", f"{json_v['buffer_interval']} s and {json_v['buffer_mb']:g} MiB", "input"),
        Evidence("GB scanned per query, JSON", fmt.number(json_plan.facts["athena_gb_scanned_per_query"], "GB"),
                 "modelled"),
        Evidence("GB scanned per query, Parquet", fmt.number(pq_plan.facts["athena_gb_scanned_per_query"], "GB"),
                 "modelled"),
        Evidence("Athena a month, JSON / Parquet",
                 f"{fmt.usd(_athena_usd(json_plan))} / {fmt.usd(_athena_usd(pq_plan))}", "modelled"),
        Evidence("Monthly cost, JSON", fmt.usd(json_usd), "modelled"),
        Evidence("Monthly cost, Parquet", fmt.usd(pq_usd), "modelled"),
    ] + price
    scenario = (f"{_fleet_text(json_v)}; Amazon Data Firehose delivers the readings to S3, partitioned by day, and "
                f"the bucket keeps {_days(json_v['days_kept'])}. Analysts run "
                f"{fmt.count(json_v['queries_per_month'])} Athena reports a month, each over "
                f"{_days(json_v['days_queried'])} and reading {fmt.percent(json_v['column_fraction'])} of the "
                f"columns. Converted to Parquet by Firehose, the data would shrink to {json_v['parquet_ratio']:g} of "
                f"its JSON size. Prices: " + "; ".join(f"{e.label}, {e.value}" for e in price) +
                ". Athena bills at least 10 MB per query.")
    return Drill("format-cost", seed, SAA, "Design Cost-Optimized Architectures", "medium", scenario,
                 "Which format in the ingestion bucket is the MOST cost-effective, and by how much?", options,
                 answers, tuple(evidence), _toggles(case, json_v), _toggles(case, pq_v))


def _price_evidence(keys) -> list[Evidence]:
    """The published unit prices of ``keys``, from the price book the model uses."""
    prices = load_price_book()
    out = []
    for key in keys:
        p = prices[key]
        out.append(Evidence(f"{p.service}: {p.item}", f"${p.usd:g} per {p.unit_label}", "published",
                            p.source_url))
    return out


# -- delivery-objects -----------------------------------------------------------------------------
def _delivery_objects(case: Case, rng: random.Random, seed: int) -> Drill:
    given = {**_fleet(rng), "buffer_interval": rng.choice(BUFFER_INTERVALS_S), "buffer_mb": rng.choice(BUFFER_MB),
             "format": rng.choice(("json", "parquet"))}
    values, plan = _plan(case, given)
    facts = plan.facts
    objects = facts["s3_objects_per_month"]
    mib_s = facts["messages_per_month"] * values["message_kb"] / 1024.0 / SECONDS_PER_MONTH
    used_mib, configured = facts["firehose_buffer_mib"], values["buffer_mb"]
    interval = values["buffer_interval"]
    trigger = facts["firehose_flush_trigger"]
    said = (f"the buffer fills {fmt.number(mib_s * 60)} MiB a minute, so the {trigger} is reached first and "
            f"Firehose delivers every {fmt.duration(facts['firehose_delivery_every_s'] * 1000)}")

    def say(n: float) -> str:
        return f"About {fmt.count(n)} objects a month"

    right = (say(objects), f"Right: {said}: {fmt.count(objects)} objects a month.")
    wrong = []
    if trigger == "size":
        wrong.append((say(SECONDS_PER_MONTH / interval),
                      f"Wrong: that is one object per {interval} s interval, but {said}."))
    else:
        wrong.append((say(SECONDS_PER_MONTH / (used_mib / mib_s)),
                      f"Wrong: that is one object per {fmt.number(used_mib)} MiB, but {said}."))
    if used_mib != configured:
        wrong.append((say(SECONDS_PER_MONTH / min(interval, configured / mib_s)),
                      f"Wrong: that uses the configured {configured:g} MiB, but record format conversion raises the "
                      f"buffer to at least {FIREHOSE_CONVERSION_MIN_BUFFER_MIB.text}; {said}."))
    wrong += [(say(SECONDS_PER_MONTH / 60), f"Wrong: one object a minute; {said}."),
              (say(facts["messages_per_month"]), f"Wrong: Firehose batches records, not one object each; {said}."),
              (say(objects * 10), f"Wrong: ten times the modelled figure; {said}.")]
    options, answers = lettered(rng, first_distinct(right, wrong))
    evidence = _fleet_evidence(values) + [
        Evidence("Format in the ingestion bucket", values["format"].upper() if values["format"] == "json"
                 else "Parquet", "input"),
        Evidence("Buffering hints", f"{interval} s and {configured:g} MiB", "input"),
        Evidence("Data into the buffer", fmt.number(mib_s * 60, "MiB a minute"), "modelled"),
        Evidence("Buffer size in use", fmt.number(used_mib, "MiB"), "modelled"),
        Evidence("Delivery every", f"{fmt.duration(facts['firehose_delivery_every_s'] * 1000)} ({trigger} first)",
                 "modelled"),
        Evidence("Objects a month", fmt.count(objects), "modelled"),
        Evidence("Buffer size range", f"{FIREHOSE_BUFFER_MIB.value['min']} to {FIREHOSE_BUFFER_MIB.value['max']} MiB",
                 "published", FIREHOSE_BUFFER_MIB.source),
        Evidence("Buffer size with format conversion", f"at least {FIREHOSE_CONVERSION_MIN_BUFFER_MIB.text}",
                 "published", FIREHOSE_CONVERSION_MIN_BUFFER_MIB.source),
    ]
    conversion = (" converts the records to Parquet and" if values["format"] == "parquet" else "")
    scenario = (f"{_fleet_text(values)}. Amazon Data Firehose reads the stream,{conversion} writes to the ingestion "
                f"bucket with buffering hints of {interval} seconds and {configured:g} MiB. Each object raises an "
                f"S3 event, an SQS message and a Lambda invocation, so the team wants to know how many there will "
                f"be.")
    return Drill("delivery-objects", seed, SAA, "Design High-Performing Architectures", "hard", scenario,
                 "How many objects does Firehose write to the ingestion bucket in a month?", options, answers,
                 tuple(evidence), _toggles(case, values), _toggles(case, values))


# -- stream-shards --------------------------------------------------------------------------------
def _stream_shards(case: Case, rng: random.Random, seed: int) -> Drill:
    given = _fleet(rng, devices=(20_000, 50_000, 100_000, 300_000, 1_000_000),
                   intervals=(1.0, 2.0, 5.0, 10.0, 30.0), sizes=(0.2, 0.5, 1.0, 2.0, 5.0, 10.0))
    values, plan = _plan(case, given)
    shards = plan.facts["kinesis_shards"]
    rate = plan.facts["messages_per_month"] / SECONDS_PER_MONTH
    mib_s = rate * values["message_kb"] / 1024.0
    by_bytes, by_records = max(1, math.ceil(mib_s)), max(1, math.ceil(rate / 1000.0))
    said = (f"{fmt.count(rate)} records and {fmt.number(mib_s)} MiB a second need {fmt.count(by_records)} shards "
            f"by records and {fmt.count(by_bytes)} by bytes; the larger decides")

    def say(n: int) -> str:
        return f"{n:,} shards"

    right = (say(shards), f"Right: a shard takes 1 MB/s or 1,000 records a second of writes; {said}.")
    wrong = [(say(by_bytes), f"Wrong: that counts the bytes only; {said}."),
             (say(by_records), f"Wrong: that counts the records only; {said}."),
             (say(max(1, math.ceil(max(mib_s / 2, rate / 2000.0)))),
              f"Wrong: 2 MB/s is what a shard can be read at, not written; {said}."),
             (say(shards * 2), f"Wrong: twice what the writes need; {said}."),
             (say(shards + 1), f"Wrong: one more than the writes need; {said}."),
             (say(shards * 3), f"Wrong: three times what the writes need; {said}."),
             (say(shards + 2), f"Wrong: two more than the writes need; {said}."),
             (say(shards * 4), f"Wrong: four times what the writes need; {said}.")]
    options, answers = lettered(rng, first_distinct(right, wrong))
    evidence = _fleet_evidence(values) + [
        Evidence("Records a second", fmt.count(rate), "modelled"),
        Evidence("Data a second", fmt.number(mib_s, "MiB"), "modelled"),
        Evidence("Shards", fmt.count(shards), "modelled"),
    ] + _price_evidence(("kinesis.shard_hour",))
    scenario = (f"{_fleet_text(values)} in provisioned mode. The readings spread evenly over the shards by device "
                f"ID.")
    return Drill("stream-shards", seed, SAA, "Design High-Performing Architectures", "medium", scenario,
                 "What is the lowest number of shards that can take the stream's writes?", options, answers,
                 tuple(evidence), _toggles(case, values), _toggles(case, values))


TEMPLATES = [
    Template("format-cost", "JSON or Parquet: the cheaper format a month", SAA, "Design Cost-Optimized Architectures",
             "medium", _format_cost),
    Template("delivery-objects", "Objects Firehose writes a month", SAA, "Design High-Performing Architectures",
             "hard", _delivery_objects),
    Template("stream-shards", "Shards for the fleet's writes", SAA, "Design High-Performing Architectures", "medium",
             _stream_shards),
]
