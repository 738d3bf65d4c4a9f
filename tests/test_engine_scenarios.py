"""The issue's scenarios, tried through the engine the CLI and the page use."""
from __future__ import annotations

import math

from app.engine import run
from app.engine.books import load_latency_book

READ_HEAVY = {"requests_per_month": 200_000_000, "read_share": 0.95, "items": 20_000, "users": 20_000,
              "zipf_skew": 1.0}


def test_dax_turns_database_reads_from_milliseconds_to_microseconds_and_adds_node_hours():
    off = run("todo-api", {**READ_HEAVY, "dax": False}, samples=200_000)
    on = run("todo-api", {**READ_HEAVY, "dax": True}, samples=200_000)
    assert off["segments_ms"]["database_read"]["p50"] >= 2.0
    assert on["segments_ms"]["database_read"]["p50"] < 0.7
    assert on["hit_ratio"]["dax_item"] > 0.5 and "dax_item" not in off["hit_ratio"]
    nodes = [l for l in on["cost_breakdown"] if l["service"] == "Amazon DynamoDB Accelerator"]
    assert len(nodes) == 1 and nodes[0]["unit"] == "node-hour"
    assert math.isclose(nodes[0]["quantity"], on["values"]["dax_nodes"] * 730)
    assert not any(l["service"] == "Amazon DynamoDB Accelerator" for l in off["cost_breakdown"])
    rru = lambda r: sum(l["quantity"] for l in r["cost_breakdown"] if l["item"].startswith("On-demand read"))
    assert rru(on) < rru(off) * (1 - on["hit_ratio"]["dax_item"] * 0.5)
    # The break-even chart: above the volume, DAX costs less than the read units it saves.
    be = next(b for b in on["break_even"] if b["toggle"] == "dax")
    x = be["break_even_volume"]
    assert x is not None and be["volumes"][0] < x < be["volumes"][-1]
    for v, c_on, c_off in zip(be["volumes"], be["cost_on_usd"], be["cost_off_usd"]):
        if v > x * 1.3:
            assert c_on < c_off
        if v < x / 1.3:
            assert c_on > c_off
    assert be["latency_gain_ms"]["database_read"]["p50"] > 1.5


SYDNEY = {"replica_region": "ap-southeast-2", "far_share": 1.0}


def test_cloudfront_saves_sydney_readers_the_round_trip_to_us_east_1():
    book = load_latency_book()
    rtt = book.rtt("ap-southeast-2", "us-east-1").p50
    s3_p90 = book.op("s3.GetObject").p90
    off = run("global-blog", {**SYDNEY, "cloudfront": False}, samples=200_000, with_break_even=False)
    on = run("global-blog", {**SYDNEY, "cloudfront": True}, samples=200_000, with_break_even=False)
    saved = off["latency_by_group_ms"]["page"]["p50"] - on["latency_by_group_ms"]["page"]["p50"]
    assert rtt <= saved <= rtt + s3_p90, (saved, rtt)
    assert on["hit_ratio"]["cloudfront_far"] > 0.9
    zones = {l["item"] for l in on["cost_breakdown"] if l["service"] == "Amazon CloudFront"}
    assert any("Australia" in z for z in zones)


def test_global_tables_gain_read_latency_and_bill_replicated_writes_in_every_region():
    book = load_latency_book()
    rtt = book.rtt("ap-southeast-2", "us-east-1").p50
    off = run("global-blog", {**SYDNEY, "global_tables": False}, samples=200_000, with_break_even=False)
    on = run("global-blog", {**SYDNEY, "global_tables": True}, samples=200_000, with_break_even=False)
    gained = off["latency_by_group_ms"]["api read"]["p50"] - on["latency_by_group_ms"]["api read"]["p50"]
    assert 0.8 * rtt < gained < 1.2 * rtt, (gained, rtt)
    rw = [l for l in on["cost_breakdown"] if l["item"].startswith("Replicated write request units")]
    assert {l["region"] for l in rw} == {"us-east-1", "ap-southeast-2"}
    writes = on["facts"]["writes"]
    for line in rw:
        assert math.isclose(line["quantity"] * 1e6, writes * math.ceil(on["values"]["item_kb"]), rel_tol=1e-9)
    assert any(l["item"] == "Replication traffic between regions" for l in on["cost_breakdown"])
    assert not any(l["item"].startswith("Replicated") for l in off["cost_breakdown"])
    assert on["monthly_cost_usd"] > off["monthly_cost_usd"]


