"""Builders of the events AWS hands to Lambda, field for field as documented.

Each builder returns the exact structure a handler receives on AWS, so one handler
serves moto and AWS unchanged. Shapes follow the AWS Lambda developer guide
("Using AWS Lambda with Amazon S3 / SQS / SNS / DynamoDB") and the S3 user guide
("Event message structure"); sample events copied from those pages live in
``tests/events/`` and the tests compare these builders' keys with them.

Notable details kept as AWS does them:

* S3 object keys are URL-encoded in the event (a space arrives as ``+``); a handler
  must ``urllib.parse.unquote_plus`` them. ``/`` is left as is.
* S3 records carry ``userIdentity``, ``requestParameters``, ``responseElements`` and
  ``s3.object.sequencer`` (a hex string that grows for each event on a key).
* SQS records carry ``attributes`` (ApproximateReceiveCount, SentTimestamp, ...),
  ``md5OfBody`` and ``eventSourceARN``; SNS records ``EventSubscriptionArn`` and
  the ``Sns`` envelope; DynamoDB stream records ``eventID``, ``eventName``,
  ``dynamodb`` (Keys, NewImage/OldImage by view type, SequenceNumber, SizeBytes,
  StreamViewType) and ``eventSourceARN``.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import quote_plus

_seq_lock = threading.Lock()
_seq = itertools.count(1)


def _now_iso(ms: bool = True) -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def encode_s3_key(key: str) -> str:
    """An object key as S3 writes it into an event (spaces as ``+``, ``/`` kept)."""
    return quote_plus(key, safe="/")


def sequencer() -> str:
    """A hex sequencer that orders events (S3 pads it to compare; ours are fixed width)."""
    with _seq_lock:
        n = next(_seq)
    return f"{time.time_ns() // 1000:014X}{n:06X}"


def principal_id(account_id: str) -> str:
    return "AWS:AROA" + hashlib.sha1(account_id.encode()).hexdigest()[:17].upper()


def complete_s3_record(record: dict[str, Any], *, key_name: str, account_id: str,
                       version_id: str | None = None, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """Add what moto leaves out of an S3 event record, in place; returns the record."""
    record.setdefault("userIdentity", {"principalId": principal_id(account_id)})
    record.setdefault("requestParameters", {"sourceIPAddress": source_ip})
    request_id = uuid.uuid4().hex[:16].upper()
    record.setdefault("responseElements", {
        "x-amz-request-id": request_id,
        "x-amz-id-2": hashlib.sha256(request_id.encode()).hexdigest(),
    })
    s3 = record.setdefault("s3", {})
    bucket = s3.setdefault("bucket", {})
    bucket.setdefault("ownerIdentity", {"principalId": principal_id(account_id)[4:]})
    obj = s3.setdefault("object", {})
    obj["key"] = encode_s3_key(key_name)
    if version_id and version_id != "null":
        obj.setdefault("versionId", version_id)
    obj.setdefault("sequencer", sequencer())
    if record.get("eventName", "").startswith("ObjectRemoved"):
        obj.pop("size", None)
        obj.pop("eTag", None)
    return record


def s3_event(*, bucket: str, key: str, event_name: str = "ObjectCreated:Put", size: int = 0,
             etag: str = "", region: str = "us-east-1", account_id: str = "123456789012",
             configuration_id: str = "notification", version_id: str | None = None) -> dict[str, Any]:
    """A complete S3 event notification with one record."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _now_iso(),
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": size, "eTag": etag.strip('"')},
        },
    }
    return {"Records": [complete_s3_record(record, key_name=key, account_id=account_id, version_id=version_id)]}


def sns_event(*, topic_arn: str, subscription_arn: str, message: str, message_id: str | None = None,
              subject: str | None = None, attributes: Mapping[str, Any] | None = None,
              region: str | None = None) -> dict[str, Any]:
    """The event SNS hands to a subscribed Lambda function (one record per delivery)."""
    region = region or topic_arn.split(":")[3]
    attrs = {}
    for name, value in (attributes or {}).items():
        if isinstance(value, Mapping):
            kind = value.get("Type") or value.get("DataType") or "String"
            val = value.get("Value") or value.get("StringValue") or value.get("BinaryValue")
        else:
            kind, val = "String", value
        attrs[name] = {"Type": kind, "Value": val}
    return {"Records": [{
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": _now_iso(),
            "Signature": "",
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService.pem",
            "MessageId": message_id or str(uuid.uuid4()),
            "Message": message,
            "MessageAttributes": attrs,
            "Type": "Notification",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                              f"&SubscriptionArn={subscription_arn}",
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }]}


def _sqs_attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    out = {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
           "stringListValues": value.get("StringListValues", []),
           "binaryListValues": value.get("BinaryListValues", []), "dataType": value.get("DataType")}
    if out["stringValue"] is None:
        out.pop("stringValue")
    if out["binaryValue"] is None:
        out.pop("binaryValue")
    return out


def sqs_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller builds from ``ReceiveMessage`` results."""
    region = queue_arn.split(":")[3]
    records = []
    for m in messages:
        attrs = dict(m.get("Attributes", {}))
        records.append({
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {k: attrs[k] for k in (
                "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
                "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader") if k in attrs},
            "messageAttributes": {k: _sqs_attribute_value(v) for k, v in m.get("MessageAttributes", {}).items()},
            "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


def dynamodb_stream_event(records: Iterable[Mapping[str, Any]], *, stream_arn: str) -> dict[str, Any]:
    """The event Lambda builds from ``GetRecords`` on a DynamoDB stream."""
    region = stream_arn.split(":")[3]
    out = []
    for r in records:
        d = dict(r.get("dynamodb", {}))
        created = d.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            d["ApproximateCreationDateTime"] = int(created.timestamp())
        out.append({
            "eventID": r.get("eventID") or uuid.uuid4().hex,
            "eventName": r["eventName"],
            "eventVersion": r.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": r.get("awsRegion", region),
            "dynamodb": d,
            "eventSourceARN": stream_arn,
        })
    return {"Records": out}


def payload_bytes(obj: Any) -> int:
    try:
        return len(json.dumps(obj, default=str).encode())
    except (TypeError, ValueError):
        return 0
