"""IoT topic rules from moto, fired by the rules engine emulation; effects read back from moto."""
from __future__ import annotations

import json

import pytest

from app.runtime.streaming.iot import IotRulesEngine
from app.runtime.streaming.iot_sql import Context, SqlError, parse, topic_matches
from tests.streaming_support import acct  # noqa: F401


@pytest.mark.parametrize("flt,topic,ok", [
    ("sensors/+/telemetry", "sensors/d1/telemetry", True),
    ("sensors/+/telemetry", "sensors/d1/x/telemetry", False),
    ("sensors/#", "sensors", True),
    ("sensors/#", "sensors/d1/telemetry", True),
    ("sensors/d1", "sensors/d2", False),
    ("+/+", "a/b", True),
    ("+/+", "a", False),
    ("#", "$acct/things/x/shadow/update", False),
])
def test_topic_filters(flt, topic, ok):
    assert topic_matches(flt, topic) is ok


def test_sql_select_where_and_topic_function():
    q = parse("SELECT device AS id, temp * 2 AS double_temp, topic(2) AS site, meta.fw FROM 'plant/+/temp' "
              "WHERE (temp > 30 OR alarm = true) AND NOT status = 'off'")
    hot = Context({"device": "d1", "temp": 35, "status": "on", "meta": {"fw": "1.2"}}, "plant/north/temp")
    assert q.matches(hot)
    assert q.project(hot) == {"id": "d1", "double_temp": 70, "site": "north", "fw": "1.2"}
    assert not q.matches(Context({"device": "d1", "temp": 20, "status": "on"}, "plant/north/temp"))
    assert q.matches(Context({"temp": 20, "alarm": True, "status": "on"}, "plant/north/temp"))
    # a missing field is Undefined: the comparison is not true and the field is left out
    assert not q.matches(Context({"device": "d1"}, "plant/north/temp"))
    assert q.project(Context({"temp": 1}, "plant/n/temp")) == {"double_temp": 2, "site": "n"}
    star = parse("SELECT *, topic() AS t FROM 'a/#'")
    assert star.project(Context({"x": 1}, "a/b")) == {"x": 1, "t": "a/b"}


@pytest.mark.parametrize("sql,fragment", [
    ("SELECT * FROM sensors", "quoted topic filter"),
    ("SELECT nope(x) FROM 'a'", "supported: topic"),
    ("SELECT temp + 1 FROM 'a'", "AS <name>"),
    ("SELECT * FROM 'a' WHERE", "ends too early"),
])
def test_bad_sql_is_explained(sql, fragment):
    with pytest.raises(SqlError, match=fragment):
        parse(sql)


def table(ddb, name, hash_key="id", range_key=None):
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attrs = [{"AttributeName": hash_key, "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": "N"})
    ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")


def test_kinesis_action_with_partition_key_template(acct):
    kinesis = acct.client("kinesis")
    kinesis.create_stream(StreamName="telemetry", ShardCount=1)
    engine = IotRulesEngine(acct.client("iot"), kinesis=kinesis, iot_data=acct.client("iot-data"))
    engine.create_rule("to_kinesis", "SELECT device, temp, topic(2) AS site FROM 'plant/+/temp' WHERE temp > 0",
                       [{"kinesis": {"streamName": "telemetry", "roleArn": "arn:aws:iam::1:role/iot",
                                     "partitionKey": "${topic(2)}-${device}"}}])
    assert engine.publish("plant/north/temp", {"device": "d1", "temp": 21.5}) == ["to_kinesis"]
    assert engine.publish("plant/north/temp", {"device": "d1", "temp": -1}) == []
    assert engine.publish("other/north/temp", {"device": "d1", "temp": 5}) == []
    it = kinesis.get_shard_iterator(StreamName="telemetry", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it)["Records"]
    assert [(r["PartitionKey"], json.loads(r["Data"])) for r in records] == \
        [("north-d1", {"device": "d1", "temp": 21.5, "site": "north"})]
    assert engine.stats() == {"to_kinesis": {"matched": 1, "actions_run": 1}}


def test_dynamodb_actions_v1_and_v2(acct):
    ddb = acct.client("dynamodb")
    table(ddb, "raw", "topic", "ts")
    table(ddb, "latest", "device")
    engine = IotRulesEngine(acct.client("iot"), dynamodb=ddb, clock=lambda: 1_800_000_000.0)
    engine.create_rule("archive", "SELECT * FROM 'plant/#'", [{"dynamoDB": {
        "tableName": "raw", "roleArn": "arn:aws:iam::1:role/iot", "hashKeyField": "topic",
        "hashKeyValue": "${topic()}", "rangeKeyField": "ts", "rangeKeyValue": "${timestamp()}",
        "rangeKeyType": "NUMBER"}}])
    engine.create_rule("latest", "SELECT device, temp FROM 'plant/+/temp'",
                       [{"dynamoDBv2": {"roleArn": "arn:aws:iam::1:role/iot", "putItem": {"tableName": "latest"}}}])
    assert sorted(engine.publish("plant/north/temp", {"device": "d7", "temp": 19.25, "x": 1})) == ["archive", "latest"]
    raw = ddb.get_item(TableName="raw", Key={"topic": {"S": "plant/north/temp"}, "ts": {"N": "1800000000000"}})
    assert raw["Item"]["payload"]["M"]["temp"] == {"N": "19.25"}
    latest = ddb.get_item(TableName="latest", Key={"device": {"S": "d7"}})["Item"]
    assert latest == {"device": {"S": "d7"}, "temp": {"N": "19.25"}}


