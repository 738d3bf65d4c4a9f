"""Exam questions of a case: ``questions.json`` in the case's folder, read and checked here.

The file holds ``{"questions": [...]}``; each question is a scenario in the style of the
SAA-C03 and SAP-C02 exams, resting on one of the case's takeaways:

- ``id``: unique across every case;
- ``exam``: ``SAA-C03`` or ``SAP-C02``; ``domain``: one of that exam's domains (``DOMAINS``);
- ``difficulty``: ``easy``, ``medium`` or ``hard``; ``as_of``: the date (YYYY-MM-DD) its facts were
  last checked against the pages its reasons cite;
- ``scenario`` and ``question``: the text. A multiple-response question says how many to choose as
  the exams do ("(Choose two.)", "(Choose three.)"), and has at least five options;
- ``options``: at least four, each ``{"id", "text", "reason", "source"}``: why it is right or wrong,
  and the documentation page (an https URL) that says so;
- ``answers``: the ids of the right options;
- ``takeaway``: the index of the case's takeaway the answer rests on;
- ``toggle`` (optional): ``{"key", "from", "to"}``: the option of the case that decides the question
  and the flip that shows its evidence (values written as on the command line), present only when the
  flip bears on the answer; with it, ``answered_by``: the component that answers the request once the
  toggle is at ``to``; ``given``: other toggles set for the evidence (optional, defaults otherwise);
  ``workload``: workload inputs of the case's model set for the evidence (optional, the model's defaults
  otherwise), when the scenario needs another volume.

``load_questions`` reads and validates; a bad bank raises :class:`QuestionError` naming the
question and the field. The options a student sees are not in the file's order: each question's
options are shuffled by a hash of the case id, the question id and the option id (``shuffled``), then
lettered again in the order shown, so the right answer is not always the first; the same question
has the same order and letters on every visit, link and machine, and ``answers`` names the letters
shown. Pure Python: no streamlit.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from app.core.params import ParamError, resolve

DOMAINS: dict[str, tuple[str, ...]] = {
    "SAA-C03": ("Design Secure Architectures", "Design Resilient Architectures",
                "Design High-Performing Architectures", "Design Cost-Optimized Architectures"),
    "SAP-C02": ("Design Solutions for Organizational Complexity", "Design for New Solutions",
                "Continuous Improvement for Existing Solutions", "Accelerate Workload Migration and Modernization"),
}
REQUIRED = ("id", "exam", "domain", "difficulty", "as_of", "scenario", "question", "options", "answers",
            "takeaway")
OPTIONAL = ("toggle", "answered_by", "given", "workload")
DIFFICULTIES = ("easy", "medium", "hard")
OPTION_FIELDS = ("id", "text", "reason", "source")
# "(Choose two.)" and its kin: how many a multiple-response question asks for
CHOOSE = {2: "two", 3: "three", 4: "four"}
MIN_OPTIONS, MIN_OPTIONS_MULTIPLE = 4, 5
DIRECTIONS = ("up", "down", "same")
# A modelled change smaller than this share of the figure counts as "same".
SAME_WITHIN = 0.01


class QuestionError(ValueError):
    """A question bank that cannot be used; the message names the question and the field."""


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    reason: str
    source: str = ""


@dataclass(frozen=True)
class Question:
    id: str
    exam: str
    domain: str
    scenario: str
    question: str
    options: tuple[Option, ...]
    answers: tuple[str, ...]
    toggle: str | None                 # the case's option that decides the question, or None
    from_value: Any
    to_value: Any
    given: Mapping[str, Any]
    takeaway: int
    answered_by: str | None
    workload: Mapping[str, Any] = field(default_factory=dict)
    difficulty: str = "medium"
    as_of: str = ""

    @property
    def multiple(self) -> bool:
        return len(self.answers) > 1

    def option(self, option_id: str) -> Option:
        return next(o for o in self.options if o.id == option_id)

    def is_right(self, chosen: Iterable[str]) -> bool:
        return set(chosen) == set(self.answers)

    @property
    def has_evidence(self) -> bool:
        """Whether an option of the case decides the question (so a flip of it shows the evidence)."""
        return self.toggle is not None

    def evidence_values(self, case) -> tuple[dict[str, Any], dict[str, Any]]:
        """The toggle values before and after the flip (the case's defaults, then ``given``)."""
        if self.toggle is None:
            raise ValueError(f"question {self.id!r} is decided by no option of the case: it has no flip to show")
        base = case.resolve(dict(self.given))
        return {**base, self.toggle: self.from_value}, {**base, self.toggle: self.to_value}


def _fail(case_id: str, qid: Any, message: str) -> QuestionError:
    return QuestionError(f"{case_id} question {qid!r}: {message}")


def parse_question(case, raw: Mapping[str, Any]) -> Question:
    """One question checked against its case (toggles, takeaways, components)."""
    qid = raw.get("id") if isinstance(raw, Mapping) else None
    if not isinstance(raw, Mapping):
        raise _fail(case.id, qid, "is not an object")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise _fail(case.id, qid, f"missing {', '.join(missing)}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _fail(case.id, qid, f"unknown field {', '.join(unknown)}")
    for key in ("id", "exam", "domain", "difficulty", "as_of", "scenario", "question"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise _fail(case.id, qid, f"{key} must be non-empty text")
    if raw["exam"] not in DOMAINS:
        raise _fail(case.id, qid, f"exam {raw['exam']!r} is not one of {', '.join(DOMAINS)}")
    if raw["domain"] not in DOMAINS[raw["exam"]]:
        raise _fail(case.id, qid, f"domain {raw['domain']!r} is not a domain of {raw['exam']}: "
                                  + "; ".join(DOMAINS[raw["exam"]]))
    if raw["difficulty"] not in DIFFICULTIES:
        raise _fail(case.id, qid, f"difficulty {raw['difficulty']!r} is not one of {', '.join(DIFFICULTIES)}")
    try:
        date.fromisoformat(raw["as_of"])
    except ValueError:
        raise _fail(case.id, qid, f"as_of {raw['as_of']!r} is not a date written YYYY-MM-DD") from None
    options = raw["options"]
    if not isinstance(options, list) or len(options) < MIN_OPTIONS:
        raise _fail(case.id, qid, f"needs at least {MIN_OPTIONS} options")
    parsed: list[Option] = []
    for o in options:
        if not isinstance(o, Mapping) or set(o) != set(OPTION_FIELDS) or \
                not all(isinstance(o[k], str) and o[k].strip() for k in OPTION_FIELDS):
            raise _fail(case.id, qid, f"option {o!r} needs exactly id, text, reason and source, each non-empty text")
        if not o["source"].startswith("https://") or any(c.isspace() for c in o["source"]):
            raise _fail(case.id, qid, f"option {o['id']}'s source {o['source']!r} is not an https URL")
        parsed.append(Option(o["id"], o["text"], o["reason"], o["source"]))
    ids = [o.id for o in parsed]
    if len(set(ids)) != len(ids):
        raise _fail(case.id, qid, "option ids repeat")
    answers = raw["answers"]
    if not isinstance(answers, list) or not answers or len(set(answers)) != len(answers):
        raise _fail(case.id, qid, "answers must be a non-empty list without repeats")
    absent = [a for a in answers if a not in ids]
    if absent:
        raise _fail(case.id, qid, f"answer {', '.join(map(str, absent))} is not among the options {', '.join(ids)}")
    if len(answers) == len(ids):
        raise _fail(case.id, qid, "every option is an answer")
    asks = _choose_count(raw["question"])
    if len(answers) > 1 and asks != len(answers):
        word = CHOOSE.get(len(answers), str(len(answers)))
        raise _fail(case.id, qid, f"has {len(answers)} answers, so its question must say \"(Choose {word}.)\"")
    if len(answers) == 1 and asks is not None:
        raise _fail(case.id, qid, f"says to choose {asks} but has one answer")
    if len(answers) > 1 and len(ids) < MIN_OPTIONS_MULTIPLE:
        raise _fail(case.id, qid, f"a multiple-response question needs at least {MIN_OPTIONS_MULTIPLE} options")
    takeaway = raw["takeaway"]
    if isinstance(takeaway, bool) or not isinstance(takeaway, int) or not 0 <= takeaway < len(case.takeaways):
        raise _fail(case.id, qid, f"takeaway must be an index from 0 to {len(case.takeaways) - 1}")
    common = dict(difficulty=raw["difficulty"], as_of=raw["as_of"])
    if "toggle" not in raw:
        stray = [k for k in ("answered_by", "given", "workload") if k in raw]
        if stray:
            raise _fail(case.id, qid, f"{', '.join(stray)} belong to a toggle, and the question has none")
        return Question(raw["id"], raw["exam"], raw["domain"], raw["scenario"], raw["question"], tuple(parsed),
                        tuple(answers), None, None, None, {}, takeaway, None, {}, **common)
    if "answered_by" not in raw or not isinstance(raw["answered_by"], str) or not raw["answered_by"].strip():
        raise _fail(case.id, qid, "a question with a toggle names the component that answers (answered_by)")
    flip = raw["toggle"]
    if not isinstance(flip, Mapping) or set(flip) != {"key", "from", "to"}:
        raise _fail(case.id, qid, "toggle needs exactly key, from and to")
    try:
        toggle = case.toggle(flip["key"])
        before, after = toggle.parse(flip["from"]), toggle.parse(flip["to"])
        given = dict(raw.get("given") or {})
        if flip["key"] in given:
            raise ParamError(f"given sets {flip['key']}, the toggle the question flips")
        given_values = case.resolve(given)
    except ParamError as exc:
        raise _fail(case.id, qid, str(exc)) from None
    if before == after:
        raise _fail(case.id, qid, "toggle from and to are the same value")
    workload = dict(raw.get("workload") or {})
    if workload:
        from app.core.cases import parts

        model = parts(case).model
        if model is None:
            raise _fail(case.id, qid, "sets a workload but the case has no model")
        try:
            resolved = resolve(model.PARAMS, workload, what=f"workload input for {case.id}")
        except ParamError as exc:
            raise _fail(case.id, qid, str(exc)) from None
        workload = {k: resolved[k] for k in workload}
    keys = {c.key for c in case.components}
    if raw["answered_by"] not in keys:
        raise _fail(case.id, qid, f"answered_by {raw['answered_by']!r} is not a component: {', '.join(sorted(keys))}")
    after_values = {**given_values, flip["key"]: after}
    if raw["answered_by"] not in {c.key for c in case.present_components(after_values)}:
        raise _fail(case.id, qid, f"answered_by {raw['answered_by']!r} is not on the diagram once "
                                  f"{flip['key']} is {toggle.to_text(after)}")
    return Question(raw["id"], raw["exam"], raw["domain"], raw["scenario"], raw["question"], tuple(parsed),
                    tuple(answers), flip["key"], before, after, {k: given_values[k] for k in given},
                    takeaway, raw["answered_by"], workload, **common)


def _choose_count(question: str) -> int | None:
    """How many options the question text asks for ("(Choose two.)"), or None when it asks for one."""
    found = re.search(r"\((?:choose|select) (two|three|four)\.?\)", question, re.IGNORECASE)
    if not found:
        return None
    return {word: n for n, word in CHOOSE.items()}[found.group(1).lower()]


def shuffled(case_id: str, q: Question) -> Question:
    """``q`` with its options in the order a student sees them, lettered again in that order.

    The order is the options sorted by a SHA-256 of ``case id/question id/option id``: fixed for a
    question (every visitor, link and test sees the same letters), unrelated to the order written in
    the file. The ids of the file (A, B, C...) are handed out again by position and ``answers`` follows
    its options to their new letters."""
    def rank(o: Option) -> bytes:
        return hashlib.sha256(f"{case_id}/{q.id}/{o.id}".encode()).digest()

    order = sorted(q.options, key=rank)
    letters = [o.id for o in q.options]
    new_id = {o.id: letters[i] for i, o in enumerate(order)}
    options = tuple(Option(letters[i], o.text, o.reason, o.source) for i, o in enumerate(order))
    answers = tuple(sorted((new_id[a] for a in q.answers), key=letters.index))
    return replace(q, options=options, answers=answers)


def parse_bank(case, data: Any) -> list[Question]:
    """A case's bank, validated, each question's options in the order shown (``shuffled``)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("questions"), list):
        raise QuestionError(f"{case.id} questions.json must be an object with a list under \"questions\"")
    questions = [shuffled(case.id, parse_question(case, raw)) for raw in data["questions"]]
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise _fail(case.id, q.id, "id repeats")
        seen.add(q.id)
    return questions


def load_questions(case) -> list[Question] | None:
    """The case's questions, validated, or None when its folder has no ``questions.json``."""
    import importlib.resources

    folder = importlib.resources.files(case.package)
    path = folder / "questions.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise QuestionError(f"{case.id} questions.json is not valid JSON: {exc}") from None
    return parse_bank(case, data)


# -- predictions ------------------------------------------------------------------------------------
def direction(before: float, after: float, within: float = SAME_WITHIN) -> str:
    """``up``, ``down`` or ``same`` (a change within ``within`` of the larger figure is the same)."""
    scale = max(abs(before), abs(after))
    if scale == 0 or abs(after - before) <= within * scale:
        return "same"
    return "up" if after > before else "down"


@dataclass
class Attempt:
    """One question answered in a session, with the prediction made before the reveal."""

    case: str
    question: str
    exam: str
    domain: str
    chosen: tuple[str, ...]
    right: bool
    prediction: dict[str, str] = field(default_factory=dict)   # latency, cost, component: predicted
    actual: dict[str, str] = field(default_factory=dict)       # the same, from the model and the diagram

    def prediction_score(self) -> tuple[int, int]:
        keys = [k for k in self.prediction if k in self.actual]
        return sum(self.prediction[k] == self.actual[k] for k in keys), len(keys)


def weak_topics(attempts: Iterable[Attempt]) -> list[dict[str, Any]]:
    """Score by exam domain, weakest first (share of right answers, then predictions)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for a in attempts:
        row = rows.setdefault((a.exam, a.domain), {"exam": a.exam, "domain": a.domain, "answered": 0, "right": 0,
                                                   "predictions": 0, "predictions_right": 0})
        row["answered"] += 1
        row["right"] += int(a.right)
        good, total = a.prediction_score()
        row["predictions"] += total
        row["predictions_right"] += good
    out = list(rows.values())
    for r in out:
        r["share_right"] = r["right"] / r["answered"]
    return sorted(out, key=lambda r: (r["share_right"], r["exam"], r["domain"]))


CSV_COLUMNS = ("case", "question", "exam", "domain", "chosen", "right", "predicted_latency", "modelled_latency",
               "predicted_cost", "modelled_cost", "predicted_component", "component_on_diagram")


def attempts_csv(attempts: Iterable[Attempt]) -> str:
    """The session's answers and predictions, one row each, then the score by exam domain."""
    attempts = list(attempts)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for a in attempts:
        w.writerow([a.case, a.question, a.exam, a.domain, " ".join(a.chosen), "yes" if a.right else "no",
                    a.prediction.get("latency", ""), a.actual.get("latency", ""),
                    a.prediction.get("cost", ""), a.actual.get("cost", ""),
                    a.prediction.get("component", ""), a.actual.get("component", "")])
    w.writerow([])
    w.writerow(("exam", "domain", "answered", "right", "share_right", "predictions", "predictions_right"))
    for r in weak_topics(attempts):
        w.writerow([r["exam"], r["domain"], r["answered"], r["right"], f"{r['share_right']:.2f}", r["predictions"],
                    r["predictions_right"]])
    return buf.getvalue()
