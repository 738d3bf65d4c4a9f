"""DynamoDB Accelerator (DAX) emulated in front of a boto3 DynamoDB client.

moto has DAX's control plane only. :class:`DaxClient` answers the DynamoDB data-plane
calls a Lambda handler makes, with the same method names, arguments and response
shapes as the low-level boto3 DynamoDB client, so a handler can be given either:

- **item cache**: ``get_item`` and ``batch_get_item`` (eventually consistent) are served
  from memory when the item (or its absence: DAX caches negative results too) was read
  or written within the item TTL;
- **query cache**: ``query`` and ``scan`` results are cached keyed by the full request;
- **write-through**: ``put_item``, ``update_item``, ``delete_item``, ``batch_write_item``
  and ``transact_write_items`` go to DynamoDB first; on success ``put_item`` and
  ``update_item`` store the new item in the item cache, the others evict the keys they
  touched. As on real DAX, writes do **not** invalidate the query cache: a query can
  return stale results until its TTL runs out;
- strongly consistent reads (``ConsistentRead=True``) and ``transact_get_items`` pass
  through to DynamoDB and are not cached, as on DAX;
- both caches share the node's memory and evict least-recently-used entries when full.
  Entry sizes are estimated with DynamoDB's item-size rules (:func:`item_size`).

Every call records a span (service ``dax``, cache ``hit``/``miss`` for reads) with the
DynamoDB read or write units the call consumed: 0 for a hit, otherwise estimated from
item sizes (0.5 RCU per 4 KB eventually consistent, 1 per 4 KB strongly consistent,
1 WCU per 1 KB written).

Limitations: one cache for the whole cluster (real DAX nodes each hold a copy and
writes propagate between them); the memory bound is the node type's instance memory,
although DAX keeps part of it for itself; no DAX network latency is added (the trace
shows this machine's time); responses carry no ``ResponseMetadata``; PartiQL
(``execute_statement``) is refused, as DAX does not support it; other methods (control
plane, ``describe_table``...) pass through to the DynamoDB client uncached.
"""
from __future__ import annotations

import base64
import copy
import json
import time
from decimal import Decimal
from typing import Any, Callable

from app.core import facts
from app.runtime.dataplanes.lru import ExpiringLru
from app.runtime.trace import Trace
from app.runtime.units import item_size, read_units, write_units

GIB = 1024 ** 3
NODE_MEMORY_GIB = facts.DAX_NODE_MEMORY_GIB.value
_NOT_SUPPORTED = {"execute_statement", "batch_execute_statement", "execute_transaction"}


def _canonical(obj: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, (bytes, bytearray)):
            return base64.b64encode(o).decode()
        if isinstance(o, (set, frozenset)):
            return sorted(o, key=repr)
        if isinstance(o, Decimal):
            return str(o)
        raise TypeError(type(o).__name__)
    return json.dumps(obj, sort_keys=True, default=default)


