"""The IoT analytics case's Lambda functions.

``firehose_transform``   Firehose's data-transformation function: for every record of the
                         batch it returns the same ``recordId`` with ``result`` Ok (the reading
                         enriched with ``temperature_f`` and ``quality``, newline-terminated JSON),
                         Dropped (a reading taken while the sensor was calibrating) or
                         ProcessingFailed (data that is not a JSON reading), as the contract asks.
``register_partitions``  drains the SQS queue that receives the ingestion bucket's S3 events: for
                         each new object under ``.../dt=YYYY-MM-DD/`` it registers that partition of
                         the Glue table (CreatePartition, the table's storage descriptor with the
                         partition's location); a partition already registered is left as it is.
                         Messages it cannot handle are returned as batch item failures.

Environment of ``register_partitions``: GLUE_DATABASE, GLUE_TABLE.
Needs only the standard library, boto3 and patterns/lambda_kit.py, so it deploys unchanged.
"""
from __future__ import annotations

import base64
import json
import os
import re
from urllib.parse import unquote_plus

from patterns.lambda_kit import client as _client

DEPLOY_WITH = ("patterns.lambda_kit",)
_PARTITION = re.compile(r"(?:^|/)(\w+)=([^/]+)/")


def _reading(data: str) -> dict | None:
    try:
        body = json.loads(base64.b64decode(data))
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("temperature"), (int, float)):
        return None
    return body


def firehose_transform(event, context):
    out = []
    for rec in event["records"]:
        body = _reading(rec["data"])
        if body is None:
            out.append({"recordId": rec["recordId"], "result": "ProcessingFailed", "data": rec["data"]})
        elif body.get("status") == "calibrating":
            out.append({"recordId": rec["recordId"], "result": "Dropped", "data": rec["data"]})
        else:
            body["temperature_f"] = round(body["temperature"] * 9 / 5 + 32, 2)
            body["quality"] = "high" if body.get("battery", 100) >= 20 else "low-battery"
            data = base64.b64encode((json.dumps(body) + "\n").encode()).decode("ascii")
            out.append({"recordId": rec["recordId"], "result": "Ok", "data": data})
    return {"records": out}


def _s3_records(body: str) -> list[dict]:
    message = json.loads(body)
    if message.get("Event") == "s3:TestEvent":        # S3 checks the queue when notifications are set up
        return []
    return message.get("Records", [])


def register_partitions(event, context):
    glue = _client("glue")
    database, table = os.environ["GLUE_DATABASE"], os.environ["GLUE_TABLE"]
    described = None
    failures, registered = [], []
    for msg in event["Records"]:
        try:
            for rec in _s3_records(msg["body"]):
                key = unquote_plus(rec["s3"]["object"]["key"])
                found = _PARTITION.findall(key)
                if not found:
                    continue
                if described is None:
                    described = glue.get_table(DatabaseName=database, Name=table)["Table"]
                names = [k["Name"] for k in described.get("PartitionKeys", [])]
                values = dict(found)
                if set(names) - set(values):
                    continue
                folder = key[:key.index(f"{names[-1]}={values[names[-1]]}/")] + f"{names[-1]}={values[names[-1]]}/"
                storage = {**described["StorageDescriptor"],
                           "Location": f"s3://{rec['s3']['bucket']['name']}/{folder}"}
                try:
                    glue.create_partition(DatabaseName=database, TableName=table, PartitionInput={
                        "Values": [values[n] for n in names], "StorageDescriptor": storage})
                    registered.append(storage["Location"])
                except glue.exceptions.AlreadyExistsException:
                    pass
        except (ValueError, KeyError) as exc:
            print(f"message {msg.get('messageId')} not handled: {type(exc).__name__}: {exc}")
            failures.append({"itemIdentifier": msg["messageId"]})
    for location in registered:
        print(f"registered partition {location}")
    return {"batchItemFailures": failures}
