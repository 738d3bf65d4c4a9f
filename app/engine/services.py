"""Service behaviours the case models share: Lambda, caches fed by a workload, Firehose, Athena, Auto Scaling."""
from __future__ import annotations

import math

from app.core import facts
from app.engine.books import Dist, LatencyBook, const, uniform
from app.engine.costs import SECONDS_PER_MONTH, CostSheet

# Service facts live once, in app.core.facts; the emulations and the models take them from there.
API_CACHE_SIZES_GB = tuple(float(size) for size in facts.APIGW_CACHE_SIZES_GB.value)
# The node types the price book prices, with their memory.
DAX_NODE_MEMORY_GB = {t: float(facts.DAX_NODE_MEMORY_GIB.value[t]) for t in ("dax.t3.small", "dax.t3.medium",
                                                                             "dax.r5.large")}
DAX_NODE_SOURCE = facts.DAX_NODE_MEMORY_GIB.source


def rate_per_second(per_month: float) -> float:
    return per_month / SECONDS_PER_MONTH


def cold_start_probability(rate: float, duration_ms: float, book: LatencyBook) -> float:
    """Share of invocations that start a new execution environment (see latency.json, cold_start_model)."""
    if rate <= 0:
        return 1.0
    m = book.cold_start_model
    idle, life = float(m["idle_timeout_s"]), float(m["lifetime_s"])
    concurrency = rate * duration_ms / 1000.0
    pool = concurrency + 3.0 * math.sqrt(concurrency) + 1.0
    p_idle = math.exp(-rate * idle)
    p_renew = min(1.0, pool / (life * rate))
    return min(1.0, p_idle + (1.0 - p_idle) * p_renew)


def lambda_stages(book: LatencyBook, *, label: str, duration_ms: float, memory_mb: int, rate: float,
                  runtime: str = "python3.12", arch: str = "x86_64"):
    """(cold-start probability, cold-start Dist, handler Dist) for a function."""
    from app.engine.paths import Hop, Maybe
    p_cold = cold_start_probability(rate, duration_ms, book)
    cold = book.cold_start(runtime, arch, memory_mb)
    over = book.op("lambda.overhead")
    handler = Dist(duration_ms + over.p50, duration_ms + over.p90, f"handler duration (workload input) plus "
                   f"{over.source}", over.url, True, label)
    return p_cold, [Maybe(f"{label}: cold start", "AWS Lambda", p_cold, cold), Hop(f"{label}", "AWS Lambda", handler)]


def bill_lambda(sheet: CostSheet, invocations: float, *, duration_ms: float, memory_mb: int, p_cold: float,
                book: LatencyBook, runtime: str = "python3.12", arch: str = "x86_64", label: str = "",
                region: str = "") -> None:
    """Requests plus GB-seconds (duration rounded up to 1 ms; INIT billed for cold starts since 2025-08-01)."""
    if invocations <= 0:
        return
    what = f" - {label}" if label else ""
    sheet.add("lambda.requests", invocations, item=f"Requests{what}", region=region)
    gb = memory_mb / 1024.0
    init_ms = book.cold_start(runtime, arch, memory_mb).mean
    seconds = invocations * (math.ceil(duration_ms) + p_cold * init_ms) / 1000.0
    sheet.add(f"lambda.gbs.{arch}", seconds * gb, item=f"Duration{what} ({memory_mb} MB)", region=region,
              note=f"{invocations:,.0f} invocations x {math.ceil(duration_ms)} ms, "
                   f"plus INIT for {p_cold:.2%} cold starts")


def api_cache_size_key(size_gb: float) -> str:
    size = min(API_CACHE_SIZES_GB, key=lambda s: abs(s - size_gb))
    return f"apigw.cache.{size:g}"


def firehose_buffer(interval_s: float, size_mib: float, ingest_mib_per_s: float) -> tuple[float, str]:
    """Seconds between deliveries: the interval, or sooner when the size hint fills first."""
    if ingest_mib_per_s > 0 and size_mib / ingest_mib_per_s < interval_s:
        return size_mib / ingest_mib_per_s, "size"
    return interval_s, "interval"


def firehose_wait(interval_s: float, size_mib: float, ingest_mib_per_s: float, book: LatencyBook) -> Dist:
    every, by = firehose_buffer(interval_s, size_mib, ingest_mib_per_s)
    f = book.value("firehose")
    return uniform(every * 1000.0, f"{f['source']}; a record waits uniformly up to the next flush (every "
                   f"{every:.0f} s, set by the buffer {by})", url=f["url"], label="Firehose buffer")


def asg_instances(peak_gbps: float, per_instance_gbps: float, target_utilisation: float, minimum: int) -> int:
    """Instances an Auto Scaling group keeps for a throughput-bound load at a target utilisation."""
    if per_instance_gbps <= 0 or target_utilisation <= 0:
        return minimum
    return max(minimum, math.ceil(peak_gbps / (per_instance_gbps * target_utilisation)))


def athena_scan_bytes(total_gb: float, *, fmt: str, partitioned: bool, days_queried: float, days_kept: float,
                      parquet_ratio: float, column_fraction: float) -> float:
    """GB one query scans: partition pruning keeps the days asked for; Parquet is smaller and column-pruned."""
    gb = total_gb
    if partitioned and days_kept > 0:
        gb *= min(1.0, days_queried / days_kept)
    if fmt == "parquet":
        gb *= parquet_ratio * column_fraction
    return gb


def constant(ms: float, why: str) -> Dist:
    return const(ms, why, assumption=True)


__all__ = ["rate_per_second", "cold_start_probability", "lambda_stages", "bill_lambda", "api_cache_size_key",
           "firehose_buffer", "firehose_wait", "asg_instances", "athena_scan_bytes", "DAX_NODE_MEMORY_GB",
           "API_CACHE_SIZES_GB"]