class DaxClient:
    """DAX in front of ``dynamodb_client`` (a boto3 low-level DynamoDB client)."""

    service = "dax"

    def __init__(self, dynamodb_client, *, trace: Trace | None = None, item_ttl_s: float = facts.DAX_ITEM_TTL_DEFAULT_S.value,
                 query_ttl_s: float = facts.DAX_QUERY_TTL_DEFAULT_S.value,
                 node_type: str = facts.DAX_NODE_TYPE_DEFAULT.value, memory_bytes: int | None = None,
                 clock: Callable[[], float] = time.monotonic, cluster_name: str = "dax") -> None:
        if node_type not in NODE_MEMORY_GIB and memory_bytes is None:
            raise ValueError(f"unknown DAX node type {node_type!r}; valid: {', '.join(NODE_MEMORY_GIB)}")
        if item_ttl_s <= 0 or query_ttl_s <= 0:
            raise ValueError("item_ttl_s and query_ttl_s must be positive seconds")
        self.client = dynamodb_client
        self.trace = trace if trace is not None else Trace()
        self.item_ttl_s = item_ttl_s
        self.query_ttl_s = query_ttl_s
        self.node_type = node_type
        self.memory_bytes = int(memory_bytes if memory_bytes is not None else NODE_MEMORY_GIB[node_type] * GIB)
        self.clock = clock
        self.cluster_name = cluster_name
        self._by_item: dict[tuple, set[tuple]] = {}   # (table, key json) -> item-cache keys
        self._lru = ExpiringLru(self.memory_bytes, clock, on_remove=self._forget)
        self._lock = self._lru.lock
        self._key_schemas: dict[str, list[str]] = {}
        self.counters = {"item_hits": 0, "item_misses": 0, "query_hits": 0, "query_misses": 0,
                         "passthrough": 0, "writes": 0}

    # -- introspection ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counters, "evictions": self._lru.evictions, "expirations": self._lru.expirations,
                    "entries": len(self._lru), "bytes_used": self._lru.bytes_used, "memory_bytes": self.memory_bytes}

    def __getattr__(self, name: str) -> Any:
        if name in _NOT_SUPPORTED:
            raise AttributeError(f"DAX does not support PartiQL ({name}); use the DynamoDB client")
        return getattr(self.client, name)

    # -- the LRU ---------------------------------------------------------------------------
    def _lookup(self, key: tuple) -> tuple[bool, Any]:
        found, value = self._lru.get(key)
        return found, copy.deepcopy(value) if found else None

    def _store(self, key: tuple, value: Any, size: int, ttl: float) -> None:
        size += len(_canonical(key[1:]))
        with self._lock:
            if self._lru.put(key, copy.deepcopy(value), size, ttl) and key[0] == "item":
                self._by_item.setdefault(key[1:3], set()).add(key)

    def _forget(self, key: tuple) -> None:
        """Keep the per-item index in step with the entries that leave the cache."""
        if key[0] == "item":
            variants = self._by_item.get(key[1:3])
            if variants is not None:
                variants.discard(key)
                if not variants:
                    del self._by_item[key[1:3]]

    def _evict_item(self, table: str, key: dict) -> None:
        with self._lock:
            for cache_key in list(self._by_item.get((table, _canonical(key)), ())):
                self._lru.remove(cache_key)

    def _key_names(self, table: str) -> list[str]:
        names = self._key_schemas.get(table)
        if names is None:
            schema = self.client.describe_table(TableName=table)["Table"]["KeySchema"]
            names = self._key_schemas[table] = [k["AttributeName"] for k in schema]
        return names

    def _key_of(self, table: str, item: dict) -> dict:
        return {n: item[n] for n in self._key_names(table)}

    @staticmethod
    def _projection(request: dict) -> str:
        parts = {k: request[k] for k in ("ProjectionExpression", "AttributesToGet", "ExpressionAttributeNames")
                 if k in request}
        return _canonical(parts) if parts else ""

    def _span(self, operation: str, resource: str):
        return self.trace.span(self.service, operation, resource)

    # -- reads -----------------------------------------------------------------------------
    def get_item(self, **request: Any) -> dict[str, Any]:
        table = request["TableName"]
        with self._span("GetItem", table) as span:
            if request.get("ConsistentRead"):
                self.counters["passthrough"] += 1
                response = self.client.get_item(**request)
                size = item_size(response.get("Item"))
                span.request_units, span.payload_bytes = read_units(size, True), size
                span.detail["consistent_read"] = True
                return _strip(response)
            cache_key = ("item", table, _canonical(request["Key"]), self._projection(request))
            found, item = self._lookup(cache_key)
            if found:
                self.counters["item_hits"] += 1
                span.cache, span.request_units, span.payload_bytes = "hit", 0.0, item_size(item)
                return {"Item": item} if item is not None else {}
            self.counters["item_misses"] += 1
            response = _strip(self.client.get_item(**request))
            item = response.get("Item")
            size = item_size(item)
            self._store(cache_key, item, size, self.item_ttl_s)
            span.cache, span.request_units, span.payload_bytes = "miss", read_units(size), size
            return response

    def batch_get_item(self, **request: Any) -> dict[str, Any]:
        responses: dict[str, list] = {}
        missing: dict[str, dict] = {}
        hits = misses = 0
        tables = ",".join(request["RequestItems"])
        with self._span("BatchGetItem", tables) as span:
            for table, spec in request["RequestItems"].items():
                if spec.get("ConsistentRead"):
                    missing[table] = spec
                    continue
                projection = self._projection(spec)
                for key in spec["Keys"]:
                    found, item = self._lookup(("item", table, _canonical(key), projection))
                    if found:
                        hits += 1
                        if item is not None:
                            responses.setdefault(table, []).append(item)
                    else:
                        missing.setdefault(table, {**spec, "Keys": []})["Keys"].append(key)
            units = 0.0
            unprocessed: dict = {}
            if missing:
                response = self.client.batch_get_item(**{**request, "RequestItems": missing})
                unprocessed = response.get("UnprocessedKeys", {})
                for table, spec in missing.items():
                    fetched = response.get("Responses", {}).get(table, [])
                    responses.setdefault(table, []).extend(fetched)
                    consistent = bool(spec.get("ConsistentRead"))
                    units += sum(read_units(item_size(i), consistent) for i in fetched)
                    misses += len(spec["Keys"])
                    if consistent:
                        continue
                    names = self._key_names(table)
                    # Items projected without their key attributes cannot be matched to a key: not cached.
                    by_key = {_canonical({n: i[n] for n in names}): i for i in fetched if all(n in i for n in names)}
                    if len(by_key) < len(fetched):
                        continue
                    skipped = {_canonical(k) for k in unprocessed.get(table, {}).get("Keys", [])}
                    projection = self._projection(spec)
                    for key in spec["Keys"]:
                        text = _canonical(key)
                        if text not in skipped:
                            item = by_key.get(text)
                            self._store(("item", table, text, projection), item, item_size(item), self.item_ttl_s)
            self.counters["item_hits"] += hits
            self.counters["item_misses"] += misses
            span.cache = "miss" if misses else "hit"
            span.request_units = units
            span.payload_bytes = sum(item_size(i) for items in responses.values() for i in items)
            span.detail.update(hits=hits, misses=misses)
            return {"Responses": responses, "UnprocessedKeys": unprocessed}

    def query(self, **request: Any) -> dict[str, Any]:
        return self._cached_read("Query", self.client.query, request)

    def scan(self, **request: Any) -> dict[str, Any]:
        return self._cached_read("Scan", self.client.scan, request)

    def _cached_read(self, operation: str, call: Callable[..., dict], request: dict) -> dict[str, Any]:
        with self._span(operation, request["TableName"]) as span:
            if request.get("ConsistentRead"):
                self.counters["passthrough"] += 1
                response = _strip(call(**request))
                size = sum(item_size(i) for i in response.get("Items", []))
                span.request_units, span.payload_bytes = read_units(size, True), size
                return response
            cache_key = ("query", _canonical([operation, request]))
            found, response = self._lookup(cache_key)
            if found:
                self.counters["query_hits"] += 1
                span.cache, span.request_units = "hit", 0.0
                span.payload_bytes = sum(item_size(i) for i in response.get("Items", []))
                return response
            self.counters["query_misses"] += 1
            response = _strip(call(**request))
            size = sum(item_size(i) for i in response.get("Items", []))
            self._store(cache_key, response, size, self.query_ttl_s)
            span.cache, span.request_units, span.payload_bytes = "miss", read_units(size), size
            return response

    def transact_get_items(self, **request: Any) -> dict[str, Any]:
        with self._span("TransactGetItems", "") as span:
            self.counters["passthrough"] += 1
            response = self.client.transact_get_items(**request)
            size = sum(item_size(r.get("Item")) for r in response.get("Responses", []))
            span.request_units, span.payload_bytes = 2 * read_units(size, True), size
            return response

    # -- writes (write-through) -------------------------------------------------------------
    def put_item(self, **request: Any) -> dict[str, Any]:
        table, item = request["TableName"], request["Item"]
        with self._span("PutItem", table) as span:
            response = self.client.put_item(**request)
            self.counters["writes"] += 1
            key = self._key_of(table, item)
            self._evict_item(table, key)
            size = item_size(item)
            self._store(("item", table, _canonical(key), ""), item, size, self.item_ttl_s)
            span.request_units, span.payload_bytes = write_units(size), size
            return response

    def update_item(self, **request: Any) -> dict[str, Any]:
        table, key = request["TableName"], request["Key"]
        wanted = request.get("ReturnValues", "NONE")
        with self._span("UpdateItem", table) as span:
            if wanted in ("NONE", "ALL_NEW"):
                response = self.client.update_item(**{**request, "ReturnValues": "ALL_NEW"})
                new_item = response.get("Attributes")
                self._evict_item(table, key)
                size = item_size(new_item)
                self._store(("item", table, _canonical(key), ""), new_item, size, self.item_ttl_s)
                if wanted == "NONE":
                    response = {k: v for k, v in response.items() if k != "Attributes"}
            else:
                response = self.client.update_item(**request)
                self._evict_item(table, key)
                size = item_size(response.get("Attributes"))
            self.counters["writes"] += 1
            span.request_units, span.payload_bytes = write_units(size), size
            return response

    def delete_item(self, **request: Any) -> dict[str, Any]:
        table = request["TableName"]
        with self._span("DeleteItem", table) as span:
            response = self.client.delete_item(**request)
            self.counters["writes"] += 1
            self._evict_item(table, request["Key"])
            span.request_units = write_units(item_size(response.get("Attributes")))
            return response

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        with self._span("BatchWriteItem", ",".join(request["RequestItems"])) as span:
            response = self.client.batch_write_item(**request)
            units = 0.0
            for table, writes in request["RequestItems"].items():
                for write in writes:
                    if "PutRequest" in write:
                        item = write["PutRequest"]["Item"]
                        self._evict_item(table, self._key_of(table, item))
                        units += write_units(item_size(item))
                    else:
                        self._evict_item(table, write["DeleteRequest"]["Key"])
                        units += 1
                    self.counters["writes"] += 1
            span.request_units = units
            return response

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        with self._span("TransactWriteItems", "") as span:
            response = self.client.transact_write_items(**request)
            units = 0.0
            for entry in request["TransactItems"]:
                (kind, spec), = entry.items()
                if kind == "ConditionCheck":
                    continue
                key = spec["Key"] if "Key" in spec else self._key_of(spec["TableName"], spec["Item"])
                self._evict_item(spec["TableName"], key)
                units += 2 * write_units(item_size(spec.get("Item", key)))
                self.counters["writes"] += 1
            span.request_units = units
            return response


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k not in ("ResponseMetadata", "ConsumedCapacity")}
