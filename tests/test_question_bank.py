"""The question bank as a whole: as large, as balanced and as hard to game as the exams it prepares for.

The figures are those of the exam guides (exam-guides.md in the project's references): SAA-C03's domains
weigh 30/26/24/20, SAP-C02's 26/29/25/20. A learner who answers blind (by length, by the words an
option shares with the stem, by the case option the question is linked to) scores near chance.
"""
from __future__ import annotations

import importlib.resources
import re
from collections import Counter
from datetime import date

import pytest

from app.core import blind
from app.core.cases import all_cases, parts
from app.core.questions import DOMAINS

# The registered cases whose folder holds a questions.json; each bank is read by the test that needs it, so
# that one case's bank in progress does not stop the tests of another.
CASES = [c for c in all_cases() if (importlib.resources.files(c.package) / "questions.json").is_file()]


def banks():
    return [(c, parts(c).questions) for c in CASES]


def everything():
    return [q for _, bank in banks() for q in bank]
GUIDE = {"SAA-C03": (30, 26, 24, 20), "SAP-C02": (26, 29, 25, 20)}
WITHIN = {"SAA-C03": 5, "SAP-C02": 8}
QUALIFIER = re.compile(r"\b(MOST|LEAST|fewest|lowest|highest)\b")
# A blind strategy may beat chance by this much over the whole bank, and no more.
NEAR_CHANCE = 0.10


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_case_has_twenty_questions_written_as_the_exams_write_them(case):
    bank = parts(case).questions
    assert len(bank) >= 20, f"{case.id}: {len(bank)} questions"
    qualified = [q.id for q in bank if QUALIFIER.search(q.question)]
    assert len(qualified) >= 0.6 * len(bank), f"{case.id}: only {len(qualified)} stems carry a qualifier"
    assert sum(q.multiple for q in bank) >= 0.15 * len(bank)
    assert {q.difficulty for q in bank} == {"easy", "medium", "hard"}
    assert {q.exam for q in bank} == set(DOMAINS)
    for q in bank:
        assert date.fromisoformat(q.as_of) <= date.today(), q.id
        assert all(o.source.startswith("https://") for o in q.options), q.id


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_no_case_bank_can_be_answered_by_the_look_of_its_options(case):
    bank = parts(case).questions
    # a case's bank is small, so its margin is wider than the whole bank's
    scores = blind.blind_scores([(case, bank)])
    for name, share in scores["strategies"].items():
        assert share <= scores["chance"] + 0.2, (case.id, name, share, scores["chance"])


def test_the_whole_bank_is_large_and_both_exams_are_asked():
    ALL = everything()
    assert len(ALL) >= 120
    exams = Counter(q.exam for q in ALL)
    assert exams["SAP-C02"] >= 0.3 * len(ALL)
    assert sum(q.multiple for q in ALL) >= 0.15 * len(ALL)


@pytest.mark.parametrize("exam", list(DOMAINS))
def test_domains_follow_the_exam_guide(exam):
    asked = [q for q in everything() if q.exam == exam]
    counts = Counter(q.domain for q in asked)
    for domain, weight in zip(DOMAINS[exam], GUIDE[exam], strict=True):
        share = 100 * counts[domain] / len(asked)
        assert abs(share - weight) <= WITHIN[exam], (exam, domain, round(share, 1), weight)


def test_a_blind_learner_scores_near_chance_on_the_whole_bank():
    scores = blind.blind_scores(banks())
    assert scores["n"] == len(everything())
    for name, share in scores["strategies"].items():
        assert share <= scores["chance"] + NEAR_CHANCE, (name, share, scores["chance"])


def test_the_blind_strategies_find_a_tell_when_there_is_one():
    # the same questions with the right option made the longest: the length strategy must see it
    from dataclasses import replace

    from app.core.questions import Option

    def telling(q):
        longest = max(len(o.text) for o in q.options)
        return replace(q, options=tuple(Option(o.id, o.text + " x" * (longest + 1) if o.id in q.answers else o.text,
                                               o.reason, o.source) for o in q.options))

    scores = blind.blind_scores([(c, [telling(q) for q in bank]) for c, bank in banks()])
    assert scores["strategies"]["longest"] == 1.0


def test_ids_are_unique_across_the_bank():
    ids = [q.id for q in everything()]
    assert len(ids) == len(set(ids))
