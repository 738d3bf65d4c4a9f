"""The ledger of every flow, read back from the backend, and the redrive of what was dead-lettered."""
from __future__ import annotations

import json
from typing import Any

from app.runtime import events
from app.runtime.routing.flows import Flow, RequestFlow, event_id
from app.runtime.routing.pollers import MAX_ROUNDS


class Ledger:
    """The router's counts per flow, its dead letters and their redrive."""

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
