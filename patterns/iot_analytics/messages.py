"""Checking a device message the user gives, before anything is published.

A message is a ``.json`` file holding one reading (a JSON object) or an array of a few readings,
or a ``.jsonl`` file holding one reading a line. It is refused, with a sentence saying why, when
its name has another extension, it is empty, larger than the IoT Core broker accepts in one
message, not UTF-8 text, not valid JSON (the line and column are given), nested too deeply, holds
something other than readings, no reading or too many, or a reading lacks a field the devices'
readings always have, has a field they never have, names a field twice, or has a value of the
wrong type for the Glue table's column or too large for it. Nothing is published before this
passes. A size over the limit is given in bytes against the limit in bytes. Readings pasted rather
than uploaded go through the same check, its sentences speaking of "the pasted text" (``subject``)
instead of a file name.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.format import series
from app.core.uploads import UploadRejected, size_text

MAX_READINGS = 10
EXTENSIONS = (".json", ".jsonl")
# Glue column type -> (words for a learner, the whole-number range it holds or None)
GLUE_TYPES = {"string": ("text (a JSON string)", None),
              "bigint": ("a whole number", (-2 ** 63, 2 ** 63 - 1)),
              "int": ("a whole number", (-2 ** 31, 2 ** 31 - 1)),
              "double": ("a number", None)}


class MessageRejected(UploadRejected):
    """The device message cannot be published; the message says why."""


@dataclass(frozen=True)
class DeviceMessage:
    """The checked readings of a message the user gave, each published as it is here."""

    name: str                       # the message in words: its file name, or "the pasted text"
    readings: tuple[dict, ...]

    def payloads(self) -> list[bytes]:
        return [payload(r) for r in self.readings]

    def describe(self) -> dict:
        return {"name": self.name, "readings": len(self.readings)}


def payload(reading: Mapping[str, Any]) -> bytes:
    """A reading as the broker receives it."""
    return json.dumps(reading).encode()


def accepted_text(max_readings: int = MAX_READINGS) -> str:
    return (f"a .json file holding one reading (a JSON object) or an array of up to {max_readings}, "
            f"or a .jsonl file holding one reading a line")


def _sentence(subject: str, name: str) -> str:
    """A subject as a sentence begins with it: "the pasted text" -> "The pasted text"; a file name is
    left exactly as the user wrote it."""
    return subject if subject == name else subject[:1].upper() + subject[1:]


def over_limit_text(size: int, max_bytes: int, how: str = "") -> str:
    """A size over the broker's limit, as exact bytes against the exact limit (a rounded size would read
    as equal to the limit: "128 KB, over the 128 KB"); ``how`` follows the size (" as published")."""
    return (f"{size:,} byte{'s' * (size != 1)}{how}, over the {max_bytes:,} bytes ({size_text(max_bytes)}) the IoT "
            "Core broker accepts in one message")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}
    return names.get(type(value), "a number")


class _Long:
    """A whole number with more digits than Python turns into an int (4,300): only its length is kept."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))


