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

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from app.runtime.routing.flows import Flow, RequestFlow, event_id
from app.runtime.routing.ledger import Ledger
from app.runtime.routing.pollers import DRAIN_WAIT_S, MAX_ROUNDS, S3_CREATING, STREAM_RETRY_BOUND, Pollers
from app.runtime.routing.wiring import RoutingError, SqsMapping, StreamMapping, Wiring

if TYPE_CHECKING:
    from app.runtime.session import RuntimeSession

__all__ = ["DRAIN_WAIT_S", "MAX_ROUNDS", "S3_CREATING", "STREAM_RETRY_BOUND", "Flow", "RequestFlow", "Router",
           "RoutingError", "SqsMapping", "StreamMapping", "event_id"]


class Router(Wiring, Pollers, Ledger):
    """A session's event routing: :mod:`.wiring` (the wiring calls), :mod:`.pollers` (delivery on moto) and
    :mod:`.ledger` (the counts per flow and the redrive), over the state kept here."""

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

    def stop(self) -> None:
        self._stopped = True
