"""AWS facts the explorer states or enforces, each once, with its source and the date it was checked.

A fact is a value with its unit, a sentence that says it in words, the AWS page it
comes from and the date that page was read. Toggle help, diagram labels, the emulated
data planes, the pipelines and the latency and cost models all read their TTLs, limits
and sizes from here, so a change of AWS's is one edit::

    from app.core.facts import APIGW_CACHE_TTL_DEFAULT_S
    ttl = APIGW_CACHE_TTL_DEFAULT_S.value           # 300
    f"TTL {APIGW_CACHE_TTL_DEFAULT_S.text}"         # "TTL 300 s"

Prices are not here: they are in ``assets/prices/<region>.json`` (the price book) and
latencies in ``assets/latency.json`` (the latency book), each with its source.
:func:`all_facts` lists every fact (``python -m app facts`` prints them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHECKED = "2026-11-30"   # the day the pages below were last read against these values

APIGW_CACHING = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html"
DAX_CONSISTENCY = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DAX.consistency.html"
DAX_NODES = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DAX.concepts.cluster.html"
DAX_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
CF_MANAGED_POLICIES = ("https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
                       "using-managed-cache-policies.html")
CF_ERROR_CACHING = ("https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
                    "HTTPStatusCodes.html")
FIREHOSE_BUFFERING = "https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html"
FIREHOSE_CONVERSION = "https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html"
FIREHOSE_LIMITS = "https://docs.aws.amazon.com/firehose/latest/dev/limits.html"
COGNITO_TOKENS = ("https://docs.aws.amazon.com/cognito/latest/developerguide/"
                  "amazon-cognito-user-pools-using-the-id-token.html")
S3_PRESIGNED = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html"
LAMBDA_LIMITS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"


@dataclass(frozen=True)
class Fact:
    key: str
    value: Any
    unit: str
    says: str          # the fact in words, as a learner reads it
    source: str        # the AWS page it comes from
    checked: str = CHECKED

    @property
    def text(self) -> str:
        """The value with its unit, as shown in labels ("300 s", "2 GiB")."""
        if isinstance(self.value, (tuple, list)):
            return ", ".join(str(v) for v in self.value) + (f" {self.unit}" if self.unit else "")
        return f"{self.value} {self.unit}".strip()

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        if isinstance(value, dict):
            value = dict(value)
        return {"key": self.key, "value": value, "unit": self.unit, "says": self.says, "source": self.source,
                "checked": self.checked}


_FACTS: dict[str, Fact] = {}


def fact(key: str, value: Any, unit: str, says: str, source: str, checked: str = CHECKED) -> Fact:
    if key in _FACTS:
        raise ValueError(f"fact {key!r} stated twice")
    _FACTS[key] = f = Fact(key, value, unit, says, source, checked)
    return f


def all_facts() -> list[Fact]:
    return list(_FACTS.values())


def get(key: str) -> Fact:
    return _FACTS[key]


# -- API Gateway (REST API stage cache) -----------------------------------------------------------
APIGW_CACHE_TTL_DEFAULT_S = fact(
    "apigateway.cache.ttl_default_s", 300, "s",
    "A REST API stage cache keeps a response 300 seconds unless the stage or method sets another TTL.",
    APIGW_CACHING)
APIGW_CACHE_TTL_MAX_S = fact(
    "apigateway.cache.ttl_max_s", 3600, "s", "The stage cache TTL can be set from 0 to 3600 seconds.",
    APIGW_CACHING)
APIGW_CACHE_SIZES_GB = fact(
    "apigateway.cache.sizes_gb", ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"), "GB",
    "A stage cache is provisioned in one of eight sizes, from 0.5 GB to 237 GB, billed per hour.", APIGW_CACHING)
APIGW_CACHE_MAX_RESPONSE_BYTES = fact(
    "apigateway.cache.max_response_bytes", 1048576, "bytes",
    "Responses larger than 1,048,576 bytes are not cached.", APIGW_CACHING)

# -- DynamoDB Accelerator ------------------------------------------------------------------------
DAX_ITEM_TTL_DEFAULT_S = fact(
    "dax.item_cache.ttl_default_s", 300, "s", "The DAX item cache keeps an item 5 minutes by default.",
    DAX_CONSISTENCY)
DAX_QUERY_TTL_DEFAULT_S = fact(
    "dax.query_cache.ttl_default_s", 300, "s",
    "The DAX query cache keeps a Query or Scan result 5 minutes by default; writes do not invalidate it.",
    DAX_CONSISTENCY)
DAX_NODE_MEMORY_GIB = fact(
    "dax.node_memory_gib", {
        "dax.t2.small": 2, "dax.t2.medium": 4, "dax.t3.small": 2, "dax.t3.medium": 4,
        "dax.r4.large": 15.25, "dax.r4.xlarge": 30.5, "dax.r4.2xlarge": 61, "dax.r4.4xlarge": 122,
        "dax.r5.large": 16, "dax.r5.xlarge": 32, "dax.r5.2xlarge": 64, "dax.r5.4xlarge": 128,
        "dax.r5.8xlarge": 256, "dax.r5.12xlarge": 384, "dax.r5.16xlarge": 512, "dax.r5.24xlarge": 768},
    "GiB", "Memory of each DAX node type, which bounds what its caches hold.", DAX_PRICING)
DAX_NODE_TYPE_DEFAULT = fact(
    "dax.node_type_default", "dax.t3.small", "",
    "The smallest current-generation DAX node type, used by the runs and the default model.", DAX_NODES)
DAX_NODES_PRODUCTION = fact(
    "dax.nodes_production", 3, "nodes",
    "AWS recommends at least three nodes, in different Availability Zones, for a production DAX cluster.",
    DAX_NODES)

# -- CloudFront ------------------------------------------------------------------------------------
CF_CACHING_OPTIMIZED = fact(
    "cloudfront.policy.caching_optimized", {"id": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                                            "MinTTL": 1, "DefaultTTL": 86400, "MaxTTL": 31536000}, "s",
    "The managed CachingOptimized policy caches for 1 day by default (1 s to 365 days, as the origin's "
    "Cache-Control asks).", CF_MANAGED_POLICIES)
CF_CACHING_OPTIMIZED_UNCOMPRESSED = fact(
    "cloudfront.policy.caching_optimized_uncompressed", {"id": "b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
                                                         "MinTTL": 1, "DefaultTTL": 86400, "MaxTTL": 31536000},
    "s", "CachingOptimizedForUncompressedObjects: the same TTLs without compression.", CF_MANAGED_POLICIES)
CF_CACHING_DISABLED = fact(
    "cloudfront.policy.caching_disabled", {"id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                                           "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0}, "s",
    "The managed CachingDisabled policy sends every request to the origin.", CF_MANAGED_POLICIES)
CF_ERROR_CACHING_TTL_S = fact(
    "cloudfront.error_caching_min_ttl_s", 10, "s",
    "CloudFront caches an error response from the origin for 10 seconds by default.", CF_ERROR_CACHING)

# -- Amazon Data Firehose ---------------------------------------------------------------------------
FIREHOSE_BUFFER_MIB = fact(
    "firehose.buffer_size_mib", {"min": 1, "default": 5, "max": 128}, "MiB",
    "Firehose delivers to S3 when its buffer reaches 1 to 128 MiB (5 by default) or its interval ends.",
    FIREHOSE_BUFFERING)
FIREHOSE_BUFFER_INTERVAL_S = fact(
    "firehose.buffer_interval_s", {"min": 0, "default": 300, "max": 900}, "s",
    "The buffer interval runs from 0 to 900 seconds (300 by default).", FIREHOSE_BUFFERING)
FIREHOSE_CONVERSION_MIN_BUFFER_MIB = fact(
    "firehose.conversion_min_buffer_mib", 64, "MiB",
    "With record format conversion (to Parquet or ORC) the buffer size is at least 64 MiB.",
    FIREHOSE_CONVERSION)
FIREHOSE_MAX_RECORD_BYTES = fact(
    "firehose.max_record_bytes", 1000 * 1024, "bytes",
    "A record put to Firehose is at most 1,000 KiB before base64 encoding.", FIREHOSE_LIMITS)
FIREHOSE_MAX_BATCH_RECORDS = fact(
    "firehose.max_batch_records", 500, "records", "PutRecordBatch takes at most 500 records.", FIREHOSE_LIMITS)

# -- Cognito, S3, Lambda ----------------------------------------------------------------------------
COGNITO_ID_TOKEN_VALIDITY_MIN = fact(
    "cognito.id_token_validity_min", 60, "min",
    "An ID token is valid 60 minutes by default (5 minutes to 1 day, set on the app client).", COGNITO_TOKENS)
S3_PRESIGNED_MAX_EXPIRY_S = fact(
    "s3.presigned_url_max_expiry_s", 7 * 24 * 3600, "s",
    "A pre-signed URL signed with Signature Version 4 is valid at most 7 days.", S3_PRESIGNED)
LAMBDA_MAX_TIMEOUT_S = fact(
    "lambda.max_timeout_s", 900, "s", "A Lambda function runs at most 15 minutes (900 seconds).", LAMBDA_LIMITS)

# -- Elastic Load Balancing (Application Load Balancer) --------------------------------------------
ALB_TARGET_GROUPS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html"
ALB_HEALTH_CHECKS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"
ALB_HEALTH_INTERVAL_S = fact(
    "elb.alb.health_check_interval_s", 30, "s",
    "An ALB target group checks each target's health every 30 seconds by default (5 to 300 s).", ALB_HEALTH_CHECKS)
ALB_HEALTHY_THRESHOLD = fact(
    "elb.alb.healthy_threshold", 5, "checks",
    "A target becomes healthy after 5 consecutive successful health checks by default.", ALB_HEALTH_CHECKS)
ALB_DEREGISTRATION_DELAY_S = fact(
    "elb.alb.deregistration_delay_s", 300, "s",
    "A deregistered target drains in-flight requests for 300 seconds by default before it is removed.",
    ALB_TARGET_GROUPS)
ALB_ROUTING_ALGORITHM = fact(
    "elb.alb.routing_algorithm", "round_robin", "",
    "An ALB target group spreads requests round robin over its healthy targets by default.", ALB_TARGET_GROUPS)
S3_KEY_MAX_BYTES = fact(
    "s3.key_max_bytes", 1024, "bytes", "An S3 object key is at most 1,024 bytes of UTF-8.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html")
S3_METADATA_MAX_BYTES = fact(
    "s3.user_metadata_max_bytes", 2048, "bytes",
    "User-defined object metadata is at most 2 KB (keys and values, in UTF-8); values sent through the "
    "REST API must be US-ASCII.", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html")

# -- Route 53 ------------------------------------------------------------------------------------------
R53_HEALTH = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html"
R53_HEALTH_INTERVAL_S = fact(
    "route53.health_check.interval_s", 30, "s",
    "A Route 53 health check probes its endpoint every 30 seconds (standard) or 10 seconds (fast).", R53_HEALTH)
R53_FAILURE_THRESHOLD = fact(
    "route53.health_check.failure_threshold", 3, "checks",
    "An endpoint is unhealthy after 3 consecutive failed checks by default (1 to 10).", R53_HEALTH)
R53_HOW_HEALTH = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html"
R53_FAILOVER_S = fact(
    "route53.failover.detection_s", R53_HEALTH_INTERVAL_S.value * R53_FAILURE_THRESHOLD.value, "s",
    "Time for a failover record to switch after its endpoint fails, about the request interval times the failure "
    f"threshold ({R53_HEALTH_INTERVAL_S.value} s x {R53_FAILURE_THRESHOLD.value} = "
    f"{R53_HEALTH_INTERVAL_S.value * R53_FAILURE_THRESHOLD.value} s with the defaults): each health checker needs "
    "that many consecutive failures (an HTTP check fails without a 2xx or 3xx answer), and Route 53 marks the "
    "endpoint unhealthy once 18% or fewer of its checkers see it healthy. Resolvers get the secondary when the "
    "record's TTL has passed in their cache.", R53_HOW_HEALTH, checked="2026-12-02")

# -- AWS IoT Core -----------------------------------------------------------------------------------
IOT_QUOTAS = "https://docs.aws.amazon.com/general/latest/gr/iot-core.html"
IOT_MAX_PAYLOAD_BYTES = fact(
    "iot.message_broker.max_payload_bytes", 128 * 1024, "bytes",
    "The IoT Core message broker accepts a message payload of at most 128 KB; a larger publish is refused "
    "(RequestEntityTooLargeException) and never reaches a rule.", IOT_QUOTAS)

# -- Names and behaviours stated in the case texts ---------------------------------------------------
ROUTE53_POLICIES = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy.html"
ROUTE53_ROUTING_POLICIES = fact(
    "route53.routing_policies", {
        "simple": "one resource answers for the name",
        "failover": "active-passive: the secondary answers while the primary's health check fails",
        "geolocation": "by where the user is (continent, country, US state)",
        "geoproximity": "by where the resources are, with a bias that shifts traffic between them",
        "latency": "the Region with the lowest latency for the user",
        "IP-based": "by the CIDR block the query comes from",
        "multivalue answer": "up to eight healthy records, chosen at random",
        "weighted": "in proportions you set (canary, blue/green)"},
    "", "Route 53 offers eight routing policies for a record.", ROUTE53_POLICIES)
ELASTICACHE_ENGINES = fact(
    "elasticache.engines", ("Valkey", "Redis OSS", "Memcached"), "",
    "ElastiCache runs Valkey, Redis OSS or Memcached; 'ElastiCache for Redis' is now ElastiCache for Redis OSS.",
    "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/WhatIs.html")
FIREHOSE_NAME = fact(
    "firehose.name", "Amazon Data Firehose", "",
    "Amazon Kinesis Data Firehose was renamed Amazon Data Firehose in February 2024.",
    "https://docs.aws.amazon.com/firehose/latest/dev/what-is-this-service.html")
QUICK_SIGHT_NAME = fact(
    "quicksight.name", "Amazon Quick Sight", "", "Amazon QuickSight is now named Amazon Quick Sight.",
    "https://aws.amazon.com/quicksight/")
SES_SANDBOX = fact(
    "ses.sandbox", {"max_per_24h": 200, "max_per_second": 1}, "",
    "A new SES account is in the sandbox: it sends only to verified addresses and domains, at most 200 "
    "messages in 24 hours and 1 a second, until production access is granted.",
    "https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html")
GLOBAL_TABLES_VERSION = fact(
    "dynamodb.global_tables.version", "2019.11.21", "",
    "Global tables version 2019.11.21 (the current one) replicates items as written; only the legacy "
    "2017.11.29 version added aws:rep:* attributes.",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GlobalTables.html")
GLOBAL_TABLES_MRSC = fact(
    "dynamodb.global_tables.mrsc", {"regions": 3, "or": "two Regions and a witness"}, "",
    "Multi-Region strong consistency (GA 2025) needs three Regions, or two and a witness; the table must be "
    "empty when it starts, and every write waits for a cross-Region round trip.",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html")

# -- Failures, retries and dead letters (what the run's injected faults exercise) -------------------
FAULTS_CHECKED = "2026-12-02"
LAMBDA_ASYNC_ERRORS = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html"
LAMBDA_ASYNC_CONFIG = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html"
LAMBDA_SQS_CONFIG = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
SQS_DLQ = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"
SQS_VISIBILITY = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html"
SDK_RETRIES = "https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html"
LAMBDA_ASYNC_RETRIES = fact(
    "lambda.async.max_retry_attempts", 2, "retries",
    "An asynchronous invocation (S3, SNS, Invoke with InvocationType=Event) that returns an error is run two "
    "more times by default (0 to 2 configurable), then sent to the dead-letter queue or on-failure "
    "destination, if any.", LAMBDA_ASYNC_ERRORS, FAULTS_CHECKED)
LAMBDA_ASYNC_RETRY_WAITS_S = fact(
    "lambda.async.retry_waits_s", (60, 120), "s",
    "Lambda waits about one minute before the first retry of a failed asynchronous invocation and two "
    "minutes before the second.", LAMBDA_ASYNC_ERRORS, FAULTS_CHECKED)
LAMBDA_ASYNC_MAX_EVENT_AGE_S = fact(
    "lambda.async.max_event_age_s", 6 * 3600, "s",
    "Lambda keeps an asynchronous event in its queue for at most 6 hours by default (60 s to 6 h): throttled "
    "(429) and system-error events are retried until then, the interval growing from 1 second to 5 minutes.",
    LAMBDA_ASYNC_CONFIG, FAULTS_CHECKED)
LAMBDA_ASYNC_THROTTLE_RETRY_S = fact(
    "lambda.async.throttle_retry_interval_s", {"first": 1, "max": 300}, "s",
    "A throttled asynchronous event is retried at an interval that grows exponentially from 1 second to at "
    "most 5 minutes, until the maximum event age; throttles do not use up the retry attempts.",
    LAMBDA_ASYNC_ERRORS, FAULTS_CHECKED)
LAMBDA_THROTTLE_ERROR = fact(
    "lambda.throttle.error", {"status": 429, "code": "TooManyRequestsException",
                              "reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}, "",
    "An invocation beyond the function's reserved concurrency is throttled: Invoke answers 429 "
    "TooManyRequestsException and the handler does not run; a reserved concurrency of 0 throttles every one.",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html", FAULTS_CHECKED)
S3_EVENT_DELIVERY = fact(
    "s3.event_notifications.delivery", {"typical": "seconds", "sometimes": "a minute or longer",
                                        "guarantee": "at least once"}, "",
    "S3 event notifications are delivered at least once, typically within seconds but sometimes after a "
    "minute or longer: a reader must not expect the consumer's result the moment the upload returns.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html", FAULTS_CHECKED)
SQS_VISIBILITY_TIMEOUT_DEFAULT_S = fact(
    "sqs.visibility_timeout_default_s", 30, "s",
    "A received SQS message stays invisible for the queue's visibility timeout (30 s by default, at most "
    "12 hours); when it is not deleted in that time, it is received again.", SQS_VISIBILITY, FAULTS_CHECKED)
SQS_LAMBDA_VISIBILITY_FACTOR = fact(
    "sqs.lambda.visibility_timeout_factor", 6, "x function timeout",
    "AWS advises a source queue's visibility timeout of at least six times the function's timeout, so that "
    "Lambda can retry a throttled batch.", LAMBDA_SQS_CONFIG, FAULTS_CHECKED)
SQS_RETENTION_DEFAULT_S = fact(
    "sqs.message_retention_default_s", 345_600, "s",
    "An SQS queue keeps a message 4 days (345,600 s) by default, at most 14 days; a message that is never "
    "deleted is received again after each visibility timeout until then.",
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html",
    "2026-12-07")
SQS_MAX_RECEIVE_COUNT = fact(
    "sqs.redrive.max_receive_count", {"min": 1, "max": 1000, "used": 5}, "receives",
    "A redrive policy moves a message to the dead-letter queue once it has been received maxReceiveCount "
    "times (1 to 1,000) without being deleted; for a Lambda event source a count of at least 5 lets "
    "transient failures be retried first.", SQS_DLQ, FAULTS_CHECKED)
DDB_STREAM_RETRIES = fact(
    "lambda.stream.max_retry_attempts", {"default": -1, "max": 10000, "used": 2}, "retries",
    "A DynamoDB stream event source retries a failed batch until its records expire (-1, the default), or "
    "MaximumRetryAttempts times (0 to 10,000); the batch is then skipped and described to the on-failure destination.",
    "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html", FAULTS_CHECKED)
SDK_STANDARD_MAX_ATTEMPTS = fact(
    "sdk.retry.standard.max_attempts", 3, "attempts",
    "An AWS SDK in standard retry mode makes at most three attempts of a request (the first and two retries) "
    "for throttling and transient errors such as ProvisionedThroughputExceededException.", SDK_RETRIES,
    FAULTS_CHECKED)
SDK_STANDARD_BACKOFF = fact(
    "sdk.retry.standard.backoff_s", {"base": 1, "factor": 2, "max": 20}, "s",
    "Standard mode waits a random time (full jitter) of up to base x 2^(retry - 1) seconds before each retry, "
    "at most 20 seconds; the app counts the mean of that jitter on the run's clock.", SDK_RETRIES,
    FAULTS_CHECKED)
