"""DAX emulation in front of a real DynamoDB table on the moto server."""
from __future__ import annotations

import collections
import uuid

import pytest

from app.runtime.dataplanes.dax import DaxClient, item_size, read_units, write_units
from app.runtime.streaming import ManualClock
from app.runtime.trace import Trace


@pytest.fixture
def ddb(aws):
    """A DynamoDB client that counts the requests that really reach the server, per operation."""
    client = aws("dynamodb")
    client.sent = collections.Counter()
    client.meta.events.register("before-call.dynamodb", lambda model, **_: client.sent.update([model.name]))
    return client


@pytest.fixture
def table(ddb):
    name = f"todos-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"},
                                           {"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "user", "KeyType": "HASH"},
                                {"AttributeName": "id", "KeyType": "RANGE"}])
    for i in range(3):
        ddb.put_item(TableName=name, Item={"user": {"S": "alice"}, "id": {"S": f"t{i}"}, "title": {"S": f"todo {i}"}})
    ddb.sent.clear()
    yield name
    ddb.delete_table(TableName=name)


def key(i, user="alice"):
    return {"user": {"S": user}, "id": {"S": f"t{i}"}}


def test_get_item_miss_then_hit_with_same_shape_as_dynamodb(ddb, table):
    trace, clock = Trace(), ManualClock()
    dax = DaxClient(ddb, trace=trace, clock=clock)
    first = dax.get_item(TableName=table, Key=key(1))
    second = dax.get_item(TableName=table, Key=key(1))
    direct = ddb.get_item(TableName=table, Key=key(1))
    assert first == second == {"Item": direct["Item"]}
    assert ddb.sent["GetItem"] == 2          # one miss + the direct read; the hit never reached DynamoDB
    spans = trace.spans
    assert [(s.service, s.operation, s.cache) for s in spans] == [("dax", "GetItem", "miss"), ("dax", "GetItem", "hit")]
    assert spans[0].request_units == 0.5 and spans[1].request_units == 0.0
    assert spans[1].payload_bytes == item_size(direct["Item"]) > 0
    assert dax.stats()["item_hits"] == 1 and dax.stats()["item_misses"] == 1


def test_cached_item_is_a_copy(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock())
    dax.get_item(TableName=table, Key=key(1))["Item"]["title"]["S"] = "changed by caller"
    assert dax.get_item(TableName=table, Key=key(1))["Item"]["title"]["S"] == "todo 1"


def test_item_ttl_expires_with_the_clock(ddb, table):
    clock = ManualClock()
    dax = DaxClient(ddb, clock=clock, item_ttl_s=60)
    dax.get_item(TableName=table, Key=key(0))
    clock.now += 59.9
    dax.get_item(TableName=table, Key=key(0))
    assert ddb.sent["GetItem"] == 1
    clock.now += 0.2
    dax.get_item(TableName=table, Key=key(0))
    assert ddb.sent["GetItem"] == 2
    assert dax.stats()["expirations"] == 1


def test_default_ttl_is_five_minutes(ddb, table):
    clock = ManualClock()
    dax = DaxClient(ddb, clock=clock)
    dax.get_item(TableName=table, Key=key(0))
    clock.now += 299
    dax.get_item(TableName=table, Key=key(0))
    clock.now += 2
    dax.get_item(TableName=table, Key=key(0))
    assert (dax.stats()["item_hits"], dax.stats()["item_misses"]) == (1, 2)


def test_negative_results_are_cached_and_put_is_written_through(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock())
    assert dax.get_item(TableName=table, Key=key(9)) == {}
    assert dax.get_item(TableName=table, Key=key(9)) == {}
    assert ddb.sent["GetItem"] == 1
    item = {**key(9), "title": {"S": "new"}}
    dax.put_item(TableName=table, Item=item)
    assert dax.get_item(TableName=table, Key=key(9)) == {"Item": item}
    assert ddb.sent["GetItem"] == 1 and ddb.sent["PutItem"] == 1
    assert ddb.get_item(TableName=table, Key=key(9))["Item"] == item   # really in DynamoDB


def test_update_item_refreshes_the_item_cache_and_keeps_the_callers_return_shape(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock())
    dax.get_item(TableName=table, Key=key(1))
    response = dax.update_item(TableName=table, Key=key(1), UpdateExpression="SET title = :t",
                               ExpressionAttributeValues={":t": {"S": "edited"}})
    assert "Attributes" not in response
    assert dax.get_item(TableName=table, Key=key(1))["Item"]["title"] == {"S": "edited"}
    assert ddb.sent["GetItem"] == 1
    old = dax.update_item(TableName=table, Key=key(1), UpdateExpression="SET title = :t",
                          ExpressionAttributeValues={":t": {"S": "again"}}, ReturnValues="UPDATED_OLD")
    assert old["Attributes"] == {"title": {"S": "edited"}}
    assert dax.get_item(TableName=table, Key=key(1))["Item"]["title"] == {"S": "again"}
    assert ddb.sent["GetItem"] == 2      # UPDATED_OLD cannot refresh the cache: evicted, then a miss


def test_delete_evicts(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock())
    dax.get_item(TableName=table, Key=key(2))
    dax.delete_item(TableName=table, Key=key(2))
    assert dax.get_item(TableName=table, Key=key(2)) == {}
    assert ddb.sent["GetItem"] == 2


def test_failed_conditional_write_leaves_the_cache_alone(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock())
    cached = dax.get_item(TableName=table, Key=key(1))
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        dax.put_item(TableName=table, Item={**key(1), "title": {"S": "x"}},
                     ConditionExpression="attribute_not_exists(#u)", ExpressionAttributeNames={"#u": "user"})
    assert dax.get_item(TableName=table, Key=key(1)) == cached


