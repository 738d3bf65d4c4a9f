"""The exam question banks: their order, letters and checks. What every bank keeps (valid, tied to the case's
toggles, takeaways and components, every toggle asked about) is the case contract's questions rule, checked for
every case in tests/test_contract.py."""
from __future__ import annotations

import copy
import csv
import io
import json
from collections import Counter

import pytest

from app.core.cases import parts, questioned_cases
from app.core.questions import DOMAINS, Attempt, QuestionError, attempts_csv, direction, parse_bank, weak_topics

CASES = questioned_cases()


def raw_bank(case) -> dict:
    import importlib.resources
    return json.loads((importlib.resources.files(case.package) / "questions.json").read_text(encoding="utf-8"))


def test_question_ids_are_unique_across_cases():
    ids = [q.id for c in CASES for q in parts(c).questions]
    assert len(ids) == len(set(ids))


def test_both_exams_and_several_domains_are_asked():
    qs = [q for c in CASES for q in parts(c).questions]
    assert {q.exam for q in qs} == set(DOMAINS)
    assert len({q.domain for q in qs}) >= 6
    assert any(q.multiple for q in qs) and any(not q.multiple for q in qs)


def test_the_right_answer_is_not_given_away_by_its_letter():
    """Across every bank, the right option sits at varying letters; no letter holds half the answers."""
    qs = [q for c in CASES for q in parts(c).questions]
    single = Counter(q.answers[0] for q in qs if not q.multiple)
    assert len(single) >= 3, single
    assert max(single.values()) <= sum(single.values()) / 2, single
    multiple = Counter(q.answers for q in qs if q.multiple)
    assert len(multiple) >= 2, multiple
    positions = Counter(q.options.index(q.option(q.answers[0])) for q in qs)
    assert max(positions.values()) <= len(qs) / 2, positions


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_shown_order_keeps_each_answer_with_its_text_and_is_the_same_on_every_load(case):
    written = {r["id"]: r for r in raw_bank(case)["questions"]}
    shown = parts(case).questions
    again = parse_bank(case, raw_bank(case))
    assert [(q.options, q.answers) for q in shown] == [(q.options, q.answers) for q in again]
    for q in shown:
        raw = written[q.id]
        assert [o.id for o in q.options] == [o["id"] for o in raw["options"]], "lettered in the order shown"
        assert sorted((o.text, o.reason) for o in q.options) == sorted((o["text"], o["reason"]) for o in raw["options"])
        right = {o["text"] for o in raw["options"] if o["id"] in raw["answers"]}
        assert {q.option(a).text for a in q.answers} == right, q.id


def test_current_service_names():
    text = " ".join(json.dumps(raw_bank(c)) for c in CASES)
    assert "Kinesis Data Firehose" not in text and "Kinesis Firehose" not in text
    assert "QuickSight" not in text
    assert "ElastiCache for Redis " not in text


# (breaker, message, needs a question linked to a toggle)
BREAKS = [
    (lambda q: q.update(answers=["Z"]), "not among the options", False),
    (lambda q: q.update(exam="CLF-C02"), "exam", False),
    (lambda q: q.update(domain="Design Everything"), "domain", False),
    (lambda q: q.update(difficulty="trivial"), "difficulty", False),
    (lambda q: q.update(as_of="last week"), "as_of", False),
    (lambda q: q.pop("as_of"), "missing as_of", False),
    (lambda q: q["options"][0].pop("source"), "source", False),
    (lambda q: q["options"][0].update(source="docs.aws.amazon.com/x"), "not an https URL", False),
    (lambda q: q["options"][0].update(source="javascript:alert(1)"), "not an https URL", False),
    (lambda q: q.update(question=q["question"] + " (Choose two.)"), "choose 2 but has one answer", False),
    (lambda q: q.update(answers=[o["id"] for o in q["options"][:2]], question="Which two? (Choose three.)"),
     "must say", False),
    (lambda q: q["toggle"].update(key="nope"), "unknown toggle", True),
    (lambda q: q["toggle"].update(to=q["toggle"]["from"]), "same value", True),
    (lambda q: q.update(takeaway=99), "takeaway", False),
    (lambda q: q.update(answered_by="nope"), "answered_by", True),
    (lambda q: q.pop("answered_by"), "answered_by", True),
    (lambda q: (q.pop("toggle"), q.pop("given", None), q.pop("workload", None)), "belong to a toggle", True),
    (lambda q: q["options"][0].pop("reason"), "reason", False),
    (lambda q: q.pop("scenario"), "missing scenario", False),
    (lambda q: q.update(options=q["options"][:3]), "at least 4 options", False),
    (lambda q: q.update(workload={"nope": 1}), "unknown workload input", True),
    (lambda q: q.update(given={q["toggle"]["key"]: q["toggle"]["to"]}), "given sets", True),
]


