"""`prices [--region R] [--json]` lists the price book; `prices --refresh` (live mode) writes a dated copy
refreshed from the AWS Price List API."""
from __future__ import annotations

import sys

from app.commands.common import print_json
from app.engine.books import available_regions, load_price_book


def register(sub) -> None:
    p = sub.add_parser("prices", help="list the price book, or refresh it from the AWS Price List API (live mode)")
    p.add_argument("--region", default="us-east-1", help="price book region (default us-east-1)")
    p.add_argument("--refresh", action="store_true",
                   help="query the AWS Price List API and write assets/prices/<region>_<date>.json (live mode only)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.refresh:
        from app.runtime.live import live_disabled_reason
        reason = live_disabled_reason()
        if reason:
            print(f"error: {reason}", file=sys.stderr)
            return 2
        import boto3

        from app.engine.pricing_refresh import refresh
        out, report = refresh(boto3.client("pricing", region_name="us-east-1"), args.region)
        if args.json:
            print_json({"written": str(out), "report": report})
        else:
            print(f"wrote {out}")
            for key, what in report.items():
                print(f"  {key:<28} {what}")
        return 0
    if args.region not in available_regions():
        print(f"error: no price book for region {args.region!r}; available: {', '.join(available_regions())}",
              file=sys.stderr)
        return 2
    book = load_price_book(args.region)
    if args.json:
        print_json({"region": book.region, "compiled": book.compiled, "disagreements": book.disagreements,
                    "prices": [p.describe() for p in book.prices.values()]})
        return 0
    print(f"price book {book.region}, compiled {book.compiled} (free tiers not applied)")
    for p in book.prices.values():
        flag = "  (assumption)" if p.assumption else ""
        print(f"{p.key:<36} {p.usd:>12g} USD per {p.unit_label:<22} {p.as_of:<12} {p.source_url}{flag}")
    return 0
