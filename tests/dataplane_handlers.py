"""Lambda handlers used by the data-plane wiring tests (deployed and run in-process)."""
from __future__ import annotations

import json
import os


def get_item(event, context):
    """GET /items/{id}: reads the item through the DAX cluster named by DAX_ENDPOINT."""
    from app.runtime.dataplanes.endpoints import lookup

    dax = lookup(os.environ["DAX_ENDPOINT"])
    found = dax.get_item(TableName=os.environ["TABLE_NAME"], Key={"id": {"S": event["pathParameters"]["id"]}})
    if "Item" not in found:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"id": found["Item"]["id"]["S"], "title": found["Item"]["title"]["S"],
                                "request_id": context.aws_request_id})}
