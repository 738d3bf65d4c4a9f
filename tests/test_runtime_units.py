"""DynamoDB request units recorded on spans, by DynamoDB's sizing rules."""
from __future__ import annotations

from app.runtime.units import item_size, request_units


def test_item_size_counts_names_and_values():
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 4          # 5 digits -> 3 bytes + 1
    assert item_size({"b": {"BOOL": True}, "m": {"M": {"k": {"S": "v"}}}}) == (1 + 1) + (1 + 3 + 1 + 1 + 1)


def test_write_units_round_up_per_kilobyte_and_transactions_double():
    big = {"pk": {"S": "k"}, "blob": {"S": "x" * 3000}}
    assert request_units("PutItem", {"Item": big}, {}) == (3.0, "item size")
    assert request_units("PutItem", {"Item": {"pk": {"S": "k"}}}, {}) == (1.0, "item size")
    assert request_units("TransactWriteItems", {"TransactItems": [{"Put": {"Item": big}}]}, {})[0] == 6.0
    assert request_units("UpdateItem", {}, {}) == (1.0, "minimum")


def test_read_units_per_four_kilobytes_halved_when_eventually_consistent():
    item = {"pk": {"S": "k"}, "blob": {"S": "x" * 5000}}
    assert request_units("GetItem", {"ConsistentRead": True}, {"Item": item})[0] == 2.0
    assert request_units("GetItem", {}, {"Item": item})[0] == 1.0
    assert request_units("GetItem", {}, {})[0] == 0.5                      # a miss still costs the minimum
    small = [{"pk": {"S": str(i)}} for i in range(100)]                    # 100 tiny items: summed, then rounded
    assert request_units("Query", {}, {"Items": small})[0] == 0.5


def test_spans_carry_the_units(runtime_session):
    s = runtime_session
    ddb = s.clients.client("dynamodb")
    t = s.name("t")
    ddb.create_table(TableName=t, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "blob": {"S": "x" * 2500}})
    ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    spans = {sp.operation: sp for sp in s.trace.spans if sp.service == "dynamodb"}
    assert spans["PutItem"].request_units == 3.0 and spans["PutItem"].detail["units_basis"] == "item size"
    assert spans["GetItem"].request_units == 1.0
    assert spans["CreateTable"].request_units is None
