"""DynamoDB request units of a call, from the sizes of the items it read or wrote.

DynamoDB's rules (developer guide, "Read/write capacity mode"): a write costs one
write unit per 1 KB of the item (rounded up; the larger of the old and new item
for updates, the deleted item for deletes); a strongly consistent read costs one
read unit per 4 KB read (Query and Scan add up the items before rounding), an
eventually consistent read half that; transactions cost double. Item size is the
sum of attribute name lengths and value sizes (numbers about 1 byte per two digits
plus 1, 1 byte for booleans and nulls, 3 bytes of overhead per list or map element).

moto's own ConsumedCapacity does not follow these rules, so the runtime computes
units itself. Where the size is not visible in the call (an UpdateItem or
DeleteItem without ReturnValues), the minimum of one unit is counted and the span
says so (``units_basis: "minimum"``).
"""
from __future__ import annotations

import math

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def value_size(v: dict) -> int:
    (kind, val), = v.items()
    if kind == "S":
        return len(val.encode())
    if kind == "B":
        return len(val) if isinstance(val, (bytes, bytearray)) else len(str(val))
    if kind == "N":
        digits = len(str(val).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: x}) for x in val)
    if kind == "L":
        return 3 + sum(value_size(x) + 1 for x in val)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(x) + 1 for k, x in val.items())
    return 0


def item_size(item: dict | None) -> int:
    if not item:
        return 0
    return sum(len(k.encode()) + value_size(v) for k, v in item.items())


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _write_units(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


def request_units(operation: str, params: dict, parsed: dict) -> tuple[float | None, str]:
    """(units, basis) for a DynamoDB call; (None, "") for calls that consume none."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(item_size(parsed.get("Item")), consistent), "item size"
    if operation in ("Query", "Scan"):
        return _read_units(sum(item_size(i) for i in parsed.get("Items", [])), consistent), "items read"
    if operation == "BatchGetItem":
        items = [i for rows in parsed.get("Responses", {}).values() for i in rows]
        return sum(_read_units(item_size(i), consistent) for i in items) or 0.0, "item sizes"
    if operation == "TransactGetItems":
        items = [r.get("Item") for r in parsed.get("Responses", [])]
        return sum(2 * _read_units(item_size(i), True) for i in items), "item sizes, transactional"
    if operation == "PutItem":
        size = max(item_size(params.get("Item")), item_size(parsed.get("Attributes")))
        return _write_units(size), "item size"
    if operation in ("UpdateItem", "DeleteItem"):
        attrs = parsed.get("Attributes")
        if attrs and params.get("ReturnValues") in ("ALL_NEW", "ALL_OLD"):
            return _write_units(item_size(attrs)), "item size"
        return 1.0, "minimum"
    if operation == "BatchWriteItem":
        total = 0.0
        for rows in params.get("RequestItems", {}).values():
            for row in rows:
                if "PutRequest" in row:
                    total += _write_units(item_size(row["PutRequest"].get("Item")))
                else:
                    total += 1.0
        return total, "item sizes"
    if operation == "TransactWriteItems":
        total = 0.0
        for row in params.get("TransactItems", []):
            put = row.get("Put")
            total += 2 * (_write_units(item_size(put.get("Item"))) if put else 1.0)
        return total, "item sizes, transactional"
    return None, ""


def call_units(call) -> tuple[float | None, str]:
    if call.service != "dynamodb" or call.error or not isinstance(call.parsed, dict):
        return None, ""
    try:
        return request_units(call.operation, call.params, call.parsed)
    except (AttributeError, TypeError, ValueError):
        return None, ""
