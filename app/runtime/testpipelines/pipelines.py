"""The runtime's own pipelines, declared with the step API.

* ``s3-sqs-lambda-ddb``: uploads -> S3 notification -> SQS -> Lambda -> DynamoDB.
* ``s3-lambda``: uploads -> S3 notification -> Lambda -> DynamoDB.
* ``stream-lambda-ses``: orders -> DynamoDB stream -> Lambda -> SES.
* ``five-hops``: S3 -> SQS -> Lambda -> DynamoDB -> stream -> Lambda -> SES.

Each checks its effect by reading the backend back. Resources are tagged with the run
id by the session's clients (no tag arguments needed here). ``uploads`` (default 3) sets how
many objects or orders the drive step sends.
"""
from __future__ import annotations

from app.runtime.pipeline import Check, Pipeline, RunContext

H = "app.runtime.testpipelines.handlers"
SENDER = "orders@example.com"
RECIPIENT = "customer@example.com"


def _table(ctx: RunContext, base: str, stream: str | None = None) -> str:
    name = ctx.name(base)
    kwargs = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": stream}} if stream else {}
    ctx.client("dynamodb").create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        **kwargs)
    return name


def _bucket(ctx: RunContext, base: str) -> str:
    name = ctx.name(base)
    s3 = ctx.client("s3")
    if ctx.session.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": ctx.session.region})
    return name


def _queue(ctx: RunContext, base: str, **attrs) -> tuple[str, str]:
    sqs = ctx.client("sqs")
    url = sqs.create_queue(QueueName=ctx.name(base), Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _uploads(ctx: RunContext) -> int:
    return int(ctx.values.get("uploads", 3))


def _put_uploads(ctx: RunContext) -> None:
    s3 = ctx.client("s3")
    keys = [f"in/report {i}+final.txt" for i in range(_uploads(ctx))]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=ctx.state["bucket"], Key=key, Body=b"x" * (100 + i))
    ctx.state["keys"] = keys


def _indexed(ctx: RunContext) -> list[Check]:
    items = ctx.client("dynamodb").scan(TableName=ctx.state["table"])["Items"]
    got = sorted(i["pk"]["S"] for i in items)
    ctx.artifact("indexed", got)
    sizes_ok = all(int(i["size"]["N"]) == 100 + ctx.state["keys"].index(i["pk"]["S"]) for i in items
                   if i["pk"]["S"] in ctx.state["keys"])
    return [Check("every upload indexed, key decoded", got == sorted(ctx.state["keys"]),
                  f"{len(got)} of {len(ctx.state['keys'])} items: {got}"),
            Check("sizes read back from S3", sizes_ok, "ContentLength of each object matches")]


def s3_sqs_lambda_ddb() -> Pipeline:
    p = Pipeline("s3-sqs-lambda-ddb", faults=("lambda_error_rate", "lambda_throttle_rate", "s3_event_delay_s",
                                             "ddb_throttle_rate"))

    @p.deploy("Create bucket, queue with DLQ, table", service="s3")
    def resources(ctx):
        ctx.state["bucket"] = _bucket(ctx, "uploads")
        ctx.state["table"] = _table(ctx, "index")
        _, dlq_arn = _queue(ctx, "uploads-dlq")
        ctx.state["queue_url"], ctx.state["queue_arn"] = _queue(
            ctx, "uploads", VisibilityTimeout=60,
            RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "3"}}')

    @p.deploy("Deploy indexer and wire S3 -> SQS -> Lambda", service="lambda")
    def wire(ctx):
        ctx.lambdas.allow(["dynamodb:PutItem"], f"arn:aws:dynamodb:*:*:table/{ctx.state['table']}")
        ctx.lambdas.allow(["s3:GetObject"], f"arn:aws:s3:::{ctx.state['bucket']}/*")
        ctx.lambdas.deploy("indexer", f"{H}.index_upload", env={"TABLE": ctx.state["table"]}, timeout_s=30)
        ctx.routing.s3_to_sqs(ctx.state["bucket"], ctx.state["queue_arn"], prefix="in/")
        ctx.routing.sqs_to_lambda(ctx.state["queue_arn"], "indexer", batch_size=10)

    @p.drive("Upload objects", service="s3")
    def drive(ctx):
        _put_uploads(ctx)

    @p.verify("Index read back from DynamoDB", service="dynamodb")
    def verify(ctx):
        attrs = ctx.client("sqs").get_queue_attributes(QueueUrl=ctx.state["queue_url"],
                                                       AttributeNames=["ApproximateNumberOfMessages"])
        left = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        return _indexed(ctx) + [Check("queue drained", left == 0, f"{left} messages left")]

    return p


