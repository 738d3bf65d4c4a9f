"""The case contract (app/core/contract.py): every registered case keeps every rule, each rule names what a
case breaks in one line, and `check-case PATH` reports them with its exit codes."""
from __future__ import annotations

import dataclasses
import json

import pytest
from diagrams import Cluster
from diagrams.aws.general import User
from diagrams.aws.storage import SimpleStorageServiceS3Bucket

from app.core import contract
from app.core.cases import all_cases, get_case
from app.core.params import Toggle
from tests.commandline import cli
from tests.scratch_case import NOTES


@pytest.mark.parametrize("rule", contract.RULES, ids=lambda r: r.__name__)
@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.id)
def test_every_registered_case_keeps_every_rule(case, rule):
    assert rule(case) == []


# -- each rule names what a case breaks ----------------------------------------------------------------
@pytest.fixture
def notes(extra_case):
    """The scratch case, registered: it keeps every rule, and a test breaks one thing of it."""
    return get_case(extra_case("contract_notes_case", NOTES))


def _bucket(v, label="Notes bucket"):
    return SimpleStorageServiceS3Bucket(label, nodeid="bucket")


def no_bucket(v, kit):
    with Cluster("AWS Cloud - us-east-1"):
        User("Writer", nodeid="writer")


def unlabelled(v, kit):
    user = User("Writer", nodeid="writer")
    with Cluster("AWS Cloud - us-east-1"):
        bucket = _bucket(v, "Notes bucket" + (" (versioned)" if v["versioned"] else ""))
    user >> kit.edge(step="put") >> bucket


def no_region(v, kit):
    User("Writer", nodeid="writer") >> kit.edge("PutObject", step="put") >> _bucket(v, "Notes" + "+" * v["versioned"])


def unchanged(v, kit):
    user = User("Writer", nodeid="writer")
    with Cluster("AWS Cloud - us-east-1"):
        bucket = _bucket(v)
    user >> kit.edge("PutObject", step="put") >> bucket


def moving(v, kit):
    user = User("Writer", nodeid="writer")
    with Cluster("AWS Cloud - us-east-1"):
        bucket = _bucket(v)
    if v["versioned"]:           # the edge turns round: the two nodes swap places
        bucket >> kit.edge("GetObject", step="put") >> user
    else:
        user >> kit.edge("PutObject", step="put") >> bucket


def flag(key: str, **extra) -> Toggle:
    fields = {"exam_point": "S3 versioning keeps every version.", **extra}
    return Toggle(key, "Versioning", "bool", False, fields.pop("help", "Keep every version."), **fields)


BROKEN_CASES = [
    ("diagram_components", {"diagram": no_bucket}, "__init__.py: the diagram draws no node for bucket: draw every "
                                                    "component whatever the options, with nodeid= its key "
                                                    "(with the defaults, versioned=on)"),
    ("diagram_edges", {"diagram": unlabelled}, "__init__.py: 0 of the diagram's 1 edges carry a label"),
    ("diagram_region", {"diagram": no_region}, "__init__.py: the diagram draws no AWS region"),
    ("toggles_change_diagram", {"diagram": unchanged}, "__init__.py: versioned=on leaves the diagram as it is"),
    ("diagram_holds_still", {"diagram": moving}, "__init__.py: with versioned=on bucket, writer move on the diagram"),
    ("case_fields", {"id": "Scratch Notes"}, "__init__.py: the case id 'Scratch Notes' is not lower-case words"),
    ("case_fields", {"tagline": " "}, "__init__.py: the case has no tagline"),
    ("case_fields", {"toggles": (flag("step"),)}, "__init__.py: the toggle key 'step' cannot stand in a link"),
    ("case_fields", {"toggles": (flag("versioned", exam_point=""),)}, "__init__.py: the toggle 'versioned' has no "
                                                                      "exam_point"),
    ("case_id_free", {"id": "todo-api"}, "__init__.py: the case id 'todo-api' is already the id of patterns.todo_api"),
]


@pytest.mark.parametrize("rule,changes,expected", BROKEN_CASES, ids=[f"{r}:{','.join(c)}" for r, c, _ in BROKEN_CASES])
def test_a_broken_case_is_named_by_its_rule_in_one_line(notes, rule, changes, expected):
    broken = dataclasses.replace(notes, **changes)
    found = getattr(contract, rule)(broken)
    assert any(p.startswith(expected) for p in found), found
    assert all("\n" not in p for p in found)
    assert getattr(contract, rule)(notes) == []          # the case it was made from keeps the rule


