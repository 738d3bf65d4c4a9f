"""`run CASE [--backend moto|live] [--set KEY=VALUE ...] [--upload PATH] [--fault NAME=VALUE ...] [--json]`:
execute a case's pipeline.

Runs every step against the embedded moto server (default) or, with
``--backend live --yes``, against AWS in ``--region``; prints the trace (steps and
their measured times) and the verification checks. Exits 1 when a check fails,
3 when the case has no pipeline, 2 on bad input, 4 when AWS cannot be used. ``CASE`` may also be one of the
runtime's own pipelines, ``runtime:<name>``.

``--fault NAME=VALUE`` (repeatable; the names that apply to the case are listed when a wrong one is
given) injects faults on the embedded backend until the end of the drive phase; then the faults
clear and the dead-letter queues are redriven as part of the run (``--no-redrive`` leaves the dead
letters where they are). The output's ``ledger`` counts each flow's events.

``--upload PATH`` hands a file to a case whose run takes one (the case's declared upload,
``parts(case).upload``: the same check the Run page's upload goes through); a file it refuses, or a
case that takes none, is bad input (2) and nothing runs.
"""
from __future__ import annotations

import os
import sys

from app.commands.common import EXIT_ENVIRONMENT, add_set_option, case_and_values, print_json
from app.core.format import quoted
from app.core.params import Param, ParamError, parse_assignments, resolve
from app.core.uploads import UploadRejected

RUNTIME_PREFIX = "runtime:"
MAX_UPLOAD_READ = 64 * 1024 * 1024      # a file given with --upload is read up to this far, no further
RUNTIME_PARAMS = (Param("uploads", "Objects or items sent", "int", 3, "how many uploads or orders the drive step sends",
                        min=1, max=100),)


def register(sub) -> None:
    from app.runtime.faults import FAULTS
    from app.runtime.live import LIVE_REGIONS
    from app.runtime.testpipelines.pipelines import PIPELINES

    p = sub.add_parser("run", help="execute a case's pipeline and verify it",
                       description="Execute a case's pipeline (or a runtime pipeline: "
                                   + ", ".join(RUNTIME_PREFIX + n for n in PIPELINES) + ").")
    p.add_argument("case", help="case id (see `list`) or runtime:<pipeline>")
    p.add_argument("--backend", choices=("moto", "live"), default="moto",
                   help="moto: the embedded server (default); live: your AWS account (needs --yes)")
    add_set_option(p)
    p.add_argument("--fault", dest="faults", action="append", default=[], metavar="NAME=VALUE",
                   help="inject a fault on the embedded backend (" + ", ".join(FAULTS) + "); repeatable")
    p.add_argument("--no-redrive", dest="redrive", action="store_false",
                   help="leave the dead letters in their queues when the faults clear (default: redrive them)")
    p.add_argument("--upload", metavar="PATH", default=None,
                   help="a file for a case whose run takes one (a case that takes none says which do), "
                        "checked before anything is stored")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--region", default="us-east-1", choices=LIVE_REGIONS, help="AWS region of a live run")
    p.add_argument("--profile", default=None, help="AWS profile of a live run (else the usual credential chain)")
    p.add_argument("--yes", action="store_true", help="confirm a live run (it creates billable resources)")
    p.set_defaults(func=run)


def _pipeline_and_values(case_id: str, assignments: list[str], upload: str | None = None):
    from app.runtime.pipeline import load_pipeline
    from app.runtime.testpipelines.pipelines import PIPELINES

    if case_id.startswith(RUNTIME_PREFIX):
        name = case_id[len(RUNTIME_PREFIX):]
        if name not in PIPELINES:
            raise ParamError(f"unknown runtime pipeline {quoted(name)}: valid are {', '.join(PIPELINES)}")
        values = resolve(RUNTIME_PARAMS, parse_assignments(assignments), what=f"setting for {case_id}")
        if upload is not None:
            raise ParamError(f"{case_id} takes no --upload")
        return case_id, PIPELINES[name](), values
    case, values = case_and_values(case_id, assignments)
    options = _upload_options(case, upload) if upload is not None else {}
    return case.id, load_pipeline(case, values, **options), values


