"""Benchmarks behind `python -m app bench`; helpers shared by the sections."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed_ms(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` calls of ``fn``."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
            "n": len(ordered)}


def target(value: float, limit: float, unit: str = "ms") -> dict:
    """A figure against an upper bound."""
    return {"value": round(value, 2), "target": f"<= {limit} {unit}", "met": value <= limit}
