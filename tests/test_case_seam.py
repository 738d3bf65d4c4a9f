"""A new case plugs in through the registry alone: its folder of parts runs from the Run page and the CLI."""
from __future__ import annotations

import json
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

from app.cli import main
from app.core.cases import EXTRA_CASES_ENV, all_cases, parts, reload_registry
from app.runtime.pipeline import Pipeline, highlight, load_pipeline, run_pipeline
from tests.conftest import APP_ENTRY
from tests.runpage import table_with

PARTS = {
    "__init__.py": '''
        from diagrams.aws.storage import SimpleStorageServiceS3Bucket
        from diagrams.aws.general import User

        from app.core.cases import Case, Component
        from app.core.params import Toggle


        def diagram(v, kit):
            user = User("Writer", nodeid="writer")
            bucket = SimpleStorageServiceS3Bucket("Notes bucket", nodeid="bucket")
            user >> kit.edge("PutObject", step="put") >> bucket


        CASE = Case(
            id="scratch-notes", title="Scratch notes", tagline="A writer keeps notes in a bucket.",
            story="A writer puts notes into a bucket and reads them back.", takeaways=("S3 keeps what it is given.",),
            components=(Component("writer", "Writer", "Client", "Writes notes."),
                        Component("bucket", "Notes bucket", "Amazon S3", "Holds the notes.")),
            toggles=(Toggle("versioned", "Versioning", "bool", False, "Keep every version of a note."),),
            diagram=diagram)
    ''',
    "pipeline.py": '''
        from dataclasses import dataclass

        from app.core.uploads import Upload, UploadRejected
        from app.runtime.pipeline import Check, Pipeline


        @dataclass
        class State:
            bucket: str = ""


        def note_options(data, name):
            if not data.strip():
                raise UploadRejected(f"{name} holds no text: a note is a few words.")
            return {"text": data}


        UPLOAD = Upload("a note to store", (".txt",), 1024, note_options)


        def build_pipeline(values, notes=2, text=b"hello"):
            p = Pipeline("scratch-notes", state=State)

            @p.deploy("Create the notes bucket", service="s3")
            def bucket(ctx):
                ctx.state.bucket = ctx.infra.bucket("notes")

            @p.drive("Write the notes", service="s3", edges=("put",))
            def write(ctx):
                for i in range(notes):
                    ctx.client("s3").put_object(Bucket=ctx.state.bucket, Key=f"note-{i}.txt", Body=text)

            @p.verify("Notes are in the bucket", service="s3")
            def stored(ctx):
                keys = [o["Key"] for o in ctx.client("s3").list_objects_v2(Bucket=ctx.state.bucket)["Contents"]]
                ctx.artifact("notes", keys)
                ctx.artifact("first", ctx.client("s3").get_object(Bucket=ctx.state.bucket, Key=keys[0])["Body"].read().decode())
                return Check("every note was stored", len(keys) == notes, f"{len(keys)} of {notes} read back")

            return p
    ''',
    "run_view.py": '''
        import streamlit as st


        def options():
            return {"notes": st.slider("Notes to write", 1, 5, 2, key="run:scratch:notes")}


        def artifacts(art):
            st.markdown(f"**Notes stored**: {len(art['notes'])}")
    ''',
}


@pytest.fixture
def scratch_case(tmp_path, monkeypatch):
    package = tmp_path / "scratch_notes_case"
    package.mkdir()
    for name, text in PARTS.items():
        (package / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(EXTRA_CASES_ENV, "scratch_notes_case")
    reload_registry()
    yield "scratch-notes"
    monkeypatch.delenv(EXTRA_CASES_ENV)
    for module in [m for m in sys.modules if m.startswith("scratch_notes_case")]:
        del sys.modules[module]
    reload_registry()


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
