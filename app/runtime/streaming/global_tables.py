"""DynamoDB global tables: stream-driven replication between real tables in moto.

moto accepts ReplicaUpdates and CreateGlobalTable but replicates nothing.
:class:`GlobalTable` keeps one real table per region in moto (the replicas are
created with the home table's key schema, attributes and indexes, streams on with
NEW_AND_OLD_IMAGES) and replicates as the service does: it reads every replica's
DynamoDB stream and applies each local write to every other replica.

- Version 2019.11.21 (the current one): items are replicated exactly as written, with
  no ``aws:rep:*`` attributes (only the legacy 2017.11.29 version stamped
  ``aws:rep:updatetime``/``aws:rep:updateregion`` on items). Conflicts are settled
  last writer wins, on a write time and origin region the replicator keeps to itself
  (the region breaks ties): ``put_item`` takes the time of the call; a write made with a
  plain client (a Lambda handler's PutItem) takes the time the replicator reads it. A
  replicated write lands in a replica only if it is newer than what that replica last
  received; :meth:`GlobalTable.last_writer` says which region wrote an item last.
- No ping-pong: every replicated write is remembered (its key and image) until it
  comes back through the target's own stream, where it is recognised and not
  replicated again.
- Lag: for each replicated write, the time from the write (the end of the
  ``put_item``/``delete_item`` call, or the stream record's creation time for a
  plain write) until a strongly consistent read in the replica sees it, measured
  on this machine: ``lag_samples`` and ``lag_summary()``. AWS states replication
  "usually within a second"; here the lag is what this emulation takes, polling
  included.
- The visibility check is a strongly consistent GetItem in the replica: it
  belongs to the measurement, not to replication (AWS does not read back).
- Polling: ``pump()`` replicates what the streams hold now; ``start(interval_s)``
  runs it on a background thread until ``stop()``.

Counters: ``replicated_writes:<region>`` (a replicated write is billed as a
replicated WCU in that region), ``replicated_deletes:<region>``,
``superseded`` (a replicated write lost to a newer one) and ``echoes_suppressed``.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from app.runtime.streaming import Clock, Counters, Traced
from app.runtime.trace import Trace

GLOBAL_TABLES_VERSION = "2019.11.21"


class GlobalTable(Traced):
    """One table name, one replica per region, in one account."""

    def __init__(self, clients, table_name: str, regions: list[str], *, trace: Trace | None = None,
                 clock: Clock = time.time, calls_traced: bool = False, tags: dict[str, str] | None = None) -> None:
        if len(set(regions)) < 2:
            raise ValueError(f"a global table needs at least two distinct regions, got {regions}")
        self.clients, self.table_name, self.regions = clients, table_name, list(regions)
        self.home = self.regions[0]
        self.trace, self.clock, self.calls_traced = trace or Trace(), clock, calls_traced
        self.tags = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        self.counters = Counters()
        self.lag_samples: list[dict] = []
        self._key_names: list[str] = []
        self._iterators: dict[str, dict[str, str]] = {}
        self._echoes: Counter = Counter()
        self._written_at: dict[tuple, float] = {}
        self._versions: dict[tuple[str, str], tuple[Decimal, str]] = {}   # (region, key) -> (write time, origin)
        self._local: dict[tuple[str, str], list[Decimal]] = {}            # put_item times not yet replicated
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.last_error: str | None = None

    def _ddb(self, region: str):
        return self.clients.client("dynamodb", region)

    # -- set-up ----------------------------------------------------------------------
    def create(self, key_schema: list[dict] | None = None, attribute_definitions: list[dict] | None = None) -> None:
        """Create the home table (unless it exists) and a replica in every other region."""
        home = self._ddb(self.home)
        try:
            table = home.describe_table(TableName=self.table_name)["Table"]
        except home.exceptions.ResourceNotFoundException:
            if not key_schema or not attribute_definitions:
                raise ValueError(f"table {self.table_name} does not exist in {self.home}: "
                                 "give key_schema and attribute_definitions") from None
            with self.call_span("dynamodb", "CreateTable", f"{self.home}/{self.table_name}"):
                home.create_table(TableName=self.table_name, KeySchema=key_schema,
                                  AttributeDefinitions=attribute_definitions, BillingMode="PAY_PER_REQUEST",
                                  StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                                  **({"Tags": self.tags} if self.tags else {}))
            table = home.describe_table(TableName=self.table_name)["Table"]
        if table.get("StreamSpecification", {}).get("StreamViewType") != "NEW_AND_OLD_IMAGES":
            home.update_table(TableName=self.table_name, StreamSpecification={
                "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        self._key_names = [k["AttributeName"] for k in table["KeySchema"]]
        spec = {"TableName": self.table_name, "KeySchema": table["KeySchema"],
                "AttributeDefinitions": table["AttributeDefinitions"], "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        indexes = [{"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
                   for g in table.get("GlobalSecondaryIndexes", [])]
        if indexes:
            spec["GlobalSecondaryIndexes"] = indexes
        if self.tags:
            spec["Tags"] = self.tags
        for region in self.regions[1:]:
            with self.call_span("dynamodb", "CreateTable", f"{region}/{self.table_name}", detail={"replica": True}):
                self._ddb(region).create_table(**spec)
        for region in self.regions:
            self._open_stream(region)

    def _open_stream(self, region: str) -> None:
        arn = self._ddb(region).describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        streams = self.clients.client("dynamodbstreams", region)
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self._iterators[region] = {s["ShardId"]: streams.get_shard_iterator(
            StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"] for s in shards}

    # -- writes through the global table ----------------------------------------------
    def put_item(self, region: str, item: dict) -> dict:
        """PutItem in one region; the item is stored as given (no replication attributes) and returned."""
        self._check_region(region)
        stamp = _stamp(self.clock())
        key = self._key_of(item)
        # Held so a background pump cannot read the stream record before the write time is noted.
        with self._lock:
            with self.call_span("dynamodb", "PutItem", f"{region}/{self.table_name}", request_units=1.0):
                self._ddb(region).put_item(TableName=self.table_name, Item=item)
            self._versions[(region, key)] = (stamp, region)
            self._local.setdefault((region, key), []).append(stamp)
            self._written_at[(region, key, str(stamp))] = time.perf_counter()
        return dict(item)

    def last_writer(self, region: str, key: dict) -> str | None:
        """The region whose write the replica in ``region`` holds for ``key`` (None when unknown)."""
        version = self._versions.get((region, _key_json(key)))
        return version[1] if version else None

    def delete_item(self, region: str, key: dict) -> None:
        self._check_region(region)
        with self._lock:
            with self.call_span("dynamodb", "DeleteItem", f"{region}/{self.table_name}", request_units=1.0):
                self._ddb(region).delete_item(TableName=self.table_name, Key=key)
            self._written_at[(region, _key_json(key), "delete")] = time.perf_counter()

    def _check_region(self, region: str) -> None:
        if region not in self.regions:
            raise ValueError(f"{region} is not a replica region of {self.table_name}; use one of "
                             f"{', '.join(self.regions)}")

    # -- replication -------------------------------------------------------------------
    def replicate_until(self, found, quiet_rounds: int = 3, max_rounds: int = 50) -> bool:
        """Pump the replicas' streams until ``found()`` holds, or until ``quiet_rounds`` pumps in a row
        delivered nothing (counted in pumps, not seconds: a slow machine reaches the same verdict)."""
        quiet = 0
        for _ in range(max_rounds):
            quiet = 0 if self.pump() else quiet + 1
            if found():
                return True
            if quiet >= quiet_rounds:
                return False
        return False

    def holds(self, region: str, key: dict) -> bool:
        """Whether the replica in ``region`` holds the item of ``key`` (a strongly consistent GetItem)."""
        return "Item" in self._ddb(region).get_item(TableName=self.table_name, Key=key, ConsistentRead=True)

    def wait_for_item(self, region: str, key: dict) -> bool:
        """Replicate until the replica in ``region`` holds ``key`` (see :meth:`replicate_until`); whether it does."""
        return self.replicate_until(lambda: self.holds(region, key))

    def wait_for_items(self, region: str, keys: list[dict]) -> list[dict]:
        """Replicate until the replica in ``region`` holds every one of ``keys``; the keys it holds then."""
        def present() -> list[dict]:
            return [key for key in keys if self.holds(region, key)]

        self.replicate_until(lambda: len(present()) == len(keys))
        return present()

    def wait_for_count(self, region: str, count: int) -> bool:
        """Replicate until the replica in ``region`` holds ``count`` items (a consistent COUNT scan)."""
        ddb = self._ddb(region)
        return self.replicate_until(lambda: ddb.scan(TableName=self.table_name, Select="COUNT",
                                                     ConsistentRead=True)["Count"] == count)

    def pump(self) -> int:
        """Replicate every local write now in the streams; returns replicated writes applied."""
        with self._lock:
            applied = 0
            for region in self.regions:
                streams = self.clients.client("dynamodbstreams", region)
                for shard, iterator in list(self._iterators[region].items()):
                    out = streams.get_records(ShardIterator=iterator)
                    self._iterators[region][shard] = out.get("NextShardIterator") or iterator
                    for record in out["Records"]:
                        applied += self._replicate(region, record)
            return applied

    def _replicate(self, region: str, record: dict) -> int:
        change = record["dynamodb"]
        key = _key_json(change["Keys"])
        if record["eventName"] == "REMOVE":
            echo = (region, key, "delete")
        else:
            echo = (region, key, _key_json(change["NewImage"]))
        if self._echoes[echo]:
            self._echoes[echo] -= 1
            self.counters.add("echoes_suppressed")
            return 0
        created = change["ApproximateCreationDateTime"]
        if record["eventName"] == "REMOVE":
            written = self._written_at.pop((region, key, "delete"), None)
        else:
            pending = self._local.get((region, key))
            stamp = pending.pop(0) if pending else _stamp(self.clock())   # a plain write: read now
            if pending is not None and not pending:
                del self._local[(region, key)]
            self._versions[(region, key)] = (stamp, region)
            written = self._written_at.pop((region, key, str(stamp)), None)
        if written is None:        # a write made with a plain client: time it from the stream record
            written = time.perf_counter() - max(0.0, time.time() - created.timestamp())
        if record["eventName"] == "REMOVE":
            return sum(self._apply_delete(region, target, change["Keys"], written)
                       for target in self.regions if target != region)
        new = dict(change["NewImage"])
        return sum(self._apply_put(region, target, new, (stamp, region), written)
                   for target in self.regions if target != region)

    def _apply_put(self, source: str, target: str, item: dict, version: tuple[Decimal, str], written: float) -> int:
        ddb = self._ddb(target)
        key = {k: item[k] for k in self._key_names}
        key_json = _key_json(key)
        with self._replicate_span(source, target, key) as span:
            held = self._versions.get((target, key_json))
            if held is not None and held >= version:     # last writer wins: the replica holds a newer write
                span.status = "superseded"
                self.counters.add("superseded")
                return 0
            with self.call_span("dynamodb", "PutItem", f"{target}/{self.table_name}", request_units=1.0):
                ddb.put_item(TableName=self.table_name, Item=item)
            self._versions[(target, key_json)] = version
            self._echoes[(target, key_json, _key_json(item))] += 1
            seen = ddb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
            if seen == item:
                span.detail["lag_ms"] = self._sample(source, target, key, written)
        self.counters.add(f"replicated_writes:{target}")
        return 1

    def _apply_delete(self, source: str, target: str, key: dict, written: float) -> int:
        ddb = self._ddb(target)
        with self._replicate_span(source, target, key) as span:
            with self.call_span("dynamodb", "DeleteItem", f"{target}/{self.table_name}", request_units=1.0):
                gone = ddb.delete_item(TableName=self.table_name, Key=key, ReturnValues="ALL_OLD").get("Attributes")
            if not gone:
                span.status = "absent"
                return 0
            self._echoes[(target, _key_json(key), "delete")] += 1
            self._versions.pop((target, _key_json(key)), None)
            if "Item" not in ddb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True):
                span.detail["lag_ms"] = self._sample(source, target, key, written)
        self.counters.add(f"replicated_deletes:{target}")
        return 1

    def _replicate_span(self, source: str, target: str, key: dict):
        return self.trace.span("dynamodb", "Replicate", f"{self.table_name}:{source}->{target}",
                               detail={"source": source, "target": target, "key": _key_json(key)})

    def _sample(self, source: str, target: str, key: dict, written: float) -> float:
        lag = round((time.perf_counter() - written) * 1000, 3)
        self.lag_samples.append({"source": source, "target": target, "key": _key_json(key), "lag_ms": lag})
        self.counters.add("lag_samples")
        return lag

    def lag_summary(self) -> dict[str, Any]:
        lags = sorted(s["lag_ms"] for s in self.lag_samples)
        if not lags:
            return {"n": 0}
        return {"n": len(lags), "median_ms": round(statistics.median(lags), 2), "max_ms": lags[-1],
                "p90_ms": lags[min(len(lags) - 1, int(0.9 * len(lags)))]}

    def replicated_writes(self) -> dict[str, int]:
        """Replicated writes per region, the quantity replicated WCUs are billed on."""
        counts = self.counters.as_dict()
        return {r: counts.get(f"replicated_writes:{r}", 0) + counts.get(f"replicated_deletes:{r}", 0)
                for r in self.regions}

    # -- background replication --------------------------------------------------------
    def start(self, interval_s: float = 0.05) -> None:
        """Replicate on a background thread every ``interval_s`` seconds until ``stop()``."""
        if self._thread:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.pump()
                except Exception as exc:  # the tables are gone or the backend stopped: end quietly, say why
                    self.counters.add("pump_errors")
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    return
        self._thread = threading.Thread(target=loop, name=f"replicator-{self.table_name}", daemon=True)
        self._thread.start()

    def stop(self, final_pump: bool = True) -> None:
        """Stop the background thread, then (by default) replicate what is left."""
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if final_pump:
            self.pump()

    def _key_of(self, item: dict) -> str:
        return _key_json({k: item[k] for k in self._key_names})


def _key_json(key: dict) -> str:
    return json.dumps(key, sort_keys=True)


def _stamp(t: float) -> Decimal:
    return Decimal(repr(t)).quantize(Decimal("0.000001"))
