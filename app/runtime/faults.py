"""Injected faults: what fails, how AWS retries it, and the ledger that proves nothing was lost.

A run may be given faults (``python -m app run CASE --fault NAME=VALUE``, the Run page's
Faults panel). They are emulated once, here, and consulted by the runtime itself, never by
a case's code:

* :class:`~app.runtime.lambdas.Lambdas` asks, before it runs a handler for an event source (S3,
  SNS, SQS, DynamoDB Streams, an asynchronous Invoke), whether the invocation is throttled
  (:meth:`FaultRegistry.lambda_throttle`: a 429, the handler does not run) or fails
  (:meth:`FaultRegistry.lambda_fault`); a synchronous call through API Gateway is not failed this way.
* The session's clients ask :meth:`FaultRegistry.call_fault` before each request: DynamoDB
  requests made by a Lambda handler may be throttled, SES sends may be rejected.
* The router holds S3's deliveries (to Lambda, and the polling of queues a bucket notifies) back by
  ``s3_event_delay_s`` on the run's clock.
* A region outage (``region_outage=primary``) takes the run's primary region down from the step the
  case names (``Pipeline(..., outage_from=STEP)``): the session's clients for that region raise
  ``EndpointConnectionError`` (global services, Route 53 and IAM among them, still answer), its load
  balancers answer 503 (:mod:`app.runtime.dataplanes.elb`) and Route 53 health checks of endpoints in
  that region fail (:mod:`app.runtime.dataplanes.route53`), so failover records answer the secondary.
  What fails over is the case's own design (a client that tries the replica, a failover record).
* Every wait AWS would make (Lambda's asynchronous retries, a message's visibility timeout,
  the SDK's backoff, a late event) is counted on the run's clock (``ctx.clock``), never slept.

How each fault is retried is AWS's behaviour, with the figures in :mod:`app.core.facts`:
asynchronous invocations are retried twice and then go to the function's dead-letter queue (a
throttled one is retried, 1 s doubling to 5 minutes, until the event's maximum age of 6 hours);
SQS messages come back after the visibility timeout and move to the queue's dead-letter queue
after ``maxReceiveCount`` receives; a stream batch is retried ``MaximumRetryAttempts`` times and
then described to the mapping's on-failure destination; a throttled DynamoDB request is retried
by the SDK (standard mode: three attempts, exponential backoff with jitter).

Faults fire deterministically: a rate ``r`` fails the first attempt and then keeps the share of
failed attempts at ``r`` (an accumulator, not a random draw), so a run is repeatable.

At the end of the drive phase the faults clear; the run then redrives its dead-letter queues
(unless told not to) and the router's ledger (:meth:`app.runtime.routing.Router.ledger`) says, per
flow, how many events came in, were processed, sit in a dead-letter queue, and were lost.

A case declares the faults that apply to its run (``Pipeline(..., faults=(...))``, which may
depend on its toggles); :func:`parse_faults` refuses any other with a message naming the ones
that apply.
"""
from __future__ import annotations

import contextvars
import time
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Mapping

from app.core import facts
from app.core import format as fmt
from app.core.params import Param, ParamError, parse_assignments
from app.runtime.trace import Span

EVENT_SOURCES = ("s3", "sns", "sqs", "dynamodb", "invoke-async", "redrive")


def _rate(key: str, label: str, default: float, says: str) -> Param:
    """A fault given as the share of attempts that fail, 0 to 1."""
    return Param(key, label, "float", default, says, min=0.0, max=1.0, step=0.05)


