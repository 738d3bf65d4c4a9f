"""Helpers shared by commands."""
from __future__ import annotations

import json
import sys
from typing import Any

from app.core.cases import Case, get_case
from app.core.params import parse_assignments


def add_set_option(parser) -> None:
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="set a toggle or parameter (booleans take on/off); repeatable")


def case_and_values(case_id: str, assignments: list[str]) -> tuple[Case, dict[str, Any]]:
    """The case and its resolved toggle values; unknown names or bad values raise ParamError."""
    case = get_case(case_id)
    return case, case.resolve(parse_assignments(assignments))


def write_output(data: bytes, target: str) -> None:
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        with open(target, "wb") as fh:
            fh.write(data)


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))