def test_a_component_shown_by_an_unknown_toggle_is_named(notes):
    component = dataclasses.replace(notes.components[1], when="encrypted")
    found = contract.case_fields(dataclasses.replace(notes, components=(notes.components[0], component)))
    assert found == ["__init__.py: the component 'bucket' appears when='encrypted', which names no toggle of the "
                     "case (versioned)"]


def _with(files: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    assert old in files[name], old
    return {**files, name: files[name].replace(old, new)}


NO_VERIFY = _with(NOTES, "pipeline.py", '@p.verify("Notes are in the bucket", service="s3")', "")
DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html"
QUESTION = {"id": "notes-versioning", "exam": "SAA-C03", "domain": "Design Resilient Architectures",
            "scenario": "A writer overwrites a note by mistake.", "question": "What brings the old note back?",
            "difficulty": "easy", "as_of": "2026-12-07",
            "options": [{"id": "A", "text": "S3 versioning.", "reason": "Right: every version is kept.", "source": DOC},
                        {"id": "B", "text": "A bigger bucket.", "reason": "Wrong: size keeps nothing.", "source": DOC},
                        {"id": "C", "text": "A second writer.", "reason": "Wrong: it overwrites too.", "source": DOC},
                        {"id": "D", "text": "A nightly copy.", "reason": "Wrong: a day of notes is lost.",
                         "source": DOC}],
            "answers": ["A"], "toggle": {"key": "versioned", "from": "off", "to": "on"}, "takeaway": 0,
            "answered_by": "bucket"}


def bank(**changes) -> str:
    return json.dumps({"questions": [{**QUESTION, **changes}]})


BROKEN_PARTS = [
    ("pipeline", NO_VERIFY, "pipeline.py: the pipeline has no verify step"),
    ("pipeline", _with(NOTES, "pipeline.py", 'edges=("put",)', 'edges=("put", "upload")'),
     "pipeline.py: the step 'Write the notes' travels upload, which no edge of the diagram has as its step= key"),
    ("pipeline", _with(NOTES, "pipeline.py", "Pipeline(CASE.id,", 'Pipeline("notes",'),
     "pipeline.py: Pipeline('notes') is not named for the case: write Pipeline('scratch-notes', ...)"),
    ("pipeline", _with(NOTES, "pipeline.py", "state=State)", 'state=State, faults=("disk_full",))'),
     "pipeline.py: the faults disk_full are not faults"),
    ("pipeline", _with(NOTES, "pipeline.py", "p = Pipeline(", "1 / 0\n            p = Pipeline("),
     "pipeline.py: build_pipeline fails: ZeroDivisionError: division by zero (with the defaults, versioned=on)"),
    ("run_view", _with(NOTES, "run_view.py", "def artifacts(art):", "def shown(art):"),
     "run_view.py: defines no artifacts(art)"),
    ("run_view", {k: v for k, v in NOTES.items() if k != "pipeline.py"},
     "run_view.py: the case has no pipeline.py, so the Run page never shows its run view"),
    ("questions", {**NOTES, "questions.json": json.dumps({"questions": []})}, "questions.json: holds no question"),
    ("questions", {**NOTES, "questions.json": bank(answers=["B"])},
     "questions.json: question notes-versioning: the answers are not the options whose reason starts with Right "
     "('S3 versioning.')"),
    ("questions", {**NOTES, "questions.json": bank(takeaway=7)}, "questions.json: scratch-notes question "
                                                                 "'notes-versioning': takeaway must be an index"),
    ("questions", {**NOTES, "questions.json": bank(id="todo-dax-vpc")},
     "questions.json: the question ids todo-dax-vpc are ids of todo-api"),
]


@pytest.mark.parametrize("rule,files,expected", BROKEN_PARTS, ids=[f"{r}:{e[:40]}" for r, _, e in BROKEN_PARTS])
def test_a_broken_part_is_named_by_its_rule_in_one_line(extra_case, rule, files, expected):
    case = get_case(extra_case("contract_parts_case", files))
    found = getattr(contract, rule)(case)
    assert any(p.startswith(expected) for p in found), found
    assert all("\n" not in p for p in found)


MODEL = '''
    from app.core.params import Param
    from app.engine.costs import CostSheet
    from app.engine.paths import Hop, RequestClass
    from app.engine.run import Plan

    PARAMS = (Param("notes_per_month", "Notes per month", "int", 1000, "Notes written.", min=1, max=10**6),)


    def build(v, ctx):
        put = RequestClass("put a note", 1.0, [Hop("PutObject", "Amazon S3", ctx.latency.op("s3.PutObject"))])
        sheet = CostSheet(ctx.prices)
        sheet.add("s3.put", v["notes_per_month"])
        return Plan([put], sheet, typical=put.name)
'''


def with_model(extra_case, package: str, model: str) -> str:
    files = _with(NOTES, "__init__.py", 'id="scratch-notes"', f'id="{package.replace("_", "-")}"')
    return get_case(extra_case(package, {**files, "model.py": model}))


def test_a_model_that_works_keeps_the_rule_and_broken_ones_are_named(extra_case):
    assert contract.model(with_model(extra_case, "model_ok", MODEL)) == []
    clash = with_model(extra_case, "model_clash", MODEL.replace('Param("notes_per_month"', 'Param("versioned"')
                       .replace('v["notes_per_month"]', "1000"))
    assert contract.model(clash) == ["model.py: the workload inputs versioned repeat a toggle's or another input's key"]
    free = with_model(extra_case, "model_free", MODEL.replace('sheet.add("s3.put", v["notes_per_month"])', ""))
    assert contract.model(free) == ["model.py: the model gives no latency or no cost: lay out the request's hops and "
                                    "bill its lines (with the defaults, versioned=on)"]


# -- check-case ---------------------------------------------------------------------------------------
def write(folder, files: dict[str, str]):
    import textwrap

    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_check_case_passes_a_case_that_keeps_the_contract_and_says_it_is_not_registered(tmp_path):
    folder = write(tmp_path / "notes_ok", NOTES)
    r = cli("check-case", str(folder))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == [
        "scratch-notes (notes_ok) keeps the case contract; parts: __init__.py, pipeline.py, run_view.py.",
        'Not registered yet: add "notes_ok" to CASE_PACKAGES in patterns/registry.py, or name it in '
        "EXPLORER_EXTRA_CASES."]


def test_check_case_passes_every_case_of_the_registry():
    import importlib
    from pathlib import Path

    for case in all_cases():
        folder = Path(importlib.import_module(case.package).__file__).parent
        r = cli("check-case", str(folder))
        assert r.returncode == 0 and "keeps the case contract" in r.stdout and "Not registered" not in r.stdout, \
            (folder, r.stdout, r.stderr)


def test_check_case_names_each_problem_on_a_line_and_exits_1(tmp_path):
    files = _with(NO_VERIFY, "__init__.py", 'tagline="A writer keeps notes in a bucket.",', "")
    r = cli("check-case", str(write(tmp_path / "notes_bad", files)))
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["__init__.py: importing notes_bad fails: TypeError: Case.__init__() missing 1 "
                                     "required positional argument: 'tagline'"]
    assert r.stderr == f"1 problem in {tmp_path / 'notes_bad'}: see docs/adding-a-case.md\n"
    r = cli("check-case", str(write(tmp_path / "notes_quiet", NO_VERIFY)))
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["pipeline.py: the pipeline has no verify step: a run is ok only when its checks "
                                     "pass, so add @p.verify(...) returning a Check read back from the backend "
                                     "(with the defaults, versioned=on)"]


@pytest.mark.parametrize("name,says", [
    ("nowhere", "no such folder"),
    ("a.py", "is a file: give the case's folder"),
    ("", "has no __init__.py: a case folder is a Python package exposing CASE"),
], ids=["missing", "file", "not-a-package"])
def test_check_case_refuses_a_path_that_is_no_case_folder_with_exit_2(tmp_path, name, says):
    (tmp_path / "a.py").write_text("")
    r = cli("check-case", str(tmp_path / name))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: ") and says in r.stderr and r.stderr.count("\n") == 1


def test_a_run_whose_verify_steps_return_no_check_fails_and_says_why(extra_case):
    quiet = extra_case("contract_quiet_case", _with(NOTES, "pipeline.py",
                                                    'return Check("every note was stored"',
                                                    'return None and Check("every note was stored"'))
    r = cli("run", quiet, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["ok"] is False
    assert {c["name"]: c["ok"] for c in out["checks"]}["the run checked what it did"] is False
