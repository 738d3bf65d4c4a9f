"""A new case plugs in through the registry alone: its folder of parts runs from the Run page and the CLI."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app.cli import main
from app.core.cases import all_cases, parts
from app.runtime.pipeline import Pipeline, highlight, load_pipeline, run_pipeline
from tests.conftest import APP_ENTRY
from tests.runpage import table_with
from tests.scratch_case import NOTES


@pytest.fixture
def scratch_case(extra_case):
    return extra_case("scratch_notes_case", NOTES)


def test_the_registry_hands_out_a_new_case_and_its_parts(scratch_case):
    assert scratch_case in [c.id for c in all_cases()]
    found = parts(scratch_case)
    assert found.model is None and found.pipeline is not None and found.run_view is not None
    result = run_pipeline(load_pipeline(found.case, found.case.defaults(), notes=3))
    assert result.ok, [c.to_dict() for c in result.checks if not c.ok]
    assert result.artifacts["notes"] == ["note-0.txt", "note-1.txt", "note-2.txt"]
    assert highlight(result) == {"put"}


def test_a_new_case_runs_from_the_cli(scratch_case, capsys):
    code = main(["run", scratch_case, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"] and out["case"] == scratch_case
    assert {c["name"]: c["ok"] for c in out["checks"]}["every note was stored"] is True


def test_a_new_case_declares_the_file_it_takes_and_the_cli_uses_it(scratch_case, tmp_path, capsys):
    note, empty = tmp_path / "note.txt", tmp_path / "blank.txt"
    note.write_bytes(b"buy milk")
    empty.write_bytes(b"  ")
    assert parts(scratch_case).upload.accepted == "a note to store (.txt, up to 1 KB)"
    code = main(["run", scratch_case, "--upload", str(note), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"] and "buy milk" in str(out["artifacts"]["first"])
    assert main(["run", scratch_case, "--upload", str(empty)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip() == (
        "error: blank.txt holds no text: a note is a few words. Nothing was stored and nothing ran.")
    assert main(["run", "todo-api", "--upload", str(note)]) == 2
    assert "scratch-notes takes a note to store (.txt, up to 1 KB)" in capsys.readouterr().err


def test_a_new_case_runs_from_the_run_page(scratch_case):
    at = AppTest.from_file(APP_ENTRY, default_timeout=120)
    at.run()
    at.switch_page("views/run.py").run()
    at.selectbox(key="case").set_value(scratch_case).run()
    at.slider(key="run:scratch:notes").set_value(4).run()
    at.button(key="run-button").click().run()
    assert not at.exception
    checks = table_with(at, "Check")
    assert "every note was stored" in list(checks["Check"]) and set(checks["Result"]) == {"pass"}
    assert any(m.value == "**Notes stored**: 4" for m in at.markdown)


def test_step_names_are_unique_within_a_pipeline():
    p = Pipeline("x")
    p.add("deploy", "Make it", "s3", lambda ctx: None)
    with pytest.raises(ValueError, match="declared twice"):
        p.add("drive", "Make it", "s3", lambda ctx: None)