def s3_lambda() -> Pipeline:
    p = Pipeline("s3-lambda")

    @p.deploy("Create bucket and table", service="s3")
    def resources(ctx):
        ctx.state["bucket"] = _bucket(ctx, "uploads")
        ctx.state["table"] = _table(ctx, "index")

    @p.deploy("Deploy indexer and wire S3 -> Lambda", service="lambda")
    def wire(ctx):
        ctx.lambdas.allow(["dynamodb:PutItem"], f"arn:aws:dynamodb:*:*:table/{ctx.state['table']}")
        ctx.lambdas.allow(["s3:GetObject"], f"arn:aws:s3:::{ctx.state['bucket']}/*")
        ctx.lambdas.deploy("indexer", f"{H}.index_upload", env={"TABLE": ctx.state["table"]})
        ctx.routing.s3_to_lambda(ctx.state["bucket"], "indexer", prefix="in/", suffix=".txt")

    @p.drive("Upload objects", service="s3")
    def drive(ctx):
        _put_uploads(ctx)

    @p.verify("Index read back from DynamoDB", service="dynamodb")
    def verify(ctx):
        return _indexed(ctx)

    return p


def _ses_and_mailer(ctx):
    ses = ctx.client("ses")
    ses.verify_email_identity(EmailAddress=SENDER)
    ctx.lambdas.allow(["ses:SendEmail"], "*")
    ctx.lambdas.deploy("mailer", f"{H}.email_new_orders", env={"SENDER": SENDER, "RECIPIENT": RECIPIENT})


def _emails_sent(ctx, expected: int) -> Check:
    quota = ctx.client("ses").get_send_quota()
    sent = int(quota["SentLast24Hours"])
    ctx.artifact("emails_sent", sent)
    return Check("one email per new item", sent == expected, f"SES counted {sent} of {expected}")


def stream_lambda_ses() -> Pipeline:
    p = Pipeline("stream-lambda-ses")

    @p.deploy("Create orders table with a stream and verify the sender", service="dynamodb")
    def resources(ctx):
        ctx.state["table"] = _table(ctx, "orders", stream="NEW_IMAGE")
        _ses_and_mailer(ctx)
        ctx.routing.stream_to_lambda(ctx.state["table"], "mailer", batch_size=10)

    @p.drive("Write orders", service="dynamodb")
    def drive(ctx):
        ddb = ctx.client("dynamodb")
        for i in range(_uploads(ctx)):
            ddb.put_item(TableName=ctx.state["table"],
                         Item={"pk": {"S": f"order-{i}"}, "email": {"S": f"buyer{i}@example.com"}})
        # a change is not a new order: no email
        ddb.update_item(TableName=ctx.state["table"], Key={"pk": {"S": "order-0"}},
                        UpdateExpression="SET paid = :t", ExpressionAttributeValues={":t": {"BOOL": True}})

    @p.verify("Emails counted by SES", service="ses")
    def verify(ctx):
        return _emails_sent(ctx, _uploads(ctx))

    return p


def five_hops() -> Pipeline:
    p = Pipeline("five-hops")

    @p.deploy("Create bucket, queue, table with stream, sender", service="s3")
    def resources(ctx):
        ctx.state["bucket"] = _bucket(ctx, "uploads")
        ctx.state["table"] = _table(ctx, "index", stream="NEW_AND_OLD_IMAGES")
        ctx.state["queue_url"], ctx.state["queue_arn"] = _queue(ctx, "uploads", VisibilityTimeout=60)
        ctx.lambdas.allow(["dynamodb:PutItem"], f"arn:aws:dynamodb:*:*:table/{ctx.state['table']}")
        ctx.lambdas.allow(["s3:GetObject"], f"arn:aws:s3:::{ctx.state['bucket']}/*")
        ctx.lambdas.deploy("indexer", f"{H}.index_upload", env={"TABLE": ctx.state["table"]})
        _ses_and_mailer(ctx)
        ctx.routing.s3_to_sqs(ctx.state["bucket"], ctx.state["queue_arn"])
        ctx.routing.sqs_to_lambda(ctx.state["queue_arn"], "indexer", batch_size=10)
        ctx.routing.stream_to_lambda(ctx.state["table"], "mailer", starting_position="LATEST")

    @p.drive("Upload objects", service="s3")
    def drive(ctx):
        _put_uploads(ctx)

    @p.verify("Index and emails read back", service="dynamodb")
    def verify(ctx):
        return _indexed(ctx) + [_emails_sent(ctx, _uploads(ctx))]

    return p


PIPELINES = {
    "s3-sqs-lambda-ddb": s3_sqs_lambda_ddb,
    "s3-lambda": s3_lambda,
    "stream-lambda-ses": stream_lambda_ses,
    "five-hops": five_hops,
}
