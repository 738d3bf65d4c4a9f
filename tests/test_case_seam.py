"""A new case plugs in through the registry alone: its folder of parts runs from the Run page and the CLI, and
a part it does not have is a sentence on the pages and commands that need it, never an error."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app.cli import main
from app.core.cases import all_cases, parts
from app.runtime.pipeline import Pipeline, highlight, load_pipeline, run_pipeline
from tests.commandline import cli
from tests.conftest import APP_ENTRY
from tests.runpage import table_with
from tests.scratch_case import NOTES, NOTES_SKETCH


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


# -- a case without a part: each page and command says so in a sentence ---------------------------------------
def open_page(page: str, case_id: str) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=120)
    at.query_params["case"] = case_id
    at.switch_page(page)
    return at.run()


def test_what_if_of_a_case_without_a_model_says_so(scratch_case):
    at = open_page("views/whatif.py", scratch_case)
    assert not at.exception
    assert [i.value for i in at.info] == ["Scratch notes has no latency and cost model yet, so there is nothing to "
                                          "compare: the Explore page shows its diagram and the Run page runs it."]
    assert not at.metric and not at.get("plotly_chart")


def test_present_of_a_case_without_a_pipeline_shows_the_diagram_and_the_story(extra_case):
    sketch = extra_case("notes_sketch_case", NOTES_SKETCH)
    at = open_page("views/present.py", sketch)
    assert not at.exception and at.title[0].value == "Scratch notes"
    assert any("A writer puts notes into a bucket and reads them back." in m.value for m in at.markdown)
    assert any("no pipeline to step through yet: the diagram and the story are the whole case" in i.value
               for i in at.info)


DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"
QUESTIONS = json.dumps({"questions": [{
    "id": "notes-versioning", "exam": "SAA-C03", "domain": "Design Resilient Architectures",
    "scenario": "A writer overwrites a note by mistake.", "question": "What brings the old note back?",
    "difficulty": "easy", "as_of": "2026-12-07",
    "options": [{"id": "A", "text": "S3 versioning.", "reason": "Right: every version is kept.", "source": DOC},
                {"id": "B", "text": "A bigger bucket.", "reason": "Wrong: size keeps nothing.", "source": DOC},
                {"id": "C", "text": "A second writer.", "reason": "Wrong: it overwrites too.", "source": DOC},
                {"id": "D", "text": "A nightly copy.", "reason": "Wrong: a day of notes is lost.", "source": DOC}],
    "answers": ["A"], "toggle": {"key": "versioned", "from": "off", "to": "on"}, "takeaway": 0,
    "answered_by": "bucket"}]})


def test_study_of_a_case_without_a_model_predicts_and_checks_the_component_only(extra_case):
    case_id = extra_case("notes_study_case", {**NOTES_SKETCH, "questions.json": QUESTIONS})
    q = parts(case_id).questions[0]
    at = open_page("views/study.py", case_id)
    at.radio(key=f"study:pick:{q.id}").set_value(q.answers[0]).run()
    at.button(key=f"study:submit:{q.id}").click().run()
    assert any("no latency and cost model yet: the evidence is the diagram before and after" in c.value
               for c in at.caption)
    assert not [r for r in at.radio if r.key in (f"study:pl:{q.id}", f"study:pc:{q.id}")]
    at.selectbox(key=f"study:pa:{q.id}").set_value("bucket").run()
    assert not at.button(key=f"study:reveal:{q.id}").disabled        # the component is the whole prediction
    at.button(key=f"study:reveal:{q.id}").click().run()
    assert not at.exception and len(at.get("image")) == 2
    rows = table_with(at, "What")
    assert list(rows["What"]) == ["Component that answers"] and list(rows["Check"]) == ["right"]


def test_study_of_a_case_without_questions_says_so(scratch_case):
    at = open_page("views/study.py", scratch_case)
    assert not at.exception and [i.value for i in at.info] == ["This case has no exam questions yet."]


def test_simulate_without_a_model_is_not_available_and_params_lists_the_toggles(scratch_case):
    r = cli("simulate", scratch_case)
    assert r.returncode == 3 and r.stdout == ""
    assert r.stderr == (f"error: case '{scratch_case}' has no latency and cost model (model.py): `diagram`, "
                        "`params`, `report` and, where it has a pipeline, `run` work for it\n")
    r = cli("params", scratch_case, "--json")
    assert r.returncode == 0
    assert [(p["key"], p["group"]) for p in json.loads(r.stdout)["params"]] == [("versioned", "toggle")]