def test_query_cache_is_keyed_by_request_and_not_invalidated_by_writes(ddb, table):
    clock, trace = ManualClock(), Trace()
    dax = DaxClient(ddb, clock=clock, trace=trace)
    request = dict(TableName=table, KeyConditionExpression="#u = :u", ExpressionAttributeNames={"#u": "user"},
                   ExpressionAttributeValues={":u": {"S": "alice"}})
    assert dax.query(**request)["Count"] == 3
    dax.put_item(TableName=table, Item={**key(7), "title": {"S": "late"}})
    assert dax.query(**request)["Count"] == 3              # stale: DAX does not invalidate the query cache
    assert dax.query(**{**request, "Limit": 10})["Count"] == 4   # another request is another cache key
    assert ddb.sent["Query"] == 2
    clock.now += 301
    assert dax.query(**request)["Count"] == 4
    assert [s.cache for s in trace.spans if s.operation == "Query"] == ["miss", "hit", "miss", "miss"]
    assert dax.scan(TableName=table)["Count"] == dax.scan(TableName=table)["Count"] == 4
    assert ddb.sent["Scan"] == 1


def test_consistent_reads_pass_through_uncached(ddb, table):
    trace = Trace()
    dax = DaxClient(ddb, clock=ManualClock(), trace=trace)
    for _ in range(2):
        dax.get_item(TableName=table, Key=key(1), ConsistentRead=True)
    assert ddb.sent["GetItem"] == 2
    assert all(s.cache is None and s.request_units == 1.0 for s in trace.spans)


def test_batch_get_item_mixes_hits_and_misses(ddb, table):
    trace = Trace()
    dax = DaxClient(ddb, clock=ManualClock(), trace=trace)
    dax.get_item(TableName=table, Key=key(0))
    response = dax.batch_get_item(RequestItems={table: {"Keys": [key(0), key(1), key(8)]}})
    assert sorted(i["id"]["S"] for i in response["Responses"][table]) == ["t0", "t1"]
    assert response["UnprocessedKeys"] == {}
    span = trace.spans[-1]
    assert (span.cache, span.detail) == ("miss", {"hits": 1, "misses": 2})
    again = dax.batch_get_item(RequestItems={table: {"Keys": [key(1), key(8), key(0)]}})
    assert sorted(i["id"]["S"] for i in again["Responses"][table]) == ["t0", "t1"]
    assert trace.spans[-1].cache == "hit" and ddb.sent["BatchGetItem"] == 1


def test_lru_bounded_by_memory(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock(), memory_bytes=300)
    dax.get_item(TableName=table, Key=key(0))
    per_entry = dax.stats()["bytes_used"]
    assert 100 < per_entry <= 150          # two entries fit in 300 bytes, a third does not
    dax.get_item(TableName=table, Key=key(1))
    dax.get_item(TableName=table, Key=key(0))      # touch t0: t1 is now least recently used
    dax.get_item(TableName=table, Key=key(2))
    assert dax.stats()["evictions"] == 1 and dax.stats()["bytes_used"] <= 300
    ddb.sent.clear()
    dax.get_item(TableName=table, Key=key(0))
    assert ddb.sent["GetItem"] == 0
    dax.get_item(TableName=table, Key=key(1))
    assert ddb.sent["GetItem"] == 1


def test_node_type_sets_memory_and_bad_settings_are_refused(ddb):
    assert DaxClient(ddb, node_type="dax.r5.large").memory_bytes == 16 * 1024 ** 3
    with pytest.raises(ValueError, match="dax.t3.small"):
        DaxClient(ddb, node_type="dax.x9.huge")
    with pytest.raises(ValueError, match="positive"):
        DaxClient(ddb, item_ttl_s=0)
    with pytest.raises(AttributeError, match="PartiQL"):
        DaxClient(ddb).execute_statement(Statement="SELECT * FROM t")


def test_item_size_follows_dynamodb_rules():
    assert item_size({"a": {"S": "héllo"}}) == 1 + 6
    assert item_size({"n": {"N": "-123.4500"}}) == 1 + 4       # 5 significant digits -> 3 bytes + 1
    assert item_size({"n": {"N": "0.0012"}}) == 1 + 2
    assert item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1
    assert item_size({"s": {"SS": ["a", "bc"]}}) == 1 + 3
    assert read_units(4096) == 0.5 and read_units(4097) == 1.0 and read_units(4097, consistent=True) == 2.0
    assert write_units(1) == 1.0 and write_units(1025) == 2.0


def test_batch_get_with_projection_without_keys_is_answered_but_not_cached(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock())
    request = {table: {"Keys": [key(0), key(1)], "ProjectionExpression": "title"}}
    first = dax.batch_get_item(RequestItems=request)
    assert sorted(i["title"]["S"] for i in first["Responses"][table]) == ["todo 0", "todo 1"]
    dax.batch_get_item(RequestItems=request)
    assert ddb.sent["BatchGetItem"] == 2


def test_dynamodb_errors_reach_the_caller_and_nothing_is_cached(ddb, table):
    dax = DaxClient(ddb, clock=ManualClock())
    for call in (lambda: dax.get_item(TableName="no-such-table", Key=key(0)),
                 lambda: dax.query(TableName="no-such-table", KeyConditionExpression="#u = :u",
                                   ExpressionAttributeNames={"#u": "user"},
                                   ExpressionAttributeValues={":u": {"S": "alice"}}),
                 lambda: dax.put_item(TableName="no-such-table", Item={**key(0), "title": {"S": "x"}})):
        with pytest.raises(ddb.exceptions.ResourceNotFoundException):
            call()
    assert dax.stats()["entries"] == 0 and dax.stats()["writes"] == 0
