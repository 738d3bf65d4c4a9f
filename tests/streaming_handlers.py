"""Lambda handlers used by the streaming tests, written as they would deploy to AWS."""
from __future__ import annotations

import base64
import json
import os

try:
    from app.runtime.clients import aws_client
except ImportError:          # running on AWS Lambda
    import boto3

    def aws_client(service):
        return boto3.client(service)


def enrich(event, context):
    """Firehose transform: adds Fahrenheit, drops test readings, fails records without a temperature."""
    out = []
    for rec in event["records"]:
        body = json.loads(base64.b64decode(rec["data"]))
        if body.get("test"):
            out.append({"recordId": rec["recordId"], "result": "Dropped", "data": rec["data"]})
        elif "temp" not in body:
            out.append({"recordId": rec["recordId"], "result": "ProcessingFailed", "data": rec["data"]})
        else:
            body["temp_f"] = round(body["temp"] * 9 / 5 + 32, 2)
            out.append({"recordId": rec["recordId"], "result": "Ok",
                        "data": base64.b64encode((json.dumps(body) + "\n").encode()).decode()})
    return {"records": out}


def store_readings(event, context):
    """Kinesis consumer: stores each reading in the table named by READINGS_TABLE; a reading
    without a temperature is reported as a batch item failure."""
    ddb = aws_client("dynamodb")
    failures = []
    for rec in event["Records"]:
        body = json.loads(base64.b64decode(rec["kinesis"]["data"]))
        if "temp" not in body:
            failures.append({"itemIdentifier": rec["kinesis"]["sequenceNumber"]})
            continue
        ddb.put_item(TableName=os.environ["READINGS_TABLE"],
                     Item={"id": {"S": rec["eventID"]}, "device": {"S": body["device"]},
                           "temp": {"N": str(body["temp"])}})
    return {"batchItemFailures": failures}
