"""An Application Load Balancer's data plane and the web servers behind it, emulated in-process.

moto creates the load balancer, its target group and listener, and (through EC2 Auto
Scaling) instances registered as targets, but nothing answers a request. Here:

- :class:`WebServer` is one target's server: a callable ``app(request, server)`` returning
  ``(status, body, headers)``, counting the requests and bytes it served;
- :class:`LoadBalancerPlane` answers ``request(method, path, ...)`` as the ALB's listener
  does: it forwards to the healthy targets of the target group, **read from the backend**
  (``DescribeTargetHealth``), round robin (the default routing algorithm), and answers
  ``503`` when no target is healthy, as an ALB does. The set of healthy targets is read
  again every health-check interval of the run's clock and after :meth:`refresh`.

Every request records a span (service ``elb``) naming the target that served it. While an injected
region outage has the balancer's region down (:mod:`app.runtime.faults`), every request is answered
``503`` and reaches no target.

Differences from AWS: no network between client, balancer and target (the trace shows this
machine's time); health is what the backend reports (moto reports every registered target
healthy and runs no health check against the emulated server); deregistration does not wait
for the deregistration delay (in-flight requests do not exist here); one listener rule
(forward to one target group); no sticky sessions, no slow start, no cross-zone accounting.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from app.core import facts
from app.runtime.trace import Trace


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    served_by: str | None = None          # the target (instance id, task IP...) that answered

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


App = Callable[[HttpRequest, "WebServer"], tuple]


def _as_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


class WebServer:
    """The server on one target: calls ``app(request, self)`` and counts what it served."""

    def __init__(self, target_id: str, app: App) -> None:
        self.target_id = target_id
        self.app = app
        self.requests = 0
        self.bytes_served = 0
        self.errors = 0
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            status, body, headers = self.app(request, self)
        except Exception as exc:  # an unhandled error in the app is a 500, as a web server answers
            status, body, headers = 500, f"internal error: {type(exc).__name__}: {exc}", {}
        data = _as_bytes(body)
        headers = dict(headers or {})
        if not isinstance(body, (bytes, str)) and body is not None:
            headers.setdefault("Content-Type", "application/json")
        with self._lock:
            self.requests += 1
            self.bytes_served += len(data)
            self.errors += status >= 500
        return HttpResponse(status, data, headers, self.target_id)

    def stats(self) -> dict[str, int]:
        return {"requests": self.requests, "bytes_served": self.bytes_served, "errors": self.errors}


class LoadBalancerPlane:
    """The listener of an ALB forwarding to one target group (see the module docstring).

    ``server_for(target_id)`` gives the :class:`WebServer` on a target (made on first use)."""

    service = "elb"

    def __init__(self, elbv2_client, target_group_arn: str, server_for: Callable[[str], WebServer], *,
                 name: str = "alb", trace: Trace | None = None, clock: Callable[[], float] = time.time,
                 health_interval_s: float = facts.ALB_HEALTH_INTERVAL_S.value, region: str = "",
                 faults: Callable[[], Any] = lambda: None) -> None:
        self.client = elbv2_client
        self.target_group_arn = target_group_arn
        self.server_for = server_for
        self.name = name
        self.trace = trace if trace is not None else Trace()
        self.clock = clock
        self.health_interval_s = health_interval_s
        self.region = region
        self.faults = faults            # the run's injected faults (None when there are none)
        self._healthy: list[str] = []
        self._read_at: float | None = None
        self._next = 0
        self._lock = threading.Lock()
        self.counters = {"requests": 0, "no_healthy_target": 0, "health_reads": 0}

    def target_health(self) -> dict[str, str]:
        """Each registered target's state as the backend reports it (``healthy``, ``draining``...)."""
        found = self.client.describe_target_health(TargetGroupArn=self.target_group_arn)
        return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in found["TargetHealthDescriptions"]}

    def refresh(self) -> list[str]:
        """Read the healthy targets from the backend now."""
        healthy = sorted(t for t, state in self.target_health().items() if state == "healthy")
        with self._lock:
            self._healthy = healthy
            self._read_at = self.clock()
            self.counters["health_reads"] += 1
        return healthy

    def healthy(self) -> list[str]:
        with self._lock:
            stale = self._read_at is None or self.clock() - self._read_at >= self.health_interval_s
        return self.refresh() if stale else list(self._healthy)

    def _pick(self) -> str | None:
        targets = self.healthy()
        if not targets:
            return None
        with self._lock:
            target = targets[self._next % len(targets)]
            self._next += 1
        return target

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None,
                body: Any = None) -> HttpResponse:
        h = {str(k): str(v) for k, v in (headers or {}).items()}
        if body is not None and not isinstance(body, (bytes, str)):
            h.setdefault("Content-Type", "application/json")
        req = HttpRequest(method.upper(), path, h, _as_bytes(body))
        with self.trace.span(self.service, f"{req.method} {path}", self.name) as span:
            with self._lock:
                self.counters["requests"] += 1
            faults = self.faults()
            down = faults is not None and faults.region_down(self.region)
            target = None if down else self._pick()
            if down:
                faults.refused("outage_lb_503")
                response = HttpResponse(503, b"503 Service Temporarily Unavailable", {"Content-Type": "text/html"})
                span.status = "unavailable"
                span.detail.update(region_down=self.region)
            elif target is None:
                with self._lock:
                    self.counters["no_healthy_target"] += 1
                response = HttpResponse(503, b"503 Service Temporarily Unavailable", {"Content-Type": "text/html"})
                span.status = "unavailable"
            else:
                response = self.server_for(target).handle(req)
                span.detail["target"] = target
            span.payload_bytes = len(response.body)
            span.detail["status_code"] = response.status
        return response