FAULTS: dict[str, Param] = {p.key: p for p in (
    _rate("lambda_error_rate", "Lambda error rate", 0.5,
          "Share of the invocations by event sources (S3, SNS, SQS, DynamoDB Streams) that fail before the "
          "handler runs, as a crash or a failed dependency would. Asynchronous events are retried twice, then "
          "dead-lettered; SQS messages return after the visibility timeout; stream batches are retried."),
    _rate("lambda_throttle_rate", "Lambda throttling", 1.0,
          "Share of the invocations by event sources answered 429 TooManyRequestsException, as when the "
          "function's reserved concurrency is used up (1: reserved concurrency 0). A throttled asynchronous event "
          "goes back to Lambda's queue and is retried for up to 6 hours, then dead-lettered; a throttled SQS "
          "batch returns after the visibility timeout and counts towards maxReceiveCount."),
    Param("s3_event_delay_s", "Delayed S3 events", "int", 60,
          "S3 event notifications (to Lambda and to SQS) arrive this many seconds late on the run's clock: "
          "S3 delivers them at least once, typically within seconds, sometimes after a minute or longer. The "
          "run then waits for them before it reads what their consumers made.",
          min=1, max=3600, step=1, unit="s"),
    _rate("ddb_throttle_rate", "DynamoDB throttling", 0.5,
          "Share of the DynamoDB requests made by Lambda handlers answered with "
          "ProvisionedThroughputExceededException. The SDK retries them (standard mode: 3 attempts, "
          "exponential backoff); a request throttled on every attempt fails the handler."),
    _rate("ses_reject_rate", "SES rejection", 1.0,
          "Share of the SES sends answered with MessageRejected. The SDK does not retry a rejection: the "
          "function fails, and its event source retries it or sets it aside."),
    Param("region_outage", "Region outage", "choice", "primary",
          "The run's primary region goes down from the step the case names until the faults clear: its "
          "endpoints refuse connections, its load balancers answer 503 and Route 53 health checks of its "
          "endpoints fail. Readers fail over to the replica region, failover records answer the secondary.",
          choices=("primary",)),
)}

# What each fault counts; the first counter says whether it fired.
COUNTERS = {"lambda_error_rate": ("lambda_errors",), "lambda_throttle_rate": ("lambda_throttles",),
            "ddb_throttle_rate": ("ddb_throttled_attempts", "ddb_requests", "ddb_retries", "ddb_retried_ok",
                                  "ddb_failed_requests"),
            "ses_reject_rate": ("ses_rejected",), "s3_event_delay_s": ("s3_events_delayed",),
            "region_outage": ("outage_refused", "outage_calls_refused", "outage_lb_503", "outage_health_failed")}

# The faults that act earlier on the same path (a fault masks those after it): a throttled invocation never
# runs, so it cannot fail; a failed one never reaches DynamoDB or SES; a request that failed on DynamoDB sends
# no mail. A fault that never fired while one of these fired had no attempt to fail: it is masked.
MASKED_BY = {"lambda_error_rate": ("region_outage", "lambda_throttle_rate"),
             "ddb_throttle_rate": ("region_outage", "lambda_throttle_rate", "lambda_error_rate"),
             "ses_reject_rate": ("region_outage", "lambda_throttle_rate", "lambda_error_rate", "ddb_throttle_rate")}

# Services with one global endpoint (or whose data plane outlives a region): an outage of a region does
# not take them down here. Route 53's control plane is in us-east-1, but its DNS answers and health
# checks are served from everywhere; that is what the resolver emulation reads.
GLOBAL_SERVICES = frozenset({"route53", "iam", "sts", "cloudfront", "organizations"})

# DynamoDB's data-plane operations (the ones throttling applies to).
DDB_DATA_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement"})
SES_SEND_OPERATIONS = frozenset({"SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"})


# Set while the runtime does its own bookkeeping (the ledger's queue reads, log delivery, the router's
# polling between steps): a region outage does not fail the emulator's machinery, only the run's calls.
_bookkeeping: contextvars.ContextVar[bool] = contextvars.ContextVar("fault_bookkeeping", default=False)


@contextmanager
def bookkeeping():
    """Within this block a region outage does not refuse this context's calls (the runtime's own reads)."""
    token = _bookkeeping.set(True)
    try:
        yield
    finally:
        _bookkeeping.reset(token)


class InjectedFault(Exception):
    """The failure an injected fault makes a Lambda invocation raise."""


