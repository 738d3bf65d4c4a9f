"""`list [--json]`: the cases and their toggles."""
from __future__ import annotations

from app.commands.common import print_json
from app.core.cases import all_cases


def register(sub) -> None:
    p = sub.add_parser("list", help="list the cases and their toggles")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    cases = all_cases()
    if args.json:
        print_json([c.describe() for c in cases])
        return 0
    for case in cases:
        print(f"{case.id:<18} {case.title}: {case.tagline}")
        for t in case.toggles:
            print(f"    {t.key:<22} default {t.to_text(t.default):<8} {t.help}")
    return 0
