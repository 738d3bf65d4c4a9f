"""`bank [CASE ...] [--json]`: the exam question bank's counts and what blind strategies would score on it."""
from __future__ import annotations

from app.commands.common import print_json
from app.core import blind
from app.core.cases import get_case, parts, questioned_cases


def register(sub) -> None:
    p = sub.add_parser("bank", help="the question bank: counts by case, exam, domain, difficulty and answer "
                                    "type, and the score of answering blind (by length, by shared words...)")
    p.add_argument("cases", nargs="*", metavar="CASE", help="only these cases (default: every case with questions)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    cases = [get_case(c) for c in args.cases] if args.cases else questioned_cases()
    banks = [(c, parts(c).questions or []) for c in cases]
    counts, scores = blind.bank_counts(banks), blind.blind_scores(banks)
    if args.json:
        print_json({"counts": counts, "blind": scores})
        return 0
    print(f"{counts['total']} questions, {counts['linked_to_an_option']} of them linked to an option of their case")
    for key in ("case", "exam", "domain", "difficulty", "answer_type"):
        print(f"by {key.replace('_', ' ')}:")
        for name, n in sorted(counts[key].items()):
            share = n / counts["total"] if counts["total"] else 0.0
            print(f"    {name:<70} {n:>4}  {share:6.1%}")
    print(f"answering blind (chance {scores['chance']:.1%}):")
    for name, share in scores["strategies"].items():
        print(f"    {name.replace('_', ' '):<20} {share:6.1%}")
    return 0
