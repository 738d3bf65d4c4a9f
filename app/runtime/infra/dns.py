"""DNS: Route 53 hosted zones, health checks and record sets under each routing policy."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from app.core import facts
from app.runtime.infra.base import Builders


@dataclass
class HostedZone:
    """A Route 53 public hosted zone; :meth:`resolver` answers its names as the routing policies do."""

    id: str
    name: str
    _ctx: Any = field(repr=False)

    def create_records(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Create these record sets (see :func:`record_set`) in one change batch."""
        self._ctx.client("route53").change_resource_record_sets(HostedZoneId=self.id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": r} for r in records]})

    def resolver(self, *, rtt_ms: Callable[[str, str], float] | None = None):
        """The zone's resolver (:class:`app.runtime.dataplanes.route53.Resolver`) on the run's clock, with the
        injected faults (a region outage fails the health checks of its endpoints)."""
        from app.runtime.dataplanes.route53 import Resolver

        ctx = self._ctx
        return Resolver(ctx.client("route53"), self.id, rtt_ms=rtt_ms, trace=ctx.trace, clock=ctx.clock,
                        faults=lambda: ctx.session.faults)


class DnsBuilders(Builders):
    """Builders of hosted zones and health checks."""

    def hosted_zone(self, name: str) -> HostedZone:
        """A public hosted zone for ``name``."""
        zone = self._client("route53").create_hosted_zone(Name=name, CallerReference=self.ctx.name("zone"))
        return HostedZone(zone["HostedZone"]["Id"].rsplit("/", 1)[-1], name, self.ctx)

    def health_check(self, base: str, fqdn: str, *, path: str = "/health", port: int = 80) -> str:
        """An HTTP health check of ``fqdn`` at ``path`` (Route 53's interval and failure threshold); its id."""
        return self._client("route53").create_health_check(CallerReference=self.ctx.name(base), HealthCheckConfig={
            "Type": "HTTP", "FullyQualifiedDomainName": fqdn, "Port": port, "ResourcePath": path,
            "RequestInterval": facts.R53_HEALTH_INTERVAL_S.value,
            "FailureThreshold": facts.R53_FAILURE_THRESHOLD.value})["HealthCheck"]["Id"]


def record_set(name: str, value: str, *, ttl: int = 60, policy: str = "simple", set_id: str = "",
               health_check: str = "", weight: int | None = None, region: str | None = None,
               primary: bool = True) -> dict:
    """A CNAME record set of ``name`` answering ``value`` under a Route 53 routing policy: ``simple``, or one
    record of a ``weighted`` (``weight``), ``latency`` (``region``) or ``failover`` (``primary`` or
    secondary) set, named by ``set_id`` and answering while ``health_check`` passes."""
    record: dict[str, Any] = {"Name": name, "Type": "CNAME", "TTL": ttl, "ResourceRecords": [{"Value": value}]}
    if policy == "simple":
        return record
    record.update(SetIdentifier=set_id, HealthCheckId=health_check)
    if policy == "weighted":
        record["Weight"] = weight
    elif policy == "latency":
        record["Region"] = region
    elif policy == "failover":
        record["Failover"] = "PRIMARY" if primary else "SECONDARY"
    else:
        raise ValueError(f"routing policy {policy!r} is not valid: use simple, weighted, latency or failover")
    return record
