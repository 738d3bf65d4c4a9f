"""DynamoDB request units of a call, from the sizes of the items it read or wrote.

DynamoDB's rules (developer guide, "Read/write capacity mode"): a write costs one
write unit per 1 KB of the item (rounded up; the larger of the old and new item
for updates, the deleted item for deletes); a strongly consistent read costs one
read unit per 4 KB read (Query and Scan add up the items before rounding), an
eventually consistent read half that; transactions cost double. Item size is the
sum of attribute name lengths and value sizes (numbers about 1 byte per two significant digits
plus 1, 1 byte for booleans and nulls, 3 bytes of overhead per list or map element).

moto's own ConsumedCapacity does not follow these rules, so the runtime computes
units itself. Where the size is not visible in the call (an UpdateItem or
DeleteItem without ReturnValues), the minimum of one unit is counted and the span
says so (``units_basis: "minimum"``).
"""
from __future__ import annotations

import math
from typing import Any

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one typed attribute value, by DynamoDB's documented rules."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = str(v).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(value_size(e) + 1 for e in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(e) + 1 for k, e in v.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item: attribute names plus values (DynamoDB's rules)."""
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def read_units(size_bytes: int, consistent: bool = False) -> float:
    units = max(1, math.ceil(size_bytes / 4096))
    return float(units) if consistent else units / 2


def write_units(size_bytes: int) -> float:
    return float(max(1, math.ceil(size_bytes / 1024)))


def request_units(operation: str, params: dict, parsed: dict) -> tuple[float | None, str]:
    """(units, basis) for a DynamoDB call; (None, "") for calls that consume none."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return read_units(item_size(parsed.get("Item")), consistent), "item size"
    if operation in ("Query", "Scan"):
        return read_units(sum(item_size(i) for i in parsed.get("Items", [])), consistent), "items read"
    if operation == "BatchGetItem":
        items = [i for rows in parsed.get("Responses", {}).values() for i in rows]
        return sum(read_units(item_size(i), consistent) for i in items) or 0.0, "item sizes"
    if operation == "TransactGetItems":
        items = [r.get("Item") for r in parsed.get("Responses", [])]
        return sum(2 * read_units(item_size(i), True) for i in items), "item sizes, transactional"
    if operation == "PutItem":
        size = max(item_size(params.get("Item")), item_size(parsed.get("Attributes")))
        return write_units(size), "item size"
    if operation in ("UpdateItem", "DeleteItem"):
        attrs = parsed.get("Attributes")
        if attrs and params.get("ReturnValues") in ("ALL_NEW", "ALL_OLD"):
            return write_units(item_size(attrs)), "item size"
        return 1.0, "minimum"
    if operation == "BatchWriteItem":
        total = 0.0
        for rows in params.get("RequestItems", {}).values():
            for row in rows:
                if "PutRequest" in row:
                    total += write_units(item_size(row["PutRequest"].get("Item")))
                else:
                    total += 1.0
        return total, "item sizes"
    if operation == "TransactWriteItems":
        total = 0.0
        for row in params.get("TransactItems", []):
            put = row.get("Put")
            total += 2 * (write_units(item_size(put.get("Item"))) if put else 1.0)
        return total, "item sizes, transactional"
    return None, ""


def call_units(call) -> tuple[float | None, str]:
    if call.service != "dynamodb" or call.error or not isinstance(call.parsed, dict):
        return None, ""
    try:
        return request_units(call.operation, call.params, call.parsed)
    except (AttributeError, TypeError, ValueError):
        return None, ""
