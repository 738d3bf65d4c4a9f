"""The Study page through AppTest: a question answered, its evidence shown, a prediction checked, the CSV."""
from __future__ import annotations

import csv
import io

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from app.core import format as fmt
from app.core.cases import parts, questioned_cases
from tests.conftest import APP_ENTRY
from tests.runpage import shown_tables

CASES = questioned_cases()
WITH_MODEL = [c for c in CASES if parts(c).model is not None]     # their evidence is modelled too
PAGE = "views/study.py"
WORDS = {"up": "up", "down": "down", "about the same": "same"}


def open_study(**query) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    return at.run()


@pytest.fixture
def downloads(monkeypatch):
    """What the page handed to Streamlit for download, by media file name."""
    files: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def keep(self, data, mimetype, kind, filename=None):
        file_id = real(self, data, mimetype, kind, filename)
        files[file_id] = data if isinstance(data, bytes) else data.encode()
        return file_id
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def answer(at: AppTest, q, chosen) -> AppTest:
    if q.multiple:
        for o in chosen:
            at.checkbox(key=f"study:pick:{q.id}:{o}").check()
        at.run()
    else:
        at.radio(key=f"study:pick:{q.id}").set_value(chosen[0]).run()
    return at.button(key=f"study:submit:{q.id}").click().run()


def text_of(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("case", WITH_MODEL, ids=lambda c: c.id)
def test_a_question_answered_its_evidence_and_a_prediction_checked(case, downloads):
    bank = parts(case).questions
    q = [q for q in bank if q.has_evidence][-1]
    at = open_study(case=case.id, q=q.id)
    assert not at.exception
    assert at.query_params["q"] == q.id and at.query_params["step"] == "question"
    assert q.question[:40] in text_of(at).replace("\\", "")

    wrong = [o.id for o in q.options if o.id not in q.answers][:1]
    at = answer(at, q, wrong)
    assert not at.exception
    assert at.error and "the answer is " + ", ".join(q.answers) in at.error[0].value
    shown = text_of(at).replace("\\", "")
    for o in q.options:
        assert o.reason[:50] in shown, f"the reason of {o.id} is shown"
    assert at.query_params["step"] == "predict"

    # Predict: latency up, cost down, the component the question names.
    at.radio(key=f"study:pl:{q.id}").set_value("up")
    at.radio(key=f"study:pc:{q.id}").set_value("down")
    at.selectbox(key=f"study:pa:{q.id}").set_value(q.answered_by).run()
    at.button(key=f"study:reveal:{q.id}").click().run()
    assert not at.exception
    assert at.query_params["step"] == "reveal"

    images = [i.proto.imgs[0] for i in at.get("image")]
    assert [i.alt.split(":")[0] for i in images] == ["Evidence diagram before", "Evidence diagram after"]
    assert images[0].url != images[1].url, "the flip changes the diagram"
    metrics = {m.label: m for m in at.metric}
    assert all("(modelled)" in label for label in metrics) and len(metrics) == 2
    # In words and in the project's formats, as the What if page writes them: no model keys, dollars as "$975".
    shown_text = " ".join([*metrics, *(str(m.value) + " " + str(m.delta) for m in metrics.values())])
    assert "_" not in shown_text and "USD" not in shown_text, shown_text
    assert metrics["Monthly cost, before → after (modelled)"].value.startswith("$")
    table = shown_tables(at)[0]
    checks = dict(zip(table["What"], table["Check"]))
    evidence = dict(zip(table["What"], table["Evidence"]))
    assert checks["Component that answers"] == "right"
    latency_delta = next(m for label, m in metrics.items() if label.startswith("Latency")).delta
    went = WORDS[evidence["Latency (p50)"].split(" (")[0]]
    assert checks["Latency (p50)"] == ("right" if went == "up" else "wrong")
    if went == "up":
        assert latency_delta.startswith("+")
    elif went == "down":
        assert latency_delta.startswith("-")
    cost_went = WORDS[evidence["Monthly cost"].split(" (")[0]]
    assert "_" not in " ".join(evidence.values()) and "USD" not in evidence["Monthly cost"], evidence
    assert checks["Monthly cost"] == ("right" if cost_went == "down" else "wrong")

    has_run = parts(case).pipeline is not None
    links = at.get("link_button")
    assert len(links) == int(has_run)
    if has_run:
        assert f"case={case.id}" in links[0].proto.url
        assert f"{q.toggle}={case.toggle(q.toggle).to_text(q.to_value)}" in links[0].proto.url

    # The score, weakest domain first, and its CSV.
    button = [d for d in at.get("download_button") if d.key == "study:csv"][0]
    data = downloads[button.proto.url.rsplit("/", 1)[1].split(".")[0]].decode()
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0][:6] == ["case", "question", "exam", "domain", "chosen", "right"]
    assert rows[1][:6] == [case.id, q.id, q.exam, q.domain, wrong[0], "no"]
    assert rows[1][6:] == ["up", went, "down", cost_went, q.answered_by, q.answered_by]
    assert [q.exam, q.domain, "1", "0", "0.00", "3", str(sum(c == "right" for c in checks.values()))] in rows


