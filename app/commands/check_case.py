"""`check-case PATH`: check a case folder against the case contract (app/core/contract.py).

Prints each problem on a line of its own, starting with the file to fix, and exits 1; a case that keeps
every rule gets one line saying so and which optional parts it has, and exit 0. A path that is not a
case folder (missing, a file, no ``__init__.py``) is bad input: exit 2.
"""
from __future__ import annotations

import sys

from app.commands.common import EXIT_FAILED, EXIT_OK
from app.core.params import ParamError


def register(sub) -> None:
    p = sub.add_parser("check-case", help="check a case folder against the case contract (docs/adding-a-case.md)")
    p.add_argument("path", help="the case's folder, e.g. patterns/shop_orders")
    p.set_defaults(func=run)


def run(args) -> int:
    from app.core import contract

    try:
        case, problems = contract.load_folder(args.path)
    except contract.CaseFolderError as exc:
        raise ParamError(str(exc)) from None
    if case is not None:
        problems = contract.check(case)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' * (len(problems) != 1)} in {args.path}: see docs/adding-a-case.md",
              file=sys.stderr)
        return EXIT_FAILED
    found = contract.present_parts(case)
    print(f"{case.id} ({case.package}) keeps the case contract; parts: __init__.py"
          + "".join(f", {name}" for name in found) + ".")
    if not contract.registered(case):
        print(f"Not registered yet: add \"{case.package}\" to CASE_PACKAGES in patterns/registry.py, or name it in "
              "EXPLORER_EXTRA_CASES.")
    return EXIT_OK
