"""The case model and the registry of cases.

A case is data plus a little code: its story, takeaways, components and toggles,
and a function that draws its diagram for a given set of toggle values. The list
of cases lives in :mod:`patterns.registry`; each case is one package under
``patterns/`` exposing ``CASE``.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from app.core.format import quoted
from app.core.params import ParamError, Toggle, resolve

# More case packages, comma-separated, registered after those of patterns.registry (a case kept
# outside this repository, on the Python path).
EXTRA_CASES_ENV = "EXPLORER_EXTRA_CASES"


@dataclass(frozen=True)
class Component:
    """One building block of a case, as drawn on the diagram and named in the text.

    ``when`` names the toggle (``"dax"``) or toggle value (``"format=parquet"``)
    that makes this component appear; ``None`` means it is always there.
    """

    key: str
    label: str
    service: str
    role: str
    when: str | None = None

    def present(self, values: Mapping[str, Any]) -> bool:
        if self.when is None:
            return True
        key, sep, wanted = self.when.partition("=")
        value = values.get(key)
        if sep:
            return str(value) == wanted
        if self.when.startswith("!"):
            return not values.get(self.when[1:])
        return bool(value)


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    tagline: str
    story: str
    takeaways: tuple[str, ...]
    components: tuple[Component, ...]
    toggles: tuple[Toggle, ...]
    diagram: Callable[..., None] = field(repr=False, compare=False)
    package: str = ""
    exam: str = "SAA-C03, SAP-C02"

    def toggle(self, key: str) -> Toggle:
        for t in self.toggles:
            if t.key == key:
                return t
        raise ParamError(f"unknown toggle {quoted(key)} for {self.id}: valid toggles are "
                         + ", ".join(t.key for t in self.toggles))

    def defaults(self) -> dict[str, Any]:
        return {t.key: t.default for t in self.toggles}

    def resolve(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Toggle values: defaults overlaid with ``given``; bad names or values raise ParamError."""
        return resolve(self.toggles, given or {}, what=f"toggle for {self.id}")

    def present_components(self, values: Mapping[str, Any]) -> list[Component]:
        return [c for c in self.components if c.present(values)]

    def describe(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "tagline": self.tagline,
            "story": self.story,
            "takeaways": list(self.takeaways),
            "components": [{"key": c.key, "label": c.label, "service": c.service, "role": c.role,
                            "when": c.when} for c in self.components],
            "toggles": [t.describe() for t in self.toggles],
        }


@lru_cache(maxsize=1)
def _load() -> dict[str, Case]:
    from patterns.registry import CASE_PACKAGES

    extra = tuple(p.strip() for p in os.environ.get(EXTRA_CASES_ENV, "").split(",") if p.strip())
    cases: dict[str, Case] = {}
    for name in CASE_PACKAGES + extra:
        module = importlib.import_module(name)
        case: Case = module.CASE
        if case.id in cases:
            raise RuntimeError(f"case id {case.id!r} registered twice")
        if not case.package:
            object.__setattr__(case, "package", name)
        cases[case.id] = case
    return cases


def all_cases() -> list[Case]:
    return list(_load().values())


def case_ids() -> list[str]:
    return list(_load())


def get_case(case_id: str) -> Case:
    cases = _load()
    if case_id not in cases:
        raise ParamError(f"unknown case {quoted(case_id)}: valid cases are {', '.join(cases)}")
    return cases[case_id]


class CaseParts:
    """What the registry hands out for one case: the case and the parts of its folder.

    ``case`` (story, toggles, diagram), ``model`` (``model.py``: the latency and cost model),
    ``pipeline`` (``pipeline.py``: ``build_pipeline(values, **options)``), ``run_view``
    (``run_view.py``: the Run page's options of the case and the renderers of its
    artifacts), ``questions`` (``questions.json``: the exam questions of the case), ``drills`` (``drills.py``:
    questions the engine answers, drawn from templates), ``upload``
    (the :class:`app.core.uploads.Upload` its pipeline declares as ``UPLOAD``: the file a run of
    the case takes from the user, and its check). A part the case does not have is None; each is
    imported on first use.
    """

    def __init__(self, case: Case) -> None:
        self.case = case

    @cached_property
    def model(self):
        return case_module(self.case, "model")

    @cached_property
    def pipeline(self):
        return case_module(self.case, "pipeline")

    @cached_property
    def run_view(self):
        return case_module(self.case, "run_view")

    @cached_property
    def upload(self):
        """The file a run of the case takes from the user (``UPLOAD`` of its pipeline), or None."""
        from app.core.uploads import Upload

        declared = getattr(self.pipeline, "UPLOAD", None) if self.pipeline is not None else None
        if declared is not None and not isinstance(declared, Upload):
            raise TypeError(f"{self.case.package}.pipeline.UPLOAD must be an app.core.uploads.Upload, "
                            f"not {type(declared).__name__}")
        return declared

    @cached_property
    def drills(self):
        """``drills.py``: the templates of questions the engine answers (see app.engine.drills), or None."""
        return case_module(self.case, "drills")

    @cached_property
    def questions(self):
        """The case's exam questions (``questions.json`` in its folder, see app.core.questions), or None."""
        from app.core.questions import load_questions

        return load_questions(self.case)

    def __repr__(self) -> str:
        return f"CaseParts({self.case.id!r})"


_PARTS: dict[str, CaseParts] = {}


def parts(case: Case | str) -> CaseParts:
    """The parts of a case (or of the case with that id)."""
    case = get_case(case) if isinstance(case, str) else case
    found = _PARTS.get(case.id)
    if found is None or found.case is not case:
        found = _PARTS[case.id] = CaseParts(case)
    return found


class MissingPart(ParamError):
    """A case lacks the part a command or page needs (``model.py`` for ``simulate``): not available, not bad
    input. The message says which part, and what works without it."""


def modelled_cases() -> list[Case]:
    """The cases with a latency and cost model, in the registry's order."""
    return [c for c in all_cases() if parts(c).model is not None]


def questioned_cases() -> list[Case]:
    """The cases with exam questions, in the registry's order."""
    return [c for c in all_cases() if parts(c).questions]


def executable_cases() -> list[Case]:
    """The cases with a pipeline, in the registry's order."""
    return [c for c in all_cases() if parts(c).pipeline is not None]


def upload_cases() -> list[Case]:
    """The cases whose run takes a file from the user, in the registry's order."""
    return [c for c in all_cases() if parts(c).upload is not None]


def reload_registry() -> None:
    """Read the registry again (after ``patterns.registry.CASE_PACKAGES`` changed)."""
    _load.cache_clear()
    _PARTS.clear()


def case_module(case: Case, part: str):
    """Import ``patterns.<case>.<part>`` (e.g. ``pipeline``, ``model``); None when the case has none."""
    name = f"{case.package}.{part}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
