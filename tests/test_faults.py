"""Injected faults: retried as AWS retries them, dead-lettered, redriven, and every ledger balances.

Through the command line (`run CASE --fault NAME=VALUE --json`) and through the runtime with a session
the test keeps open, so that the dead-letter queues are read back from the backend with boto3 before
the account is torn down.
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from app.cli import main
from app.core import facts
from app.core.cases import get_case
from app.runtime.faults import FAULTS, FaultRegistry, parse_faults
from app.runtime.pipeline import load_pipeline, run_pipeline
from app.runtime.testpipelines.pipelines import PIPELINES


def _run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["run", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _balanced(ledger: dict) -> None:
    assert ledger, "the run has no flow in its ledger"
    for name, n in ledger.items():
        assert n["lost"] == 0, (name, n)
        assert n["in"] == n["processed"] + n["dead_lettered"] > 0, (name, n)


def _check(out: dict, name: str) -> dict:
    return next(c for c in out["checks"] if c["name"] == name)


def _dlq_depth(session, queue_name: str) -> int:
    sqs = session.clients.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


# -- the catalogue and its refusals -----------------------------------------------------------------
def test_unknown_fault_bad_value_and_fault_without_flow_exit_2(capsys):
    cases = [(["global-blog", "--fault", "disk_full=1"], "unknown fault 'disk_full'"),
             (["global-blog", "--fault", "lambda_error_rate=1.5"], "out of range"),
             (["global-blog", "--fault", "lambda_error_rate=nan"], "not a finite number"),
             (["global-blog", "--fault", "lambda_error_rate"], "is not KEY=VALUE"),
             (["todo-api", "--fault", "lambda_error_rate=0.5"], "does not apply to todo-api"),
             (["software-updates", "--fault", "ddb_throttle_rate=0.5"], "faults of software-updates: none")]
    for argv, message in cases:
        assert main(["run", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, (argv, err)
    assert main(["run", "todo-api", "--fault", "ddb_throttle_rate=0.5", "--backend", "live", "--yes"]) == 2
    assert "embedded backend only" in capsys.readouterr().err


def test_parse_faults_names_the_faults_that_apply():
    assert parse_faults(["ses_reject_rate=0.25"], ("ses_reject_rate",)) == {"ses_reject_rate": 0.25}
    with pytest.raises(ValueError, match="faults of iot: lambda_error_rate"):
        parse_faults(["ses_reject_rate=1"], ("lambda_error_rate",), "iot")
    pipeline = load_pipeline(get_case("global-blog"), get_case("global-blog").resolve({"global_tables": "on"}))
    assert set(pipeline.faults) == set(FAULTS)
    one_region = load_pipeline(get_case("global-blog"), get_case("global-blog").resolve({}))
    assert set(FAULTS) - set(one_region.faults) == {"region_outage"}      # no replica to fail over to
    with pytest.raises(ValueError, match="do not apply"):
        run_pipeline(load_pipeline(get_case("todo-api"), get_case("todo-api").resolve({})), {},
                     faults={"lambda_error_rate": 1.0})


def test_rates_fail_the_first_attempt_then_keep_their_share():
    reg = FaultRegistry({"lambda_error_rate": 0.25})
    fired = [reg.lambda_fault("fn", "sqs") is not None for _ in range(8)]
    assert fired == [True, False, False, False, True, False, False, False]
    assert reg.lambda_fault("fn", "apigateway") is None       # synchronous API calls are not failed
    reg.lift()
    assert reg.lambda_fault("fn", "sqs") is None and reg.counters["lambda_errors"] == 2


def test_what_the_faults_did_reads_in_words():
    reg = FaultRegistry({"lambda_error_rate": 0.5, "lambda_throttle_rate": 1.0})
    for _ in range(4):
        reg.lambda_fault("fn", "sqs")
    text = reg.describe()
    assert "2 Lambda invocations failed by the injected Lambda error rate of 50%" in text
    assert "throttled by the injected Lambda throttling of 100%" in text
    assert "=" not in text and "_rate" not in text


def test_throttled_request_is_retried_by_the_sdk_with_backoff_on_the_run_clock(runtime_session):
    """Three attempts (standard mode); the waits move the run's clock, none is slept."""
    from app.runtime.pipeline import RunClock

    ddb = runtime_session.clients.client("dynamodb")
    table = runtime_session.name("throttled")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    clock = RunClock()
    inside = [True]
    reg = FaultRegistry({"ddb_throttle_rate": 1.0}, clock=clock, trace=runtime_session.trace,
                        in_invocation=lambda: inside[0])
    runtime_session.install_faults(reg)
    try:
        with pytest.raises(ClientError) as err:
            ddb.put_item(TableName=table, Item={"k": {"S": "a"}})
        assert err.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        attempts = facts.SDK_STANDARD_MAX_ATTEMPTS.value
        assert reg.counters["ddb_throttled_attempts"] == attempts == 3
        assert clock.offset == pytest.approx(0.5 + 1.0)       # mean full-jitter waits before retries 1 and 2
        inside[0] = False                                    # the pipeline's own read-back is not throttled
        assert "Item" not in ddb.get_item(TableName=table, Key={"k": {"S": "a"}})
        inside[0] = True
        reg.lift()
        ddb.put_item(TableName=table, Item={"k": {"S": "a"}})
    finally:
        runtime_session.remove_faults()
    assert "Item" in ddb.get_item(TableName=table, Key={"k": {"S": "a"}})


