"""Shared infrastructure for pipelines: each builder creates its resources in the run's account.

``ctx.infra`` (an :class:`Infra`) is what a pipeline's deploy steps call instead of
writing the same boto3 calls again. Every builder:

- creates its resources through the session's clients (so the calls are traced and
  tagged with the run id by the client factory, and confined to the run's account);
- builds the emulated data plane where moto has none (REST API invocation, DAX, the
  CloudFront edge, identity pools, Redis, the SQL behind an RDS instance, the Route 53
  resolver, global-table replication), bound to the run's clock;
- records what was really deployed in ``ctx.deployed`` (node counts, cache sizes and
  TTLs), which is what the model beside the run prices;
- returns a handle whose methods (``request``, ``get``, ``sign_in``...) are what a real
  endpoint would also offer, so a live implementation can replace it builder by builder.

Teardown needs no registration for the AWS resources: the session deletes everything of
the run's account (or, live, everything tagged with the run id). Builders whose data
plane holds state outside the backend register its release with ``ctx.on_teardown``.

One module per service family holds its handles and builders: :mod:`.identity` (IAM, Cognito),
:mod:`.storage` (S3, DynamoDB), :mod:`.databases` (DAX, ElastiCache, RDS), :mod:`.api` (API Gateway),
:mod:`.edge` (CloudFront), :mod:`.compute` (VPC, ALB, Auto Scaling, ECS), :mod:`.messaging` (SQS, SNS),
:mod:`.streaming` (Kinesis, IoT Core) and :mod:`.dns` (Route 53). :class:`Infra` composes them, and every
handle is importable from here. :mod:`app.runtime.services` names, for each service, its builder, data
plane, wiring and teardown row.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.runtime.infra.api import ApiBuilders, RestApi, Route, StageCache
from app.runtime.infra.compute import ComputeBuilders, ContainerService, LoadBalancedGroup, Network
from app.runtime.infra.databases import CacheCluster, Database, DatabaseBuilders, Dax
from app.runtime.infra.dns import DnsBuilders, HostedZone, record_set
from app.runtime.infra.edge import Distribution, EdgeBuilders, SigningKey, oac_bucket_policy
from app.runtime.infra.identity import (ASSUME, IdentityBuilders, IdentityPoolHandle, UserPool, identity_trust,
                                        own_prefix_policy, service_trust)
from app.runtime.infra.messaging import MessagingBuilders, Queue
from app.runtime.infra.storage import StorageBuilders, public_read_policy
from app.runtime.infra.streaming import Fleet, StreamingBuilders

if TYPE_CHECKING:
    from app.runtime.pipeline import RunContext

__all__ = ["ASSUME", "CacheCluster", "ContainerService", "Database", "Dax", "Distribution", "Fleet", "HostedZone",
           "IdentityPoolHandle", "Infra", "LoadBalancedGroup", "Network", "Queue", "RestApi", "Route", "SigningKey",
           "StageCache", "UserPool", "identity_trust", "oac_bucket_policy", "own_prefix_policy", "public_read_policy",
           "record_set", "service_trust"]


class Infra(IdentityBuilders, StorageBuilders, DatabaseBuilders, ApiBuilders, EdgeBuilders, ComputeBuilders,
            MessagingBuilders, StreamingBuilders, DnsBuilders):
    """Builders of shared infrastructure in the run's account (see the module docstring), one family per
    module of this package; :mod:`app.runtime.services` says where each service's parts are."""

    def __init__(self, ctx: "RunContext") -> None:
        self.ctx = ctx
        self.session = ctx.session
        planes = ctx.planes
        planes.verifier.clock = ctx.clock          # token expiry is judged by the run's clock
