"""The gaps of moto that the streaming emulations fill. If a moto upgrade closes one, these
fail loudly: the emulation would then double what moto does and must be revisited."""
from __future__ import annotations

import moto

from tests.streaming_support import acct  # noqa: F401


def test_moto_version_is_the_one_measured():
    assert moto.__version__ == "5.2.5"


def test_firehose_never_delivers_from_a_kinesis_source(acct):
    kinesis, s3, firehose = acct.client("kinesis"), acct.client("s3"), acct.client("firehose")
    kinesis.create_stream(StreamName="src", ShardCount=1)
    s3.create_bucket(Bucket=f"gap-{acct.account_id}")
    firehose.create_delivery_stream(
        DeliveryStreamName="gap", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": f"arn:aws:kinesis:us-east-1:{acct.account_id}:stream/src",
                                          "RoleARN": f"arn:aws:iam::{acct.account_id}:role/r"},
        ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{acct.account_id}:role/r",
                                            "BucketARN": f"arn:aws:s3:::gap-{acct.account_id}"})
    kinesis.put_record(StreamName="src", Data=b"{}", PartitionKey="k")
    assert s3.list_objects_v2(Bucket=f"gap-{acct.account_id}")["KeyCount"] == 0


def test_iot_publish_fires_no_rule(acct):
    kinesis = acct.client("kinesis")
    kinesis.create_stream(StreamName="rule-target", ShardCount=1)
    acct.client("iot").create_topic_rule(ruleName="gap", topicRulePayload={
        "sql": "SELECT * FROM 'a/b'", "actions": [{"kinesis": {"streamName": "rule-target",
                                                               "roleArn": "arn:aws:iam::1:role/r"}}]})
    acct.client("iot-data").publish(topic="a/b", qos=0, payload=b'{"x": 1}')
    it = kinesis.get_shard_iterator(StreamName="rule-target", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it)["Records"] == []


def test_global_table_replicas_do_not_replicate(acct):
    east, west = acct.client("dynamodb", "us-east-1"), acct.client("dynamodb", "eu-west-1")
    spec = dict(TableName="gap", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    east.create_table(**spec)
    west.create_table(**spec)
    try:
        east.update_table(TableName="gap", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    except east.exceptions.ClientError:
        pass
    east.put_item(TableName="gap", Item={"pk": {"S": "x"}})
    assert "Item" not in west.get_item(TableName="gap", Key={"pk": {"S": "x"}})


def test_athena_runs_no_sql(acct):
    athena = acct.client("athena")
    qid = athena.start_query_execution(QueryString="SELEC nonsense",
                                       ResultConfiguration={"OutputLocation": "s3://nowhere/"})["QueryExecutionId"]
    assert athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