def written(case) -> dict:
    """The case's questions as the file writes them (options in the authored order)."""
    import importlib.resources
    import json
    data = json.loads((importlib.resources.files(case.package) / "questions.json").read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["questions"]}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_option_a_student_picks_by_its_text_is_checked_and_revealed_in_the_order_shown(case):
    """Picked by the text of the file's right option(s), wherever the shuffle put them: marked right, and a wrong
    pick is told the letter the page shows beside the right text."""
    bank = parts(case).questions
    q = next((q for q in bank if q.multiple), bank[0]) if case is CASES[0] else bank[-1]
    raw = written(case)[q.id]
    right = [o["text"] for o in raw["options"] if o["id"] in raw["answers"]]
    wrong = next(o["text"] for o in raw["options"] if o["id"] not in raw["answers"])
    at = open_study(case=case.id, q=q.id)

    def pick(texts) -> list[str]:
        if q.multiple:
            boxes = [b for b in at.checkbox if b.key.startswith(f"study:pick:{q.id}:") and b.label.split(". ", 1)[1] in texts]
            for b in boxes:
                b.check()
            at.run()
            return [b.label.split(".")[0] for b in boxes]
        radio = at.radio(key=f"study:pick:{q.id}")
        letters = [label.split(".")[0] for label in radio.options if label.split(". ", 1)[1] in texts]
        radio.set_value(letters[0]).run()
        return letters

    letters = pick(right)
    assert len(letters) == len(right)
    at.button(key=f"study:submit:{q.id}").click().run()
    assert not at.exception
    assert at.success and at.success[0].value == f"Right: {', '.join(letters)}."
    marked = [m.value for m in at.markdown if ":green[:material/check:]" in m.value]
    assert len(marked) == len(right) and all(any(t[:30] in m.replace("\\", "") for m in marked) for t in right)

    at.button(key=f"study:again:{q.id}").click().run()
    mine = pick([wrong])
    at.button(key=f"study:submit:{q.id}").click().run()
    assert at.error and at.error[0].value.startswith(f"Not quite: you chose {mine[0]}; the answer is "
                                                     f"{', '.join(letters)}.")


def before_the_answer(at: AppTest) -> str:
    """What the page itself says about the question before the learner commits (its captions, headings and the
    picker's labels), beside the question's own scenario, question and options."""
    picker = at.selectbox(key=f"study:q:{at.query_params['case']}")
    return " ".join([*(c.value for c in at.caption), *(h.value for h in at.subheader), *picker.options,
                     *(i.value for i in at.info)])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_nothing_before_the_answer_names_the_domain_or_the_option_and_the_domain_shows_after(case):
    for q in parts(case).questions[:6]:
        at = open_study(case=case.id, q=q.id)
        seen = before_the_answer(at)
        assert q.domain not in seen, (q.id, "domain shown before the answer")
        if q.toggle is not None:
            assert "about the option" not in seen and case.toggle(q.toggle).label not in seen, \
                (q.id, "the linked option is named before the answer")
        at = answer(at, q, [o.id for o in q.options if o.id not in q.answers][:len(q.answers)])
        assert not at.exception
        assert any(q.domain in c.value for c in at.caption), q.id


def test_a_question_no_option_decides_shows_its_reasons_and_sources_and_no_flip():
    case, q = next((c, q) for c in CASES for q in parts(c).questions if not q.has_evidence)
    at = answer(open_study(case=case.id, q=q.id), q, list(q.answers))
    assert not at.exception
    assert at.query_params["step"] == "reveal"
    assert not at.get("image"), "no diagrams: no option of the case decides this question"
    assert any("no flip to show" in c.value for c in at.caption)
    shown = text_of(at)
    for o in q.options:
        assert f"[Documentation]({o.source})" in shown


def test_the_evidence_frames_what_the_flip_changed():
    from app.core.diagram import changed_components

    case, q = next((c, q) for c in WITH_MODEL for q in parts(c).questions
                   if q.has_evidence and changed_components(c, *q.evidence_values(c)))
    at = open_study(case=case.id, q=q.id, step="reveal")
    assert not at.exception
    changed = changed_components(case, *q.evidence_values(case))
    label = {c.key: c.label for c in case.components}
    caption = next(c.value for c in at.caption if c.value.startswith("Framed in pink"))
    for key, _ in changed:
        assert label[key] in caption


def test_a_difficulty_filter_lists_only_those_questions_and_an_empty_filter_says_so():
    case = CASES[0]
    bank = parts(case).questions
    at = open_study(case=case.id)
    at.multiselect(key="study:f:difficulty").set_value(["hard"]).run()
    listed = at.selectbox(key=f"study:q:{case.id}").options
    assert len(listed) == sum(q.difficulty == "hard" for q in bank)
    at.checkbox(key="study:f:missed").check().run()       # nothing missed yet
    assert any("none missed yet" in i.value for i in at.info)
    assert len(at.selectbox(key=f"study:q:{case.id}").options) == len(bank)


