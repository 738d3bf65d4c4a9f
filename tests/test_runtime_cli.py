"""`python -m app run` and `cleanup` through the CLI's entry point."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from app.core.cases import parts
from app.runtime.testpipelines import handlers
from tests.scratch_case import NOTES_SKETCH


def run_json(capsys, *args):
    rc = main(["run", *args, "--json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out) if out.out.strip() else None, out.err


def test_run_json_has_case_backend_ok_steps_and_checks(capsys):
    rc, out, _ = run_json(capsys, "runtime:s3-lambda", "--set", "uploads=2")
    assert rc == 0 and out["ok"] is True
    assert out["case"] == "runtime:s3-lambda" and out["backend"] == "moto"
    assert [s["phase"] for s in out["steps"]] == ["deploy", "deploy", "drive", "verify"]
    for s in out["steps"]:
        assert set(s) >= {"name", "service", "status", "measured_ms"} and s["status"] == "ok"
        assert s["measured_ms"] > 0
    names = {c["name"]: c for c in out["checks"]}
    assert names["every upload indexed, key decoded"]["ok"]
    assert "2 of 2" in names["every upload indexed, key decoded"]["detail"]
    assert names["nothing left behind"]["ok"]
    invokes = [sp for s in out["steps"] for sp in s["spans"] if sp.get("operation") == "Invoke"]
    assert len(invokes) == 2


def test_run_exits_non_zero_when_a_check_fails(capsys, monkeypatch):
    def broken(event, context):
        raise ValueError("index is down")
    monkeypatch.setattr(handlers, "index_upload", broken)
    rc, out, _ = run_json(capsys, "runtime:s3-lambda", "--set", "uploads=1")
    assert rc == 1 and out["ok"] is False
    failed = [c for c in out["checks"] if not c["ok"]]
    assert failed and failed[0]["name"] == "every upload indexed, key decoded"
    assert "0 of 1" in failed[0]["detail"]


def test_run_prints_trace_and_checks_as_text(capsys):
    rc = main(["run", "runtime:stream-lambda-ses", "--set", "uploads=1"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "Write orders" in text and "PASS  one email per new item: SES counted 1 of 1" in text
    assert "lambda           Invoke" in text


def test_case_without_pipeline_says_so(capsys, extra_case):
    without = extra_case("notes_sketch_case", NOTES_SKETCH)      # a diagram and a story, no pipeline yet
    assert parts(without).pipeline is None
    rc = main(["run", without])
    captured = capsys.readouterr()
    assert rc == 3 and "has no executable pipeline" in captured.err and without in captured.err
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1


def test_bad_input_names_valid_values(capsys):
    assert main(["run", "runtime:nope"]) == 2
    assert "s3-sqs-lambda-ddb" in capsys.readouterr().err
    assert main(["run", "runtime:s3-lambda", "--set", "uploads=0"]) == 2
    assert "1 to 100" in capsys.readouterr().err
    assert main(["run", "no-such-case"]) == 2


def test_live_needs_yes(capsys):
    assert main(["run", "runtime:s3-lambda", "--backend", "live"]) == 2
    err = capsys.readouterr().err
    assert "--yes" in err and "estimated cost of this run" in err


def test_cleanup_needs_live_backend(capsys):
    with pytest.raises(SystemExit):
        main(["cleanup", "--backend", "moto"])


def test_pipelines_built_on_emulations_refuse_live_runs(capsys):
    from app.cli import main

    rc = main(["run", "todo-api", "--backend", "live", "--yes"])
    err = capsys.readouterr().err
    assert rc == 2 and "embedded backend only" in err and "DAX" in err
