"""Lambda handlers of the runtime's own pipelines; they would deploy to AWS unchanged.

* ``index_upload``: S3 event (direct, or inside an SQS message, or inside an SNS
  notification inside an SQS message) -> one item per object in ``TABLE``.
* ``record_sns``: SNS notification -> one item per message in ``TABLE``.
* ``email_new_orders``: DynamoDB stream INSERT records -> an email through SES
  from ``SENDER`` to the item's ``email`` (or ``RECIPIENT``).
* ``process_jobs``: SQS batch; a message whose body is ``{"fail": true}`` fails,
  reported as a partial batch failure when ``PARTIAL=1``, else by raising.
"""
from __future__ import annotations

import json
import os
from urllib.parse import unquote_plus

try:
    from app.runtime.clients import aws_client
except ImportError:   # running on AWS Lambda
    import boto3

    def aws_client(service):
        return boto3.client(service)


def _s3_records(event):
    """S3 records from an S3, SQS or SNS event (the s3:TestEvent S3 sends on configuration is skipped)."""
    for record in event.get("Records", []):
        source = record.get("eventSource") or record.get("EventSource")
        if source == "aws:s3":
            yield record
        elif source == "aws:sqs":
            body = json.loads(record["body"])
            if body.get("Type") == "Notification":      # SNS envelope delivered to SQS
                body = json.loads(body["Message"])
            if body.get("Event") == "s3:TestEvent":
                continue
            yield from _s3_records(body)
        elif source == "aws:sns":
            body = json.loads(record["Sns"]["Message"])
            if body.get("Event") == "s3:TestEvent":
                continue
            yield from _s3_records(body)


def index_upload(event, context):
    table = os.environ["TABLE"]
    ddb = aws_client("dynamodb")
    s3 = aws_client("s3")
    count = 0
    for record in _s3_records(event):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        head = s3.head_object(Bucket=bucket, Key=key)
        ddb.put_item(TableName=table, Item={
            "pk": {"S": key},
            "bucket": {"S": bucket},
            "size": {"N": str(head["ContentLength"])},
            "event": {"S": record["eventName"]},
            "sequencer": {"S": record["s3"]["object"]["sequencer"]},
            "principal": {"S": record["userIdentity"]["principalId"]},
            "function": {"S": context.function_name},
        })
        count += 1
    return {"indexed": count}


def record_sns(event, context):
    table = os.environ["TABLE"]
    ddb = aws_client("dynamodb")
    for record in event["Records"]:
        sns = record["Sns"]
        ddb.put_item(TableName=table, Item={
            "pk": {"S": sns["MessageId"]},
            "subject": {"S": sns.get("Subject") or ""},
            "message": {"S": sns["Message"]},
            "topic": {"S": sns["TopicArn"]},
        })
    return {"recorded": len(event["Records"])}


def email_new_orders(event, context):
    ses = aws_client("ses")
    sender = os.environ["SENDER"]
    sent = 0
    for record in event["Records"]:
        if record["eventName"] != "INSERT":
            continue
        image = record["dynamodb"]["NewImage"]
        recipient = image.get("email", {}).get("S") or os.environ["RECIPIENT"]
        key = next(iter(record["dynamodb"]["Keys"].values()))      # {"S": "order-1"} or {"N": "101"}
        order = next(iter(key.values()))
        ses.send_email(Source=sender, Destination={"ToAddresses": [recipient]},
                       Message={"Subject": {"Data": f"Order {order} received"},
                                "Body": {"Text": {"Data": f"Thank you for order {order}."}}})
        sent += 1
    print(f"sent {sent} emails")
    return {"sent": sent}


def process_jobs(event, context):
    table = os.environ["TABLE"]
    partial = os.environ.get("PARTIAL") == "1"
    ddb = aws_client("dynamodb")
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("fail"):
            if not partial:
                raise ValueError(f"job {body.get('id')} cannot be processed")
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        ddb.update_item(TableName=table, Key={"pk": {"S": str(body["id"])}},
                        UpdateExpression="ADD done :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
    return {"batchItemFailures": failures} if partial else {"processed": len(event["Records"])}


def record_stream(event, context):
    """DynamoDB stream records -> items in ``TABLE`` describing what arrived (for view-type tests)."""
    ddb = aws_client("dynamodb")
    table = os.environ["TABLE"]
    for record in event["Records"]:
        d = record["dynamodb"]
        ddb.put_item(TableName=table, Item={
            "pk": {"S": record["eventID"]},
            "name": {"S": record["eventName"]},
            "fields": {"S": ",".join(sorted(k for k in ("Keys", "NewImage", "OldImage") if k in d))},
            "view": {"S": d.get("StreamViewType", "")},
            "seq": {"S": d["SequenceNumber"]},
        })
    return {"records": len(event["Records"])}


def stream_partial(event, context):
    """DynamoDB stream records -> ``TABLE``; an item with a ``fail`` attribute is reported as failed
    (partial batch response by sequence number)."""
    ddb = aws_client("dynamodb")
    table = os.environ["TABLE"]
    failures = []
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage", {})
        if "fail" in image:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
            continue
        ddb.update_item(TableName=table, Key={"pk": {"S": image["pk"]["S"]}}, UpdateExpression="ADD seen :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
    return {"batchItemFailures": failures}


def fail_always(event, context):
    raise RuntimeError(f"{context.function_name} refuses every event")
