"""Big data ingestion: device telemetry to reports.

IoT Core receives device messages and a topic rule puts them on a Kinesis data
stream; Amazon Data Firehose batches them (optionally transformed by Lambda,
optionally converted to Parquet) into an S3 ingestion bucket. Each new object
raises an S3 event on an SQS queue, a Lambda function runs an Athena query over
the lake, and the results land in a reporting bucket that Quick Sight and
Redshift read.

Pipeline steps the diagram can highlight: publish, rule, error_action, deliver, transform,
schema, land, s3_event, consume, register, query, scan, catalog, results, dashboard, load.
"""
from __future__ import annotations

from diagrams import Cluster
from diagrams.aws.analytics import (
    Athena,
    GlueDataCatalog,
    KinesisDataFirehose,
    KinesisDataStreams,
    Quicksight,
    Redshift,
)
from diagrams.aws.compute import Lambda
from diagrams.aws.integration import SimpleQueueServiceSqsQueue
from diagrams.aws.iot import IotCore, IotSensor
from diagrams.aws.storage import SimpleStorageServiceS3Bucket

from app.core.cases import Case, Component
from app.core.params import Toggle

TOGGLES = (
    Toggle("firehose_transform", "Lambda transform in Firehose", "bool", False,
           "Firehose hands each batch of records to a Lambda function that cleans or enriches them before delivery.",
           exam_point="Firehose can invoke a Lambda function on each buffered batch to transform records "
                      "(each returned with Ok, Dropped or ProcessingFailed) before writing them to the destination; "
                      "no servers, no custom consumer."),
    Toggle("buffer_interval", "Firehose buffer interval", "int", 60,
           "How long Firehose waits before writing a batch to S3 (it also writes as soon as the buffer size is "
           "reached).",
           min=60, max=900, step=60, unit="s",
           exam_point="Firehose is near real time: it delivers when the buffer interval or the buffer size is "
                      "reached, whichever comes first. Intervals run up to 900 s (default 300 s; the slider starts at "
                      "the classic 60 s minimum, though zero buffering now exists) and sizes 1 to 128 MiB (default "
                      "5 MiB); longer buffers mean fewer, larger objects in S3."),
    Toggle("format", "Format in the ingestion bucket", "choice", "json",
           "JSON as received, or Parquet converted by Firehose using the table schema in the Glue Data Catalog.",
           choices=("json", "parquet"),
           exam_point="Firehose can convert JSON to Parquet or ORC using a schema from the AWS Glue Data Catalog; "
                      "columnar, compressed files let Athena read only the columns a query needs, and Athena "
                      "bills by the data it scans."),
)

COMPONENTS = (
    Component("devices", "Devices", "IoT devices", "Sensors publishing telemetry over MQTT."),
    Component("iot_core", "AWS IoT Core", "AWS IoT Core", "MQTT broker; a topic rule forwards messages to Kinesis."),
    Component("rule_errors", "Rule error queue", "Amazon SQS",
              "The topic rule's error action: a message its Kinesis action could not put (no device id to key "
              "it) lands here, with the thing that sent it."),
    Component("stream", "Kinesis data stream", "Amazon Kinesis Data Streams",
              "Durable, ordered buffer of telemetry, read by Firehose."),
    Component("firehose", "Firehose stream", "Amazon Data Firehose",
              "Batches records and writes them to the ingestion bucket."),
    Component("transform_fn", "Transform function", "AWS Lambda",
              "Cleans and enriches each batch for Firehose.", when="firehose_transform"),
    Component("glue", "Glue Data Catalog", "AWS Glue", "Table schema of the telemetry, used by Athena."),
    Component("ingest", "Ingestion bucket", "Amazon S3", "Raw telemetry objects, one per Firehose delivery."),
    Component("queue", "SQS queue", "Amazon SQS", "Receives the bucket's object-created notifications."),
    Component("process_fn", "Query function", "AWS Lambda",
              "Polls the queue, registers each new day's partition in the Glue Data Catalog and can start the "
              "Athena report query."),
    Component("athena", "Amazon Athena", "Amazon Athena", "Serverless SQL over the objects in S3."),
    Component("reporting", "Reporting bucket", "Amazon S3", "Athena query results: the analysed data."),
    Component("quicksight", "Amazon Quick Sight", "Amazon Quick Sight", "Dashboards over the reporting data."),
    Component("redshift", "Amazon Redshift", "Amazon Redshift", "Warehouse loading the reporting data."),
)