def test_throttled_async_event_is_retried_until_its_maximum_age_then_dead_lettered(runtime_session):
    """Throttles do not use up the two retries: Lambda retries for up to 6 hours (1 s doubling to 5 min)."""
    from app.runtime.pipeline import RunClock

    dlq = runtime_session.clients.client("sqs").create_queue(QueueName=runtime_session.name("fn-dlq"))["QueueUrl"]
    dlq_arn = runtime_session.clients.client("sqs").get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fn = runtime_session.lambdas.deploy("reader", "tests.dataplane_handlers.get_item", dead_letter_arn=dlq_arn)
    clock = RunClock()
    reg = FaultRegistry({"lambda_throttle_rate": 1.0}, clock=clock, trace=runtime_session.trace)
    runtime_session.install_faults(reg)
    try:
        result = runtime_session.lambdas.invoke_async("reader", {"n": 1}, source="s3")
    finally:
        runtime_session.remove_faults()
    assert result.throttled and not result.ok and fn.invocations == 0        # the handler never ran
    age = facts.LAMBDA_ASYNC_MAX_EVENT_AGE_S.value
    assert age - 300 < clock.offset <= age
    assert result.attempts == reg.counters["lambda_throttles"] > facts.LAMBDA_ASYNC_RETRIES.value + 1
    assert _dlq_depth(runtime_session, runtime_session.name("fn-dlq")) == 1
    message = runtime_session.clients.client("sqs").receive_message(
        QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"][0]
    assert json.loads(message["Body"]) == {"n": 1}
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"


# -- the runtime's own SQS pipeline: fast, every mechanism ----------------------------------------
def test_sqs_flow_dead_letters_after_max_receive_count_and_redrive_processes_them(runtime_session):
    result = run_pipeline(PIPELINES["s3-sqs-lambda-ddb"](), {"uploads": 3}, session=runtime_session,
                          own_session=False, faults={"lambda_error_rate": 1.0}, redrive=False)
    n = result.ledger["sqs -> indexer"]
    # 3 uploads plus S3's test event, each received maxReceiveCount (3) times, then moved to the DLQ
    assert n == {**n, "in": 4, "processed": 0, "dead_lettered": 4, "lost": 0, "in_flight": 0}
    assert n["failed_attempts"] == 4 * 3
    dlq = n["dead_letter_queue"]
    assert _dlq_depth(runtime_session, dlq) == 4           # read back from the backend
    messages = result.artifacts["dead_letters"]
    assert len(messages) == 4 and all(m["queue"] == dlq for m in messages)
    assert not next(c for c in result.checks if c.name == "every upload indexed, key decoded").ok
    # the redrive (the faults have cleared): the messages go back to their queue and are processed
    handed = runtime_session.routing.redrive()
    assert handed == {"sqs -> indexer": 4}
    after = runtime_session.routing.ledger()["sqs -> indexer"]
    assert (after["processed"], after["dead_lettered"], after["lost"]) == (4, 0, 0)
    assert _dlq_depth(runtime_session, dlq) == 0


def test_delayed_s3_events_arrive_late_on_the_run_clock_and_nothing_is_lost(runtime_session):
    result = run_pipeline(PIPELINES["s3-sqs-lambda-ddb"](), {"uploads": 3}, session=runtime_session,
                          own_session=False, faults={"s3_event_delay_s": 300})
    before = result.artifacts["ledger_before_redrive"]["sqs -> indexer"]
    # when the drive steps ended, the uploads' events had not reached the function: in flight, not lost
    assert before["processed"] <= 1 and before["in_flight"] >= 3 and before["lost"] == 0
    after = result.ledger["sqs -> indexer"]
    assert (after["in"], after["processed"], after["in_flight"], after["lost"]) == (4, 4, 0, 0)
    assert result.ok, [c for c in result.checks if not c.ok]
    assert result.faults["counters"]["s3_events_delayed"] == 3
    assert 290 < result.faults["modelled_wait_s"] <= 300


@pytest.mark.parametrize("faults", [["lambda_error_rate=0.5"], ["lambda_error_rate=1"], ["ddb_throttle_rate=0.5"],
                                    ["ddb_throttle_rate=1"], ["lambda_throttle_rate=1"],
                                    ["lambda_throttle_rate=0.5", "ddb_throttle_rate=0.5"], ["s3_event_delay_s=300"]])
def test_runtime_pipeline_every_fault_recovers_with_nothing_lost(capsys, faults):
    argv = ["runtime:s3-sqs-lambda-ddb"] + [a for f in faults for a in ("--fault", f)]
    code, out = _run(capsys, *argv)
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and not failed, failed
    _balanced(out["ledger"])
    assert out["ledger"]["sqs -> indexer"]["dead_lettered"] == 0            # all redriven and processed
    assert _check(out, "the injected faults fired")["ok"]
    assert out["faults"]["given"] == parse_faults(faults, FAULTS)


# -- the cases ----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("fault", ["lambda_error_rate=1", "lambda_throttle_rate=1", "ses_reject_rate=1",
                                   "ddb_throttle_rate=0.5", "s3_event_delay_s=90"])
