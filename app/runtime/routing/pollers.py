"""Delivery on moto: the router drains what the server noted, as AWS's pollers and asynchronous invokers do."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from app.runtime import events
from app.runtime.routing.flows import event_id
from app.runtime.routing.wiring import SqsMapping, StreamMapping
from app.runtime.trace import Span

if TYPE_CHECKING:
    from app.runtime.clients import Call


MAX_ROUNDS = 200
S3_CREATING = frozenset({"PutObject", "CompleteMultipartUpload", "CopyObject", "PostObject"})
DRAIN_WAIT_S = 30.0
STREAM_RETRY_BOUND = 10
_tls = threading.local()


class Pollers:
    """The router's delivery: drains, delayed S3 events, SQS and stream polling."""

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
