"""What the ledger counts: a flow of events into one function, a flow of requests, an event's identity."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence


@dataclass
class Flow:
    """One event source feeding one function, as the ledger counts it: the distinct events that came in,
    those the function processed, and where a failed one goes (``dead_letter``: a queue's ARN)."""

    source: str                 # s3, sns, sqs, dynamodb
    function: str               # deployed name
    logical: str
    dead_letter: str | None     # the function's dead-letter queue, the queue's DLQ, the on-failure destination
    dead_letter_kind: str       # "lambda" (events as bodies), "sqs" (moved messages), "stream" (batch records)
    source_arn: str = ""        # the queue or stream (SQS: the messages still waiting there are in flight)
    seen: set = field(default_factory=set)
    done: set = field(default_factory=set)
    failed_attempts: int = 0
    redriven: int = 0
    held: int = 0               # events S3 has sent that a delay still holds back

    @property
    def key(self) -> str:
        return f"{self.source} -> {self.logical}"


class RequestFlow:
    """Requests a caller answers with its own failover (try the primary region, then the replica), as the
    ledger counts them: each request is answered by one region, or fails (the caller got the error), or is
    lost (started, neither answered nor failed: an exception in between)::

        flow = ctx.routing.requests("readers in us-east-1")
        with flow.request() as r:
            ...; r.failed_attempt()            # the primary did not answer
            ...; r.served("eu-west-1")         # the replica did

    :meth:`first_answer` is that loop over regional APIs; :meth:`call` counts one request whose answer
    names the region that served it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = 0
        self.served_from: Counter = Counter()
        self.failed = 0
        self.failed_attempts = 0

    def request(self) -> "_Request":
        self.started += 1
        return _Request(self)

    def call(self, send: Callable[[], Any], served_by: Callable[[Any], str | None]) -> Any:
        """One request: ``send()`` makes it and returns the answer; ``served_by(answer)`` names the region
        that served it, or None when the caller got an error. Returns the answer."""
        with self.request() as req:
            answer = send()
            region = served_by(answer)
            req.served(region) if region else req.fail()
        return answer

    def first_answer(self, targets: Sequence[tuple[str, Any]], method: str, path: str, body: Any = None) -> dict:
        """One request sent to each ``(region, api)`` of ``targets`` in turn (an API with ``request(method,
        path, body=)``, such as :class:`app.runtime.infra.RestApi`) until one answers below 500: a refused
        connection or a 5xx is a failed attempt, and the request fails when no region answers. Returns
        ``request``, ``tried`` (each region and its status), ``status``, ``served_from`` (the answer's
        ``X-Served-From-Region`` header, else its region), ``failed_over`` (not served by the first
        target) and ``body`` (the JSON below 300, else the text)."""
        tried = []
        with self.request() as req:
            for region, api in targets:
                try:
                    r = api.request(method, path, body=body)
                    status, answer = r.status, r
                except Exception as exc:  # the region's endpoint refused the connection
                    status, answer = f"{type(exc).__name__}", None
                tried.append({"region": region, "status": status})
                if answer is not None and answer.status < 500:
                    served = answer.headers.get("X-Served-From-Region") or region
                    req.served(served)
                    return {"request": f"{method} {path}", "tried": tried, "status": answer.status,
                            "served_from": served, "failed_over": region != targets[0][0],
                            "body": answer.json() if answer.status < 300 else answer.text}
                req.failed_attempt()
            req.fail()
        return {"request": f"{method} {path}", "tried": tried, "status": tried[-1]["status"],
                "served_from": None, "failed_over": True, "body": None}

    def entry(self) -> dict[str, Any]:
        answered = sum(self.served_from.values())
        return {"in": self.started, "processed": answered, "dead_lettered": 0, "failed": self.failed,
                "lost": self.started - answered - self.failed, "function": self.name, "source": "requests",
                "failed_attempts": self.failed_attempts, "redriven": 0, "dead_letter_queue": None,
                "served_from": dict(self.served_from)}


class _Request:
    def __init__(self, flow: RequestFlow) -> None:
        self.flow = flow
        self.outcome: str | None = None

    def __enter__(self) -> "_Request":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def failed_attempt(self) -> None:
        self.flow.failed_attempts += 1

    def served(self, region: str) -> None:
        if self.outcome is None:
            self.outcome = region
            self.flow.served_from[region] += 1

    def fail(self) -> None:
        if self.outcome is None:
            self.outcome = "failed"
            self.flow.failed += 1


def event_id(event: Any) -> str:
    """A stable identity for an event (or an SQS body): the same event always has the same id."""
    import hashlib

    text = event if isinstance(event, str) else json.dumps(event, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]
