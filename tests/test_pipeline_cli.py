"""`python -m app run todo-api --json` and `run global-blog --set global_tables=on --json` pass all their checks."""
from __future__ import annotations

import json
import re

import pytest

from app.cli import main


@pytest.mark.slow
def test_run_todo_api_json(case_run):
    code, out = case_run("todo-api")
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and out["ok"] and not failed, failed
    assert out["case"] == "todo-api" and out["backend"] == "moto"
    assert all({"name", "service", "status", "measured_ms"} <= set(s) for s in out["steps"])
    assert all(s["status"] == "ok" for s in out["steps"])
    by_name = {c["name"]: c for c in out["checks"]}
    assert "AccessDenied" in by_name["write under another user's prefix is denied by the role's policy"]["detail"]
    assert by_name["authorizer answers 401 without invoking the function"]["detail"].count("401") == 3
    sts = by_name["credentials are the role's temporary STS credentials"]["detail"]
    assert re.search(r"they expire at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", sts), sts   # no microseconds
    traffic = out["artifacts"]["traffic"]
    assert traffic["reads"] + traffic["writes"] == 500 == traffic["workload"]["requests"]
    assert traffic["lambda_invocations"] == 500          # no cache in the default configuration
    policy = out["artifacts"]["denied_request"]["policy"]
    assert "${cognito-identity.amazonaws.com:sub}" in json.dumps(policy)
    assert by_name["nothing left behind"]["ok"]


@pytest.mark.slow
def test_run_global_blog_with_global_tables_json(case_run):
    code, out = case_run("global-blog", global_tables="on")
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and out["ok"] and not failed, failed
    names = {c["name"] for c in out["checks"]}
    assert {"posts replicated to eu-west-1", "replication lag measured",
            "far readers are served by their nearest replica",
            "the stream triggered the welcome email, naming the new user",
            "thumbnail's longest side is 200 px, aspect kept"} <= names
    replication = out["artifacts"]["replication"]
    assert replication["lag"]["n"] >= 3 and replication["seen_in_home"] is True
    assert all(r["served_from"] == "eu-west-1" for r in replication["far_reads"])
    assert "Maria Lopez" in out["artifacts"]["email"]["subject"]
    stored = next(c["detail"] for c in out["checks"] if c["name"] == "the pre-signed PUT over HTTP stored the image")
    assert re.search(r"\d,\d{3} bytes read back", stored), stored          # thousands separated


def test_run_refuses_a_bad_toggle_value(capsys):
    code = main(["run", "global-blog", "--set", "replica_region=mars-1", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "eu-west-1" in err


@pytest.mark.slow
def test_bench_runs_times_every_case_with_a_pipeline(capsys, monkeypatch):
    from app.bench import runs
    from app.core.cases import all_cases
    from app.runtime.pipeline import load_pipeline

    # the shape of the section, not this machine's speed: one full run of each case, no warm-up
    monkeypatch.setattr(runs, "REPEAT", 1)
    monkeypatch.setattr(runs, "WARMUP", 0)
    assert main(["bench", "--only", "runs", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    section = report["runs"]
    with_pipeline = {c.id for c in all_cases() if load_pipeline(c, c.resolve()) is not None}
    assert set(section) - {"targets"} == with_pipeline
    for case_id in with_pipeline:
        figures = section[case_id]
        assert figures["all_ok"], figures
        assert len(figures["runs_ms"]) == 1 and figures["median_ms"] == figures["runs_ms"][0] > 0
        assert figures["target_ms"] == runs.TARGETS_MS.get(case_id, runs.DEFAULT_TARGET_MS)
        assert figures["met"] == (figures["median_ms"] <= figures["target_ms"])
        assert section["targets"][f"{case_id}_median_ms"]["met"] == figures["met"]
    assert "machine" in report and set(report) & {"diagrams", "engine"} == set()
