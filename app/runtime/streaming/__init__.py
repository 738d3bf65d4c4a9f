"""Streaming services that moto models only as a control plane, emulated once.

moto stores Kinesis records, Firehose delivery streams, IoT topic rules, DynamoDB
streams and Athena query ids, but it never runs the data plane behind them: no
Kinesis event source polls for Lambda, Firehose neither buffers nor transforms,
topic rules never fire, global tables never replicate and Athena runs no SQL.
Each module here fills one of those gaps with a small class that reads and writes
the real moto state through boto3, counts what it does and records spans.

Shared helpers live in this file: how an ``invoke`` callable's outcome is read,
a thread-safe counter bag, and :class:`Traced`, which decides who records the span
of an API call.
"""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import nullcontext
from typing import Any, Callable

from app.runtime.streaming import cleanup as _cleanup
from app.runtime.trace import Span, Trace

_cleanup.register()

Invoke = Callable[[str, dict], Any]
Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told: ``advance(seconds)``. Lets a run show Firehose's
    buffer interval (or any time-driven behaviour) without waiting for it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, not by {seconds} s")
        self.now += seconds
        return self.now


class FunctionFailed(RuntimeError):
    """The invoked function raised or reported a FunctionError."""


def invoke_payload(invoke: Invoke, function_name: str, event: dict) -> Any:
    """Call ``invoke`` and return the function's response payload.

    ``invoke`` may return the payload itself (a dict) or an invocation result with
    ``.payload`` and ``.function_error`` (as the runtime's Lambda service does). A
    raised exception or a set ``function_error`` becomes :class:`FunctionFailed`,
    which is what an event source sees when a Lambda invocation fails.
    """
    try:
        out = invoke(function_name, event)
    except Exception as exc:  # the function's own exception, as Lambda's FunctionError
        raise FunctionFailed(f"{type(exc).__name__}: {exc}") from exc
    error = getattr(out, "function_error", None)
    if error:
        raise FunctionFailed(f"{error}: {getattr(out, 'payload', '')}")
    return getattr(out, "payload", out)


class Counters:
    """Named integer counters, safe to bump from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._c: Counter = Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._c[name] += n

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._c[name]

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(self._c)


class Traced:
    """Spans for a component: emulated work always, API calls only when nobody else records them.

    With plain boto3 clients the component records a span for each API call and
    invocation it makes. A runtime session's clients and Lambda service record
    those themselves, so a component built for a session gets
    ``calls_traced=True`` and records only what it emulates (a delivery, a query,
    a rule action, a replication), with no span counted twice.
    """

    trace: Trace
    calls_traced: bool = False

    def call_span(self, service: str, operation: str, resource: str = "", **fields: Any):
        if self.calls_traced:
            return nullcontext(Span(service=service, operation=operation, resource=resource, **fields))
        return self.trace.span(service, operation, resource, **fields)