def test_global_blog_faults_recover_with_nothing_lost(capsys, fault):
    code, out = _run(capsys, "global-blog", "--fault", fault)
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and not failed, failed
    _balanced(out["ledger"])
    # the two asynchronous flows, and the API's requests (answered synchronously: a failure reaches the caller)
    assert set(out["ledger"]) == {"dynamodb -> welcome", "s3 -> thumbnail", "callers -> blog-api API (us-east-1)"}
    name = fault.split("=")[0]
    if name in ("lambda_error_rate", "lambda_throttle_rate", "ses_reject_rate"):   # dead-lettered, then redriven
        assert sum(n["redriven"] for n in out["ledger"].values()) >= 1
        assert out["artifacts"]["dead_letters"]
    assert "Maria Lopez" in out["artifacts"]["email"]["subject"]


@pytest.mark.slow
def test_global_blog_ses_rejection_without_redrive_keeps_the_batch_in_the_on_failure_queue(runtime_session):
    case = get_case("global-blog")
    pipeline = load_pipeline(case, case.resolve({}))
    result = run_pipeline(pipeline, case.resolve({}), session=runtime_session, own_session=False,
                          faults={"ses_reject_rate": 1.0}, redrive=False)
    welcome = result.ledger["dynamodb -> welcome"]
    assert welcome["dead_lettered"] == 1 and welcome["lost"] == 0
    assert welcome["in"] == welcome["processed"] + 1
    assert welcome["failed_attempts"] == 1 + facts.DDB_STREAM_RETRIES.value["used"]
    assert _dlq_depth(runtime_session, welcome["dead_letter_queue"]) == 1
    body = json.loads(result.artifacts["dead_letters"][0]["body"])
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["DDBStreamBatchInfo"]["batchSize"] == 1
    by_name = {c.name: c for c in result.checks}
    assert not by_name["the stream triggered the welcome email, naming the new user"].ok    # it says so
    assert by_name["every event of dynamodb -> welcome is accounted for"].ok
    # redriven once SES accepts again: the email goes out and the on-failure queue is empty
    assert runtime_session.routing.redrive() == {"dynamodb -> welcome": 1}
    assert runtime_session.routing.ledger()["dynamodb -> welcome"]["dead_lettered"] == 0
    assert _dlq_depth(runtime_session, welcome["dead_letter_queue"]) == 0


