"""Toggle combinations of MyTodoList and MyBlog.com run green against the embedded backend.

Each case runs a covering set of its toggle values: every pair of values of any two
toggles together at least once (tests/pairwise.py), so every value runs and every
interaction of two options is tried. MyBlog.com's 192 combinations of its on/off toggles,
fan-out and replica region come down to 12 runs, spread over two processes, each with its
own moto server. Each run's checks are the pipeline's own read-backs;
here we also assert that the checks present match the toggles (a cache check only when
the cache is on, a fan-out check only when there is a fan-out...).
"""
from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.core.cases import get_case
from patterns.global_blog.case import REPLICA_REGIONS
from patterns.todo_api.traffic import Workload
from tests.pipeline_combos import combinations, run_one, toggle_domains
from tests.test_pairwise import uncovered

ROOT = Path(__file__).resolve().parents[1]


def _failed(run: dict) -> str:
    bad = [f"{c['name']}: {c['detail']}" for c in run["checks"] if not c["ok"]]
    broken = [f"{s['name']}: {s['error']}" for s in run["steps"] if s["status"] == "error"]
    return f"{run['values']}: " + "; ".join(bad + broken)


@pytest.mark.parametrize("values", combinations("todo-api"), ids=lambda v: ",".join(f"{k}={v[k]}" for k in v))
def test_todo_api_combination(values):
    run = run_one("todo-api", values, workload=Workload(requests=24))
    assert run["ok"], _failed(run)
    names = {c["name"] for c in run["checks"]}
    assert ("stage cache answers repeated GETs without Lambda" in names) == values["api_cache"]
    assert ("DAX serves repeated reads from its item cache" in names) == values["dax"]
    assert "write under another user's prefix is denied by the role's policy" in names
    assert "nothing left behind" in names


def _blog_runs() -> list[dict]:
    combos = combinations("global-blog")
    chunks = [list(range(len(combos)))[i::2] for i in range(2)]

    def worker(indexes):
        proc = subprocess.run([sys.executable, str(ROOT / "tests" / "pipeline_combos.py"), "global-blog",
                               ",".join(map(str, indexes))], capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]

    with ThreadPoolExecutor(2) as pool:
        runs = [r for part in pool.map(worker, chunks) for r in part]
    assert sorted(r["index"] for r in runs) == list(range(len(combos)))
    return runs


@pytest.mark.slow
def test_global_blog_covering_set_runs_green():
    runs = _blog_runs()
    failures = [_failed(r) for r in runs if not r["ok"]]
    assert not failures, "\n".join(failures)
    assert uncovered([r["values"] for r in runs], toggle_domains(get_case("global-blog"))) == []
    regions_with_replicas = set()
    for r in runs:
        v, names = r["values"], {c["name"] for c in r["checks"]}
        assert ("pages served through CloudFront edge locations" in names) == v["cloudfront"]
        assert ("pages served straight from S3" in names) == (not v["cloudfront"])
        assert ("DAX answers repeated post reads from its item cache" in names) == v["dax"]
        assert (f"posts replicated to {v['replica_region']}" in names) == v["global_tables"]
        assert (f"the thumbnail's S3 event reached {v['fanout'].upper()}" in names) == (v["fanout"] != "none")
        assert ("Transfer Acceleration is on for the uploads bucket" in names) == v["transfer_acceleration"]
        assert "the stream triggered the welcome email, naming the new user" in names
        assert "thumbnail's longest side is 200 px, aspect kept" in names
        if v["global_tables"]:
            regions_with_replicas.add(v["replica_region"])
    assert regions_with_replicas == set(REPLICA_REGIONS)


@pytest.mark.parametrize("dax", [False, True])
def test_blog_steps_are_named_by_what_they_do_in_the_configuration(dax):
    from patterns.global_blog.pipeline import build_pipeline

    case = get_case("global-blog")
    names = [s.name for s in build_pipeline(case.resolve({"dax": dax})).steps]
    reads = [n for n in names if n.startswith("Read the posts again")]
    assert reads == ["Read the posts again through DAX" if dax else "Read the posts again from DynamoDB"]
    assert not dax or not any("DynamoDB" in n and "DAX" not in n for n in reads)
    assert dax or not any("DAX" in n for n in names)
