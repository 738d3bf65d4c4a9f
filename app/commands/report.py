"""`report CASE [--set KEY=VALUE ...] [--run] -o FILE.html [--csv FILE.csv]`: a report that reads offline.

One HTML file with the diagram (icons embedded), the options and workload in words, and the
modelled latency and cost tables; with ``--run`` the case's pipeline runs on the embedded
backend first and the report adds its trace, checks and artifacts. ``--csv`` writes the cost
breakdown beside it. ``--set`` takes the case's toggles and its model's workload inputs.

Exit codes as every command: 0 done (with ``--run``: every check passed), 1 a check of the
run failed (the report is written, and says which), 2 bad input, 3 no pipeline to run,
4 an output that cannot be written.
"""
from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from app.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    OutputError,
    add_set_option,
    case_and_values,
    write_output,
)
from app.core.cases import get_case, parts
from app.core.params import parse_assignments

SAMPLES = 200_000


def register(sub) -> None:
    p = sub.add_parser("report", help="write an HTML report of a case (diagram, options, modelled latency and "
                                      "cost; with --run the run's trace, checks and artifacts)")
    p.add_argument("case", help="case id (see `list`)")
    add_set_option(p)
    p.add_argument("--run", action="store_true",
                   help="run the case's pipeline on the embedded backend and add its trace, checks and artifacts")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write, or - for standard output")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write the cost breakdown as CSV")
    p.set_defaults(func=run)


def _writable(target: str | None) -> None:
    """Refuse an output whose folder does not exist before anything runs."""
    if target and target != "-":
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise OutputError(f"cannot write {target}: No such file or directory")
        if os.path.isdir(target):
            raise OutputError(f"cannot write {target}: Is a directory")


def _values(case_id: str, assignments: list[str]):
    """The case and its toggles and workload; a case without a model takes toggles only."""
    case = get_case(case_id)
    if parts(case).model is None:
        return case_and_values(case_id, assignments)
    from app.engine.run import resolve_values

    return case, resolve_values(case, parse_assignments(assignments))


def run(args) -> int:
    from app import report

    case, values = _values(args.case, args.assignments)
    _writable(args.output)
    _writable(args.csv)
    toggles = {t.key: values[t.key] for t in case.toggles}
    result = None
    highlight: set[str] = set()
    if args.run:
        from app.runtime.pipeline import highlight as run_highlight
        from app.runtime.pipeline import load_pipeline, run_pipeline

        pipeline = load_pipeline(case, toggles)
        if pipeline is None:
            print(f"error: case {case.id!r} has no executable pipeline (patterns/<case>/pipeline.py with "
                  "build_pipeline): leave out --run for a report of the diagram and the model", file=sys.stderr)
            return EXIT_UNAVAILABLE
        result = run_pipeline(pipeline, toggles, check_leftovers=True)
        highlight = run_highlight(result)
    modelled = None
    if parts(case).model is not None:
        from app.engine import run as run_engine

        modelled = run_engine(case, values, samples=SAMPLES, with_latency_gain=False)
    configurations = [report.Configuration("", values, modelled)]
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = report.html(case, configurations, run=result, highlight=highlight, generated=made)
    write_output(page.encode(), args.output)
    if args.csv:
        write_output(report.cost_csv(configurations).encode(), args.csv)
    if result is not None and not result.ok:
        failed = [c.name for c in result.checks if not c.ok]
        print(f"error: the run's check{'s' if len(failed) > 1 else ''} failed: {'; '.join(failed)} "
              "(the report says why)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