@pytest.mark.slow
def test_iot_analytics_lambda_errors_recover_before_the_reports(capsys):
    code, out = _run(capsys, "iot-analytics", "--fault", "lambda_error_rate=1")
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and not failed, failed
    _balanced(out["ledger"])
    n = out["ledger"]["sqs -> register-partitions"]
    assert n["redriven"] == n["in"] and n["failed_attempts"] == n["in"] * facts.SQS_MAX_RECEIVE_COUNT.value["used"]
    names = [s["name"] for s in out["steps"]]
    assert names.index("The faults clear; the dead-letter queues are redriven") < names.index(
        "Run the report queries on Athena")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["todo-api", "paid-content", "microservices"])
def test_ddb_throttling_is_absorbed_by_sdk_retries(capsys, case):
    code, out = _run(capsys, case, "--fault", "ddb_throttle_rate=0.5")
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and not failed, failed
    counters = out["faults"]["counters"]
    assert counters["ddb_throttled_attempts"] > 0 and counters["ddb_failed_requests"] == 0
    assert counters["ddb_retried_ok"] == counters["ddb_requests"]
    assert "got through on an SDK retry" in _check(out, "the injected faults fired")["detail"]


def test_welcome_handler_is_idempotent_when_its_stream_batch_is_retried(runtime_session):
    """SES rejects a send in a two-user batch: the batch is retried whole, and each user still gets one email."""
    from app.runtime.pipeline import RunClock
    from patterns.global_blog.pipeline import SENDER

    s = runtime_session
    ddb = s.clients.client("dynamodb")
    table = s.name("blog")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    s.clients.client("ses").verify_email_identity(EmailAddress=SENDER)
    s.lambdas.deploy("welcome", "patterns.global_blog.handlers.welcome_email",
                     env={"SENDER_EMAIL": SENDER, "TABLE_NAME": table})
    s.routing.stream_to_lambda(table, "welcome", batch_size=10, starting_position="LATEST", max_retry_attempts=2)
    # 0.5: the first send fails, the second goes out, the third fails, the fourth goes out
    reg = FaultRegistry({"ses_reject_rate": 0.5}, clock=RunClock(), trace=s.trace)
    s.install_faults(reg)
    try:
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {
            "pk": {"S": f"USER#{n}"}, "sk": {"S": "PROFILE"}, "email": {"S": f"user{n}@example.com"}}}}
            for n in (1, 2)]})
        s.routing.drain()
    finally:
        s.remove_faults()
    assert reg.counters["ses_rejected"] == 2
    n = s.routing.ledger()["dynamodb -> welcome"]
    assert n["lost"] == 0 and n["dead_lettered"] == 0 and n["failed_attempts"] == 2
    from app.runtime.mailbox import sent_emails

    to = sorted(addr for m in sent_emails(s) if m["source"] == SENDER for addr in m["to"])
    assert to == ["user1@example.com", "user2@example.com"]            # one each, none twice
    marks = [ddb.get_item(TableName=table, Key={"pk": {"S": f"USER#{n}"}, "sk": {"S": "PROFILE"}})["Item"]
             for n in (1, 2)]
    assert all("welcome_sent_at" in m for m in marks)