def test_lambda_action_runs_real_handler_code(acct):
    ddb = acct.client("dynamodb")
    table(ddb, "alerts", "device")

    def alert_handler(event, context=None):
        ddb.put_item(TableName="alerts", Item={"device": {"S": event["device"]}, "level": {"S": event["level"]}})
        return {"ok": True}
    engine = IotRulesEngine(acct.client("iot"), invoke=lambda name, ev: alert_handler(ev) if name == "alert" else 1 / 0)
    engine.create_rule("alarm", "SELECT device, upper(level) AS level FROM 'alarms/+' WHERE level <> 'info'",
                       [{"lambda": {"functionArn": f"arn:aws:lambda:us-east-1:{acct.account_id}:function:alert"}}])
    engine.publish("alarms/d3", json.dumps({"device": "d3", "level": "critical"}))
    engine.publish("alarms/d4", json.dumps({"device": "d4", "level": "info"}))
    items = ddb.scan(TableName="alerts")["Items"]
    assert items == [{"device": {"S": "d3"}, "level": {"S": "CRITICAL"}}]


def test_failed_action_counts_error_and_runs_error_action(acct):
    ddb = acct.client("dynamodb")
    table(ddb, "errors", "device")
    engine = IotRulesEngine(acct.client("iot"), kinesis=acct.client("kinesis"), dynamodb=ddb)
    engine.create_rule("broken", "SELECT device FROM 'x/+'",
                       [{"kinesis": {"streamName": "missing", "roleArn": "arn:aws:iam::1:role/iot"}}],
                       error_action={"dynamoDBv2": {"roleArn": "arn:aws:iam::1:role/iot",
                                                    "putItem": {"tableName": "errors"}}})
    engine.publish("x/1", {"device": "d9"})
    assert engine.stats()["broken"] == {"matched": 1, "errors": 1, "actions_run": 1}
    assert "ResourceNotFoundException" in engine.errors[0]["error"]
    assert ddb.get_item(TableName="errors", Key={"device": {"S": "d9"}})["Item"]


def test_rules_are_read_from_moto_and_disabled_ones_skipped(acct):
    iot = acct.client("iot")
    seen = []
    engine = IotRulesEngine(iot, invoke=lambda name, ev: seen.append((name, ev)))
    fn = "arn:aws:lambda:us-east-1:1:function:"
    iot.create_topic_rule(ruleName="made_elsewhere", topicRulePayload={
        "sql": "SELECT * FROM 'a/b'", "actions": [{"lambda": {"functionArn": fn + "on"}}], "ruleDisabled": False})
    iot.create_topic_rule(ruleName="off", topicRulePayload={
        "sql": "SELECT * FROM 'a/b'", "actions": [{"lambda": {"functionArn": fn + "off"}}], "ruleDisabled": True})
    assert engine.publish("a/b", {"v": 1}) == ["made_elsewhere"]
    assert seen == [("on", {"v": 1})]
    with pytest.raises(ValueError, match="kinesis, lambda, dynamoDB, dynamoDBv2"):
        engine.create_rule("bad", "SELECT * FROM 'a'", [{"sns": {}}])


def test_sqs_error_action_receives_what_the_failed_action_would_have_sent(acct):
    sqs = acct.client("sqs")
    url = sqs.create_queue(QueueName="rule-errors")["QueueUrl"]
    kinesis = acct.client("kinesis")
    kinesis.create_stream(StreamName="telemetry", ShardCount=1)
    engine = IotRulesEngine(acct.client("iot"), kinesis=kinesis, sqs=sqs)
    engine.create_rule("keyed", "SELECT * FROM 'fleet/+/telemetry'",
                       [{"kinesis": {"streamName": "telemetry", "partitionKey": "${device_id}",
                                     "roleArn": "arn:aws:iam::1:role/iot"}}],
                       error_action={"sqs": {"queueUrl": url, "roleArn": "arn:aws:iam::1:role/iot"}})
    engine.publish("fleet/a/telemetry", {"device_id": "a", "temperature": 20})
    engine.publish("fleet/b/telemetry", {"temperature": 21})       # no device id: an empty partition key
    assert engine.stats()["keyed"] == {"matched": 2, "actions_run": 2, "errors": 1}
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in got] == [{"temperature": 21}]


def test_a_payload_over_the_broker_limit_is_refused_and_reaches_no_rule(acct):
    from botocore.exceptions import ClientError

    seen = []
    engine = IotRulesEngine(acct.client("iot"), invoke=lambda name, ev: seen.append(ev))
    engine.create_rule("all", "SELECT * FROM 'big/+'",
                       [{"lambda": {"functionArn": f"arn:aws:lambda:us-east-1:{acct.account_id}:function:f"}}])
    with pytest.raises(ClientError, match="RequestEntityTooLargeException"):
        engine.publish("big/1", {"blob": "x" * (128 * 1024)})
    engine.publish("big/1", {"blob": "x" * 1000})
    assert engine.refused == 1 and len(seen) == 1 and engine.stats()["all"]["matched"] == 1
