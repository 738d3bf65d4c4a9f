"""Global tables emulation: real replica tables in moto, replication read back from each region."""
from __future__ import annotations

import time

import pytest

from app.runtime.streaming import ManualClock
from app.runtime.streaming.global_tables import GlobalTable
from tests.streaming_support import acct  # noqa: F401

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "author", "AttributeType": "S"}]


def make(acct, clock=None):
    home = acct.client("dynamodb", REGIONS[0])
    home.create_table(TableName="posts", KeySchema=KEYS, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST",
                      GlobalSecondaryIndexes=[{"IndexName": "by_author",
                                               "KeySchema": [{"AttributeName": "author", "KeyType": "HASH"}],
                                               "Projection": {"ProjectionType": "ALL"}}])
    table = GlobalTable(acct, "posts", REGIONS, **({"clock": clock} if clock else {}))
    table.create()
    return table


def get(acct, region, pk):
    return acct.client("dynamodb", region).get_item(TableName="posts", Key={"pk": {"S": pk}},
                                                   ConsistentRead=True).get("Item")


def test_replicas_exist_with_same_schema_and_streams(acct):
    make(acct)
    for region in REGIONS:
        t = acct.client("dynamodb", region).describe_table(TableName="posts")["Table"]
        assert t["KeySchema"] == KEYS
        assert [g["IndexName"] for g in t["GlobalSecondaryIndexes"]] == ["by_author"]
        assert t["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_write_replicates_to_every_region_once(acct):
    table = make(acct)
    table.put_item("us-east-1", {"pk": {"S": "p1"}, "author": {"S": "ana"}, "title": {"S": "Hello"}})
    for region in REGIONS[1:]:
        assert get(acct, region, "p1") is None
    assert table.pump() == 2
    for region in REGIONS[1:]:
        item = get(acct, region, "p1")
        assert item["title"] == {"S": "Hello"} and table.last_writer(region, {"pk": {"S": "p1"}}) == "us-east-1"
        # version 2019.11.21: the item arrives as written, without the legacy aws:rep:* attributes
        assert item == {"pk": {"S": "p1"}, "author": {"S": "ana"}, "title": {"S": "Hello"}}
    assert table.replicated_writes() == {"us-east-1": 0, "eu-west-1": 1, "ap-southeast-2": 1}
    # the replicated writes come back through the replicas' streams and stop there
    assert table.pump() == 0 and table.counters["echoes_suppressed"] == 2
    assert table.lag_summary()["n"] == 2 and all(s["lag_ms"] > 0 for s in table.lag_samples)
    q = acct.client("dynamodb", "ap-southeast-2").query(TableName="posts", IndexName="by_author",
                                                       KeyConditionExpression="author = :a",
                                                       ExpressionAttributeValues={":a": {"S": "ana"}})
    assert q["Count"] == 1


def test_bidirectional_and_plain_client_writes(acct):
    table = make(acct)
    table.put_item("eu-west-1", {"pk": {"S": "from-eu"}, "author": {"S": "bo"}})
    # a handler writing with an ordinary client in a replica region is replicated too
    acct.client("dynamodb", "ap-southeast-2").put_item(TableName="posts",
                                                      Item={"pk": {"S": "from-ap"}, "author": {"S": "cy"}})
    table.pump()
    for region in REGIONS:
        assert get(acct, region, "from-eu") and get(acct, region, "from-ap")
    assert table.last_writer("us-east-1", {"pk": {"S": "from-ap"}}) == "ap-southeast-2"
    assert not any(k.startswith("aws:rep:") for r in REGIONS for k in get(acct, r, "from-ap"))
    assert table.pump() == 0
    assert table.replicated_writes() == {"us-east-1": 2, "eu-west-1": 1, "ap-southeast-2": 1}


def test_last_writer_wins_in_every_region(acct):
    clock = ManualClock()
    table = make(acct, clock)
    table.put_item("eu-west-1", {"pk": {"S": "p"}, "author": {"S": "x"}, "v": {"S": "newer"}})
    clock.now -= 5            # an older write reaches its region after the newer one
    table.put_item("us-east-1", {"pk": {"S": "p"}, "author": {"S": "x"}, "v": {"S": "older"}})
    table.pump()
    table.pump()
    assert {r: get(acct, r, "p")["v"]["S"] for r in REGIONS} == dict.fromkeys(REGIONS, "newer")
    assert table.counters["superseded"] >= 1


def test_update_of_a_replicated_item_with_a_plain_client_replicates(acct):
    clock = ManualClock()
    table = make(acct, clock)
    table.put_item("us-east-1", {"pk": {"S": "p"}, "author": {"S": "x"}, "likes": {"N": "0"}})
    table.pump()
    clock.advance(1)
    acct.client("dynamodb", "eu-west-1").update_item(TableName="posts", Key={"pk": {"S": "p"}},
                                                   UpdateExpression="SET likes = likes + :one",
                                                   ExpressionAttributeValues={":one": {"N": "1"}})
    table.pump()
    table.pump()
    assert {r: get(acct, r, "p")["likes"]["N"] for r in REGIONS} == dict.fromkeys(REGIONS, "1")


def test_delete_replicates_without_echo(acct):
    table = make(acct)
    table.put_item("us-east-1", {"pk": {"S": "gone"}, "author": {"S": "x"}})
    table.pump()
    table.pump()
    table.delete_item("ap-southeast-2", {"pk": {"S": "gone"}})
    assert table.pump() == 2
    assert all(get(acct, r, "gone") is None for r in REGIONS)
    assert table.pump() == 0
    assert table.counters["replicated_deletes:us-east-1"] == 1


def test_background_replication_measures_lag(acct):
    table = make(acct)
    table.start(interval_s=0.02)
    try:
        for i in range(5):
            table.put_item("us-east-1", {"pk": {"S": f"k{i}"}, "author": {"S": "x"}})
        # Wait for the replicator thread itself (no final pump below); the bound only ends a broken run.
        deadline = time.monotonic() + 60
        while table.lag_summary()["n"] < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        table.stop(final_pump=False)
    summary = table.lag_summary()
    assert summary["n"] == 10 and summary["median_ms"] > 0
    assert table.counters["pump_errors"] == 0
    assert all(get(acct, region, f"k{i}") for region in REGIONS[1:] for i in range(5))


def test_bad_regions_are_named(acct):
    with pytest.raises(ValueError, match="two distinct regions"):
        GlobalTable(acct, "t", ["us-east-1"])
    table = make(acct)
    with pytest.raises(ValueError, match="us-east-1, eu-west-1, ap-southeast-2"):
        table.put_item("sa-east-1", {"pk": {"S": "x"}})
