"""Wiring event sources to functions: notifications, subscriptions, permissions, queue policies and mappings."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SqsMapping:
    queue_arn: str
    queue_url: str
    function: str
    batch_size: int
    report_batch_item_failures: bool
    visibility_timeout_s: int
    max_receive_count: int | None
    retry_bound: int
    uuid: str = ""
    enabled: bool = True


@dataclass
class StreamMapping:
    table: str
    region: str
    stream_arn: str
    function: str
    batch_size: int
    starting_position: str
    max_retry_attempts: int
    view_type: str
    report_batch_item_failures: bool = False
    on_failure_arn: str | None = None
    uuid: str = ""
    iterators: dict[str, str] = field(default_factory=dict)
    enabled: bool = True


class RoutingError(ValueError):
    """A wiring request AWS would refuse; the message says why."""


class Wiring:
    """The router's wiring calls (the same on moto and on AWS)."""

    def _allow_invoke(self, fn, principal: str, source_arn: str, statement: str) -> None:
        lam = self._client("lambda")
        try:
            lam.add_permission(FunctionName=fn.name, StatementId=statement, Action="lambda:InvokeFunction",
                               Principal=principal, SourceArn=source_arn)
        except lam.exceptions.ResourceConflictException:
            pass

    def _notification(self, bucket: str, kind: str, entry: dict) -> None:
        s3 = self._client("s3")
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        current.setdefault(kind, []).append(entry)
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)

    @staticmethod
    def _filter(prefix: str | None, suffix: str | None) -> dict:
        rules = []
        if prefix:
            rules.append({"Name": "prefix", "Value": prefix})
        if suffix:
            rules.append({"Name": "suffix", "Value": suffix})
        return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}

    def _queue_url(self, queue_arn: str) -> str:
        parts = queue_arn.split(":")
        return self._client("sqs", parts[3]).get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])[
            "QueueUrl"]

    def _allow_send_to_queue(self, queue_arn: str, principal: str, source_arn: str) -> None:
        sqs = self._client("sqs", queue_arn.split(":")[3])
        url = self._queue_url(queue_arn)
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        policy = json.loads(attrs["Policy"]) if attrs.get("Policy") else {"Version": "2012-10-17", "Statement": []}
        policy["Statement"].append({"Effect": "Allow", "Principal": {"Service": principal},
                                    "Action": "sqs:SendMessage", "Resource": queue_arn,
                                    "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}})
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})

    def _create_mapping(self, region: str | None = None, **kwargs) -> dict:
        """CreateEventSourceMapping on AWS, waiting for a just-granted role permission to take effect."""
        lam = self._client("lambda", region)
        for attempt in range(12):
            try:
                return lam.create_event_source_mapping(**kwargs)
            except lam.exceptions.InvalidParameterValueException as exc:
                if "role" not in str(exc).lower() or attempt == 11:
                    raise
                time.sleep(2.5)
        raise AssertionError("unreachable")

    def s3_to_lambda(self, bucket: str, function: str, events_: tuple[str, ...] = ("s3:ObjectCreated:*",),
                     prefix: str | None = None, suffix: str | None = None) -> None:
        """S3 event notifications from ``bucket`` invoke ``function`` (asynchronously)."""
        fn = self._fn(function)
        self._flow("s3", fn, fn.dead_letter_arn, "lambda", f"arn:aws:s3:::{bucket}")
        self._allow_invoke(fn, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}", f"s3-{bucket}"[:100])
        self._notification(bucket, "LambdaFunctionConfigurations",
                           {"Id": f"to-{fn.logical}", "LambdaFunctionArn": fn.arn, "Events": list(events_),
                            **self._filter(prefix, suffix)})

    def s3_to_sqs(self, bucket: str, queue_arn: str, events_: tuple[str, ...] = ("s3:ObjectCreated:*",),
                  prefix: str | None = None, suffix: str | None = None) -> None:
        """S3 event notifications from ``bucket`` are sent to the queue (S3 also sends an s3:TestEvent)."""
        self._allow_send_to_queue(queue_arn, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
        self._bucket_queues.setdefault(bucket, set()).add(queue_arn)
        self._notification(bucket, "QueueConfigurations",
                           {"Id": f"to-{queue_arn.rsplit(':', 1)[-1]}", "QueueArn": queue_arn,
                            "Events": list(events_), **self._filter(prefix, suffix)})

    def s3_to_sns(self, bucket: str, topic_arn: str, events_: tuple[str, ...] = ("s3:ObjectCreated:*",),
                  prefix: str | None = None, suffix: str | None = None) -> None:
        """S3 event notifications from ``bucket`` are published to the topic."""
        sns = self._client("sns", topic_arn.split(":")[3])
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "SNS:Publish",
            "Resource": topic_arn, "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}}}]}
        sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
        self._notification(bucket, "TopicConfigurations",
                           {"Id": f"to-{topic_arn.rsplit(':', 1)[-1]}", "TopicArn": topic_arn,
                            "Events": list(events_), **self._filter(prefix, suffix)})

    def sns_to_lambda(self, topic_arn: str, function: str, filter_policy: dict | None = None) -> str:
        """Subscribe ``function`` to the topic; returns the subscription ARN."""
        fn = self._fn(function)
        self._flow("sns", fn, fn.dead_letter_arn, "lambda", topic_arn)
        self._allow_invoke(fn, "sns.amazonaws.com", topic_arn, f"sns-{topic_arn.rsplit(':', 1)[-1]}"[:100])
        attrs = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
        sub = self._client("sns", topic_arn.split(":")[3]).subscribe(
            TopicArn=topic_arn, Protocol="lambda", Endpoint=fn.arn, Attributes=attrs, ReturnSubscriptionArn=True)
        return sub["SubscriptionArn"]

    def sns_to_sqs(self, topic_arn: str, queue_arn: str, raw: bool = False, filter_policy: dict | None = None) -> str:
        """Subscribe the queue to the topic (SNS envelope as the body unless ``raw``)."""
        self._allow_send_to_queue(queue_arn, "sns.amazonaws.com", topic_arn)
        attrs = {"RawMessageDelivery": "true" if raw else "false"}
        if filter_policy:
            attrs["FilterPolicy"] = json.dumps(filter_policy)
        return self._client("sns", topic_arn.split(":")[3]).subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attrs,
            ReturnSubscriptionArn=True)["SubscriptionArn"]

    def sqs_to_lambda(self, queue_arn: str, function: str, batch_size: int = 10,
                      report_batch_item_failures: bool = False, retry_bound: int = 5) -> SqsMapping:
        """An event source mapping from the queue to ``function``."""
        if not 1 <= batch_size <= 10000:
            raise RoutingError(f"batch_size={batch_size} is not valid: use 1 to 10000")
        fn = self._fn(function)
        url = self._queue_url(queue_arn)
        attrs = self._client("sqs", queue_arn.split(":")[3]).get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])["Attributes"]
        visibility = int(attrs.get("VisibilityTimeout", 30))
        if visibility < fn.timeout_s:
            raise RoutingError(f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
                               f"{fn.timeout_s} seconds (AWS refuses this mapping)")
        redrive = json.loads(attrs["RedrivePolicy"]) if attrs.get("RedrivePolicy") else None
        self._s.lambdas.allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                               "sqs:ChangeMessageVisibility"], queue_arn)
        mapping = SqsMapping(queue_arn=queue_arn, queue_url=url, function=fn.name, batch_size=batch_size,
                             report_batch_item_failures=report_batch_item_failures,
                             visibility_timeout_s=visibility,
                             max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
                             retry_bound=retry_bound)
        if not self._local:
            resp = self._create_mapping(
                EventSourceArn=queue_arn, FunctionName=fn.name, BatchSize=batch_size,
                FunctionResponseTypes=["ReportBatchItemFailures"] if report_batch_item_failures else [])
            mapping.uuid = resp["UUID"]
        self._flow("sqs", fn, redrive.get("deadLetterTargetArn") if redrive else None, "sqs", queue_arn)
        with self._lock:
            self.sqs[queue_arn] = mapping
        if self._local and self._inbox is not None:
            # the new mapping starts polling at once: messages already waiting are delivered
            self._inbox.mark_queue(self._s.account_id, queue_arn)
            self.drain()
        return mapping

    def stream_to_lambda(self, table: str, function: str, batch_size: int = 100,
                         starting_position: str = "TRIM_HORIZON", max_retry_attempts: int = -1,
                         region: str | None = None, report_batch_item_failures: bool = False,
                         on_failure_arn: str | None = None) -> StreamMapping:
        """An event source mapping from the table's stream to ``function``.

        With ``report_batch_item_failures`` the function may answer ``{"batchItemFailures":
        [{"itemIdentifier": <SequenceNumber>}]}``: the records before the first failed one are
        checkpointed and the batch is retried from it. ``on_failure_arn`` (an SQS queue or SNS
        topic) receives a description of a batch dropped after its retries."""
        if starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise RoutingError(f"starting_position={starting_position!r} is not valid: use TRIM_HORIZON or LATEST")
        region = region or self._s.region
        desc = self._client("dynamodb", region).describe_table(TableName=table)["Table"]
        spec = desc.get("StreamSpecification") or {}
        if not spec.get("StreamEnabled") or not desc.get("LatestStreamArn"):
            raise RoutingError(f"table {table} has no stream: create it with StreamSpecification "
                               "(StreamEnabled=True, StreamViewType=NEW_IMAGE|OLD_IMAGE|NEW_AND_OLD_IMAGES|KEYS_ONLY)")
        fn = self._fn(function)
        self._s.lambdas.allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                               "dynamodb:ListStreams"], desc["LatestStreamArn"])
        mapping = StreamMapping(table=table, region=region, stream_arn=desc["LatestStreamArn"], function=fn.name,
                                batch_size=batch_size, starting_position=starting_position,
                                max_retry_attempts=max_retry_attempts, view_type=spec.get("StreamViewType", ""),
                                report_batch_item_failures=report_batch_item_failures,
                                on_failure_arn=on_failure_arn)
        if on_failure_arn:
            kind = on_failure_arn.split(":")[2]
            self._s.lambdas.allow(["sqs:SendMessage"] if kind == "sqs" else ["sns:Publish"], on_failure_arn)
        if self._local:
            streams = self._client("dynamodbstreams", region)
            for shard in streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"]:
                it = streams.get_shard_iterator(StreamArn=mapping.stream_arn, ShardId=shard["ShardId"],
                                                ShardIteratorType=starting_position)["ShardIterator"]
                mapping.iterators[shard["ShardId"]] = it
        else:
            extra: dict[str, Any] = {}
            if report_batch_item_failures:
                extra["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
            if on_failure_arn:
                extra["DestinationConfig"] = {"OnFailure": {"Destination": on_failure_arn}}
            resp = self._create_mapping(
                region, EventSourceArn=mapping.stream_arn, FunctionName=fn.name, BatchSize=batch_size,
                StartingPosition=starting_position, MaximumRetryAttempts=max_retry_attempts, **extra)
            mapping.uuid = resp["UUID"]
        self._flow("dynamodb", fn, on_failure_arn, "stream", mapping.stream_arn)
        with self._lock:
            self.streams[(region, table)] = mapping
        if self._local and self._inbox is not None and starting_position == "TRIM_HORIZON":
            self._inbox.mark_table(self._s.account_id, region, table)
            self.drain()
        return mapping
