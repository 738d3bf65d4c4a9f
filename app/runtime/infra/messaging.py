"""Messaging: SQS queues (with their dead-letter queues), SNS topics and a bucket's notification fan-out."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from app.core import facts
from app.runtime.infra.base import Builders


@dataclass
class Queue:
    url: str
    arn: str

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


class MessagingBuilders(Builders):
    """Builders of queues, topics and fan-outs."""

    def queue(self, base: str, *, dead_letter_after: int | None = None, region: str | None = None,
              **attributes: str) -> Queue:
        """A standard queue (in ``region``, the session's by default); with ``dead_letter_after`` a ``<base>-dlq``
        queue beside it and a redrive policy that moves a message there once it has been received that many
        times (maxReceiveCount)."""
        if dead_letter_after is not None:
            limits = facts.SQS_MAX_RECEIVE_COUNT.value
            if not limits["min"] <= dead_letter_after <= limits["max"]:
                raise ValueError(f"dead_letter_after={dead_letter_after} is not valid: use {limits['min']} to "
                                 f"{limits['max']} receives")
            dlq = self.queue(f"{base}-dlq", region=region)
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq.arn,
                                                      "maxReceiveCount": str(dead_letter_after)})
        sqs = self._client("sqs", region)
        url = sqs.create_queue(QueueName=self.ctx.name(base), Attributes=dict(attributes))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Queue(url, arn)

    def topic(self, base: str, *, region: str | None = None) -> str:
        return self._client("sns", region).create_topic(Name=self.ctx.name(base))["TopicArn"]

    def queue_depth(self, queues: Iterable[Queue]) -> int:
        """The messages in these queues (each read in its own region): waiting, and received but not yet
        deleted (ApproximateNumberOfMessages + ApproximateNumberOfMessagesNotVisible)."""
        depth = 0
        for q in queues:
            attrs = self._client("sqs", q.region).get_queue_attributes(QueueUrl=q.url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            depth += int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
        return depth

    def bucket_fanout(self, bucket: str, via: str, queue: str, *, topic: str = "",
                      prefix: str | None = None) -> Queue:
        """Fan a bucket's object-created notifications out: ``via="sns"`` publishes them to a new topic
        ``topic`` to which a new queue ``queue`` is subscribed (a subscriber reading what the topic
        delivers); ``via="sqs"`` sends them straight to a new queue ``queue``. Returns the queue."""
        if via not in ("sns", "sqs") or (via == "sns" and not topic):
            raise ValueError(f"via={via!r} is not valid: use \"sqs\", or \"sns\" with a topic name")
        routing = self.session.routing
        if via == "sns":
            arn = self.topic(topic)
            q = self.queue(queue)
            routing.sns_to_sqs(arn, q.arn)
            routing.s3_to_sns(bucket, arn, prefix=prefix)
        else:
            q = self.queue(queue)
            routing.s3_to_sqs(bucket, q.arn, prefix=prefix)
        return q
