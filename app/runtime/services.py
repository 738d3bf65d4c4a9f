"""Where each service's parts are, in one table: its builder, its data plane, its wiring and its teardown row.

A service's knowledge is spread over the runtime by what it does:

- ``builders``: what creates it in the run's account (``ctx.infra.<builder>``, one module per service family
  in :mod:`app.runtime.infra`, or the session's Lambda and streaming services);
- ``data_plane``: the emulation that answers its data-plane calls where moto has none (empty: moto's own);
- ``wiring``: how it is attached to functions or to the session (the event routing of
  :mod:`app.runtime.routing`, the session's :class:`~app.runtime.dataplanes.wiring.DataPlanes` and
  :class:`~app.runtime.streaming.wiring.StreamingServices`);
- ``teardown``: the module whose rows of the teardown table (:mod:`app.runtime.teardown`, rows whose
  ``service`` is the service's ``name``) list and delete it (empty: released with the session's account);
- ``facts``: the prefixes of its AWS facts in :mod:`app.core.facts`.

The service's ``name`` is also what its spans carry (``Span.service``), which is how the engine
(``app/engine/steps.py``) keys its modelled latency and price. Each part is named by its dotted path;
:func:`resolve` returns the object and :func:`locate` its file and line::

    python -c "from app.runtime.services import locate, SERVICES; print(locate(SERVICES['dax'].builders[0]))"
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_INFRA = "app.runtime.infra"
_PLANES = "app.runtime.dataplanes"
_STREAMING = "app.runtime.streaming"
_ROUTER = "app.runtime.routing.Router"
_DATAPLANES = f"{_PLANES}.wiring.DataPlanes"
_STREAMS = f"{_STREAMING}.wiring.StreamingServices"
_LAMBDAS = "app.runtime.lambdas.invocation.Lambdas"
_ROWS = "app.runtime.teardown.rows"
_STREAM_ROWS = f"{_STREAMING}.cleanup"


@dataclass(frozen=True)
class Service:
    name: str                          # the AWS service as spans and the teardown table name it
    builders: tuple[str, ...] = ()
    data_plane: tuple[str, ...] = ()
    wiring: tuple[str, ...] = ()
    teardown: str = ""
    facts: tuple[str, ...] = ()

    def parts(self) -> dict[str, tuple[str, ...]]:
        """Every named part, by kind."""
        return {"builders": self.builders, "data_plane": self.data_plane, "wiring": self.wiring,
                "teardown": (self.teardown,) if self.teardown else ()}


def _services(*services: Service) -> dict[str, Service]:
    return {s.name: s for s in services}


SERVICES = _services(
    # identity
    Service("iam", (f"{_INFRA}.identity.IdentityBuilders.role", f"{_LAMBDAS}.role_arn", f"{_LAMBDAS}.allow"),
            (f"{_PLANES}.iam.S3Guard",), (f"{_DATAPLANES}.s3_for_identity",), _ROWS),
    Service("cognito-idp", (f"{_INFRA}.identity.IdentityBuilders.user_pool",),
            (f"{_PLANES}.tokens.CognitoTokenVerifier",), (f"{_DATAPLANES}.rest_api", f"{_DATAPLANES}.identity_pool"),
            _ROWS, ("COGNITO_",)),
    Service("cognito-identity", (f"{_INFRA}.identity.IdentityBuilders.identity_pool",),
            (f"{_PLANES}.identity.IdentityPool",), (f"{_DATAPLANES}.identity_pool", f"{_DATAPLANES}.s3_for_identity"),
            _ROWS),
    Service("secretsmanager", (f"{_INFRA}.edge.EdgeBuilders.signing_key",), (), (), _ROWS),
    # storage
    Service("s3", (f"{_INFRA}.storage.StorageBuilders.bucket", f"{_INFRA}.storage.StorageBuilders.allow_public_read"),
            (f"{_PLANES}.iam.S3Guard",),
            (f"{_ROUTER}.s3_to_lambda", f"{_ROUTER}.s3_to_sqs", f"{_ROUTER}.s3_to_sns",
             f"{_DATAPLANES}.anonymous_s3_get", f"{_DATAPLANES}.presigned_upload"), _ROWS, ("S3_",)),
    Service("dynamodb", (f"{_INFRA}.storage.StorageBuilders.table", f"{_INFRA}.storage.StorageBuilders.global_table"),
            (f"{_STREAMING}.global_tables.GlobalTable",), (f"{_ROUTER}.stream_to_lambda", f"{_STREAMS}.global_table"),
            _ROWS, ("DDB_", "GLOBAL_TABLES_")),
    # caches and databases
    Service("dax", (f"{_INFRA}.databases.DatabaseBuilders.dax",), (f"{_PLANES}.dax.DaxClient",),
            (f"{_DATAPLANES}.dax",), _ROWS, ("DAX_",)),
    Service("elasticache", (f"{_INFRA}.databases.DatabaseBuilders.redis_cluster",),
            (f"{_PLANES}.elasticache.EmulatedRedis",), (f"{_PLANES}.endpoints.bind",), _ROWS, ("ELASTICACHE_",)),
    Service("rds", (f"{_INFRA}.databases.DatabaseBuilders.database",), (f"{_PLANES}.rds.SqlDatabase",), (), _ROWS),
    # api and edge
    Service("apigateway", (f"{_INFRA}.api.ApiBuilders.rest_api",), (f"{_PLANES}.apigateway.RestApiInvoker",),
            (f"{_DATAPLANES}.rest_api",), _ROWS, ("APIGW_",)),
    Service("cloudfront", (f"{_INFRA}.edge.EdgeBuilders.cloudfront",
                           f"{_INFRA}.edge.EdgeBuilders.cloudfront_custom_origin",
                           f"{_INFRA}.edge.EdgeBuilders.signing_key", f"{_INFRA}.edge.EdgeBuilders.key_group"),
            (f"{_PLANES}.cloudfront.CloudFrontEdge",), (f"{_DATAPLANES}.cloudfront",), _ROWS, ("CF_",)),
    # compute
    Service("lambda", (f"{_LAMBDAS}.deploy",), (_LAMBDAS, "app.runtime.lambdas.sandbox.LambdaContext"),
            (f"{_ROUTER}.s3_to_lambda", f"{_ROUTER}.sns_to_lambda", f"{_ROUTER}.sqs_to_lambda",
             f"{_ROUTER}.stream_to_lambda", f"{_STREAMS}.kinesis_to_lambda"), _ROWS, ("LAMBDA_",)),
    Service("logs", (f"{_LAMBDAS}.deploy",), (), (f"{_LAMBDAS}.flush_logs", f"{_LAMBDAS}.read_logs"), _ROWS),
    Service("ec2", (f"{_INFRA}.compute.ComputeBuilders.network",
                    f"{_INFRA}.compute.ComputeBuilders.load_balanced_group"),
            (f"{_PLANES}.elb.WebServer",), (), _ROWS),
    Service("elbv2", (f"{_INFRA}.compute.ComputeBuilders.alb",), (f"{_PLANES}.elb.LoadBalancerPlane",), (), _ROWS,
            ("ALB_",)),
    Service("autoscaling", (f"{_INFRA}.compute.ComputeBuilders.load_balanced_group",),
            (f"{_PLANES}.autoscaling.TargetTracking",), (), _ROWS),
    Service("ecs", (f"{_INFRA}.compute.ComputeBuilders.container_service",), (f"{_PLANES}.elb.WebServer",), (), _ROWS),
    # messaging
    Service("sqs", (f"{_INFRA}.messaging.MessagingBuilders.queue", f"{_INFRA}.messaging.MessagingBuilders.queue_depth",
                    f"{_INFRA}.messaging.MessagingBuilders.bucket_fanout"), (),
            (f"{_ROUTER}.sqs_to_lambda", f"{_ROUTER}.s3_to_sqs", f"{_ROUTER}.sns_to_sqs"), _ROWS, ("SQS_",)),
    Service("sns", (f"{_INFRA}.messaging.MessagingBuilders.topic",), (),
            (f"{_ROUTER}.sns_to_lambda", f"{_ROUTER}.sns_to_sqs", f"{_ROUTER}.s3_to_sns"), _ROWS),
    Service("ses", (), ("app.runtime.mailbox.sent_emails",), (), _ROWS, ("SES_",)),
    # streaming and analytics
    Service("kinesis", (f"{_INFRA}.streaming.StreamingBuilders.kinesis_stream",),
            (f"{_STREAMING}.kinesis.KinesisEventSource",), (f"{_STREAMS}.kinesis_to_lambda",), _ROWS),
    Service("firehose", (f"{_STREAMS}.firehose",), (f"{_STREAMING}.firehose.FirehoseDelivery",),
            (f"{_STREAMS}.firehose",), _ROWS, ("FIREHOSE_",)),
    Service("iot", (f"{_INFRA}.streaming.StreamingBuilders.iot_fleet",), (f"{_STREAMING}.iot.IotRulesEngine",),
            (f"{_STREAMS}.iot_rules",), _STREAM_ROWS, ("IOT_",)),
    Service("glue", (f"{_STREAMING}.athena.AthenaEmulator.create_table",), (f"{_STREAMING}.athena.AthenaEmulator",),
            (f"{_STREAMS}.athena",), _STREAM_ROWS),
    Service("athena", (f"{_STREAMS}.athena",), (f"{_STREAMING}.athena.AthenaEmulator",), (f"{_STREAMS}.athena",),
            _ROWS),
    # dns
    Service("route53", (f"{_INFRA}.dns.DnsBuilders.hosted_zone", f"{_INFRA}.dns.DnsBuilders.health_check"),
            (f"{_PLANES}.route53.Resolver",), (f"{_INFRA}.dns.HostedZone.resolver",), _ROWS, ("R53_", "ROUTE53_")),
)


def resolve(dotted: str) -> Any:
    """The object a part's dotted path names: a module, or an attribute path inside one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(f"no module in {dotted!r}")


def locate(dotted: str) -> str:
    """Where a part is written: ``path:line`` from the repository root."""
    obj = inspect.unwrap(resolve(dotted))
    path = Path(inspect.getsourcefile(obj) or "")
    line = 1 if inspect.ismodule(obj) else inspect.getsourcelines(obj)[1]
    root = Path(__file__).resolve().parents[2]
    return f"{path.resolve().relative_to(root)}:{line}"
