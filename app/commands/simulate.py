"""`simulate CASE [--set KEY=VALUE ...] [--hit-ratio CACHE=RATIO ...] [--samples N] [--json]`.

Latency percentiles, hit ratios, monthly cost line items and break-even volumes of one
configuration, from the latency and cost engine (modelled; hit ratios measured in a run
can be supplied with ``--hit-ratio`` and are then labelled executed).
"""
from __future__ import annotations

from app.commands.common import add_set_option, print_json
from app.core.cases import get_case
from app.core.format import clip
from app.core.params import ParamError, parse_assignments
from app.engine import run as run_engine


def register(sub) -> None:
    p = sub.add_parser("simulate", help="model latency and monthly cost of a case configuration")
    p.add_argument("case", help="case id (see `list`)")
    add_set_option(p)
    p.add_argument("--hit-ratio", dest="hit_ratios", action="append", default=[], metavar="CACHE=RATIO",
                   help="use a hit ratio measured in a traffic run (0 to 1) instead of the model; repeatable")
    p.add_argument("--samples", type=int, default=1_000_000, help="simulated requests (default 1,000,000)")
    p.add_argument("--no-break-even", action="store_true", help="skip the break-even sweeps")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    if not 1_000 <= args.samples <= 10_000_000:
        raise ParamError(f"--samples {clip(args.samples)} is out of range: use a number from 1000 to 10000000")
    case = get_case(args.case)
    result = run_engine(case, parse_assignments(args.assignments), measured=parse_assignments(args.hit_ratios),
                        samples=args.samples, with_break_even=not args.no_break_even)
    if args.json:
        print_json(result)
        return 0
    lat = result["latency_ms"]
    print(f"{case.title} ({case.id}), modelled over {result['samples']:,} requests")
    print(f"latency ms: p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}")
    for group, p in {**result["latency_by_group_ms"], **result["segments_ms"]}.items():
        print(f"  {group:<34} p50 {p['p50']:>10.2f}  p90 {p['p90']:>10.2f}  p99 {p['p99']:>10.2f}")
    for name, c in result["caches"].items():
        print(f"hit ratio {name}: {c['hit_ratio']:.1%} ({c['basis']}: {c['model']})")
    print(f"monthly cost: {result['monthly_cost_usd']:,.2f} USD")
    for line in result["cost_breakdown"]:
        flag = " (assumption)" if line["assumption"] else ""
        print(f"  {line['service'][:28]:<28} {line['item'][:64]:<64} {line['quantity']:>14,.3f} {line['unit']:<18} "
              f"x {line['unit_price_usd']:<10g} = {line['monthly_usd']:>11,.2f}{flag}")
    for be in result.get("break_even", []):
        x = be["break_even_volume"]
        where = f"break-even at {x:,.0f} {be['volume_unit']}" if x else "no break-even in range"
        print(f"break-even {be['toggle']}: {be['title']}: {where} ({be['verdict']})")
    for note in result.get("notes", []):
        print(f"note: {note}")
    return 0
