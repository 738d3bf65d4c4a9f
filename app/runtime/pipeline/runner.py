"""Running a pipeline: its steps in phase order, the steps a run with injected faults gains, teardown
always, and the run's result (see :mod:`app.runtime.pipeline`)."""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.runtime import quota
from app.runtime.faults import bookkeeping
from app.runtime.pipeline.steps import PHASES, Check, Pipeline, RunContext, Step, StepResult


@dataclass
class RunResult:
    case: str
    backend: str
    ok: bool
    steps: list[StepResult]
    checks: list[Check]
    artifacts: dict[str, Any]
    run_id: str = ""
    region: str = ""
    teardown: dict[str, Any] = field(default_factory=dict)
    spans: list[dict] = field(default_factory=list)
    measured_ms: float = 0.0
    deployed: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"case": self.case, "backend": self.backend, "ok": self.ok, "run_id": self.run_id,
               "region": self.region, "measured_ms": round(self.measured_ms, 3), "deployed": self.deployed,
               "steps": [s.to_dict() for s in self.steps], "checks": [c.to_dict() for c in self.checks],
               "artifacts": _jsonable(self.artifacts), "teardown": self.teardown, "ledger": _jsonable(self.ledger)}
        if self.faults is not None:
            out["faults"] = _jsonable(self.faults)
        return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return f"<{len(obj)} bytes>"
    return str(obj)


def _as_checks(step: Step, value: Any) -> list[Check]:
    if value is None:
        return []
    if isinstance(value, Check):
        return [value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool):
        return [Check(step.name, value[0], str(value[1]))]
    if isinstance(value, bool):
        return [Check(step.name, value, "")]
    if isinstance(value, (list, tuple)):
        out: list[Check] = []
        for v in value:
            out.extend(_as_checks(step, v))
        return out
    raise TypeError(f"verify step {step.name!r} returned {type(value).__name__}: return Check, a list of Check "
                    "or (ok, detail)")


def _fault_steps(registry, redrive: bool) -> list[Step]:
    """The steps a run with injected faults gains: the faults clear at the end of the drive phase (and the
    dead-letter queues are redriven), and the verify phase ends with the ledger of every flow."""

    def clear(ctx: RunContext) -> None:
        with bookkeeping():
            ctx.artifact("dead_letters", ctx.routing.dead_letters())     # as the faults left them
            ctx.artifact("ledger_before_redrive", ctx.routing.ledger())
        # The region comes back first: the late S3 events and the redrive reach its endpoints. The late
        # events are delivered while the other faults still hold, as they would be on AWS.
        registry.end_outage()
        ctx.routing.release_delayed()          # the run waits for late events before reading their results
        registry.lift()
        if redrive:
            ctx.artifact("redriven", ctx.routing.redrive())

    def accounted(ctx: RunContext) -> list[Check]:
        out = []
        for name, n in ctx.routing.ledger().items():
            failed = n.get("failed", 0)
            balanced = n["lost"] == 0 and n.get("in_flight", 0) == 0 and \
                n["in"] == n["processed"] + n["dead_lettered"] + failed
            if n["source"] == "requests":
                served = ", ".join(f"{k} {v}" for k, v in n["served_from"].items()) or "none"
                out.append(Check(f"every request of {name} is accounted for", balanced,
                                 f"{n['in']} in, {n['processed']} answered (served from: {served}), {failed} failed "
                                 f"(the caller got the error), {n['lost']} lost"))
                continue
            where = f" (in {n['dead_letter_queue']})" if n["dead_letter_queue"] else " (no dead-letter queue)"
            out.append(Check(f"every event of {name} is accounted for", balanced,
                             f"{n['in']} in, {n['processed']} processed, {n['dead_lettered']} dead-lettered{where}, "
                             f"{n['lost']} lost" + (f", {n['in_flight']} still queued" if n.get("in_flight") else "")
                             + f"; {n['failed_attempts']} failed attempt{'' if n['failed_attempts'] == 1 else 's'} retried"
                             + (f", {n['redriven']} redriven after the faults cleared" if n["redriven"] else "")))
        idle = registry.idle()
        name = "the injected faults fired" + (", or were masked by another" if registry.masked() else "")
        out.append(Check(name, not idle,
                         registry.describe() + (f"; never fired: {', '.join(idle)}" if idle else "")))
        return out

    label = "The faults clear; the dead-letter queues are redriven" if redrive else "The faults clear"
    return [Step(label, "sqs", "drive", clear), Step("Every event is accounted for", "sqs", "verify", accounted)]


