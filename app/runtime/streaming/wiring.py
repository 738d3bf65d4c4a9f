"""The streaming emulations built for one runtime session's account.

``session.streaming`` (a :class:`StreamingServices`) hands out the components of
this package already bound to the session: its clients, its trace (the session's
clients and Lambda service record the API-call and invocation spans, so the
components add only the spans of what they emulate), its deployed functions
(invoked in-process through ``session.lambdas``) and its execution roles::

    source = session.streaming.kinesis_to_lambda(stream, "store", batch_size=50)
    firehose = session.streaming.firehose("ingest", bucket, source_stream=stream, transform_function="enrich")
    rules = session.streaming.iot_rules()
    table = session.streaming.global_table("posts", ["us-east-1", "eu-west-1"])
    athena = session.streaming.athena()

These are emulations of what moto lacks. On live AWS (``emulated`` is False) the
services do the work themselves: a pipeline should create the real event source
mapping, delivery stream, topic rule, global table replica or Athena query there
instead of running the emulation against real accounts.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from app.runtime.streaming.athena import AthenaEmulator
from app.runtime.streaming.firehose import FirehoseDelivery
from app.runtime.streaming.global_tables import GlobalTable
from app.runtime.streaming.iot import IotRulesEngine
from app.runtime.streaming.kinesis import KinesisEventSource

if TYPE_CHECKING:
    from app.runtime.session import RuntimeSession


class StreamingServices:
    def __init__(self, session: "RuntimeSession") -> None:
        self.session = session
        self._roles: dict[str, str] = {}
        self.global_tables: list[GlobalTable] = []

    @property
    def emulated(self) -> bool:
        """True on the embedded moto backend, where these emulations stand in for the services."""
        return self.session.backend == "moto"

    def _client(self, service: str, region: str | None = None):
        return self.session.clients.client(service, region)

    def _invoke(self, source: str):
        lambdas = self.session.lambdas
        return lambda name, event: lambdas.invoke(name, event, source=source)

    def service_role(self, service: str) -> str:
        """An IAM role the AWS service ``service`` (e.g. firehose) may assume, created once per session."""
        if service not in self._roles:
            trust = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            self._roles[service] = self._client("iam").create_role(
                RoleName=self.session.name(f"{service}-delivery"), AssumeRolePolicyDocument=json.dumps(trust),
                Tags=[{"Key": k, "Value": v} for k, v in self.session.tags.items()])["Role"]["Arn"]
        return self._roles[service]

    def kinesis_to_lambda(self, stream_name: str, function: str, **options: Any) -> KinesisEventSource:
        """Poll ``stream_name`` for the session's function ``function`` (batch_size, starting_position, ...)."""
        fn = self.session.lambdas.get(function)
        return KinesisEventSource(self._client("kinesis"), stream_name, fn.name, self._invoke("kinesis"),
                                  role_arn=self.session.lambdas.role_arn(), trace=self.session.trace,
                                  calls_traced=True, **options)

    def firehose(self, name: str, bucket: str, *, source_stream: str | None = None,
                 transform_function: str | None = None, create: bool = True, **options: Any) -> FirehoseDelivery:
        """A delivery stream to ``bucket`` (registered in the backend unless ``create=False``)."""
        transform = self.session.lambdas.get(transform_function).arn if transform_function else None
        stream = FirehoseDelivery(self._client("firehose"), self._client("s3"), name, bucket,
                                  role_arn=self.service_role("firehose"), kinesis=self._client("kinesis"),
                                  source_stream=source_stream, transform_function=transform,
                                  invoke=self._invoke("firehose"), trace=self.session.trace, calls_traced=True,
                                  tags=self.session.tags, **options)
        if create:
            stream.create()
        return stream

    def iot_rules(self, **options: Any) -> IotRulesEngine:
        return IotRulesEngine(self._client("iot"), kinesis=self._client("kinesis"), dynamodb=self._client("dynamodb"),
                              invoke=self._invoke("iot"), iot_data=self._client("iot-data"), sqs=self._client("sqs"),
                              trace=self.session.trace, calls_traced=True, tags=self.session.tags, **options)

    def global_table(self, table_name: str, regions: list[str], **options: Any) -> GlobalTable:
        """Replicas of ``table_name`` (its home is ``regions[0]``); ``create()`` it, then ``pump()`` or ``start()``."""
        for region in regions:
            self.session.use_region(region)       # so teardown visits the replica regions
        table = GlobalTable(self.session.clients, table_name, regions, trace=self.session.trace,
                            calls_traced=True, tags=self.session.tags, **options)
        self.global_tables.append(table)
        return table

    def athena(self, **options: Any) -> AthenaEmulator:
        return AthenaEmulator(self._client("athena"), self._client("s3"), self._client("glue"),
                              trace=self.session.trace, calls_traced=True, tags=self.session.tags, **options)

    def stop(self) -> None:
        """Stop background replication threads (call before teardown)."""
        for table in self.global_tables:
            table.stop(final_pump=False)
