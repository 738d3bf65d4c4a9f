"""`params CASE [--json]`: the toggles and workload inputs `simulate` accepts, with defaults, units and ranges."""
from __future__ import annotations

from app.commands.common import print_json
from app.core.cases import get_case
from app.engine import describe_params


def register(sub) -> None:
    p = sub.add_parser("params", help="list a case's toggles and workload inputs with defaults, units and ranges")
    p.add_argument("case", help="case id (see `list`)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    case = get_case(args.case)
    params = describe_params(case)
    if args.json:
        print_json({"case": case.id, "params": params})
        return 0
    for p in params:
        if p["kind"] in ("int", "float"):
            valid = f"{p['min']:g} to {p['max']:g} {p['unit']}".rstrip()
        elif p["kind"] == "choice":
            valid = ", ".join(str(c) for c in p["choices"])
        else:
            valid = "on/off"
        default = p["default"] if p["kind"] != "bool" else ("on" if p["default"] else "off")
        print(f"{p['key']:<26} {p['group']:<9} default {str(default):<14} ({valid})  {p['label']}")
    return 0
