"""A Route 53 resolver, emulated: answers a query the way the record set's routing policy does.

moto stores hosted zones, record sets and health checks but resolves nothing, and reports
every health check as passing. :class:`Resolver` reads the record sets of a name and their
health checks **back from the backend** on each query and answers:

- **simple**: the one record set (no health check is consulted, as on Route 53);
- **weighted**: one healthy record set chosen at random in proportion to its ``Weight``
  (records of weight 0 only when every other is unhealthy);
- **latency**: the healthy record set whose ``Region`` has the lowest round trip to the
  client's region, from the round trips given (the latency book's inter-region figures);
- **failover**: the ``PRIMARY`` while its health check is healthy, else the ``SECONDARY``.

Record sets and health-check states are read from the backend again when the answer's TTL has
passed on the run's clock (as a resolver's cache would), and on :meth:`refresh`.
A health check's status is what the backend observes (moto: always success), inverted when
the check's ``Inverted`` flag is set, as Route 53 does; a disabled check counts as healthy.
Marking a check failed is therefore a real ``UpdateHealthCheck(Inverted=True)``. While an injected
region outage (:mod:`app.runtime.faults`) has a region down, a check of an endpoint in that region (an
ALB's name, ``<name>.<region>.elb.amazonaws.com``, or an ``*.amazonaws.com`` name naming the region)
fails: its endpoint answers 503 or not at all.

Differences from AWS: no DNS protocol, one cache for all clients (read from the backend once per TTL), health-checker regions and failure thresholds are not simulated (the status flips
at once), ``EvaluateTargetHealth`` of alias records is read but the target's health is the
record's own health check. Geolocation and multivalue answers are not implemented.
"""
from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from app.runtime.trace import Trace


@dataclass
class Answer:
    name: str
    policy: str
    record: str            # the SetIdentifier that answered ("" for a simple record)
    value: str             # the alias target's DNS name or the record's first value
    healthy: bool
    region: str | None = None


def _policy(record: dict) -> str:
    if "Weight" in record:
        return "weighted"
    if "Region" in record:
        return "latency"
    if "Failover" in record:
        return "failover"
    return "simple"


def _value(record: dict) -> str:
    if "AliasTarget" in record:
        return record["AliasTarget"]["DNSName"].rstrip(".")
    return (record.get("ResourceRecords") or [{"Value": ""}])[0]["Value"]