def diagram(v, kit) -> None:
    # Every component is drawn in every configuration; one an option turns off is drawn as off.
    parquet = v["format"] == "parquet"
    interval = int(v["buffer_interval"])
    devices = IotSensor("Devices", nodeid="devices")
    with Cluster("AWS Cloud - us-east-1"):
        with Cluster("Ingestion"):
            core = IotCore("IoT Core\ntopic rule", nodeid="iot_core")
            rule_errors = SimpleQueueServiceSqsQueue("Rule error\nqueue (SQS)", nodeid="rule_errors")
            stream = KinesisDataStreams("Kinesis\nData Streams", nodeid="stream")
            hose = KinesisDataFirehose(f"Amazon Data\nFirehose\nbuffer {interval} s", nodeid="firehose")
            transform = Lambda("Transform\nfunction", nodeid="transform_fn")
        with Cluster("Data lake"):
            ingest = SimpleStorageServiceS3Bucket(
                "Ingestion\nbucket\n" + ("Parquet" if parquet else "JSON lines"), nodeid="ingest")
            glue = GlueDataCatalog("Glue Data\nCatalog table", nodeid="glue")
        with Cluster("Processing"):
            queue = SimpleQueueServiceSqsQueue("SQS queue", nodeid="queue")
            fn = Lambda("Query\nfunction", nodeid="process_fn")
            athena = Athena("Athena", nodeid="athena")
        with Cluster("Reporting"):
            reporting = SimpleStorageServiceS3Bucket("Reporting\nbucket\nquery results", nodeid="reporting")
            sight = Quicksight("Quick Sight", nodeid="quicksight")
            shift = Redshift("Redshift", nodeid="redshift")

    devices >> kit.edge("MQTT publish", step="publish") >> core
    core >> kit.edge("rule action\nPutRecord", step="rule") >> stream
    core >> kit.edge("error action\n(Kinesis failed)", step="error_action", asynchronous=True) >> rule_errors
    stream >> kit.edge("source stream", step="deliver") >> hose
    both_ways = kit.edge("records in / out", step="transform")
    both_ways.reverse = True
    hose >> both_ways >> transform
    hose >> kit.edge("schema for\nParquet conversion", step="schema", style="dotted", on=parquet) >> glue
    hose >> kit.edge(f"PutObject every {interval} s\n(or buffer full)", step="land") >> ingest
    ingest >> kit.edge("ObjectCreated", step="s3_event", asynchronous=True) >> queue
    queue >> kit.edge("poll", step="consume", asynchronous=True) >> fn
    fn >> kit.edge("CreatePartition", step="register", style="dotted") >> glue
    fn >> kit.edge("StartQueryExecution", step="query") >> athena
    ingest >> kit.edge("scan: needed columns" if parquet else "scan: whole objects", step="scan") >> athena
    athena >> kit.edge("table", step="catalog", style="dotted") >> glue
    athena >> kit.edge("results CSV", step="results") >> reporting
    reporting >> kit.edge("dashboards", step="dashboard") >> sight
    reporting >> kit.edge("COPY", step="load") >> shift


CASE = Case(
    id="iot-analytics",
    title="Big data ingestion",
    tagline="Telemetry from devices to reports, serverless end to end.",
    story=(
        "A fleet of devices reports measurements every few seconds. AWS IoT Core receives them over MQTT, and "
        "a topic rule puts each message on a Kinesis data stream, which holds it durably and in order; a message "
        "the rule's Kinesis action cannot put (one without a device id to key it) goes to the rule's error "
        "action, an SQS queue, rather than being lost. Amazon "
        "Data Firehose reads the stream and, instead of writing one tiny object per message, buffers records "
        "and writes them to an S3 ingestion bucket every so often; a Lambda function can clean each batch on "
        "the way, and Firehose can convert it to Parquet. Every new object raises an S3 event on an SQS queue; "
        "a Lambda function picks it up and runs an Athena query over the lake. Athena writes the results to a "
        "reporting bucket, where Quick Sight builds dashboards and Redshift loads what the analysts need. "
        "Nothing in the chain is a server to manage."
    ),
    takeaways=(
        "IoT Core is the front door for devices: MQTT, authentication per device, and a rules engine whose "
        "SQL selects messages and sends them to Kinesis, Firehose, Lambda, DynamoDB and more.",
        "Kinesis Data Streams is for real-time collection: ordered, replayable, retained 24 hours by default "
        "(up to 365 days); each shard takes 1 MB/s or 1,000 records per second of writes.",
        "Firehose is near real time, not real time: it delivers a batch when its buffer interval or size is "
        "reached. It can transform records with Lambda and convert JSON to Parquet on the way.",
        "S3 event notifications can go to SQS, and Lambda reads SQS; the queue absorbs bursts and retries "
        "failed work (an S3 notification straight to Lambda would also do).",
        "Athena is serverless SQL over S3, billed by the data scanned, with results written to S3; a columnar "
        "format such as Parquet and partitioned keys cut both cost and time.",
        "The reporting bucket feeds the tools people use: Quick Sight for dashboards, Redshift to load "
        "or query the data alongside the warehouse.",
    ),
    components=COMPONENTS,
    toggles=TOGGLES,
    diagram=diagram,
)
