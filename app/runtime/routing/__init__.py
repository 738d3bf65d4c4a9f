"""Event sources wired to Lambda functions, delivered as AWS delivers them.

The wiring calls are the same on moto and on AWS, and make the same control-plane
calls (notification configurations, subscriptions, permissions, queue policies)::

    r = session.routing
    r.s3_to_lambda(bucket, "fn", prefix="in/", suffix=".jpg")     # S3 -> Lambda
    r.s3_to_sqs(bucket, queue_arn) ; r.s3_to_sns(bucket, topic_arn)  # S3 -> SQS / SNS
    r.sns_to_lambda(topic_arn, "fn") ; r.sns_to_sqs(topic_arn, queue_arn)
    r.sqs_to_lambda(queue_arn, "fn", batch_size=10, report_batch_item_failures=True)
    r.stream_to_lambda(table, "fn", batch_size=100, starting_position="TRIM_HORIZON")

On AWS the last two create event source mappings and AWS's pollers do the rest.
On moto (which would need Docker to run the functions) this module is the poller:
right after each call of the session returns, if the server noted new work for the
session's account (see :mod:`app.runtime.backend`), the router drains it in the
calling thread, so a pipeline step that puts an object finds its handler's effects
done when the call returns. Nothing sleeps and nothing runs in the background; each
drain is bounded (``MAX_ROUNDS``).

How each source behaves here, as on AWS:

* S3 and SNS invoke functions asynchronously (:meth:`Lambdas.invoke_async`): a failed
  invocation is retried (the function's ``max_retry_attempts``, 2 by default); AWS waits
  about 1 and 2 minutes between attempts, here the waits are not slept but recorded as
  ``RetryWait`` spans (``modelled_wait_s``); then the event goes to the function's
  dead-letter queue or topic, if it has one.
* SQS: batches of up to ``batch_size`` messages from ``ReceiveMessage`` (all
  attributes), the queue's visibility timeout, deletion after success, partial
  batch responses (``batchItemFailures``) when ``report_batch_item_failures``;
  failed messages come back after the visibility timeout (made visible at once
  here, the wait recorded) and the queue's redrive policy moves a message to its
  dead-letter queue once it has been received ``maxReceiveCount`` times (moto's
  redrive, on the next receive, as SQS does). Without a redrive policy a failing
  message is retried ``retry_bound`` times per drain and then left in the queue.
* DynamoDB Streams: ``GetRecords`` per shard from a checkpoint, batches in order,
  a failed batch retried (``max_retry_attempts``; AWS's default -1, "until the
  records expire", is bounded here at ``STREAM_RETRY_BOUND``) and then skipped as
  AWS does, described to the ``on_failure_arn`` destination if any; partial batch
  responses (sequence numbers) retry from the first failed record; records shaped
  by the table's StreamViewType.

The ledger: each wiring to a function is a flow (``"s3 -> thumbnail"``, ``"sqs -> indexer"``...); the
router counts its distinct events in and processed, and :meth:`Router.ledger` reads the dead-lettered
ones back from the flow's dead-letter queue (the function's, the queue's redrive target, the stream
mapping's on-failure destination). :meth:`Router.redrive` hands those back (an asynchronous event
invoked again, an SQS message returned to its queue, a stream batch read again from the stream).
With an injected ``s3_event_delay_s`` (:mod:`app.runtime.faults`), S3's deliveries to Lambda and the
polling of queues that receive a bucket's notifications wait on the run's clock until
:meth:`Router.release_delayed`; the S3 messages themselves are in the queue at once (moto sends them
inside the upload), so only a consumer polling through this router sees them late.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from app.runtime import events
from app.runtime.trace import Span

if TYPE_CHECKING:
    from app.runtime.clients import Call
    from app.runtime.session import RuntimeSession

MAX_ROUNDS = 200
S3_CREATING = frozenset({"PutObject", "CompleteMultipartUpload", "CopyObject", "PostObject"})
DRAIN_WAIT_S = 30.0
STREAM_RETRY_BOUND = 10
_tls = threading.local()


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


class RoutingError(ValueError):
    """A wiring request AWS would refuse; the message says why."""


class Router:
    def __init__(self, session: "RuntimeSession") -> None:
        self._s = session
        self._local = session.backend == "moto"
        self._inbox = getattr(session, "_inbox", None)
        self._lock = threading.RLock()
        self.sqs: dict[str, SqsMapping] = {}
        self.streams: dict[tuple[str, str], StreamMapping] = {}
        self.stats: Counter = Counter()
        self.flows: dict[tuple[str, str], Flow] = {}
        self._bucket_queues: dict[str, set[str]] = {}   # bucket -> queues its notifications go to
        self._held: list[tuple[float, Any]] = []          # delayed S3 deliveries to Lambda: (due, delivery)
        self._deferred: dict[str, float] = {}           # queue -> when its delayed S3 messages arrive
        self._stopped = False
        self._drain_active = False
        self.request_flows: dict[str, RequestFlow] = {}

    # -- helpers ------------------------------------------------------------------
    def _fn(self, function: str):
        return self._s.lambdas.get(function)

    def _client(self, service: str, region: str | None = None):
        return self._s.clients.client(service, region)

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

    def _flow(self, source: str, fn, dead_letter: str | None, kind: str, source_arn: str = "") -> Flow:
        with self._lock:
            key = (source, fn.name)
            flow = self.flows.get(key)
            if flow is None:
                flow = self.flows[key] = Flow(source=source, function=fn.name, logical=fn.logical,
                                              dead_letter=dead_letter, dead_letter_kind=kind, source_arn=source_arn)
            return flow

    def reset_ledger(self) -> None:
        """Forget the counts of earlier runs of this session (the wiring stays)."""
        with self._lock:
            for flow in self.flows.values():
                flow.seen.clear()
                flow.done.clear()
                flow.failed_attempts = flow.redriven = flow.held = 0
            self._held.clear()
            self._deferred.clear()
            self.request_flows.clear()

    def requests(self, name: str) -> RequestFlow:
        """The ledger's flow of requests named ``name`` (made on first use; see :class:`RequestFlow`)."""
        with self._lock:
            return self.request_flows.setdefault(name, RequestFlow(name))

    # -- wiring ---------------------------------------------------------------------
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

    # -- delivery (moto) --------------------------------------------------------------
    def after_call(self, call: "Call") -> None:
        if not self._local or self._stopped or self._inbox is None:
            return
        faults = self._s.faults
        if faults is not None and faults.s3_event_delay_s and call.service == "s3" and not call.error \
                and call.operation in S3_CREATING and self._bucket_queues.get(call.params.get("Bucket", "")):
            due = faults.now() + faults.s3_event_delay_s
            for arn in self._bucket_queues[call.params["Bucket"]]:     # S3's message reaches the queue late
                self._deferred[arn] = max(self._deferred.get(arn, 0.0), due)
            faults.counters["s3_events_delayed"] += 1
        if getattr(_tls, "draining", False):
            return   # the drain running further up this thread's stack picks the new work up
        # A drain running in another thread may already have taken this call's work: wait for it too.
        if self._inbox.pending(self._s.account_id) or self._drain_active:
            self.drain()

    def pending(self) -> bool:
        return bool(self._inbox and self._inbox.pending(self._s.account_id))

    def drain(self) -> int:
        """Deliver everything the server noted for this session; returns the number of rounds."""
        if not self._local or self._inbox is None:
            return 0
        if getattr(_tls, "draining", False):
            return 0
        rounds = 0
        # Another thread of this session may be draining; wait for it, but never forever (a handler
        # of that drain could be waiting on this thread): the work then stays noted for the next call.
        if not self._lock.acquire(timeout=DRAIN_WAIT_S):
            self.stats["drain_wait_timeout"] += 1
            return 0
        try:
            _tls.draining = True
            self._drain_active = True
            try:
                while rounds < MAX_ROUNDS:
                    deliveries, queues, tables = self._inbox.take(self._s.account_id)
                    if not (deliveries or queues or tables):
                        break
                    rounds += 1
                    for d in deliveries:
                        if not self._hold(d):
                            self._deliver_async(d)
                    for arn in sorted(queues):
                        mapping = self.sqs.get(arn)
                        if mapping and mapping.enabled and not self._waiting(arn):
                            self._poll_queue(mapping)
                    for key in sorted(tables):
                        mapping = self.streams.get(key)
                        if mapping and mapping.enabled:
                            self._poll_stream(mapping)
                else:
                    self.stats["drain_bound_hit"] += 1
            finally:
                _tls.draining = False
                self._drain_active = False
        finally:
            self._lock.release()
        return rounds

    def _note(self, operation: str, resource: str, **detail: Any) -> None:
        trace = self._s.trace
        trace.add(Span(service="lambda", operation=operation, resource=resource, step=trace.current_step,
                       start_ms=(time.perf_counter() - trace._t0) * 1000, measured_ms=0.0,
                       status=detail.pop("status", "ok"), detail=detail))

    # -- delayed S3 events ---------------------------------------------------------------------
    def _hold(self, d) -> bool:
        """Hold an S3 delivery back while a delay fault is on; True when held."""
        faults = self._s.faults
        if d.source != "s3" or faults is None or not faults.s3_event_delay_s:
            return False
        due = faults.now() + faults.s3_event_delay_s
        self._held.append((due, d))
        faults.counters["s3_events_delayed"] += 1
        try:
            fn = self._fn(d.function_arn)
            self._flow("s3", fn, fn.dead_letter_arn, "lambda").held += 1
        except KeyError:
            pass
        self._note("DelayedDelivery", d.function_arn.rsplit(":", 1)[-1], source="s3",
                   modelled_delay_s=faults.s3_event_delay_s, injected="s3_event_delay_s")
        return True

    def _waiting(self, queue_arn: str) -> bool:
        """Whether the queue's S3 messages have not arrived yet (on the run's clock)."""
        due = self._deferred.get(queue_arn)
        if due is None:
            return False
        faults = self._s.faults
        now = faults.now() if faults is not None else time.time()
        if now >= due:
            self._deferred.pop(queue_arn, None)
            return False
        return True

    def release_delayed(self) -> int:
        """Wait (on the run's clock) until every delayed S3 event has arrived, then deliver them; returns how
        many deliveries and queues were waiting."""
        faults = self._s.faults
        dues = [due for due, _ in self._held] + list(self._deferred.values())
        if not dues:
            return 0
        now = faults.now() if faults is not None else time.time()
        if faults is not None and max(dues) > now:
            faults.wait(max(dues) - now, service="s3", resource="event notifications",
                        reason="waiting for delayed S3 events")
        held, self._held = self._held, []
        queues, self._deferred = list(self._deferred), {}
        for _, d in held:
            try:
                fn = self._fn(d.function_arn)
                self._flow("s3", fn, fn.dead_letter_arn, "lambda").held -= 1
            except KeyError:
                pass
            self._deliver_async(d)
        for arn in queues:
            self._inbox.mark_queue(self._s.account_id, arn)
        self.drain()
        return len(held) + len(queues)

    def _deliver_async(self, d) -> None:
        self.stats[f"{d.source}_events"] += 1
        try:
            fn = self._fn(d.function_arn)
        except KeyError:
            self.stats["undeliverable"] += 1
            self._note("AsyncDelivery", d.function_arn.rsplit(":", 1)[-1], status="error", source=d.source,
                       error="function not deployed by this session")
            return
        if not self._invoke_async(fn, d.event, d.source).ok:
            self.stats["async_failed"] += 1

    def _invoke_async(self, fn, event: Any, source: str):
        """An asynchronous invocation by ``source``, counted in the flow's ledger."""
        flow = self._flow(source, fn, fn.dead_letter_arn, "lambda")
        ident = event_id(event)
        flow.seen.add(ident)
        result = self._s.lambdas.invoke_async(fn.name, event, source=source)
        flow.failed_attempts += result.attempts - (1 if result.ok else 0)
        if result.ok:
            flow.done.add(ident)
        return result

    def _poll_queue(self, m: SqsMapping) -> None:
        sqs = self._client("sqs", m.queue_arn.split(":")[3])
        attempts: Counter = Counter()
        for _ in range(MAX_ROUNDS):
            messages: list[dict] = []
            while len(messages) < m.batch_size:
                wanted = min(10, m.batch_size - len(messages))
                got = sqs.receive_message(QueueUrl=m.queue_url, MaxNumberOfMessages=wanted,
                                          AttributeNames=["All"], MessageAttributeNames=["All"],
                                          WaitTimeSeconds=0).get("Messages", [])
                messages.extend(got)
                if len(got) < wanted:
                    break
            if not messages:
                return
            self.stats["sqs_batches"] += 1
            flow = self.flows.get(("sqs", m.function))
            if flow is not None:
                flow.seen.update(event_id(x["Body"]) for x in messages)
            result = self._s.lambdas.invoke(m.function, events.sqs_event(messages, queue_arn=m.queue_arn),
                                            source="sqs")
            failed = self._failed_ids(m, messages, result)
            done = [x for x in messages if x["MessageId"] not in failed]
            if flow is not None:
                flow.done.update(event_id(x["Body"]) for x in done)
                flow.failed_attempts += len(failed)
            for i in range(0, len(done), 10):
                sqs.delete_message_batch(QueueUrl=m.queue_url, Entries=[
                    {"Id": str(j), "ReceiptHandle": x["ReceiptHandle"]} for j, x in enumerate(done[i:i + 10])])
            self.stats["sqs_deleted"] += len(done)
            if not failed:
                if len(messages) < m.batch_size:
                    return   # the queue had no more; a message sent later marks it again
                continue
            retry = []
            for x in messages:
                if x["MessageId"] in failed:
                    attempts[x["MessageId"]] += 1
                    if m.max_receive_count is not None or attempts[x["MessageId"]] < m.retry_bound:
                        retry.append(x)
            self.stats["sqs_failed_messages"] += len(failed)
            if retry:
                # On AWS the messages reappear when the visibility timeout ends; here at once.
                if self._s.faults is not None:     # a run with faults counts the wait on its clock
                    self._s.faults.wait(m.visibility_timeout_s, service="sqs", resource=m.function,
                                        reason="visibility timeout", messages=len(retry))
                else:
                    self._note("RetryWait", m.function, source="sqs", modelled_wait_s=m.visibility_timeout_s,
                               messages=len(retry))
                for i in range(0, len(retry), 10):
                    sqs.change_message_visibility_batch(QueueUrl=m.queue_url, Entries=[
                        {"Id": str(j), "ReceiptHandle": x["ReceiptHandle"], "VisibilityTimeout": 0}
                        for j, x in enumerate(retry[i:i + 10])])
        self.stats["drain_bound_hit"] += 1

    @staticmethod
    def _failed_ids(m: SqsMapping, messages: list[dict], result) -> set[str]:
        every = {x["MessageId"] for x in messages}
        if not result.ok:
            return every
        if not m.report_batch_item_failures:
            return set()
        payload = result.payload
        if not isinstance(payload, dict) or not payload.get("batchItemFailures"):
            return set()
        failed = set()
        for item in payload["batchItemFailures"]:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not ident or ident not in every:
                return every   # AWS treats a malformed response as a failure of the whole batch
            failed.add(ident)
        return failed

    def _poll_stream(self, m: StreamMapping) -> None:
        streams = self._client("dynamodbstreams", m.region)
        bound = STREAM_RETRY_BOUND if m.max_retry_attempts < 0 else m.max_retry_attempts
        for shard_id, iterator in list(m.iterators.items()):
            for _ in range(MAX_ROUNDS):
                resp = streams.get_records(ShardIterator=iterator, Limit=m.batch_size)
                fetched = resp.get("Records", [])
                if not fetched:
                    break
                self.stats["stream_batches"] += 1
                records = fetched
                flow = self.flows.get(("dynamodb", m.function))
                if flow is not None:
                    flow.seen.update(r["dynamodb"]["SequenceNumber"] for r in fetched)
                for attempt in range(bound + 1):
                    result = self._s.lambdas.invoke(
                        m.function, events.dynamodb_stream_event(records, stream_arn=m.stream_arn), source="dynamodb")
                    first_failed = self._stream_failure(m, records, result)
                    ok = records if first_failed is None else records[:first_failed]
                    if flow is not None:
                        flow.done.update(r["dynamodb"]["SequenceNumber"] for r in ok)
                        flow.failed_attempts += first_failed is not None
                    if first_failed is None:
                        break
                    records = records[first_failed:]     # checkpoint before the failed record, retry from it
                    if attempt < bound:
                        self.stats["stream_retries"] += 1
                    else:
                        self.stats["stream_batches_skipped"] += 1
                        if m.on_failure_arn:
                            self._stream_on_failure(m, shard_id, records, attempt + 1)
                iterator = resp.get("NextShardIterator") or iterator
                m.iterators[shard_id] = iterator
                if len(fetched) < m.batch_size:
                    break    # the shard had no more; a later write marks the table again

    @staticmethod
    def _stream_failure(m: StreamMapping, records: list[dict], result) -> int | None:
        """Index of the first record to retry from, None when the batch succeeded."""
        if not result.ok:
            return 0
        payload = result.payload
        if not m.report_batch_item_failures or not isinstance(payload, dict) or not payload.get("batchItemFailures"):
            return None
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        indexes = []
        for item in payload["batchItemFailures"]:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if ident not in seqs:
                return 0       # a malformed answer fails the whole batch, as on AWS
            indexes.append(seqs.index(ident))
        return min(indexes)

    def _stream_on_failure(self, m: StreamMapping, shard_id: str, records: list[dict], attempts: int) -> None:
        """The invocation record Lambda sends to an on-failure destination for a dropped stream batch."""
        from datetime import datetime, timezone

        def arrival(r):
            t = r["dynamodb"].get("ApproximateCreationDateTime")
            return t.isoformat() if hasattr(t, "isoformat") else str(t)

        fn = self._fn(m.function)
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {
            "requestContext": {"requestId": "", "functionArn": fn.arn, "condition": "RetryAttemptsExhausted",
                               "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": now,
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(records[0]),
                "approximateArrivalOfLastRecord": arrival(records[-1]),
                "batchSize": len(records),
                "streamArn": m.stream_arn,
            },
        }
        parts = m.on_failure_arn.split(":")
        if parts[2] == "sqs":
            sqs = self._client("sqs", parts[3])
            url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        else:
            self._client("sns", parts[3]).publish(TopicArn=m.on_failure_arn, Message=json.dumps(record))

    # -- the ledger and the redrive -----------------------------------------------------------
    def _queue(self, arn: str):
        parts = arn.split(":")
        sqs = self._client("sqs", parts[3])
        return sqs, sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]

    def _take(self, arn: str, hold_s: int = 60) -> list[dict]:
        """Every message of the queue, received (and so hidden for ``hold_s``) until none is left."""
        sqs, url = self._queue(arn)
        out: list[dict] = []
        for _ in range(MAX_ROUNDS):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                      MessageAttributeNames=["All"], VisibilityTimeout=hold_s,
                                      WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            out.extend(got)
        return out

    def _release(self, arn: str, messages: list[dict]) -> None:
        sqs, url = self._queue(arn)
        for i in range(0, len(messages), 10):
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(j), "ReceiptHandle": x["ReceiptHandle"], "VisibilityTimeout": 0}
                for j, x in enumerate(messages[i:i + 10])])

    def dead_letters(self) -> list[dict]:
        """The messages in the flows' dead-letter queues, read back from the backend (and left there)."""
        out: list[dict] = []
        for arn in sorted({f.dead_letter for f in self.flows.values() if f.dead_letter}):
            messages = self._take(arn)
            self._release(arn, messages)
            for x in messages:
                attrs = {k: v.get("StringValue") for k, v in (x.get("MessageAttributes") or {}).items()}
                out.append({"queue": arn.rsplit(":", 1)[-1], "message_id": x["MessageId"],
                            "body": x["Body"], "attributes": attrs,
                            "receive_count": int(x.get("Attributes", {}).get("ApproximateReceiveCount", 0))})
        return out

    def _flow_dead_letters(self, flow: Flow, messages: list[dict]) -> int:
        """How many of this flow's events the dead-letter queue's ``messages`` hold."""
        count = 0
        for x in messages:
            if flow.dead_letter_kind == "stream":
                try:
                    info = json.loads(x["Body"]).get("DDBStreamBatchInfo") or {}
                except ValueError:
                    continue
                if info.get("streamArn") == flow.source_arn:
                    count += int(info.get("batchSize", 0))
            elif flow.dead_letter_kind == "lambda":
                try:
                    count += event_id(json.loads(x["Body"])) in flow.seen
                except ValueError:
                    continue
            else:
                count += event_id(x["Body"]) in flow.seen
        return count

    def ledger(self) -> dict[str, dict[str, Any]]:
        """Per flow: ``in`` (distinct events), ``processed``, ``dead_lettered`` (read back from the dead-letter
        queue), ``in_flight`` (SQS: still in the source queue) and ``lost`` (the rest)."""
        out: dict[str, dict[str, Any]] = {}
        held: dict[str, list[dict]] = {}
        for flow in self.flows.values():
            if not flow.seen and not flow.dead_letter:
                continue
            dead = 0
            if flow.dead_letter:
                if flow.dead_letter not in held:
                    held[flow.dead_letter] = self._take(flow.dead_letter)
                    self._release(flow.dead_letter, held[flow.dead_letter])
                dead = self._flow_dead_letters(flow, held[flow.dead_letter])
            waiting = 0
            if flow.source == "sqs" and flow.source_arn:
                sqs, url = self._queue(flow.source_arn)
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                waiting = int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
                    attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
            done = len(flow.done)
            # Received events neither processed nor dead-lettered are back in the queue or lost; messages
            # waiting beyond those have not been received yet (they count in, and in flight).
            pending = len(flow.seen) - done - dead
            arrived = len(flow.seen) + max(0, waiting - pending) + flow.held
            in_flight = waiting + flow.held
            entry = {"in": arrived, "processed": done, "dead_lettered": dead,
                     "lost": arrived - done - dead - in_flight,
                     "function": flow.logical, "source": flow.source, "failed_attempts": flow.failed_attempts,
                     "redriven": flow.redriven,
                     "dead_letter_queue": flow.dead_letter.rsplit(":", 1)[-1] if flow.dead_letter else None}
            if flow.source == "sqs" or flow.held:
                entry["in_flight"] = in_flight
            out[flow.key] = entry
        for name, requests in self.request_flows.items():
            out[name] = requests.entry()
        return out

    def redrive(self) -> dict[str, int]:
        """Hand every dead-lettered event back to its function: an asynchronous event is invoked again, an
        SQS message goes back to its source queue (as SQS's dead-letter queue redrive does), a stream batch
        is read again from the stream and invoked. Returns the events handed back per flow."""
        handed: dict[str, int] = {}
        for flow in list(self.flows.values()):
            if not flow.dead_letter:
                continue
            messages = [x for x in self._take(flow.dead_letter) if self._flow_dead_letters(flow, [x])]
            if not messages:
                continue
            sqs, url = self._queue(flow.dead_letter)
            fn = self._fn(flow.function)
            count = 0
            for x in messages:
                if flow.dead_letter_kind == "lambda":
                    # the event goes back into Lambda's asynchronous queue: a new failure is dead-lettered anew
                    self._invoke_async(fn, json.loads(x["Body"]), flow.source)
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=x["ReceiptHandle"])
                    count += 1
                elif flow.dead_letter_kind == "sqs":
                    src, src_url = self._queue(flow.source_arn)
                    attrs = {k: {key: v[key] for key in ("DataType", "StringValue", "BinaryValue") if key in v}
                             for k, v in (x.get("MessageAttributes") or {}).items()}
                    src.send_message(QueueUrl=src_url, MessageBody=x["Body"], **(
                        {"MessageAttributes": attrs} if attrs else {}))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=x["ReceiptHandle"])
                    count += 1
                else:
                    n = self._redrive_stream_batch(flow, json.loads(x["Body"])["DDBStreamBatchInfo"])
                    if n is None:
                        self._release(flow.dead_letter, [x])      # failed again: it stays dead-lettered
                    else:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=x["ReceiptHandle"])
                        count += n
            flow.redriven += count
            handed[flow.key] = count
        self.drain()
        return handed

    def _redrive_stream_batch(self, flow: Flow, info: dict) -> int | None:
        """Read the batch's records again from the stream and invoke the function; None when it fails."""
        region = flow.source_arn.split(":")[3]
        streams = self._client("dynamodbstreams", region)
        start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
        it = streams.get_shard_iterator(StreamArn=flow.source_arn, ShardId=info["shardId"],
                                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                                        SequenceNumber=info["startSequenceNumber"])["ShardIterator"]
        records: list[dict] = []
        for _ in range(MAX_ROUNDS):
            resp = streams.get_records(ShardIterator=it, Limit=100)
            got = resp.get("Records", [])
            records.extend(r for r in got if start <= int(r["dynamodb"]["SequenceNumber"]) <= end)
            if not got or int(got[-1]["dynamodb"]["SequenceNumber"]) >= end or not resp.get("NextShardIterator"):
                break
            it = resp["NextShardIterator"]
        if not records:
            return None
        result = self._s.lambdas.invoke(flow.function, events.dynamodb_stream_event(records,
                                                                                   stream_arn=flow.source_arn),
                                        source="redrive")
        if not result.ok:
            flow.failed_attempts += 1
            return None
        flow.done.update(r["dynamodb"]["SequenceNumber"] for r in records)
        return len(records)

    def stop(self) -> None:
        self._stopped = True
