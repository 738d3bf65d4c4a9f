"""`bench [--json] [--only SECTION]`: measured speed against the targets.

Each section is a module under ``app/bench/`` with ``run() -> dict``. A section
reports its figures and, per target, ``{"value", "target", "met"}`` under
``targets``, so a reader (or a script) sees at once what holds.
"""
from __future__ import annotations

import importlib
import os
import platform
import time

from app.commands.common import print_json

SECTIONS = (
    ("diagrams", "app.bench.diagrams"),
    ("streaming", "app.bench.streaming"),
    ("dataplanes", "app.bench.dataplanes"),
    ("engine", "app.bench.engine"),
    ("runtime", "app.bench.runtime"),
    ("runs", "app.bench.runs"),
    ("load", "app.bench.load"),
)


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure speed against the targets")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--only", choices=[name for name, _ in SECTIONS], action="append",
                   help="run only this section (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    # The page benchmarks drive Streamlit without a browser; its "bare mode" warnings are noise here.
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    report: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "platform": platform.platform()}}
    started = time.perf_counter()
    for name, module in SECTIONS:
        if args.only and name not in args.only:
            continue
        report[name] = importlib.import_module(module).run()
    report["total_s"] = round(time.perf_counter() - started, 2)
    targets = [t for section in report.values() if isinstance(section, dict)
               for t in section.get("targets", {}).values()]
    report["all_targets_met"] = all(t["met"] for t in targets)
    if args.json:
        print_json(report)
    else:
        for name, section in report.items():
            if isinstance(section, dict):
                for key, t in section.get("targets", {}).items():
                    mark = "ok " if t["met"] else "MISS"
                    print(f"{mark} {name}.{key}: {t['value']} (target {t['target']})")
        print(f"all targets met: {report['all_targets_met']}")
    return 0
