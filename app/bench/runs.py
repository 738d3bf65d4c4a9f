"""Runs: how long a whole run of each executable case takes on this machine.

Every case with a pipeline (found through the registry, so a new case appears on its
own) runs with its default toggles and run options: ``WARMUP`` warm-up runs, then ``REPEAT``
full runs (deploy, drive, verify, teardown, each in a fresh account, the leftovers
checked as ``python -m app run`` does). The figure is their median wall-clock time,
against the case's target.
"""
from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.cases import Case
    from app.runtime.pipeline import Pipeline

REPEAT = 3
WARMUP = 1
DEFAULT_TARGET_MS = 2500
# Cases whose default run does much more work get a target of their own:
# todo-api's default traffic run sends 500 requests through the API.
TARGETS_MS = {"todo-api": 4000}


def executable_cases() -> list[tuple[Case, dict[str, Any], Pipeline]]:
    """(case, default toggle values, pipeline) for every case that has a pipeline."""
    from app.core.cases import all_cases
    from app.runtime.pipeline import load_pipeline

    out: list[tuple[Case, dict[str, Any], Pipeline]] = []
    for case in all_cases():
        values = case.resolve()
        pipeline = load_pipeline(case, values)
        if pipeline is not None:
            out.append((case, values, pipeline))
    return out


def measure(pipeline, values: dict, repeat: int | None = None) -> dict:
    """``WARMUP`` warm-up runs, then ``repeat`` (``REPEAT``) timed full runs; their times and whether all were ok."""
    from app.runtime.pipeline import run_pipeline

    repeat = REPEAT if repeat is None else repeat

    for _ in range(WARMUP):
        run_pipeline(pipeline, values, check_leftovers=True)
    times: list[float] = []
    ok = True
    steps: dict[str, list[float]] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run_pipeline(pipeline, values, check_leftovers=True)
        times.append((time.perf_counter() - t0) * 1000)
        ok = ok and result.ok
        for s in result.steps:
            steps.setdefault(s.name, []).append(s.measured_ms)
        steps.setdefault("(session teardown)", []).append(result.teardown.get("measured_ms", 0.0))
    return {"times_ms": times, "ok": ok,
            "steps_ms": {name: round(statistics.median(ms), 1) for name, ms in steps.items()}}


def run() -> dict:
    out: dict = {}
    targets: dict = {}
    for case, values, pipeline in executable_cases():
        figures = measure(pipeline, values)
        limit = TARGETS_MS.get(case.id, DEFAULT_TARGET_MS)
        median = statistics.median(figures["times_ms"])
        out[case.id] = {"median_ms": round(median, 1), "target_ms": limit, "met": median <= limit and figures["ok"],
                        "runs_ms": [round(t, 1) for t in figures["times_ms"]], "all_ok": figures["ok"],
                        "steps_ms": figures["steps_ms"]}
        targets[f"{case.id}_median_ms"] = {"value": round(median, 1), "target": f"<= {limit} ms",
                                           "met": out[case.id]["met"]}
    out["targets"] = targets
    return out
