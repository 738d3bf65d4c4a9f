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
