"""Helpers shared by commands."""
from __future__ import annotations

import json
import sys
from typing import Any

from app.core.cases import Case, get_case
from app.core.params import parse_assignments

# Exit codes of every command (docs/cli.md lists them).
EXIT_OK = 0
EXIT_FAILED = 1          # run: a check failed; cleanup: something could not be listed or deleted
EXIT_USAGE = 2           # bad input: an unknown case, option or value
EXIT_UNAVAILABLE = 3     # the case has no pipeline (run) or no model (simulate), or Graphviz is missing
EXIT_ENVIRONMENT = 4     # the environment refused: an output that cannot be written, AWS unreachable,
                         # a missing profile or credentials that do not work


class OutputError(OSError):
    """An output file that cannot be written; the message names it and why."""


def add_set_option(parser) -> None:
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="set a toggle or parameter (booleans take on/off); repeatable")


def case_and_values(case_id: str, assignments: list[str]) -> tuple[Case, dict[str, Any]]:
    """The case and its resolved toggle values; unknown names or bad values raise ParamError."""
    case = get_case(case_id)
    return case, case.resolve(parse_assignments(assignments))


def write_output(data: bytes, target: str) -> None:
    """Write ``data`` to the file ``target`` (``-``: standard output); OutputError when it cannot be."""
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        with open(target, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))
