"""MyTodoList's Lambda function: todo CRUD behind an API Gateway REST proxy integration.

One ``handler(event, context)`` serves every route of the REST API:

    GET    /todos          list the caller's todos (Query on the partition key)
    GET    /todos/{id}     one todo (GetItem)
    POST   /todos          create a todo from the JSON body ({"title": ..., "done": false})
    PUT    /todos/{id}     replace title/done of an existing todo
    DELETE /todos/{id}     delete it

The caller is whoever the Cognito user-pool authorizer vouched for:
``requestContext.authorizer.claims.sub``. Todos live in a table with partition
key ``user_id`` and sort key ``todo_id``, so a user can only ever address their
own items.

Environment:
    TABLE_NAME     the todos table (required)
    DAX_ENDPOINT   when set, every table call goes through the DAX cluster at this
                   endpoint: reads are served from its item and query caches, writes
                   go through it to DynamoDB (write-through) and refresh its item cache

The module imports only the standard library and boto3, so it deploys to AWS
unchanged (with the ``amazon-dax-client`` package in the bundle when DAX is on).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from patterns.lambda_kit import claims
from patterns.lambda_kit import item as _item
from patterns.lambda_kit import json_body as _body
from patterns.lambda_kit import marshal as _marshal
from patterns.lambda_kit import response as _response
from patterns.lambda_kit import table_client as _table_client

DEPLOY_WITH = ("patterns.lambda_kit",)   # shared code packaged beside this module

MAX_TITLE = 500


# -- helpers ------------------------------------------------------------------------------------
def _caller(event: dict) -> str | None:
    return claims(event).get("sub")


def _todo_fields(data: dict, *, partial: bool) -> dict:
    out: dict[str, Any] = {}
    if "title" in data or not partial:
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValueError("title must be a non-empty string")
        if len(title) > MAX_TITLE:
            raise ValueError(f"title must be at most {MAX_TITLE} characters")
        out["title"] = title.strip()
    if "done" in data:
        if not isinstance(data["done"], bool):
            raise ValueError("done must be true or false")
        out["done"] = data["done"]
    elif not partial:
        out["done"] = False
    if partial and not out:
        raise ValueError("nothing to update: give title and/or done")
    return out


# -- routes -------------------------------------------------------------------------------------
def _list(table: str, user: str) -> dict:
    items: list[dict] = []
    kwargs = {"TableName": table, "KeyConditionExpression": "user_id = :u",
              "ExpressionAttributeValues": {":u": {"S": user}}}
    reader = _table_client()
    while True:
        page = reader.query(**kwargs)
        items.extend(_item(i) for i in page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return _response(200, {"todos": items, "count": len(items)})


def _get(table: str, user: str, todo_id: str) -> dict:
    found = _table_client().get_item(TableName=table, Key={"user_id": {"S": user}, "todo_id": {"S": todo_id}})
    if "Item" not in found:
        return _response(404, {"message": f"todo {todo_id} not found"})
    return _response(200, _item(found["Item"]))


def _create(table: str, user: str, data: dict) -> dict:
    fields = _todo_fields(data, partial=False)
    now = int(time.time())
    todo = {"user_id": user, "todo_id": uuid.uuid4().hex[:12], "created_at": now, "updated_at": now, **fields}
    _table_client().put_item(TableName=table, Item=_marshal(todo),
                                 ConditionExpression="attribute_not_exists(todo_id)")
    return _response(201, todo)


def _update(table: str, user: str, todo_id: str, data: dict) -> dict:
    fields = _todo_fields(data, partial=True)
    fields["updated_at"] = int(time.time())
    names = {f"#{k}": k for k in fields}
    values = {f":{k}": v for k, v in _marshal(fields).items()}
    ddb = _table_client()
    try:
        out = ddb.update_item(
            TableName=table, Key={"user_id": {"S": user}, "todo_id": {"S": todo_id}},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
            ConditionExpression="attribute_exists(todo_id)",
            ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return _response(404, {"message": f"todo {todo_id} not found"})
    return _response(200, _item(out["Attributes"]))


def _delete(table: str, user: str, todo_id: str) -> dict:
    out = _table_client().delete_item(TableName=table, Key={"user_id": {"S": user}, "todo_id": {"S": todo_id}},
                                          ReturnValues="ALL_OLD")
    if "Attributes" not in out:
        return _response(404, {"message": f"todo {todo_id} not found"})
    return _response(204)


def handler(event: dict, context: Any = None) -> dict:
    table = os.environ["TABLE_NAME"]
    user = _caller(event)
    if not user:
        # API Gateway's authorizer normally stops such requests; never serve an anonymous caller.
        return _response(401, {"message": "Unauthorized"})
    method = (event.get("httpMethod") or "").upper()
    todo_id = (event.get("pathParameters") or {}).get("id")
    try:
        if method == "GET" and todo_id:
            return _get(table, user, todo_id)
        if method == "GET":
            return _list(table, user)
        if method == "POST" and not todo_id:
            return _create(table, user, _body(event))
        if method == "PUT" and todo_id:
            return _update(table, user, todo_id, _body(event))
        if method == "DELETE" and todo_id:
            return _delete(table, user, todo_id)
    except (ValueError, json.JSONDecodeError) as exc:
        return _response(400, {"message": str(exc)})
    allowed = "GET, PUT, DELETE" if todo_id else "GET, POST"
    return {**_response(405, {"message": f"{method or 'no method'} is not allowed here: use {allowed}"}),
            "headers": {"Content-Type": "application/json", "Allow": allowed}}