def test_measured_hit_ratio_replaces_the_model_and_is_labelled_executed():
    r = run("todo-api", {"dax": True}, measured={"dax_item": 0.97}, samples=50_000, with_break_even=False)
    assert r["hit_ratio"]["dax_item"] == 0.97
    assert r["caches"]["dax_item"]["basis"] == "executed"
    assert r["caches"]["dax_query"]["basis"] == "modelled"


def test_firehose_buffer_sets_ingest_latency_and_parquet_cuts_athena_scans():
    short = run("iot-analytics", {"buffer_interval": 60}, samples=100_000, with_break_even=False)
    long = run("iot-analytics", {"buffer_interval": 900, "buffer_mb": 128}, samples=100_000, with_break_even=False)
    assert 25_000 < short["latency_ms"]["p50"] < 40_000       # half the interval plus the pipeline
    assert long["latency_ms"]["p50"] > 400_000
    assert long["facts"]["firehose_flush_trigger"] == "interval"
    # With the default 5 MiB buffer, 900 s is never reached: the size fills first.
    sized = run("iot-analytics", {"buffer_interval": 900}, samples=20_000, with_break_even=False)
    assert sized["facts"]["firehose_flush_trigger"] == "size"
    assert sized["facts"]["firehose_delivery_every_s"] < 900
    parquet = run("iot-analytics", {"format": "parquet"}, samples=20_000, with_break_even=False)
    assert parquet["facts"]["athena_gb_scanned_per_query"] < 0.1 * short["facts"]["athena_gb_scanned_per_query"]


def test_cloudfront_shrinks_the_auto_scaling_group_for_software_updates():
    heavy = {"requests_per_month": 2_000_000, "update_mb": 50, "peak_factor": 10}   # 100 TB a month
    off = run("software-updates", {**heavy, "cloudfront": False}, samples=20_000, with_break_even=False)
    on = run("software-updates", {**heavy, "cloudfront": True}, samples=20_000, with_break_even=False)
    assert off["facts"]["instances"] > on["facts"]["instances"] == on["values"]["min_instances"]
    assert on["monthly_cost_usd"] < off["monthly_cost_usd"]


def test_latency_routing_serves_european_clients_from_eu_west_1():
    simple = run("microservices", {"routing_policy": "simple", "eu_share": 1.0}, samples=50_000,
                 with_break_even=False)
    latency = run("microservices", {"routing_policy": "latency", "eu_share": 1.0}, samples=50_000,
                  with_break_even=False)
    assert latency["latency_by_group_ms"]["order"]["p50"] < simple["latency_by_group_ms"]["order"]["p50"]
    assert any("Latency-based" in l["item"] for l in latency["cost_breakdown"])


def test_hit_ratios_are_read_from_the_spans_of_an_executed_run():
    from app.core.cases import get_case
    from app.engine.executed import hit_ratios_from_spans
    spans = ([{"service": "apigateway", "operation": "GET /todos/t1", "cache": "hit"}] * 30 +
             [{"service": "apigateway", "operation": "GET /todos/t2", "cache": "miss"}] * 10 +
             [{"service": "apigateway", "operation": "GET /todos", "cache": "miss"}] * 12 +
             [{"service": "dax", "operation": "Query", "cache": "hit"}] * 3 +          # too few lookups
             [{"service": "dynamodb", "operation": "GetItem", "cache": None}] * 50)
    got = hit_ratios_from_spans(get_case("todo-api"), spans)
    assert got["api_cache_get"] == {"hit_ratio": 0.75, "hits": 30, "lookups": 40}
    assert got["api_cache_list"]["hit_ratio"] == 0.0
    assert "dax_query" not in got and "dax_item" not in got
