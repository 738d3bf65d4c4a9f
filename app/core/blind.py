"""What a test-wise learner could score without knowing AWS, and what the bank holds.

A question bank is only worth its score if the right option cannot be found from the way the options
are written. Each blind strategy here picks as many options as the question asks for, from the text
alone, in the order the learner sees them (ties go to the first shown):

- ``longest`` and ``shortest``: by the option's length in characters;
- ``shared_words``: by the content words it shares with the scenario and the question;
- ``named_option``: by the words it shares with the label and help of the case option the question is
  linked to (what a learner would see if the page named the option before the answer);
- ``first``: the first options shown, a fixed guess.

``chance`` is the score a learner guessing at random would expect (one over the number of ways to pick
that many options). ``blind_scores`` gives every strategy's share of questions right; ``bank_counts``
the bank's counts by case, exam, domain, difficulty and answer type. Pure Python: no streamlit.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from math import comb
from typing import Any

from app.core.questions import Option, Question

# Words that carry no meaning of their own in a stem or an option.
STOPWORDS = frozenset("""
a an the and or but if then than of to in on at by for from with without into onto over under within
is are was were be been being it its this that these those there their them they he she we you your
our which what who whom whose when where why how all any each every some more most less least much
many few no not only own same so too very can could should would will may might must do does did
has have had use uses used using make makes made also as such per via one two three
""".split())


def words(text: str) -> set[str]:
    """The content words of a text, lower case, without stopwords and one-letter tokens."""
    return {w for w in re.findall(r"[a-z0-9][a-z0-9\-]*", text.lower()) if len(w) > 1 and w not in STOPWORDS}


def _pick(q: Question, score: Callable[[Option], float]) -> set[str]:
    """The ``len(q.answers)`` options with the highest score; ties go to the option shown first."""
    ranked = sorted(enumerate(q.options), key=lambda io: (-score(io[1]), io[0]))
    return {o.id for _, o in ranked[:len(q.answers)]}


def longest(q: Question, case: Any = None) -> set[str]:
    return _pick(q, lambda o: len(o.text))


def shortest(q: Question, case: Any = None) -> set[str]:
    return _pick(q, lambda o: -len(o.text))


def shared_words(q: Question, case: Any = None) -> set[str]:
    stem = words(q.scenario + " " + q.question)
    return _pick(q, lambda o: len(words(o.text) & stem))


def named_option(q: Question, case: Any = None) -> set[str]:
    if q.toggle is None or case is None:
        return first(q)
    toggle = case.toggle(q.toggle)
    named = words(f"{toggle.label} {toggle.help}")
    return _pick(q, lambda o: len(words(o.text) & named))


def first(q: Question, case: Any = None) -> set[str]:
    return {o.id for o in q.options[:len(q.answers)]}


STRATEGIES: dict[str, Callable[[Question, Any], set[str]]] = {
    "longest": longest, "shortest": shortest, "shared_words": shared_words, "named_option": named_option,
    "first": first,
}


def chance(q: Question) -> float:
    """The probability of a random pick of the right number of options being right."""
    return 1 / comb(len(q.options), len(q.answers))


def blind_scores(banks: Iterable[tuple[Any, Sequence[Question]]]) -> dict[str, Any]:
    """Each strategy's share of questions right over the banks given as ``(case, questions)`` pairs, beside
    the share expected by chance; ``n`` is the number of questions."""
    hits: Counter[str] = Counter()
    expected = 0.0
    n = 0
    for case, questions in banks:
        for q in questions:
            n += 1
            expected += chance(q)
            for name, strategy in STRATEGIES.items():
                hits[name] += q.is_right(strategy(q, case))
    return {"n": n, "chance": expected / n if n else 0.0,
            "strategies": {name: hits[name] / n if n else 0.0 for name in STRATEGIES}}


def answer_type(q: Question) -> str:
    return "single" if len(q.answers) == 1 else f"choose {len(q.answers)}"


def bank_counts(banks: Iterable[tuple[Any, Sequence[Question]]]) -> dict[str, Any]:
    """The bank's counts by case, exam, domain (within its exam), difficulty, answer type, and how many
    questions are linked to an option of their case."""
    by: dict[str, Counter[str]] = {k: Counter() for k in ("case", "exam", "domain", "difficulty", "answer_type")}
    linked = total = 0
    for case, questions in banks:
        for q in questions:
            total += 1
            linked += q.toggle is not None
            by["case"][case.id] += 1
            by["exam"][q.exam] += 1
            by["domain"][f"{q.exam} / {q.domain}"] += 1
            by["difficulty"][q.difficulty] += 1
            by["answer_type"][answer_type(q)] += 1
    return {"total": total, "linked_to_an_option": linked, **{k: dict(v) for k, v in by.items()}}
