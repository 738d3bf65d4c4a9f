"""`diagram CASE [--set KEY=VALUE ...] --format png|svg|dot -o FILE`."""
from __future__ import annotations

import sys

from app.commands.common import add_set_option, case_and_values, write_output
from app.core.diagram import DotMissing, render


def register(sub) -> None:
    p = sub.add_parser("diagram", help="render a case's architecture diagram")
    p.add_argument("case", help="case id (see `list`)")
    add_set_option(p)
    p.add_argument("--format", choices=("png", "svg", "dot"), default="png")
    p.add_argument("-o", "--output", required=True, help="output file, or - for standard output")
    p.set_defaults(func=run)


def run(args) -> int:
    case, values = case_and_values(args.case, args.assignments)
    try:
        rendered = render(case, values)
    except DotMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    write_output(rendered.content(args.format), args.output)
    return 0