def _upload_options(case, path: str) -> dict:
    """The run options for the file at ``path``, checked by the case's declared upload."""
    from app.core.cases import parts, upload_cases

    upload = parts(case).upload
    if upload is None:
        takers = "; ".join(f"{c.id} takes {parts(c).upload.accepted}" for c in upload_cases())
        raise ParamError(f"{case.id} takes no --upload: " + (takers or "no case takes one"))
    name = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_UPLOAD_READ + 1)
    except OSError as exc:
        raise ParamError(f"cannot read --upload {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_UPLOAD_READ:
        raise ParamError(f"{name} is over {MAX_UPLOAD_READ // (1024 * 1024)} MB, far more than an upload may be. "
                         "Nothing was stored and nothing ran.")
    try:
        return upload.options(data, name)
    except UploadRejected as exc:
        raise ParamError(f"{exc} Nothing was stored and nothing ran.") from None


def run(args) -> int:
    from app.runtime.pipeline import run_pipeline

    case_id, pipeline, values = _pipeline_and_values(args.case, args.assignments, args.upload)
    if pipeline is None:
        print(f"error: case {case_id!r} has no executable pipeline (patterns/<case>/pipeline.py with "
              "build_pipeline); `diagram` and `simulate` work for it", file=sys.stderr)
        return 3
    from app.runtime.faults import parse_faults

    faults = parse_faults(args.faults, pipeline.faults, case_id, refused=pipeline.refused_faults)
    if faults and args.backend == "live":
        print("error: faults are injected on the embedded backend only: drop --fault or --backend live",
              file=sys.stderr)
        return 2
    estimate = None
    if args.backend == "live" and pipeline.live_unsupported:
        print(f"error: {case_id} runs on the embedded backend only: {pipeline.live_unsupported}", file=sys.stderr)
        return 2
    if args.backend == "live":
        if not args.yes:
            print("error: a live run creates billable resources in your AWS account and deletes them "
                  "afterwards: add --yes to go ahead (see the cost estimate printed first)", file=sys.stderr)
            _print_estimate(_estimate(pipeline, values, args.region), sys.stderr)
            return 2
        from app.runtime.live import AwsUnavailable, LiveError, live_session

        estimate = _estimate(pipeline, values, args.region)
        if not args.json:
            _print_estimate(estimate, sys.stdout)
        try:
            session = live_session(args.region, profile=args.profile)
        except LiveError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ENVIRONMENT if isinstance(exc, AwsUnavailable) else 2
        result = run_pipeline(pipeline, values, session=session, own_session=True, check_leftovers=True)
    else:
        result = run_pipeline(pipeline, values, check_leftovers=True, faults=faults, redrive=args.redrive)
    out = result.to_dict()
    out["case"] = case_id
    if estimate is not None:
        out["cost_estimate"] = estimate
    if args.json:
        print_json(out)
    else:
        _print_text(out)
    return 0 if result.ok else 1


def _estimate(pipeline, values, region: str) -> dict:
    """Rehearse on the embedded backend, then price the calls it made."""
    from app.engine.steps import price_spans
    from app.runtime.pipeline import run_pipeline

    rehearsal = run_pipeline(pipeline, values)
    est = price_spans(rehearsal.spans, region)
    est["rehearsal_ok"] = rehearsal.ok
    return est


def _print_estimate(est: dict, stream) -> None:
    print(f"estimated cost of this run: {est['usd_rounded_up']:.6f} USD ({est['basis']}; prices {est['prices']})",
          file=stream)
    for line in est["lines"]:
        print(f"    {line['item']:<48} {line['quantity']:>10.3f} {line['unit']:<12} {line['usd']:.8f} USD",
              file=stream)


def _print_text(out: dict) -> None:
    print(f"{out['case']} on {out['backend']} (run {out['run_id']}, {out['region']}): "
          f"{'ok' if out['ok'] else 'FAILED'} in {out['measured_ms']:.0f} ms")
    for step in out["steps"]:
        calls = [s for s in step["spans"] if "service" in s]
        print(f"  [{step['phase']:<8}] {step['name']:<52} {step['service']:<10} {step['status']:<7} "
              f"{step['measured_ms']:8.1f} ms  {len(calls)} calls")
        groups: dict[tuple[str, str], list[dict]] = {}
        for s in calls:
            groups.setdefault((s["service"], s["operation"]), []).append(s)
        for (service, operation), spans in groups.items():
            bad = [s for s in spans if s["status"] != "ok"]
            mark = f"  {len(bad)} {bad[0]['status']}" if bad else ""
            print(f"      {service:<16} {operation:<36} x{len(spans):<5} {sum(s['measured_ms'] for s in spans):9.1f} ms"
                  f"{mark}")
        if step["error"]:
            print(f"      error: {step['error']}")
    if out.get("ledger"):
        print("ledger (events per flow):")
        for name, n in out["ledger"].items():
            print(f"  {name:<36} in {n['in']:>5}  processed {n['processed']:>5}  dead-lettered {n['dead_lettered']:>4}"
                  f"  lost {n['lost']:>3}" + (f"  redriven {n['redriven']}" if n.get("redriven") else "")
                  + (f"  failed {n['failed']}  served from {n['served_from']}"
                     if n.get("source") == "requests" else ""))
    td = out.get("teardown") or {}
    if td:
        print(f"  teardown: {td.get('deleted', 0)} resources deleted in {td.get('measured_ms', 0):.0f} ms")
    print("checks:")
    for c in out["checks"]:
        print(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['name']}: {c['detail']}")