def describe_faults(names: Iterable[str] | None = None) -> list[dict]:
    """The faults (all, or those named), as ``params --json`` describes parameters."""
    chosen = FAULTS if names is None else {n: FAULTS[n] for n in names if n in FAULTS}
    return [p.describe() for p in chosen.values()]


def fault_value(name: str, value: Any) -> str:
    """``value`` of fault ``name`` as a reader reads it: a rate as a percentage ("50%"), a delay with its
    unit ("60 s"), a choice as it is."""
    p = FAULTS[name]
    if p.kind == "choice":
        return str(value)
    if p.unit:
        return fmt.number(float(value), p.unit)
    return fmt.percent(float(value))


def fault_words(name: str, value: Any) -> str:
    """A fault in words: "the injected Lambda error rate of 50%"."""
    return f"the injected {FAULTS[name].label} of {fault_value(name, value)}"


def parse_faults(assignments: Iterable[str] | Mapping[str, Any], supported: Iterable[str],
                 what: str = "this run", refused: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``NAME=VALUE`` strings (or a mapping) checked against the catalogue and the faults ``what`` supports.

    An unknown name, a fault that does not apply or a bad value raises ParamError with the valid ones."""
    given = dict(assignments) if isinstance(assignments, Mapping) else parse_assignments(assignments)
    supported = tuple(supported)
    out: dict[str, float] = {}
    for name, raw in given.items():
        if name not in FAULTS:
            raise ParamError(f"unknown fault {fmt.quoted(name)}: valid faults are {', '.join(FAULTS)}")
        if name not in supported and refused and name in refused:
            raise ParamError(f"fault {name} does not apply to {what}: {refused[name]}")
        if name not in supported:
            applies = ", ".join(supported) or "none"
            raise ParamError(f"fault {name} does not apply to {what}: it has no flow that {name} could fail "
                             f"(faults of {what}: {applies})")
        out[name] = FAULTS[name].parse(raw)
    return out


class FaultRegistry:
    """The faults of one run and what they did (see the module docstring)."""

    def __init__(self, faults: Mapping[str, Any], *, clock: Callable[[], float] | None = None,
                 trace=None, in_invocation: Callable[[], bool] = lambda: False, primary_region: str = "") -> None:
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown faults {', '.join(unknown)}")
        self.given = dict(faults)
        self.active = {k: float(v) for k, v in faults.items() if FAULTS[k].kind != "choice" and float(v) > 0}
        # The region an outage takes down (the run's primary); down only between start_outage and lift.
        self.outage_region = primary_region if "region_outage" in faults else ""
        self.down: set[str] = set()
        self.outage_started_at: float | None = None
        self.clock = clock
        self.trace = trace
        self.in_invocation = in_invocation
        self.counters: Counter = Counter()
        self.modelled_wait_s = 0.0
        # Starting one attempt's share short of a failure makes the first attempt fail.
        self._acc = {k: 1.0 - v for k, v in self.active.items()}

    @property
    def lifted(self) -> bool:
        return not self.active and not self.down

    def lift(self) -> None:
        """The faults clear (the dependency recovers, the quota is raised, the region is back): nothing
        fails from now on."""
        self.active = {}
        self.down = set()

    def end_outage(self) -> None:
        """The down region is back (the other faults stay until :meth:`lift`)."""
        self.down = set()

    # -- a region outage ----------------------------------------------------------------------------
    def start_outage(self) -> str:
        """The outage's region goes down now (on the run's clock); returns it."""
        if not self.outage_region:
            raise ValueError("no region_outage was given to this run")
        self.down.add(self.outage_region)
        self.outage_started_at = self.now()
        self._span("region", "RegionDown", self.outage_region, status="error", injected="region_outage")
        return self.outage_region

    def region_down(self, region: str | None) -> bool:
        """Whether ``region`` is down (an injected outage in progress)."""
        return bool(region) and region in self.down

    def refused(self, what: str) -> None:
        """Count a request the down region did not answer (``what``: the counter, e.g. ``outage_lb_503``)."""
        self.counters["outage_refused"] += 1
        self.counters[what] += 1

    def _hit(self, name: str) -> bool:
        rate = self.active.get(name, 0.0)
        if rate <= 0:
            return False
        self._acc[name] = self._acc.get(name, 0.0) + rate
        if self._acc[name] >= 1.0 - 1e-9:
            self._acc[name] -= 1.0
            return True
        return False

    def wait(self, seconds: float, *, service: str, resource: str, reason: str, **detail: Any) -> None:
        """A wait AWS would make: the run's clock moves on, a ``RetryWait`` span records it."""
        self.modelled_wait_s += seconds
        advance = getattr(self.clock, "advance", None)
        if advance is not None:
            advance(seconds)
        self._span(service, "RetryWait", resource, modelled_wait_s=round(seconds, 3), reason=reason, **detail)

    def _span(self, service: str, operation: str, resource: str, status: str = "ok", **detail: Any) -> None:
        trace = self.trace
        if trace is None:
            return
        trace.add(Span(service=service, operation=operation, resource=resource, step=trace.current_step,
                       start_ms=(time.perf_counter() - trace._t0) * 1000, measured_ms=0.0, status=status,
                       detail=detail))

    # -- what the runtime asks ------------------------------------------------------------------
    def lambda_fault(self, function: str, source: str) -> str | None:
        """The error an invocation of ``function`` by ``source`` fails with, or None."""
        if source not in EVENT_SOURCES or not self._hit("lambda_error_rate"):
            return None
        self.counters["lambda_errors"] += 1
        return f"injected fault lambda_error_rate={self.given['lambda_error_rate']:g}: the invocation failed"

    def lambda_throttle(self, function: str, source: str) -> bool:
        """Whether this invocation of ``function`` by ``source`` is throttled (429, the handler does not run)."""
        if source not in EVENT_SOURCES or not self._hit("lambda_throttle_rate"):
            return False
        self.counters["lambda_throttles"] += 1
        return True

    @property
    def s3_event_delay_s(self) -> float:
        return float(self.active.get("s3_event_delay_s", 0.0))

    def now(self) -> float:
        return self.clock() if self.clock is not None else time.time()

    def call_fault(self, service: str, operation: str, params: dict, region: str) -> tuple[int, dict] | None:
        """An error answer for this request, or None to let it reach the backend. A request to a region that
        is down raises ``EndpointConnectionError``, as the SDK does when the endpoint does not answer."""
        if self.down and region in self.down and service not in GLOBAL_SERVICES and not _bookkeeping.get():
            from botocore.exceptions import EndpointConnectionError

            self.refused("outage_calls_refused")
            self._span(service, operation, region, status="error", error="EndpointConnectionError",
                       injected="region_outage")
            raise EndpointConnectionError(endpoint_url=f"https://{service}.{region}.amazonaws.com/")
        if service == "dynamodb" and operation in DDB_DATA_OPERATIONS and "ddb_throttle_rate" in self.active \
                and self.in_invocation():
            return self._throttled(operation, params)
        if service in ("ses", "sesv2") and operation in SES_SEND_OPERATIONS and self._hit("ses_reject_rate"):
            self.counters["ses_rejected"] += 1
            self._span(service, operation, str(params.get("Source") or params.get("FromEmailAddress") or ""),
                       status="error", error="MessageRejected", injected="ses_reject_rate")
            return 400, {"Error": {"Code": "MessageRejected", "Type": "Sender",
                                   "Message": "Email address rejected (injected fault ses_reject_rate)"}}
        return None

    def _throttled(self, operation: str, params: dict) -> tuple[int, dict] | None:
        """The SDK's standard retry mode over throttled attempts: None once an attempt gets through."""
        attempts = facts.SDK_STANDARD_MAX_ATTEMPTS.value
        backoff = facts.SDK_STANDARD_BACKOFF.value
        table = str(params.get("TableName") or "")
        self.counters["ddb_requests"] += 1
        for attempt in range(1, attempts + 1):
            if not self._hit("ddb_throttle_rate"):
                if attempt > 1:
                    self.counters["ddb_retried_ok"] += 1
                return None
            self.counters["ddb_throttled_attempts"] += 1
            self._span("dynamodb", operation, table, status="throttled", attempt=attempt,
                       error="ProvisionedThroughputExceededException", injected="ddb_throttle_rate")
            if attempt < attempts:
                # full jitter: a uniform wait up to base * factor^(retry-1), capped; its mean is half of that
                bound = min(backoff["base"] * backoff["factor"] ** (attempt - 1), backoff["max"])
                self.counters["ddb_retries"] += 1
                self.wait(bound / 2, service="dynamodb", resource=table, reason="SDK backoff", attempt=attempt)
        self.counters["ddb_failed_requests"] += 1
        return 400, {"Error": {"Code": "ProvisionedThroughputExceededException",
                               "Message": "The level of configured provisioned throughput for the table was "
                                          "exceeded (injected fault ddb_throttle_rate)"}}

    # -- reporting ------------------------------------------------------------------------------
    def _fired(self, name: str) -> bool:
        return bool(self.counters[COUNTERS[name][0]])

    def masked(self) -> dict[str, list[str]]:
        """The faults that never fired because a fault earlier on their path fired (:data:`MASKED_BY`), each
        with the faults that masked it."""
        out = {}
        for k, v in self.given.items():
            if (FAULTS[k].kind == "choice" or v > 0) and not self._fired(k):
                by = [m for m in MASKED_BY.get(k, ()) if m in self.given and self._fired(m)]
                if by:
                    out[k] = by
        return out

    def idle(self) -> list[str]:
        """The faults given a rate above 0 that never fired although no other fault masked them (no flow
        reached them)."""
        masked = self.masked()
        return [k for k, v in self.given.items()
                if (FAULTS[k].kind == "choice" or v > 0) and not self._fired(k) and k not in masked]

    def summary(self) -> dict[str, Any]:
        counters = {c: self.counters[c] for k in self.given for c in COUNTERS[k]}
        return {"given": dict(self.given), "counters": counters, "masked": self.masked(),
                "modelled_wait_s": round(self.modelled_wait_s, 3), "lifted": self.lifted}

    def describe(self) -> str:
        """What the faults did, in words (the detail of the run's fault check)."""
        c = self.counters
        parts = []
        if "lambda_error_rate" in self.given:
            parts.append(f"{c['lambda_errors']} Lambda invocations failed by "
                         f"{fault_words('lambda_error_rate', self.given['lambda_error_rate'])}")
        if "lambda_throttle_rate" in self.given:
            parts.append(f"{c['lambda_throttles']} Lambda invocations throttled by "
                         f"{fault_words('lambda_throttle_rate', self.given['lambda_throttle_rate'])}")
        if "ddb_throttle_rate" in self.given:
            parts.append(f"{c['ddb_throttled_attempts']} DynamoDB attempts throttled over {c['ddb_requests']} "
                         f"requests: {c['ddb_retried_ok']} got through on an SDK retry, {c['ddb_failed_requests']} "
                         "failed every attempt")
        if "ses_reject_rate" in self.given:
            parts.append(f"{c['ses_rejected']} SES sends rejected")
        if "s3_event_delay_s" in self.given:
            parts.append(f"{c['s3_events_delayed']} S3 event deliveries held {self.given['s3_event_delay_s']:g} s "
                         "on the run's clock, then delivered")
        if "region_outage" in self.given:
            parts.append(f"{self.outage_region or 'the primary region'} down: {c['outage_calls_refused']} API calls "
                         f"refused (EndpointConnectionError), {c['outage_lb_503']} load balancer requests answered "
                         f"503, {c['outage_health_failed']} Route 53 health-check reads failed")
        for name, by in self.masked().items():
            parts.append(f"the {FAULTS[name].label} never had an attempt to fail: masked by "
                         + fmt.series(f"the {FAULTS[m].label}" for m in by) + ", which failed those attempts earlier")
        parts.append(f"{self.modelled_wait_s:,.1f} s of waits (retries, backoff, late deliveries) counted on the "
                     "run's clock, not slept")
        return "; ".join(parts)
