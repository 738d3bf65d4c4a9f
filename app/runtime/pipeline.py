"""The step API: how a case declares what its pipeline does, and how it is run.

A case's ``patterns/<case>/pipeline.py`` exposes ``PIPELINE`` (or
``build_pipeline(values) -> Pipeline`` when its steps depend on the toggles).
Steps come in four phases, run in this order: deploy, drive, verify, teardown.
Each step has a name, a service label (for the trace and the diagram) and a
function taking the run context ``ctx``::

    from app.runtime.pipeline import Check, Pipeline

    PIPELINE = Pipeline("todo-api")

    @PIPELINE.deploy("Create the todos table", service="dynamodb")
    def create_table(ctx):
        ddb = ctx.client("dynamodb")
        ctx.state["table"] = table = ctx.name("todos")
        ddb.create_table(TableName=table, ...)

    @PIPELINE.deploy("Deploy the todo function", service="lambda")
    def deploy_fn(ctx):
        ctx.lambdas.deploy("todo", handler="patterns.todo_api.handlers.handler",
                           env={"TABLE": ctx.state["table"]})

    @PIPELINE.drive("Create a todo", service="lambda")
    def create(ctx):
        ctx.state["reply"] = ctx.lambdas.invoke("todo", {...}).payload

    @PIPELINE.verify("The todo is in the table", service="dynamodb")
    def todo_saved(ctx):
        item = ctx.client("dynamodb").get_item(...).get("Item")
        return Check("todo saved", item is not None, f"read back: {item}")

A verify step returns a :class:`Check`, a list of them, or ``(ok, detail)``.
``ctx.values`` holds the case's toggle values, ``ctx.state`` is shared by the
steps, ``ctx.artifact(key, value)`` keeps something to show (an email, a listing, a
policy document). Every boto3 call and Lambda invocation inside a step becomes a
span of that step. If a deploy or drive step raises, the rest of deploy, drive and
verify is skipped and the run is not ok; teardown steps always run, and then the
session's own teardown deletes whatever is left (in a ``finally``).

:func:`run_pipeline` runs a pipeline and returns a :class:`RunResult`
(``to_dict()`` is the JSON of ``python -m app run CASE --json``); ``progress`` is
called with each :class:`StepResult` as it finishes.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

PHASES = ("deploy", "drive", "verify", "teardown")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": bool(self.ok), "detail": self.detail}


@dataclass
class Step:
    name: str
    service: str
    phase: str
    fn: Callable[["RunContext"], Any]


@dataclass
class StepResult:
    name: str
    service: str
    phase: str
    status: str              # "ok", "error", "skipped"
    measured_ms: float = 0.0
    error: str | None = None
    spans: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "service": self.service, "phase": self.phase, "status": self.status,
                "measured_ms": round(self.measured_ms, 3), "error": self.error, "spans": self.spans}


class Pipeline:
    """An ordered list of steps for one case (see the module docstring)."""

    def __init__(self, case: str, steps: Iterable[Step] = (), *, live_unsupported: str | None = None) -> None:
        self.case = case
        self.steps: list[Step] = list(steps)
        # Why this pipeline cannot run against live AWS (None: it can). A pipeline that relies on
        # the embedded backend's emulated data planes says so, rather than emulate against AWS.
        self.live_unsupported = live_unsupported

    def add(self, phase: str, name: str, service: str, fn: Callable[["RunContext"], Any]) -> Step:
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r} is not valid: use one of {', '.join(PHASES)}")
        step = Step(name=name, service=service, phase=phase, fn=fn)
        self.steps.append(step)
        return step

    def _decorator(self, phase: str, name: str, service: str):
        def register(fn):
            self.add(phase, name, service, fn)
            return fn
        return register

    def deploy(self, name: str, service: str):
        return self._decorator("deploy", name, service)

    def drive(self, name: str, service: str):
        return self._decorator("drive", name, service)

    def verify(self, name: str, service: str):
        return self._decorator("verify", name, service)

    def teardown(self, name: str, service: str):
        return self._decorator("teardown", name, service)

    def ordered(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: PHASES.index(s.phase))   # stable within a phase


class RunContext:
    """What a step function receives."""

    def __init__(self, session, values: dict[str, Any], case: str) -> None:
        self.session = session
        self.values = dict(values)
        self.case = case
        self.state: dict[str, Any] = {}
        self.artifacts: dict[str, Any] = {}
        self.checks: list[Check] = []

    @property
    def backend(self) -> str:
        return self.session.backend

    @property
    def clients(self):
        return self.session.clients

    def client(self, service: str, region: str | None = None):
        return self.session.clients.client(service, region)

    @property
    def lambdas(self):
        return self.session.lambdas

    @property
    def routing(self):
        return self.session.routing

    @property
    def trace(self):
        return self.session.trace

    def name(self, base: str) -> str:
        return self.session.name(base)

    def artifact(self, key: str, value: Any) -> None:
        self.artifacts[key] = value

    def check(self, name: str, ok: bool, detail: str = "") -> Check:
        c = Check(name, bool(ok), detail)
        self.checks.append(c)
        return c


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

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "backend": self.backend, "ok": self.ok, "run_id": self.run_id,
                "region": self.region, "measured_ms": round(self.measured_ms, 3),
                "steps": [s.to_dict() for s in self.steps], "checks": [c.to_dict() for c in self.checks],
                "artifacts": _jsonable(self.artifacts), "teardown": self.teardown}


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


def run_pipeline(pipeline: Pipeline, values: dict[str, Any] | None = None, *, session=None,
                 backend: str = "moto", progress: Callable[[StepResult], None] | None = None,
                 own_session: bool | None = None, check_leftovers: bool = False) -> RunResult:
    """Run every step; teardown always runs. A new moto session is made when none is given
    (and torn down afterwards); ``check_leftovers`` lists what the account still holds after teardown."""
    if session is None:
        from app.runtime.session import RuntimeSession

        if backend != "moto":
            raise ValueError("pass a live session (app.runtime.live.live_session) to run against AWS")
        session = RuntimeSession.moto()
        own_session = True if own_session is None else own_session
    if session.backend != "moto" and pipeline.live_unsupported:
        raise ValueError(f"{pipeline.case} cannot run against live AWS: {pipeline.live_unsupported}")
    ctx = RunContext(session, values or {}, pipeline.case)
    results: list[StepResult] = []
    failed = False
    started = time.perf_counter()
    teardown_report: dict[str, Any] = {}

    def run_step(step: Step) -> StepResult:
        nonlocal failed
        skip = failed and step.phase != "teardown"
        if skip:
            res = StepResult(step.name, step.service, step.phase, "skipped")
        else:
            t0 = time.perf_counter()
            before = len(session.trace.spans)
            res = StepResult(step.name, step.service, step.phase, "ok")
            with session.trace.in_step(step.name):
                try:
                    value = step.fn(ctx)
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
            res.measured_ms = (time.perf_counter() - t0) * 1000
            res.spans = [s.to_dict() for s in session.trace.spans[before:] if s.step == step.name] + res.spans
        results.append(res)
        if progress is not None:
            progress(res)
        return res

    try:
        for step in pipeline.ordered():
            if step.phase != "teardown":
                run_step(step)
    finally:
        for step in pipeline.ordered():
            if step.phase == "teardown":
                run_step(step)
        if own_session or own_session is None and session.backend != "moto":
            t0 = time.perf_counter()
            with session.trace.in_step("teardown"):
                report = session.teardown()
            teardown_report = {"deleted": len(report["deleted"]), "errors": report["errors"],
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
    checks = list(ctx.checks)
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
                     measured_ms=(time.perf_counter() - started) * 1000)


def load_pipeline(case, values: dict[str, Any], **options: Any) -> Pipeline | None:
    """The case's pipeline (``PIPELINE`` or ``build_pipeline(values, **options)``), None when it has none.

    ``options`` are the case's run options (a traffic workload, an image to upload...)."""
    from app.core.cases import case_module

    module = case_module(case, "pipeline")
    if module is None:
        return None
    if hasattr(module, "build_pipeline"):
        return module.build_pipeline(values, **options)
    return getattr(module, "PIPELINE", None)