def _integer(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return _Long(text)


def _shown(value: Any) -> str:
    """A whole number as a sentence quotes it: with separators, or by its length once it is too long to read."""
    digits = value.digits if isinstance(value, _Long) else len(str(abs(value)))
    return f"{value:,}" if digits <= 30 else f"a whole number of {digits:,} digits"


def _float(value: Any) -> float | None:
    """A number as a double column holds it; None when it is too large for a double."""
    try:
        number = float(value)
    except (OverflowError, TypeError):
        return None
    return number if math.isfinite(number) else None


class _Refused(Exception):
    """Raised while parsing: a NaN or Infinity constant, or a field named twice."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"names the field {key!r} twice")
        seen[key] = value
    return seen


def _constant(text: str):
    raise _Refused(f"holds {text}, which is not a JSON number")


def _loads(text: str, name: str, lead: str, where: str = "", line_offset: int = 0) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_integer)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.msg == "Extra data" and not line_offset and name.lower().endswith(".json"):
            hint = (" (one reading a line is a .jsonl file)" if lead == name
                    else " (several readings go in a JSON array: [{...}, {...}])")
        raise MessageRejected(f"{lead} is not valid JSON: {exc.msg} at line {exc.lineno + line_offset}, "
                              f"column {exc.colno}{hint}.") from None
    except _Refused as exc:
        raise MessageRejected(f"{lead}{where} {exc}.") from None
    except RecursionError:
        raise MessageRejected(f"{lead}{where} is nested too deeply to be read: a reading is one JSON "
                              "object of plain fields.") from None


def _readings(text: str, name: str, lead: str, max_readings: int) -> tuple[list[Any], bool]:
    """The readings the text holds, and whether it holds one object rather than an array or lines."""
    if name.lower().endswith(".jsonl"):
        # JSON Lines ends a line with \n only: str.splitlines() would also cut at U+2028, U+0085 and the
        # like, which JSON lets a string hold as they are
        found = [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
        if len(found) > max_readings:
            raise MessageRejected(f"{lead} holds {len(found)} readings, more than the {max_readings} "
                                  "a run takes from you.")
        return [_loads(line, name, lead, f" on line {n}", n - 1) for n, line in found], False
    body = _loads(text, name, lead)
    if isinstance(body, dict):
        return [body], True
    if not isinstance(body, list):
        raise MessageRejected(f"{lead} holds {_kind(body)}, not a reading: a reading is a JSON object of the "
                              "device's fields.")
    if len(body) > max_readings:
        raise MessageRejected(f"{lead} holds {len(body)} readings, more than the {max_readings} a "
                              "run takes from you.")
    return body, False


def _check_value(where: str, key: str, value: Any, glue: str) -> None:
    words, bounds = GLUE_TYPES[glue]
    column = f"the Glue table's column {key} is {glue}"
    if glue == "string":
        ok = isinstance(value, str)
    elif bounds is not None:
        ok = isinstance(value, (int, _Long)) and not isinstance(value, bool)
        if ok and (isinstance(value, _Long) or not bounds[0] <= value <= bounds[1]):
            raise MessageRejected(f"{where}: {key} is {_shown(value)}, outside what the Glue table's {glue} column "
                                  f"{key} holds ({bounds[0]:,} to {bounds[1]:,}).")
    else:
        ok = isinstance(value, (int, float, _Long)) and not isinstance(value, bool)
        if ok and _float(value) is None:
            raise MessageRejected(f"{where}: {key} is too large to be a number ({column}).")
    if not ok:
        raise MessageRejected(f"{where}: {key} is {_kind(value)}, but it must be {words} ({column}).")


def check_message(data: bytes, name: str, *, fields: Mapping[str, str], required: Sequence[str],
                  max_bytes: int, max_readings: int = MAX_READINGS, subject: str | None = None) -> DeviceMessage:
    """The checked message, or MessageRejected with a clear sentence.

    ``fields``: the fields a reading may have, each with its Glue column type; ``required``: those
    every reading must have; ``max_bytes``: the most the broker takes in one message; ``subject``:
    the message in words when it is not a file the user named ("the pasted text"; by default the
    file name), which the sentences and the checked message use.
    """
    subject = subject or name
    lead = _sentence(subject, name)
    if not name.lower().endswith(EXTENSIONS):
        suffix = Path(name).suffix
        raise MessageRejected(f"{name} " + (f"ends in {suffix}" if suffix else "has no extension")
                              + f": a device message is {accepted_text(max_readings)}.")
    if not data:
        raise MessageRejected(f"{lead} is empty (0 bytes): a device message is {accepted_text(max_readings)}.")
    if len(data) > max_bytes:
        raise MessageRejected(f"{lead} is {over_limit_text(len(data), max_bytes)} (a larger publish "
                              "is refused with RequestEntityTooLargeException).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MessageRejected(f"{lead} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start:,} "
                              "cannot be decoded; save the file as UTF-8.") from None
    found, single = _readings(text, name, lead, max_readings)
    if not found:
        raise MessageRejected(f"{lead} holds no reading: give at least one JSON object of the device's fields.")
    readings = []
    for i, reading in enumerate(found, 1):
        where = lead if single else f"Reading {i} of {subject}"
        if not isinstance(reading, dict):
            raise MessageRejected(f"{where} is {_kind(reading)}, not a reading: a reading is a JSON object of the "
                                  "device's fields.")
        missing = [k for k in required if k not in reading]
        if missing:
            raise MessageRejected(f"{where} lacks {series(missing)}: every reading the devices send has "
                                  f"{series(required)}.")
        unknown = [k for k in reading if k not in fields]
        if unknown:
            raise MessageRejected(f"{where} has {series(unknown[:5])}{' and more' * (len(unknown) > 5)}, which "
                                  f"no device reading has: a reading has only {series(fields)}.")
        for key, value in reading.items():
            _check_value(where, key, value, fields[key])
        size = len(payload(reading))
        if size > max_bytes:
            raise MessageRejected(f"{where} is {over_limit_text(size, max_bytes, ' as published')}.")
        readings.append(reading)
    return DeviceMessage(name=subject, readings=tuple(readings))
