"""Concurrent runs of the same pipeline stay in their own accounts; teardown empties them."""
from __future__ import annotations

import threading
import time

from app.runtime.pipeline import Check, run_pipeline
from app.runtime.session import RuntimeSession, SessionRegistry
from app.runtime.testpipelines.pipelines import s3_sqs_lambda_ddb


def _with_isolation_check(pipeline):
    @pipeline.verify("Only this run's resources are visible", service="all")
    def only_mine(ctx):
        s = ctx.session
        c = s.clients
        names = (c.client("dynamodb").list_tables()["TableNames"]
                 + [u.rsplit("/", 1)[-1] for u in c.client("sqs").list_queues().get("QueueUrls", [])]
                 + [f["FunctionName"] for f in c.client("lambda").list_functions()["Functions"]]
                 + [b["Name"] for b in c.client("s3").list_buckets()["Buckets"]])
        foreign = [n for n in names if not n.startswith(s.prefix + "-")]
        ctx.state["visible"] = names
        return Check("only own resources", not foreign and len(names) == 5, f"visible: {names}")
    return pipeline


def test_eight_concurrent_runs_are_isolated_and_leave_nothing():
    sessions = [RuntimeSession.moto() for _ in range(8)]
    results = [None] * 8
    errors = []
    barrier = threading.Barrier(8)

    def run(i):
        try:
            barrier.wait()
            results[i] = run_pipeline(_with_isolation_check(s3_sqs_lambda_ddb()), {"uploads": 2},
                                      session=sessions[i], own_session=True, check_leftovers=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join(timeout=300) for t in threads]
    assert not errors
    assert len({s.account_id for s in sessions}) == 8
    for r, s in zip(results, sessions):
        assert r.ok, [c for c in r.checks if not c.ok]
        assert r.teardown["left"] == [] and r.teardown["errors"] == []
        # read back from the backend after the run: the account holds nothing
        assert s.inventory(everywhere=True) == []
        assert s.clients.client("dynamodb").list_tables()["TableNames"] == []


def test_registry_tears_down_idle_sessions_only():
    reg = SessionRegistry(idle_s=60)
    a, b = reg.get("a"), reg.get("b")
    a.clients.client("sqs").create_queue(QueueName=a.name("q"))
    b.clients.client("sqs").create_queue(QueueName=b.name("q"))
    a.last_used = time.time() - 120
    assert reg.reap_idle() == ["a"]
    assert a.closed and not b.closed
    assert a.inventory(everywhere=True) == []
    assert b.clients.client("sqs").list_queues()["QueueUrls"]
    assert reg.get("b") is b and len(reg) == 1
    reg.end("b")
    assert b.closed and b.inventory(everywhere=True) == []


def test_threads_of_one_session_each_find_their_work_done(runtime_session):
    """Several threads drive the same session: every upload is indexed exactly once, and each
    thread's PutObject returns only after its own event was handled."""
    from app.runtime.pipeline import RunContext

    s = runtime_session
    ctx = RunContext(s, {"uploads": 1}, "threads")
    for step in s3_sqs_lambda_ddb().ordered():
        if step.phase == "deploy":
            step.fn(ctx)
    s3 = s.clients.client("s3")
    ddb = s.clients.client("dynamodb")
    missing = []

    def upload(i):
        for j in range(5):
            key = f"in/t{i}-{j}.txt"
            s3.put_object(Bucket=ctx.state["bucket"], Key=key, Body=b"x")
            if "Item" not in ddb.get_item(TableName=ctx.state["table"], Key={"pk": {"S": key}}):
                missing.append(key)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join(timeout=120) for t in threads]
    assert missing == []
    assert ddb.scan(TableName=ctx.state["table"], Select="COUNT")["Count"] == 20
    indexer = s.lambdas.get("indexer")
    handled = sum(1 for sp in s.trace.spans if sp.operation == "Invoke" and sp.resource == indexer.name)
    assert handled <= 20 + 1          # batches of one or more; the +1 is S3's test event
