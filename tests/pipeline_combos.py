"""Runs pipeline toggle combinations in a fresh process and prints one JSON line per run.

``python tests/pipeline_combos.py CASE INDEX,INDEX,...`` where the indexes point into
:func:`combinations` of that case: a covering set in which every pair of values of any two
on/off or choice toggles runs together at least once (see tests/pairwise.py). Used by
tests/test_pipeline_combinations.py to spread the runs over two processes, each with its own
embedded moto server.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

def toggle_domains(case) -> dict[str, tuple]:
    """The values each on/off or choice toggle of ``case`` can take."""
    return {t.key: (False, True) if t.kind == "bool" else tuple(t.choices)
            for t in case.toggles if t.kind in ("bool", "choice")}


def combinations(case_id: str) -> list[dict]:
    """Toggle values covering every pair of values of the case's on/off and choice toggles."""
    from app.core.cases import get_case
    from tests.pairwise import pairwise

    case = get_case(case_id)
    return [case.resolve(row) for row in pairwise(toggle_domains(case))]


def run_one(case_id: str, values: dict, **options) -> dict:
    """One run of the case with these toggle values and run options (a shorter traffic run...)."""
    from app.core.cases import get_case
    from app.runtime.pipeline import load_pipeline, run_pipeline

    pipeline = load_pipeline(get_case(case_id), values, **options)
    started = time.perf_counter()
    result = run_pipeline(pipeline, values, check_leftovers=True)
    return {"case": case_id, "values": values, "ok": result.ok, "seconds": round(time.perf_counter() - started, 2),
            "checks": [c.to_dict() for c in result.checks],
            "steps": [{"name": s.name, "status": s.status, "error": s.error} for s in result.steps]}


def main(argv: list[str]) -> int:
    case_id, indexes = argv[0], [int(i) for i in argv[1].split(",") if i]
    combos = combinations(case_id)
    for i in indexes:
        print(json.dumps({"index": i, **run_one(case_id, combos[i])}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
