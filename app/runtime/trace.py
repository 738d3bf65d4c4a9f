"""Spans: what a run did, measured on this machine.

Every call a pipeline makes (a boto3 call, a Lambda invocation, a cache lookup in
an emulated data plane) becomes a :class:`Span`. A :class:`Trace` collects them
in order, thread-safely, and tells listeners as each span ends, so a UI can show
progress while the run goes on. Spans are the raw material for the charts and the
cost model: they carry payload sizes, cache hits and request units.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Callable, Iterator


@dataclass
class Span:
    service: str            # "dynamodb", "lambda", "dax", "apigateway", "cloudfront", ...
    operation: str          # "GetItem", "Invoke", "Lookup", ...
    resource: str = ""      # table name, function name, path, ...
    step: str = ""          # the pipeline step this span belongs to
    start_ms: float = 0.0   # since the trace began
    measured_ms: float = 0.0
    status: str = "ok"      # "ok", "error", "denied", "throttled", ...
    payload_bytes: int = 0
    cache: str | None = None          # "hit", "miss" or None when no cache is involved
    request_units: float | None = None  # DynamoDB RCU/WCU consumed, where it applies
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The span as plain data (a copy: later changes to the span do not show in it)."""
        return {f.name: _plain(getattr(self, f.name)) for f in _SPAN_FIELDS}


def _plain(value: Any) -> Any:
    # what dataclasses.asdict makes of a value, without its generic deep copy of every leaf
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


_SPAN_FIELDS = fields(Span)


class Trace:
    def __init__(self) -> None:
        self._t0 = time.perf_counter()
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Span], None]] = []
        self._local = threading.local()

    # -- recording --------------------------------------------------------------
    @property
    def current_step(self) -> str:
        return getattr(self._local, "step", "")

    @contextmanager
    def in_step(self, name: str) -> Iterator[None]:
        """Spans recorded inside this block (in this thread) belong to step ``name``."""
        previous = self.current_step
        self._local.step = name
        try:
            yield
        finally:
            self._local.step = previous

    @contextmanager
    def span(self, service: str, operation: str, resource: str = "", **fields: Any) -> Iterator[Span]:
        """Time a block; an exception marks the span ``error`` and propagates."""
        s = Span(service=service, operation=operation, resource=resource,
                 step=fields.pop("step", None) or self.current_step, **fields)
        started = time.perf_counter()
        s.start_ms = (started - self._t0) * 1000
        try:
            yield s
        except BaseException as exc:
            if s.status == "ok":
                s.status = "error"
            s.detail.setdefault("error", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            s.measured_ms = (time.perf_counter() - started) * 1000
            self.add(s)

    def add(self, span: Span) -> None:
        with self._lock:
            self._spans.append(span)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(span)

    def subscribe(self, listener: Callable[[Span], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    # -- reading ----------------------------------------------------------------
    @property
    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def for_step(self, step: str) -> list[Span]:
        return [s for s in self.spans if s.step == step]

    def cache_counts(self, service: str | None = None) -> dict[str, int]:
        counts = {"hit": 0, "miss": 0}
        for s in self.spans:
            if s.cache in counts and (service is None or s.service == service):
                counts[s.cache] += 1
        return counts

    def to_list(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.spans]