def endpoint_region(fqdn: str) -> str | None:
    """The region an AWS endpoint name lives in (``orders-1.us-east-1.elb.amazonaws.com``), else None."""
    parts = fqdn.rstrip(".").split(".")
    if len(parts) < 3 or parts[-2:] != ["amazonaws", "com"]:
        return None
    return next((p for p in parts if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", p)), None)


class Resolver:
    """Answers for one hosted zone (see the module docstring)."""

    service = "route53"

    def __init__(self, route53_client, zone_id: str, *, rtt_ms: Callable[[str, str], float] | None = None,
                 trace: Trace | None = None, seed: int = 53, clock: Callable[[], float] = time.time,
                 faults: Callable[[], object] = lambda: None) -> None:
        self.client = route53_client
        self.zone_id = zone_id
        self.rtt_ms = rtt_ms
        self.trace = trace if trace is not None else Trace()
        self.random = random.Random(seed)
        self.answers: Counter = Counter()
        self.clock = clock
        self.faults = faults            # the run's injected faults (None when there are none)
        self._cache: dict[str, tuple[float, list[dict], dict[int, bool]]] = {}
        self.counters = {"resolutions": 0, "backend_reads": 0}

    def refresh(self) -> None:
        """Forget what was read: the next query reads records and health checks from the backend."""
        self._cache.clear()

    def _read(self, name: str, policy_of: Callable[[dict], str]) -> tuple[list[dict], dict[int, bool]]:
        now = self.clock()
        cached = self._cache.get(name)
        if cached is not None and now < cached[0]:
            return cached[1], cached[2]
        records = self.records(name)
        if not records:
            raise LookupError(f"{name}: no record set in hosted zone {self.zone_id}")
        simple = policy_of(records[0]) == "simple"
        health = {id(r): True if simple else self.healthy(r.get("HealthCheckId")) for r in records}
        ttl = min(r.get("TTL", 60) for r in records)
        self._cache[name] = (now + ttl, records, health)
        self.counters["backend_reads"] += 1
        return records, health

    def records(self, name: str) -> list[dict]:
        fqdn = name.rstrip(".") + "."
        found = self.client.list_resource_record_sets(HostedZoneId=self.zone_id, StartRecordName=fqdn)
        return [r for r in found["ResourceRecordSets"] if r["Name"] == fqdn and r["Type"] in ("A", "AAAA", "CNAME")]

    def healthy(self, health_check_id: str | None) -> bool:
        if not health_check_id:
            return True
        config = self.client.get_health_check(HealthCheckId=health_check_id)["HealthCheck"]["HealthCheckConfig"]
        if config.get("Disabled"):
            return True
        faults = self.faults()
        if faults is not None and faults.region_down(endpoint_region(config.get("FullyQualifiedDomainName", ""))):
            faults.refused("outage_health_failed")
            return bool(config.get("Inverted"))     # the endpoint does not answer: the check fails
        observed = self.client.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
        passing = bool(observed) and all(o["StatusReport"]["Status"].startswith("Success") for o in observed)
        return passing != bool(config.get("Inverted"))

    def resolve(self, name: str, client_region: str = "us-east-1", *, span: bool = True) -> Answer:
        """The answer for a client in ``client_region``; ``span=False`` records no span (bulk resolutions
        inside one span of the caller's)."""
        from contextlib import nullcontext

        from app.runtime.trace import Span

        block = self.trace.span(self.service, "Resolve", name, detail={"client_region": client_region}) if span \
            else nullcontext(Span(self.service, "Resolve", name))
        with block as span:
            try:
                records, health = self._read(name, _policy)
            except LookupError:
                span.status = "NXDOMAIN"
                raise
            policy = _policy(records[0])
            self.counters["resolutions"] += 1
            alive = [r for r in records if health[id(r)]] or records      # all unhealthy: Route 53 answers anyway
            if policy == "simple":
                chosen = records[0]
            elif policy == "weighted":
                weighted = [r for r in alive if r["Weight"] > 0] or alive
                total = sum(r["Weight"] for r in weighted)
                chosen = self.random.choices(weighted, [r["Weight"] for r in weighted])[0] if total else \
                    self.random.choice(weighted)
            elif policy == "latency":
                if self.rtt_ms is None:
                    raise ValueError("latency records need the inter-region round trips (rtt_ms)")
                chosen = min(alive, key=lambda r: self.rtt_ms(client_region, r["Region"]))
            else:
                primary = next(r for r in records if r["Failover"] == "PRIMARY")
                secondary = next((r for r in records if r["Failover"] == "SECONDARY"), primary)
                chosen = primary if health[id(primary)] else secondary
            answer = Answer(name, policy, chosen.get("SetIdentifier", ""), _value(chosen), health[id(chosen)],
                            chosen.get("Region"))
            self.answers[answer.record] += 1
            span.detail.update(policy=policy, record=answer.record, value=answer.value)
        return answer

    def tally(self, name: str, client_region: str = "us-east-1", times: int = 1000, *,
              span: bool = True) -> dict[str, int]:
        """Resolve ``name`` ``times`` times for a client in ``client_region``: how often each record answered
        (by SetIdentifier; ``simple`` for a simple record). ``span`` records one span for them all
        (``Resolve x<times>``), none with ``span=False``."""
        from contextlib import nullcontext

        block = self.trace.span(self.service, f"Resolve x{times}", name, detail={"client_region": client_region}) \
            if span else nullcontext()
        shares: dict[str, int] = {}
        with block:
            for _ in range(times):
                record = self.resolve(name, client_region, span=False).record or "simple"
                shares[record] = shares.get(record, 0) + 1
        return shares
