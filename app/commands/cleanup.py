"""`cleanup --backend live [--region R ...] [--run-id ID] [--yes]`: remove leftovers of live runs.

Finds every resource tagged ``explorer:run-id`` (any run, or the one given) in the
regions and lists it; with ``--yes`` deletes it and lists what is left. Exits 1 when
something could not be listed or deleted (a listing that failed proves nothing is left),
4 when AWS cannot be reached or the credentials do not work.
"""
from __future__ import annotations

import sys

from app.commands.common import EXIT_ENVIRONMENT, print_json


def register(sub) -> None:
    from app.runtime.live import LIVE_REGIONS

    p = sub.add_parser("cleanup", help="find and remove resources left by live runs (by tag)")
    p.add_argument("--backend", choices=("live",), required=True,
                   help="live: your AWS account (the embedded backend ends with its process)")
    p.add_argument("--region", action="append", choices=LIVE_REGIONS, help="region to clean (repeatable; "
                   "default us-east-1)")
    p.add_argument("--run-id", default=None, help="only this run's resources")
    p.add_argument("--profile", default=None, help="AWS profile (else the usual credential chain)")
    p.add_argument("--yes", action="store_true", help="delete what is found (else only list it)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from app.runtime.live import AwsUnavailable, LiveError, cleanup_live

    reports = []
    for region in args.region or ["us-east-1"]:
        try:
            reports.append(cleanup_live(region, profile=args.profile, delete=args.yes, run_id=args.run_id))
        except LiveError as exc:
            print(f"error: {exc}", file=sys.stderr)
            if args.json:
                print_json({"backend": "live", "deleted": False, "regions": reports, "ok": False, "error": str(exc)})
            return EXIT_ENVIRONMENT if isinstance(exc, AwsUnavailable) else 2
    failed = any(r["errors"] or r.get("left") for r in reports)
    if args.json:
        print_json({"backend": "live", "deleted": args.yes, "regions": reports, "ok": not failed})
    else:
        for r in reports:
            print(f"{r['region']}: {len(r['found'])} tagged resources found")
            for name in r["found"]:
                print(f"    {name}")
            if args.yes:
                print(f"  deleted {len(r['deleted'])}; left {len(r.get('left', []))}")
            for e in r["errors"]:
                print(f"  error: {e}")
            if r["errors"]:
                print(f"  {r['region']} is not known to be clean: {len(r['errors'])} errors above")
        if not args.yes and any(r["found"] for r in reports):
            print("nothing deleted: add --yes to delete these resources")
    return 1 if failed else 0
