"""Engine figures: a million simulated requests per configuration on one core, and the what-if
page's rerun after a workload slider moves (the models for the new value are not cached yet)."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from app.bench import summary, target
from app.core.cases import modelled_cases
from app.engine.run import build, latency_report, model_of, resolve_values

ENTRY = str(Path(__file__).resolve().parents[1] / "ui" / "streamlit_app.py")
SIM_TARGET_S = 0.3
RERUN_TARGET_MS = 300
REQUESTS = 1_000_000


def _flipped(case) -> dict:
    out = {}
    for t in case.toggles:
        if t.kind == "bool":
            out[t.key] = not t.default
        elif t.kind == "choice":
            out[t.key] = t.choices[-1]
    return out


def _one_core():
    """Pin this process to one CPU while measuring (where the platform allows); returns the old set."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(old)})
    return old


def _simulation_ms(case, values: dict, repeat: int = 5) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of simulating a million requests (percentiles included)."""
    plan, _ = build(case, resolve_values(case, values))
    latency_report(plan, REQUESTS, 1)  # warm caches of the books and tables
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        latency_report(plan, REQUESTS, 1)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def _page_rerun_ms(case, moves: int = 6) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of the page's reruns after a workload slider moves."""
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params["case"] = case.id
    at.run()
    at.switch_page("views/whatif.py").run()
    param = next(p for p in model_of(case).PARAMS if p.kind in ("int", "float"))
    key = f"whatif:W:{case.id}:{param.key}"
    lo, hi = float(param.min), float(param.max)
    ladder = param.ladder(param.default) if param.spans_decades else None     # a log-scale select slider
    samples, cpu = [], []
    for i in range(moves):
        if ladder:
            at.select_slider(key=key).set_value(ladder[(i + 1) * (len(ladder) - 1) // (moves + 1)])
        else:
            value = lo + (hi - lo) * (i + 1) / (moves + 2)
            value = int(round(value / (param.step or 1)) * (param.step or 1)) if param.kind == "int" else \
                round(value / (param.step or 0.01)) * (param.step or 0.01)
            at.slider(key=key).set_value(value)
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if at.exception:
            raise RuntimeError(f"what-if page failed for {case.id}: {at.exception[0].message}")
    return samples, cpu


def run() -> dict:
    per_case = {}
    worst_sim = worst_rerun = 0.0
    old = _one_core()
    try:
        for case in modelled_cases():
            (dw, dc), (fw, fc) = _simulation_ms(case, {}), _simulation_ms(case, _flipped(case))
            default, flipped = summary(dw), summary(fw)
            per_case[case.id] = {"million_requests_defaults": default, "million_requests_toggles_flipped": flipped,
                                 "million_requests_cpu": summary(dc + fc)}
            worst_sim = max(worst_sim, default["median_ms"], flipped["median_ms"])
    finally:
        if old is not None:
            os.sched_setaffinity(0, old)
    for case in modelled_cases():
        wall, cpu = _page_rerun_ms(case)
        rerun = summary(wall)
        per_case[case.id]["whatif_rerun_after_slider"] = rerun
        per_case[case.id]["whatif_rerun_cpu"] = summary(cpu)
        worst_rerun = max(worst_rerun, rerun["median_ms"])
    return {
        "requests_per_configuration": REQUESTS,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cases": per_case,
        "targets": {
            "million_requests_worst_case_s": target(worst_sim / 1000, SIM_TARGET_S, "s"),
            "whatif_rerun_median_worst_case": target(worst_rerun, RERUN_TARGET_MS),
        },
    }
