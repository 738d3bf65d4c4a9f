"""Questions the engine answers: templates whose numbers are drawn and whose right answer the model computes.

A case may have ``patterns/<case>/drills.py`` exposing ``TEMPLATES``, a list of :class:`Template`. A
template draws its numbers (a workload, a request mix, a region, an object size...) from the
``random.Random`` it is given and returns a :class:`Drill`: a question in the exam's form whose right
option the case's model decides (which configuration is cheaper, where the break-even lies, which p99 is
lower, how many instances are needed), with the computation that decides it as ``evidence``. The same
template and seed give the same drill on every machine (``draw``), so a seed in a link reproduces it.

Drills are checked like the question bank (:func:`check_drill`): at least four options with unique
ids, the right ones among them, a reason for each, and evidence rows that say where each figure comes
from (``modelled`` by the engine or ``published`` with a source). Pure Python: no streamlit.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core import format as fmt
from app.core.cases import Case, parts
from app.core.params import ParamError
from app.core.questions import DIFFICULTIES, DOMAINS, MIN_OPTIONS, Option

LETTERS = "ABCDEFGH"
SEED_MAX = 10**9         # seeds are whole numbers from 0 to SEED_MAX - 1 (they go in links)
BASES = ("modelled", "published", "input")


@dataclass(frozen=True)
class Evidence:
    """One line of the computation that decides a drill: a figure, its unit and where it comes from."""

    label: str
    value: str                   # as shown, formatted ("$1,234.50 a month", "38.2 ms")
    basis: str                   # "input" (drawn for this drill), "modelled" (the engine) or "published"
    source: str = ""             # the page a published figure comes from


@dataclass(frozen=True)
class Drill:
    """A drawn question: its text and options, the right ones, and the computation that decides it."""

    template: str
    seed: int
    exam: str
    domain: str
    difficulty: str
    scenario: str
    question: str
    options: tuple[Option, ...]
    answers: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    values_a: Mapping[str, Any] = field(default_factory=dict)    # the configurations compared (for diagrams)
    values_b: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.template}:{self.seed}"

    @property
    def multiple(self) -> bool:
        return len(self.answers) > 1

    def is_right(self, chosen) -> bool:
        return set(chosen) == set(self.answers)


@dataclass(frozen=True)
class Template:
    """A drill template: ``make(case, rng)`` draws the numbers and returns the :class:`Drill`."""

    id: str
    title: str
    exam: str
    domain: str
    difficulty: str
    make: Callable[[Case, random.Random, int], Drill]


def lettered(rng: random.Random,
             choices: Sequence[tuple[str, str, bool]]) -> tuple[tuple[Option, ...], tuple[str, ...]]:
    """Options given as ``(text, reason, right)``, in an order drawn from ``rng`` and lettered A, B, C... in that
    order, with the letters of the right ones."""
    order = list(choices)
    rng.shuffle(order)
    options = tuple(Option(LETTERS[i], text, reason) for i, (text, reason, _) in enumerate(order))
    return options, tuple(LETTERS[i] for i, (_, _, right) in enumerate(order) if right)


def first_distinct(right: tuple[str, str], wrong: Iterable[tuple[str, str]], n: int = MIN_OPTIONS,
                   same: Callable[[tuple, tuple], bool] | None = None) -> list[tuple[str, str, bool]]:
    """The right ``(text, reason)`` and the first distractors that read differently from every option chosen
    before them (or that ``same`` tells apart), ``n`` in all, as ``(text, reason, right)`` for :func:`lettered`."""
    alike = same or (lambda a, b: a[0] == b[0])
    chosen = [right]
    for option in wrong:
        if len(chosen) == n:
            break
        if not any(alike(option, c) for c in chosen):
            chosen.append(option)
    if len(chosen) < n:
        raise ValueError(f"a drill needs {n} distinct options")
    return [(c[-2], c[-1], c is right) for c in chosen]


def published_price(plan: Any, key: str, label: str) -> Evidence:
    """A unit price of the model's price book as published evidence (its first tier where it is tiered)."""
    price = plan.costs.prices[key]
    first = price.tiers[0]["usd"] if price.tiers else price.usd
    unit = f"per {fmt.count(price.per)} {price.unit}" if price.per != 1 else f"per {price.unit}"
    return Evidence(label, f"${first:g} {unit}", "published", price.source_url)


def templates(case: Case) -> list[Template]:
    """The case's drill templates (its ``drills.py``), or an empty list."""
    module = parts(case).drills
    return list(getattr(module, "TEMPLATES", ())) if module is not None else []


def template(case: Case, template_id: str) -> Template:
    found = {t.id: t for t in templates(case)}
    if template_id not in found:
        valid = ", ".join(found) or "none"
        raise ParamError(f"{case.id} has no drill {template_id[:100]!r}: its drills are {valid}")
    return found[template_id]


def draw(case: Case, template_id: str, seed: int) -> Drill:
    """The drill of that template and seed (the same on every call and machine)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_MAX:
        raise ParamError(f"a drill's seed is a whole number from 0 to {SEED_MAX - 1:,}")
    t = template(case, template_id)
    drill = t.make(case, random.Random(f"{case.id}/{t.id}/{seed}"), seed)
    problems = check_drill(drill)
    if problems:
        raise ValueError(f"{case.id} drill {drill.id}: " + "; ".join(problems))
    return drill


def check_drill(d: Drill) -> list[str]:
    """What is wrong with a drawn drill (an empty list when nothing is)."""
    out = []
    if d.exam not in DOMAINS or d.domain not in DOMAINS.get(d.exam, ()):
        out.append(f"exam {d.exam!r} and domain {d.domain!r} are not an exam and one of its domains")
    if d.difficulty not in DIFFICULTIES:
        out.append(f"difficulty {d.difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
    ids = [o.id for o in d.options]
    if len(ids) < MIN_OPTIONS or len(set(ids)) != len(ids):
        out.append(f"needs at least {MIN_OPTIONS} options with unique ids")
    if len({o.text for o in d.options}) != len(ids):
        out.append("two options read the same")
    if not d.answers or not set(d.answers) <= set(ids) or len(d.answers) == len(ids):
        out.append("its answers must be some, not all, of its options")
    if any(not o.text.strip() or not o.reason.strip() for o in d.options):
        out.append("every option needs a text and a reason")
    if not d.evidence:
        out.append("a drill shows the computation that decides it")
    for e in d.evidence:
        if e.basis not in BASES:
            out.append(f"evidence {e.label!r} has basis {e.basis!r}, not one of {', '.join(BASES)}")
        if e.basis == "published" and not e.source.startswith("https://"):
            out.append(f"published evidence {e.label!r} needs its source page")
    return out
