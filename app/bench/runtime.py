"""Runtime: the embedded server's start, the runtime pipelines' run times, the warmed
latency of a five-hop pipeline, and the app process's memory.

* ``server_start_ms``: starting the process's moto server (import included).
* ``pipelines``: each runtime test pipeline run once end to end (deploy, drive with
  three uploads, verify, teardown) in a fresh session.
* ``five_hops``: S3 -> SQS -> Lambda -> DynamoDB -> stream -> Lambda -> SES, deployed
  once and warmed; each sample is one PutObject whose whole chain (two handlers, an
  email) has run when the call returns. ``bare_six_calls_ms`` is six plain boto3 calls
  against the same server, for comparison.
* ``rss_mb``: the process's resident memory after all of that; ``rss_per_session_mb``:
  growth per extra live session, each holding a deployed pipeline.
"""
from __future__ import annotations

import gc
import time
from typing import Any

from app.bench import summary, target

SAMPLES = 25
EXTRA_SESSIONS = 8


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _five_hops(samples: int) -> dict:
    from app.runtime.pipeline import RunContext
    from app.runtime.session import RuntimeSession
    from app.runtime.testpipelines.pipelines import five_hops

    session = RuntimeSession.moto()
    try:
        ctx: RunContext[dict[str, Any]] = RunContext(session, {"uploads": 1}, "five-hops")
        for step in five_hops().ordered():
            if step.phase == "deploy":
                step.fn(ctx)
        s3 = session.clients.client("s3")
        bucket = ctx.state["bucket"]
        for i in range(5):   # warm every service and handler on the path
            s3.put_object(Bucket=bucket, Key=f"warm/{i}.txt", Body=b"w")
        times = []
        for i in range(samples):
            t0 = time.perf_counter()
            s3.put_object(Bucket=bucket, Key=f"in/sample {i}.txt", Body=b"x" * 64)
            times.append((time.perf_counter() - t0) * 1000)
        sent = int(session.clients.client("ses").get_send_quota()["SentLast24Hours"])
        indexed = session.clients.client("dynamodb").scan(TableName=ctx.state["table"], Select="COUNT")["Count"]
        # six bare calls against the same server, for comparison
        ddb = session.clients.client("dynamodb")
        bare = []
        for i in range(12):
            t0 = time.perf_counter()
            s3.put_object(Bucket=bucket, Key="bare", Body=b"x")
            s3.head_object(Bucket=bucket, Key="bare")
            ddb.put_item(TableName=ctx.state["table"], Item={"pk": {"S": "bare"}})
            ddb.get_item(TableName=ctx.state["table"], Key={"pk": {"S": "bare"}})
            session.clients.client("sqs").get_queue_attributes(QueueUrl=ctx.state["queue_url"])
            session.clients.client("ses").get_send_quota()
            if i >= 2:      # the first two warm the calls not on the pipeline's path
                bare.append((time.perf_counter() - t0) * 1000)
        return {**summary(times), "emails_sent": sent, "items_indexed": indexed,
                "expected": samples + 5, "bare_six_calls_ms": summary(bare)["median_ms"]}
    finally:
        session.close()


def run() -> dict:
    from app.runtime.backend import backend_started, get_backend
    from app.runtime.pipeline import run_pipeline
    from app.runtime.session import RuntimeSession
    from app.runtime.testpipelines.pipelines import PIPELINES

    already = backend_started()
    backend = get_backend()
    out: dict = {"server_start_ms": round(backend.start_ms, 1), "server_started_by_earlier_section": already}
    pipelines = {}
    for name, build in PIPELINES.items():
        result = run_pipeline(build(), {"uploads": 3})
        phases: dict[str, float] = {}
        for s in result.steps:
            phases[s.phase] = round(phases.get(s.phase, 0.0) + s.measured_ms, 1)
        pipelines[name] = {"ok": result.ok, "total_ms": round(result.measured_ms, 1), **{f"{k}_ms": v for k, v in
                                                                                         phases.items()},
                           "teardown_ms": result.teardown.get("measured_ms")}
    out["pipelines"] = pipelines
    hops = _five_hops(SAMPLES)
    out["five_hops"] = hops
    gc.collect()
    rss = rss_mb()
    out["rss_mb"] = round(rss, 1)

    # growth per extra session, each holding a deployed, driven pipeline
    from app.runtime.pipeline import RunContext

    sessions = []
    gc.collect()
    before = rss_mb()
    for _ in range(EXTRA_SESSIONS):
        session = RuntimeSession.moto()
        ctx: RunContext[dict[str, Any]] = RunContext(session, {"uploads": 1}, "s3-lambda")
        for step in PIPELINES["s3-lambda"]().ordered():
            if step.phase in ("deploy", "drive"):
                step.fn(ctx)
        sessions.append(session)
    gc.collect()
    per_session = (rss_mb() - before) / EXTRA_SESSIONS
    for session in sessions:
        session.close()
    out["rss_per_session_mb"] = round(per_session, 2)
    out["targets"] = {
        "five_hops_median_ms": target(hops["median_ms"], 150),
        "rss_after_pipelines_mb": target(rss, 500, "MB"),
        "rss_per_extra_session_mb": target(per_session, 10, "MB"),
    }
    out["all_pipelines_ok"] = all(p["ok"] for p in pipelines.values()) and \
        hops["emails_sent"] == hops["expected"] == hops["items_indexed"]
    return out