@pytest.mark.parametrize("breaker,message,linked", BREAKS, ids=[m for _, m, _ in BREAKS])
def test_a_broken_question_is_refused_with_its_id(breaker, message, linked):
    case, data, target = next((c, data, q) for c in CASES for data in [copy.deepcopy(raw_bank(c))]
                              for q in data["questions"] if ("toggle" in q) == linked and len(q["answers"]) == 1)
    breaker(target)
    with pytest.raises(QuestionError, match=message) as exc:
        parse_bank(case, data)
    assert target["id"] in str(exc.value)


def test_a_question_without_a_toggle_has_no_flip_to_show():
    case, q = next((c, q) for c in CASES for q in parts(c).questions if q.toggle is None)
    assert not q.has_evidence and q.answered_by is None
    with pytest.raises(ValueError, match="no flip"):
        q.evidence_values(case)


def test_repeated_ids_are_refused():
    case = CASES[0]
    data = raw_bank(case)
    data["questions"].append(copy.deepcopy(data["questions"][0]))
    with pytest.raises(QuestionError, match="id repeats"):
        parse_bank(case, data)


def test_an_absent_component_after_the_flip_is_refused():
    case = next(c for c in CASES for t in c.toggles if any(p.when == t.key for p in c.components))
    toggle = next(t for t in case.toggles if any(p.when == t.key for p in case.components))
    comp = next(p for p in case.components if p.when == toggle.key)
    data = raw_bank(case)
    q = next(q for q in data["questions"] if "toggle" in q)
    q.pop("given", None)
    q.update(toggle={"key": toggle.key, "from": "on", "to": "off"}, answered_by=comp.key)
    with pytest.raises(QuestionError, match="not on the diagram"):
        parse_bank(case, data)


def test_a_scenario_workload_is_checked_and_kept():
    case, q = next((c, q) for c in CASES for q in parts(c).questions if q.workload)
    model = parts(case).model
    keys = {p.key for p in model.PARAMS}
    assert set(q.workload) <= keys
    data = raw_bank(case)
    raw = next(r for r in data["questions"] if r["id"] == q.id)
    param = next(p for p in model.PARAMS if p.key in q.workload and p.max is not None)
    raw["workload"] = {param.key: param.max * 10}
    with pytest.raises(QuestionError, match="out of range"):
        parse_bank(case, data)


def test_direction():
    assert direction(100, 120) == "up"
    assert direction(100, 80) == "down"
    assert direction(100, 100.5) == "same"
    assert direction(0, 0) == "same"


def test_weak_topics_and_csv():
    attempts = [Attempt("c", "q1", "SAA-C03", "Design Secure Architectures", ("A",), True,
                        {"latency": "up", "cost": "same", "component": "x"}, {"latency": "up", "cost": "up",
                                                                               "component": "x"}),
                Attempt("c", "q2", "SAA-C03", "Design Cost-Optimized Architectures", ("B", "C"), False),
                Attempt("c", "q3", "SAA-C03", "Design Secure Architectures", ("A",), False)]
    topics = weak_topics(attempts)
    assert [t["domain"] for t in topics] == ["Design Cost-Optimized Architectures", "Design Secure Architectures"]
    assert topics[1]["right"] == 1 and topics[1]["answered"] == 2 and topics[1]["predictions_right"] == 2
    rows = list(csv.reader(io.StringIO(attempts_csv(attempts))))
    assert rows[1][:6] == ["c", "q1", "SAA-C03", "Design Secure Architectures", "A", "yes"]
    assert rows[1][6:] == ["up", "up", "same", "up", "x", "x"]
    assert rows[2][4:6] == ["B C", "no"]
    assert rows[5][0] == "exam" and rows[6][1] == "Design Cost-Optimized Architectures" and rows[6][4] == "0.00"