def test_a_right_answer_is_scored_right_and_multiple_answers_use_checkboxes():
    case, q = next((c, q) for c in CASES for q in parts(c).questions if q.multiple)
    at = answer(open_study(case=case.id, q=q.id), q, list(q.answers))
    assert not at.exception
    assert at.success and at.success[0].value.startswith("Right")
    assert at.session_state["study:attempts"][(case.id, q.id)].right


def test_a_bad_question_id_opens_the_first_question_with_an_escaped_notice():
    case = CASES[0]
    at = open_study(case=case.id, q="**nope**<b>")
    assert not at.exception
    first = parts(case).questions[0]
    assert at.query_params["q"] == first.id
    notices = [w.value for w in at.warning]
    assert any("unknown question" in n and "\\*\\*nope\\*\\*\\<b\\>" in n for n in notices), notices
    assert not any("Ignored from the link" in n for n in notices), "q is not taken for a toggle"


def test_a_link_restores_question_and_step():
    case = CASES[1]
    q = [q for q in parts(case).questions if q.has_evidence][1]
    at = open_study(case=case.id, q=q.id, step="predict")
    assert not at.exception
    assert at.query_params["q"] == q.id and at.query_params["step"] == "predict"
    assert any("Opened from a link" in i.value for i in at.info)
    assert at.button(key=f"study:reveal:{q.id}").disabled


def test_a_bad_step_falls_back_to_the_question_with_a_notice():
    case = CASES[0]
    q = parts(case).questions[1]
    at = open_study(case=case.id, q=q.id, step="jump")
    assert at.query_params["step"] == "question" and at.query_params["q"] == q.id
    assert any("unknown step" in w.value for w in at.warning)


def test_next_question_moves_on_and_into_the_url():
    case = CASES[0]
    bank = parts(case).questions
    q = bank[0]
    at = answer(open_study(case=case.id, q=q.id), q, list(q.answers))
    at.button(key=f"study:next:{q.id}").click().run()
    assert not at.exception
    assert at.query_params["q"] == bank[1].id and at.query_params["step"] == "question"


def test_a_scenario_workload_drives_the_evidence_and_a_reveal_link_without_a_prediction():
    case, q = next((c, q) for c in CASES for q in parts(c).questions if q.workload)
    at = open_study(case=case.id, q=q.id, step="reveal")
    assert not at.exception
    assert "Workload as in the scenario" in text_of(at)
    table = shown_tables(at)[0]
    assert set(table["You predicted"]) == {"not made"} and set(table["Check"]) == {"no prediction"}
    from app.engine.run import run
    before, after = q.evidence_values(case)
    scenario = run(case.id, {**after, **q.workload}, samples=20_000, with_break_even=False)
    default = run(case.id, after, samples=20_000, with_break_even=False)
    shown = next(m for m in at.metric if m.label.startswith("Latency"))
    assert scenario["monthly_cost_usd"] != default["monthly_cost_usd"] or \
        scenario["latency_ms"]["p50"] != default["latency_ms"]["p50"]
    cost = next(m for m in at.metric if m.label.startswith("Monthly"))
    assert cost.value == fmt.usd(scenario["monthly_cost_usd"])
    assert shown.value


def test_the_question_is_kept_across_pages():
    case = CASES[0]
    q = parts(case).questions[3]
    at = open_study(case=case.id, q=q.id)
    at.switch_page("views/explore.py").run()
    assert "q" not in at.query_params
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.query_params["q"] == q.id


def test_a_question_the_engine_answers_keeps_its_numbers_in_the_link_and_shows_its_computation():
    from app.engine.drills import draw, templates

    case = CASES[0]
    t = templates(case)[1]
    d = draw(case, t.id, 42)
    at = open_study(case=case.id, drill=t.id, seed="42")
    assert not at.exception
    assert at.query_params["drill"] == t.id and at.query_params["seed"] == "42"
    assert d.scenario[:40] in text_of(at).replace("\\", "")
    if d.multiple:
        for o in d.answers:
            at.checkbox(key=f"study:drill-answer:{case.id}:{t.id}:42:{o}").check()
        at.run()
    else:
        at.radio(key=f"study:drill-answer:{case.id}:{t.id}:42:pick").set_value(d.answers[0]).run()
    at.button(key=f"study:drill-answer:{case.id}:{t.id}:42:submit").click().run()
    assert not at.exception
    assert at.success and at.success[0].value.startswith("Right")
    table = shown_tables(at)[0]
    assert list(table["What"]) == [e.label for e in d.evidence]
    assert list(table["Value"]) == [e.value for e in d.evidence]


@pytest.mark.parametrize("query,notice", [({"drill": "nope"}, "unknown question template"),
                                          ({"seed": "-3"}, "not a whole number"),
                                          ({"seed": "9" * 40}, "not a whole number")])
def test_a_bad_drill_link_opens_a_drill_with_a_notice(query, notice):
    from app.engine.drills import templates

    case = CASES[0]
    at = open_study(case=case.id, **{"drill": templates(case)[0].id, **query})
    assert not at.exception
    assert any(notice in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.query_params["drill"] in {t.id for t in templates(case)}
    assert at.query_params["seed"].isdigit()
