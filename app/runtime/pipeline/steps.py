"""The step API: checks, steps and their results, the pipeline that orders them, the run's clock and
the context a step receives (see :mod:`app.runtime.pipeline`)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

PHASES = ("deploy", "drive", "verify", "teardown")
S = TypeVar("S")


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
    edges: tuple[str, ...] = ()


@dataclass
class StepResult:
    name: str
    service: str
    phase: str
    status: str              # "ok", "error", "skipped"
    measured_ms: float = 0.0
    error: str | None = None
    spans: list[dict] = field(default_factory=list)
    edges: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "service": self.service, "phase": self.phase, "status": self.status,
                "measured_ms": round(self.measured_ms, 3), "error": self.error, "edges": list(self.edges),
                "spans": self.spans}


class Pipeline:
    """An ordered list of steps for one case (see the module docstring)."""

    def __init__(self, case: str, steps: Iterable[Step] = (), *, state: Callable[[], Any] | None = None,
                 live_unsupported: str | None = None, faults: Iterable[str] = (),
                 recover_before: str | None = None, outage_from: str | None = None,
                 refused_faults: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> None:
        self.case = case
        # The values the pipeline was built for: what its steps read in ``ctx.values`` (updated with those
        # a run is given).
        self.values = dict(values or {})
        self.steps: list[Step] = list(steps)
        # What the steps share: a dataclass (its fields with defaults), made anew for each run.
        self.state = state
        # Why this pipeline cannot run against live AWS (None: it can). A pipeline that relies on
        # the embedded backend's emulated data planes says so, rather than emulate against AWS.
        self.live_unsupported = live_unsupported
        # The injected faults (app.runtime.faults.FAULTS) that apply to this run: those with a flow to fail.
        self.faults: tuple[str, ...] = tuple(faults)
        # The drive step before which injected faults clear and the dead letters are redriven (None: after
        # the last drive step), for a pipeline whose later steps read what the recovered flows produce.
        self.recover_before = recover_before
        # The drive step from which an injected region_outage takes the primary region down (it stays down
        # until the faults clear); a pipeline declaring region_outage names it.
        self.outage_from = outage_from
        if "region_outage" in self.faults and not outage_from:
            raise ValueError(f"{case}: a pipeline with the region_outage fault names the step it starts before "
                             "(outage_from=)")
        # Why a fault does not apply to this configuration (e.g. a toggle that removes the second region).
        self.refused_faults = dict(refused_faults or {})

    def add(self, phase: str, name: str, service: str, fn: Callable[["RunContext"], Any],
            edges: Iterable[str] = ()) -> Step:
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r} is not valid: use one of {', '.join(PHASES)}")
        if any(s.name == name for s in self.steps):
            raise ValueError(f"step {name!r} is declared twice in {self.case}")
        step = Step(name=name, service=service, phase=phase, fn=fn, edges=tuple(edges))
        self.steps.append(step)
        return step

    def _decorator(self, phase: str, name: str, service: str, edges: Iterable[str]):
        def register(fn):
            self.add(phase, name, service, fn, edges)
            return fn
        return register

    def deploy(self, name: str, service: str, edges: Iterable[str] = ()):
        return self._decorator("deploy", name, service, edges)

    def drive(self, name: str, service: str, edges: Iterable[str] = ()):
        return self._decorator("drive", name, service, edges)

    def verify(self, name: str, service: str, edges: Iterable[str] = ()):
        return self._decorator("verify", name, service, edges)

    def teardown(self, name: str, service: str, edges: Iterable[str] = ()):
        return self._decorator("teardown", name, service, edges)

    def ordered(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: PHASES.index(s.phase))   # stable within a phase


class RunClock:
    """The run's clock: wall time plus an offset the run may move forward (``advance``) to show
    what happens later (an expired token, a TTL that ran out) without waiting. Within
    ``held()`` it stands still (``advance`` still moves it): a lesson about what a TTL keeps
    shows the same thing however long the machine takes to make its requests."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._held: float | None = None

    def __call__(self) -> float:
        if self._held is not None:
            return self._held + self.offset
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0

    @contextmanager
    def held(self) -> Iterator[None]:
        """Stop the clock for the ``with`` block (nested holds keep the outer instant)."""
        if self._held is not None:
            yield
            return
        self._held = time.time()
        try:
            yield
        finally:
            self._held = None


class RunContext(Generic[S]):
    """What a step function receives."""

    def __init__(self, session, values: dict[str, Any], case: str, state: Callable[[], S] | None = None) -> None:
        self.session = session
        self.values = dict(values)
        self.case = case
        self.state: S = state() if state is not None else {}   # type: ignore[assignment]
        self.artifacts: dict[str, Any] = {}
        self.checks: list[Check] = []
        self.deployed: dict[str, Any] = {}
        self.clock = RunClock()
        self._teardowns: list[Callable[[], None]] = []
        self._infra = None

    @property
    def infra(self):
        """Builders of the shared infrastructure in the run's account (see :mod:`app.runtime.infra`)."""
        if self._infra is None:
            from app.runtime.infra import Infra

            self._infra = Infra(self)
        return self._infra

    @property
    def planes(self):
        """The session's emulated data planes (DAX, REST API invocation, CloudFront edge, identity pools)."""
        return self.session.dataplanes

    @property
    def streaming(self):
        return self.session.streaming

    def on_teardown(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` when the run ends (after the teardown steps, before the session's teardown)."""
        self._teardowns.append(fn)

    def run_teardowns(self) -> list[str]:
        errors = []
        for fn in reversed(self._teardowns):
            try:
                fn()
            except Exception as exc:  # one failed callback does not keep the others from running
                errors.append(f"{type(exc).__name__}: {exc}")
        self._teardowns.clear()
        return errors

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

    def region_down(self, region: str) -> bool:
        """Whether ``region`` is down in this run (an injected region outage in progress)."""
        faults = self.session.faults
        return faults is not None and faults.region_down(region)

    def artifact(self, key: str, value: Any) -> None:
        self.artifacts[key] = value

    def check(self, name: str, ok: bool, detail: str = "") -> Check:
        c = Check(name, bool(ok), detail)
        self.checks.append(c)
        return c
