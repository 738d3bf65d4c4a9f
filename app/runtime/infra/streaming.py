"""Streaming sources: Kinesis data streams and IoT Core fleets (things, certificates, policy)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from app.runtime.infra.base import Builders


@dataclass
class Fleet:
    """IoT things of one thing type, each with an active X.509 certificate carrying ``policy``."""

    thing_type: str
    policy: str
    things: dict[str, str]                 # thing name -> certificate ARN


class StreamingBuilders(Builders):
    """Builders of data streams and device fleets."""

    def kinesis_stream(self, base: str, *, shards: int = 1) -> str:
        """A provisioned data stream with ``shards`` shards; returns its name."""
        name = self.ctx.name(base)
        self._client("kinesis").create_stream(StreamName=name, ShardCount=shards)
        self.ctx.deployed.update(kinesis_shards=shards)
        return name

    def iot_fleet(self, base: str, count: int, *, policy: Mapping[str, Any]) -> Fleet:
        """A thing type and ``count`` things, each with its own active certificate (CreateKeysAndCertificate)
        to which the IoT ``policy`` is attached, and the certificate attached to the thing."""
        iot = self._client("iot")
        thing_type = self.ctx.name(f"{base}-type")
        iot.create_thing_type(thingTypeName=thing_type)
        policy_name = self.ctx.name(f"{base}-policy")
        iot.create_policy(policyName=policy_name, policyDocument=json.dumps(policy))
        things = {}
        for i in range(count):
            thing = self.ctx.name(f"{base}-{i + 1:03d}")
            iot.create_thing(thingName=thing, thingTypeName=thing_type)
            cert = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
            iot.attach_policy(policyName=policy_name, target=cert)
            iot.attach_thing_principal(thingName=thing, principal=cert)
            things[thing] = cert

        def remove() -> None:      # the session's teardown knows no IoT things, certificates or policies
            for name, arn in things.items():
                iot.detach_thing_principal(thingName=name, principal=arn)
                iot.detach_policy(policyName=policy_name, target=arn)
                cert_id = arn.rsplit("/", 1)[1]
                iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
                iot.delete_certificate(certificateId=cert_id)
                iot.delete_thing(thingName=name)
            iot.delete_policy(policyName=policy_name)
            iot.deprecate_thing_type(thingTypeName=thing_type)
            iot.delete_thing_type(thingTypeName=thing_type)

        self.ctx.on_teardown(remove)
        self.ctx.deployed.update(iot_things=count)
        return Fleet(thing_type, policy_name, things)
