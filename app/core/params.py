"""Typed parameters: the toggles of a case and the workload inputs of its model.

A parameter knows its kind, default, range and help text, parses the text a user
types (`--set dax=on`, a query parameter, a form field) and refuses a bad value
with a message that names the valid ones. Nothing here imports streamlit.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.format import clip, quoted

TRUE_WORDS = ("on", "true", "yes", "1")
FALSE_WORDS = ("off", "false", "no", "0")


class ParamError(ValueError):
    """A parameter name or value that cannot be used; the message lists the valid ones."""


@dataclass(frozen=True)
class Param:
    """One setting. ``kind`` is ``bool``, ``choice``, ``int`` or ``float``."""

    key: str
    label: str
    kind: str
    default: Any
    help: str
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("bool", "choice", "int", "float"):
            raise ValueError(f"{self.key}: unknown kind {self.kind!r}")
        # The default must itself be valid: a typo in a case definition fails at import.
        self.check(self.default)

    # -- parsing and checking -------------------------------------------------
    def valid_text(self) -> str:
        """How to write a valid value, for error messages and help."""
        if self.kind == "bool":
            return "on or off"
        if self.kind == "choice":
            return "one of " + ", ".join(str(c) for c in self.choices)
        unit = f" {self.unit}" if self.unit else ""
        return f"a number from {_fmt(self.min)} to {_fmt(self.max)}{unit}"

    def parse(self, text: Any) -> Any:
        """Turn user text (or an already typed value) into a checked value."""
        if self.kind == "bool":
            if isinstance(text, bool):
                return text
            word = str(text).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ParamError(f"{self.key}={quoted(text)} is not valid: use {self.valid_text()}")
        if self.kind == "choice":
            for choice in self.choices:
                if str(choice).lower() == str(text).strip().lower():
                    return choice
            raise ParamError(f"{self.key}={quoted(text)} is not valid: use {self.valid_text()}")
        try:
            # A whole number is taken as it is: one too large for a float is out of range, not an error.
            number = text if type(text) is int else float(text)
        except (TypeError, ValueError):
            raise ParamError(f"{self.key}={quoted(text)} is not a number: use {self.valid_text()}") from None
        if not _finite(number):
            raise ParamError(f"{self.key}={quoted(text)} is not a finite number: use {self.valid_text()}")
        if self.kind == "int":
            if number != int(number):
                raise ParamError(f"{self.key}={quoted(text)} must be a whole number: use {self.valid_text()}")
            number = int(number)
        return self.check(number)

    def check(self, value: Any) -> Any:
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"{self.key}: {clip(repr(value))} is not on/off")
        elif self.kind == "choice":
            if value not in self.choices:
                raise ParamError(f"{self.key}={clip(repr(value))} is not valid: use {self.valid_text()}")
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
                raise ParamError(f"{self.key}={clip(value)} is not a finite number: use {self.valid_text()}")
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise ParamError(f"{self.key}={clip(_fmt(value))} is out of range: use {self.valid_text()}")
        return value

    @property
    def spans_decades(self) -> bool:
        """A number whose range covers three decades or more: it moves on a log scale."""
        if self.kind not in ("int", "float") or self.min is None or self.max is None or self.max <= 0:
            return False
        low = self.min if self.min > 0 else (self.step or 1)
        return self.max / low >= 1000

    def ladder(self, *keep: Any) -> list[Any]:
        """The values a log-scale slider offers: 1, 2 and 5 times each power of ten inside the range,
        the range's ends, and any value in ``keep`` (the default, a value from a link), in order."""
        if self.min is None or self.max is None:
            raise ValueError(f"{self.key} has no range for a log-scale slider")
        lo, hi = float(self.min), float(self.max)
        first = lo if lo > 0 else float(self.step or 1)
        found = {lo, hi}
        e = math.floor(math.log10(first))
        while 10 ** e <= hi:
            for m in (1, 2, 5):
                x = round(m * 10.0 ** e, 9)
                if first <= x <= hi:
                    found.add(x)
            e += 1
        found.update(float(k) for k in keep if k is not None and lo <= float(k) <= hi)
        cast = int if self.kind == "int" else float
        return sorted({cast(x) for x in found if self.kind != "int" or float(x).is_integer()})

    def to_text(self, value: Any) -> str:
        """The inverse of :meth:`parse`, for URLs and command lines."""
        if self.kind == "bool":
            return "on" if value else "off"
        return _fmt(value)

    def value_text(self, value: Any) -> str:
        """A value as a page shows it: :meth:`to_text` with the unit of a number ("300 s", "on", "json")."""
        text = self.to_text(value)
        return f"{text} {self.unit}" if self.unit and self.kind in ("int", "float") else text

    def describe(self) -> dict:
        """A JSON-ready description (for ``params --json`` and ``list --json``)."""
        out: dict[str, Any] = {"key": self.key, "label": self.label, "kind": self.kind,
                               "default": self.default, "help": self.help}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.kind in ("int", "float"):
            out.update({"min": self.min, "max": self.max, "unit": self.unit})
        return out


@dataclass(frozen=True)
class Toggle(Param):
    """A case option the exam asks about; ``exam_point`` is what flipping it teaches."""

    exam_point: str = ""

    def describe(self) -> dict:
        out = super().describe()
        out["exam_point"] = self.exam_point
        return out


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _finite(value: Any) -> bool:
    """A whole number is always finite (``math.isfinite`` cannot take one too large for a float)."""
    return isinstance(value, int) or math.isfinite(value)


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """Split ``KEY=VALUE`` strings; a malformed one, or a key given twice, raises ParamError."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ParamError(f"{quoted(pair)} is not KEY=VALUE")
        if key in out:
            raise ParamError(f"{clip(key)} is given twice ({quoted(out[key])} and {quoted(value)}): give each "
                             "name once")
        out[key] = value
    return out


def resolve(params: Iterable[Param], given: Mapping[str, Any], *, what: str = "parameter") -> dict[str, Any]:
    """Defaults overlaid with ``given`` (text or typed values), every value checked.

    An unknown key raises ParamError listing the known ones.
    """
    by_key = {p.key: p for p in params}
    unknown = sorted(set(given) - set(by_key))
    if unknown:
        names = ", ".join(by_key) or "none"
        raise ParamError(f"unknown {what} {', '.join(clip(k) for k in unknown)}: valid names are {names}")
    values = {k: p.default for k, p in by_key.items()}
    for key, raw in given.items():
        values[key] = by_key[key].parse(raw)
    return values


__all__ = ["Param", "Toggle", "ParamError", "parse_assignments", "resolve"]