def _name_the_limit(res: StepResult, refused_before: int, account_id: str) -> bool:
    """A step in which a write was refused for the session's limits fails, naming the limit, even when
    the refusal was met inside a function and came back as an error response (a 502) or not at all."""
    refused, message = quota.refused(account_id)
    if refused == refused_before:
        return False
    then = f" Then {res.error}" if res.error and quota.CODE not in res.error else ""
    res.status, res.error = "error", f"{quota.CODE}: {message}{then}"
    return True


def run_pipeline(pipeline: Pipeline, values: dict[str, Any] | None = None, *, session=None,
                 backend: str = "moto", progress: Callable[[StepResult], None] | None = None,
                 own_session: bool | None = None, check_leftovers: bool = False,
                 faults: dict[str, float] | None = None, redrive: bool = True) -> RunResult:
    """Run every step; teardown always runs. A new moto session is made when none is given
    (and torn down afterwards); ``check_leftovers`` lists what the account still holds after teardown.

    ``faults`` (checked with :func:`app.runtime.faults.parse_faults`; only those in ``pipeline.faults``)
    are injected until the end of the drive phase; then the dead-letter queues are redriven unless
    ``redrive`` is False, and the verify phase ends with a check of every flow's ledger."""
    if faults:
        refused = sorted(set(faults) - set(pipeline.faults))
        if refused:
            raise ValueError(f"faults {', '.join(refused)} do not apply to {pipeline.case} "
                             f"(its faults: {', '.join(pipeline.faults) or 'none'})")
        if backend != "moto" or (session is not None and session.backend != "moto"):
            raise ValueError("faults are injected on the embedded backend only")
    if session is None:
        from app.runtime.session import RuntimeSession

        if backend != "moto":
            raise ValueError("pass a live session (app.runtime.live.live_session) to run against AWS")
        session = RuntimeSession.moto()
        own_session = True if own_session is None else own_session
    if session.backend != "moto" and pipeline.live_unsupported:
        raise ValueError(f"{pipeline.case} cannot run against live AWS: {pipeline.live_unsupported}")
    ctx = RunContext(session, {**pipeline.values, **(values or {})}, pipeline.case, pipeline.state)
    registry = None
    steps = pipeline.ordered()
    if faults:
        from app.runtime.faults import FaultRegistry
        from app.runtime.lambdas import in_invocation

        registry = FaultRegistry(faults, clock=ctx.clock, trace=session.trace, in_invocation=in_invocation,
                                 primary_region=session.region)
        session.install_faults(registry)
        clear, accounted = _fault_steps(registry, redrive)
        steps = sorted(steps + [clear, accounted], key=lambda s: PHASES.index(s.phase))
        if "region_outage" in faults:
            start = next((s for s in steps if s.phase == "drive" and s.name == pipeline.outage_from), None)
            if start is None:
                raise ValueError(f"{pipeline.case}: outage_from names no drive step: {pipeline.outage_from!r}")
            steps.insert(steps.index(start), Step(f"The primary region ({session.region}) goes down", "region",
                                                  "drive", lambda c: registry.start_outage()))
        later = next((s for s in steps if s.phase == "drive" and s.name == pipeline.recover_before), None)
        if later is not None:
            steps.remove(clear)
            steps.insert(steps.index(later), clear)
    session.routing.reset_ledger()
    ledger: dict[str, dict[str, Any]] = {}
    results: list[StepResult] = []
    failed = False
    started = time.perf_counter()
    teardown_report: dict[str, Any] = {}

    def run_step(step: Step) -> StepResult:
        nonlocal failed
        skip = failed and step.phase != "teardown"
        if skip:
            res = StepResult(step.name, step.service, step.phase, "skipped", edges=step.edges)
        else:
            t0 = time.perf_counter()
            before = len(session.trace.spans)
            refused_before = quota.refused(session.account_id)[0]
            res = StepResult(step.name, step.service, step.phase, "ok", edges=step.edges)
            with session.trace.in_step(step.name):
                try:
                    value = step.fn(ctx)
                    with bookkeeping():
                        session.routing.drain()
                        session.lambdas.flush_logs()
                    if step.phase == "verify":
                        ctx.checks.extend(_as_checks(step, value))
                except Exception as exc:  # a failed step is reported, the run goes on to teardown
                    res.status = "error"
                    res.error = f"{type(exc).__name__}: {exc}"
                    res.spans.append({"traceback": traceback.format_exc(limit=8)})
                    if step.phase in ("deploy", "drive"):
                        failed = True
                    elif step.phase == "verify":
                        ctx.checks.append(Check(step.name, False, res.error))
            if _name_the_limit(res, refused_before, session.account_id):
                failed = failed or step.phase in ("deploy", "drive")
                if step.phase == "verify":
                    ctx.checks[:] = [c for c in ctx.checks if c.name != step.name] + [Check(step.name, False, res.error)]
            res.measured_ms = (time.perf_counter() - t0) * 1000
            res.spans = [s.to_dict() for s in session.trace.spans[before:] if s.step == step.name] + res.spans
        results.append(res)
        if progress is not None:
            progress(res)
        return res

    try:
        for step in steps:
            if step.phase != "teardown":
                run_step(step)
        if registry is not None:
            registry.lift()          # a run whose recovery step never ran still reads its ledger back
        if session.backend == "moto":
            try:
                with bookkeeping():
                    ledger = session.routing.ledger()
            except Exception as exc:  # a ledger that cannot be read is a failed check, not a crash
                ctx.checks.append(Check("ledger read back", False, f"{type(exc).__name__}: {exc}"))
    finally:
        if registry is not None:
            session.remove_faults()
        for step in steps:
            if step.phase == "teardown":
                run_step(step)
        callback_errors = ctx.run_teardowns()
        if own_session or own_session is None and session.backend != "moto":
            t0 = time.perf_counter()
            with session.trace.in_step("teardown"):
                report = session.teardown()
            teardown_report = {"deleted": len(report["deleted"]), "errors": callback_errors + report["errors"],
                               "measured_ms": round((time.perf_counter() - t0) * 1000, 3)}
            if check_leftovers:
                from app.runtime.teardown import InventoryIncomplete

                try:
                    teardown_report["left"] = session.inventory()
                except InventoryIncomplete as exc:     # what could not be listed may still be there
                    teardown_report["left"], teardown_report["unlisted"] = exc.found, exc.errors
            if own_session and session.backend == "moto":
                from app.runtime.session import _release_account

                _release_account(session.account_id)
        elif callback_errors:
            teardown_report = {"errors": callback_errors}
    checks = list(ctx.checks)
    if not checks and not failed:       # a run that checked nothing proves nothing, and says so
        checks.append(Check("the run checked what it did", False, "no verify step returned a check: a run is ok "
                            "when the checks its verify steps read back from the backend pass"))
    if failed:
        broken = next(r for r in results if r.status == "error")
        checks.append(Check("pipeline ran to the end", False, f"step {broken.name!r} failed: {broken.error}"))
    if teardown_report.get("errors"):
        checks.append(Check("teardown", False, "; ".join(teardown_report["errors"])))
    if teardown_report.get("left") or teardown_report.get("unlisted"):
        checks.append(Check("nothing left behind", False, "; ".join(
            [", ".join(teardown_report["left"])] * bool(teardown_report["left"])
            + teardown_report.get("unlisted", []))))
    elif "left" in teardown_report:
        checks.append(Check("nothing left behind", True, "the backend holds no resource of this run"))
    ok = not failed and bool(checks) and all(c.ok for c in checks)
    return RunResult(case=pipeline.case, backend=session.backend, ok=ok, steps=results, checks=checks,
                     artifacts=ctx.artifacts, run_id=session.run_id, region=session.region,
                     teardown=teardown_report, spans=session.trace.to_list(),
                     measured_ms=(time.perf_counter() - started) * 1000, deployed=dict(ctx.deployed),
                     ledger=ledger, faults=None if registry is None else registry.summary())


def highlight(result: RunResult) -> set[str]:
    """The diagram edges the run travelled: those of its steps that ran to the end."""
    return {edge for step in result.steps if step.status == "ok" for edge in step.edges}


def load_pipeline(case, values: dict[str, Any], **options: Any) -> Pipeline | None:
    """The case's pipeline built for ``values`` and its run ``options``; None when the case has none."""
    from app.core.cases import parts

    module = parts(case).pipeline
    return None if module is None else module.build_pipeline(values, **options)
