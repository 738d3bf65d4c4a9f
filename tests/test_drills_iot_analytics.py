"""The big-data ingestion case's drills: drawn numbers, and the right answer is the one the engine gives.

Each test reads a drawn drill's inputs back from its evidence, works the answer out on its own (the engine
run for the two formats, or the published buffering and shard rules) and checks the option marked right.
"""
from __future__ import annotations

import math
import re
import time

import pytest

from app.core import format as fmt
from app.core.cases import get_case
from app.core.facts import FIREHOSE_CONVERSION_MIN_BUFFER_MIB
from app.core.params import ParamError
from app.engine.costs import SECONDS_PER_MONTH
from app.engine.drills import check_drill, draw, templates
from app.engine.run import run

CASE = get_case("iot-analytics")
IDS = [t.id for t in templates(CASE)]
SEEDS = (0, 1, 2, 7, 42, 1234, 99_999)


def _right(d) -> str:
    (text,) = [o.text for o in d.options if o.id in d.answers]
    return text


def _inputs(d) -> dict[str, str]:
    return {e.label: e.value for e in d.evidence if e.basis == "input"}


def _num(text: str) -> float:
    """The first number in a shown value: '1,000 devices' -> 1000, '1 M devices' -> 1e6, '25%' -> 25."""
    m = re.search(r"([\d,]+(?:\.\d+)?)\s*(M\b)?", text)
    value = float(m.group(1).replace(",", ""))
    return value * 1e6 if m.group(2) else value


def _fleet(d) -> dict[str, float]:
    i = _inputs(d)
    return {"devices": int(_num(i["Devices"])), "message_interval_s": _num(i["One message from each device every"]),
            "message_kb": _num(i["Message size"])}


def _hints(d) -> tuple[int, float]:
    interval, size = re.findall(r"[\d.]+", _inputs(d)["Buffering hints"])
    return int(interval), float(size)


def _draws(template_id: str, n: int = 30):
    """Drills of seeds 0 to n - 1, each with its drawn inputs, its fleet and (where drawn) its buffering hints."""
    for seed in range(n):
        d = draw(CASE, template_id, seed)
        hints = _hints(d) if "Buffering hints" in _inputs(d) else None
        yield seed, d, _inputs(d), _fleet(d), hints


def test_the_case_has_three_templates():
    assert IDS == ["format-cost", "delivery-objects", "stream-shards"]


@pytest.mark.parametrize("template_id", IDS)
def test_every_template_draws_well_formed_drills_quickly(template_id):
    for seed in SEEDS:
        start = time.perf_counter()
        d = draw(CASE, template_id, seed)
        assert time.perf_counter() - start < 0.5
        assert check_drill(d) == [], (template_id, seed)
        assert len(d.options) == 4 and len(d.answers) == 1
        assert all(o.reason.startswith("Right" if o.id in d.answers else "Wrong") for o in d.options)
        assert any(e.basis == "modelled" for e in d.evidence)
        assert all(e.source.startswith("https://") for e in d.evidence if e.basis == "published")


@pytest.mark.parametrize("template_id", IDS)
def test_the_same_seed_gives_the_same_drill_and_other_seeds_other_numbers(template_id):
    assert draw(CASE, template_id, 5) == draw(CASE, template_id, 5)
    scenarios = {draw(CASE, template_id, seed).scenario for seed in range(12)}
    assert len(scenarios) >= 6


def test_format_cost_names_the_format_the_engine_prices_lower():
    seen = set()
    for seed, d, i, fleet, (interval, size) in _draws("format-cost"):
        queried, kept = re.findall(r"[\d.]+", i["Days a query covers, of days kept"])[:2]
        given = {**fleet, "queries_per_month": int(_num(i["Report queries a month"])),
                 "days_kept": float(kept), "days_queried": float(queried),
                 "column_fraction": _num(i["Share of columns a report reads"]) / 100,
                 "parquet_ratio": float(i["Parquet size / JSON size"]), "buffer_interval": interval,
                 "buffer_mb": size}
        cost = {f: run(CASE, {**given, "format": f}, samples=1_000, with_break_even=False)["monthly_cost_usd"]
                for f in ("json", "parquet")}
        cheaper = "Parquet" if cost["parquet"] < cost["json"] else "JSON"
        seen.add(cheaper)
        assert _right(d) == f"{cheaper}, about {fmt.usd(abs(cost['json'] - cost['parquet']))} a month less", seed
        assert {d.values_a["format"], d.values_b["format"]} == {"json", "parquet"}
    assert seen == {"JSON", "Parquet"}, "the draws should make either format the cheaper one"


def test_delivery_objects_follows_the_first_buffering_condition_met():
    triggers = set()
    for seed, d, i, fleet, (interval, size) in _draws("delivery-objects"):
        if i["Format in the ingestion bucket"] == "Parquet":
            size = max(size, FIREHOSE_CONVERSION_MIN_BUFFER_MIB.value)
        mib_per_s = fleet["devices"] / fleet["message_interval_s"] * fleet["message_kb"] / 1024
        fills_in = size / mib_per_s
        triggers.add("size" if fills_in < interval else "interval")
        objects = SECONDS_PER_MONTH / min(interval, fills_in)
        assert _right(d) == f"About {fmt.count(objects)} objects a month", seed
    assert triggers == {"size", "interval"}


def test_stream_shards_is_the_larger_of_the_byte_and_record_counts():
    binding = set()
    for seed, d, _, fleet, _ in _draws("stream-shards"):
        records = fleet["devices"] / fleet["message_interval_s"]
        by_bytes, by_records = math.ceil(records * fleet["message_kb"] / 1024), math.ceil(records / 1000)
        binding.add("bytes" if by_bytes > by_records else "records")
        assert _right(d) == f"{max(1, by_bytes, by_records):,} shards", seed
    assert binding == {"bytes", "records"}


def test_a_bad_template_or_seed_is_refused_with_a_clear_message():
    with pytest.raises(ParamError, match=r"iot-analytics has no drill 'nope': its drills are format-cost"):
        draw(CASE, "nope", 1)
    for seed in (-1, 10**9, "3", True, 2.5):
        with pytest.raises(ParamError, match="seed is a whole number from 0 to"):
            draw(CASE, "format-cost", seed)
