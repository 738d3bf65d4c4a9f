"""The live path, end to end, against a separate moto server standing in for AWS.

The stand-in is its own process (no hooks of this runtime, as AWS), reached through
EXPLORER_AWS_ENDPOINT_URL. Lambda code cannot run there (moto needs Docker), so the
checks that read a function's effect fail; what is tested is the guard, tagging,
teardown with a failure injected at each step, cleanup by tag and credentials hygiene.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.runtime import teardown as td
from app.runtime.clients import Clients
from app.runtime.live import LIVE_ENV_VAR, LiveError, check_region, live_allowed, live_disabled_reason, live_session
from app.runtime.pipeline import run_pipeline
from app.runtime.testpipelines.pipelines import PIPELINES

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sTaNdIn-SeCrEt-7f3a9c"
KEY_ID = "AKIASTANDIN7F3A9C"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stand_in():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def live_env(stand_in, monkeypatch):
    monkeypatch.setenv("EXPLORER_AWS_ENDPOINT_URL", stand_in)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return stand_in


def stand_in_holds(endpoint: str, region: str = "us-east-1") -> list[str]:
    """Everything the stand-in account holds (read with plain credentials, no filter)."""
    clients = Clients(account_id="", region=region, access_key=KEY_ID, secret_key=SECRET, endpoint_url=endpoint)
    left = td.inventory(clients, [region])
    ses = clients.client("ses").list_identities()["Identities"]
    return left + [f"ses:{i}" for i in ses if f"ses:{i}" not in left]


# -- the guard ------------------------------------------------------------------------------
def test_live_is_allowed_only_by_the_environment_variable():
    assert not live_allowed({})
    assert not live_allowed({LIVE_ENV_VAR: "0"})
    assert not live_allowed({LIVE_ENV_VAR: "maybe"})
    assert live_allowed({LIVE_ENV_VAR: "1"}) and live_allowed({LIVE_ENV_VAR: "true"})
    assert LIVE_ENV_VAR in live_disabled_reason({}) and live_disabled_reason({LIVE_ENV_VAR: "yes"}) is None


def test_region_must_be_offered():
    assert check_region("eu-west-1") == "eu-west-1"
    with pytest.raises(LiveError, match="us-east-1"):
        check_region("mars-1")


def cli(args, env_extra, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(env_extra)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_cli_refuses_live_without_yes(live_env, tmp_path):
    env = {"EXPLORER_AWS_ENDPOINT_URL": live_env, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "HOME": str(tmp_path)}
    r = cli(["run", "runtime:s3-lambda", "--backend", "live"], env, tmp_path)
    assert r.returncode == 2 and "--yes" in r.stderr and "estimated cost" in r.stderr
    assert stand_in_holds(live_env) == []


# -- end to end, failures injected -----------------------------------------------------------
class Injected(RuntimeError):
    pass


def _inject(pipeline, index: int, before: bool):
    steps = [s for s in pipeline.ordered() if s.phase != "teardown"]
    step = steps[index]
    original = step.fn

    def failing(ctx):
        if not before:
            original(ctx)
        raise Injected(f"failure injected {'before' if before else 'after'} {step.name!r}")
    step.fn = failing
    return step.name


@pytest.mark.parametrize("name", ["s3-sqs-lambda-ddb", "five-hops"])
def test_failure_at_each_step_leaves_nothing_behind(live_env, name):
    n = len([s for s in PIPELINES[name]().ordered() if s.phase != "teardown"])
    for index in range(n):
        for before in (False, True) if index == 0 else (False,):
            pipeline = PIPELINES[name]()
            failed_step = _inject(pipeline, index, before)
            session = live_session("us-east-1")
            result = run_pipeline(pipeline, {"uploads": 2}, session=session, own_session=True, check_leftovers=True)
            statuses = {s.name: s.status for s in result.steps}
            assert statuses[failed_step] == "error" and not result.ok
            assert result.teardown["errors"] == [] and result.teardown["left"] == []
            assert stand_in_holds(live_env) == [], (name, failed_step)


def test_every_resource_of_a_live_run_carries_the_run_tag(live_env):
    pipeline = PIPELINES["five-hops"]()
    seen = {}

    @pipeline.verify("Everything is tagged", service="all")
    def tagged(ctx):
        everything = td.inventory(ctx.clients, [ctx.session.region])
        mine = td.inventory(ctx.clients, [ctx.session.region], td.tagged(ctx.session.run_id))
        seen.update(everything=everything, mine=mine, session=ctx.session.inventory())
        return True, f"{len(mine)} of {len(everything)} tagged"

    result = run_pipeline(pipeline, {"uploads": 1}, session=live_session("us-east-1"), own_session=True,
                          check_leftovers=True)
    # SES identities take no tags: the session remembers the ones it verified instead
    untaggable = [x for x in seen["everything"] if x.startswith("ses:")]
    assert untaggable == ["ses:orders@example.com"]
    assert seen["everything"] and [x for x in seen["everything"] if x not in untaggable] == seen["mine"]
    assert seen["session"] == seen["everything"]
    assert {"lambda", "s3", "sqs", "dynamodb", "logs", "iam"} <= {x.split(":")[0] for x in seen["mine"]}
    assert result.backend == "live" and result.teardown["left"] == []
    assert stand_in_holds(live_env) == []     # the SES identity it verified went too


def test_cli_live_run_and_cleanup_by_tag_without_leaking_credentials(live_env, tmp_path):
    env = {"EXPLORER_AWS_ENDPOINT_URL": live_env, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "HOME": str(tmp_path)}
    r = cli(["run", "runtime:s3-lambda", "--backend", "live", "--yes", "--json", "--set", "uploads=1"], env, tmp_path)
    out = json.loads(r.stdout)
    assert out["backend"] == "live" and out["cost_estimate"]["usd"] > 0
    # the pipeline ran against the stand-in: resources were made and the upload was stored
    assert all(s["status"] == "ok" for s in out["steps"])
    assert {c["name"]: c["ok"] for c in out["checks"]}["nothing left behind"] is True
    assert r.returncode == 1     # the function could not run on the stand-in, so a check failed, and it says so
    assert stand_in_holds(live_env) == []

    # a crashed run leaves tagged resources; the user's own untagged queue must survive cleanup
    crashed = live_session("us-east-1")
    PIPELINES["s3-lambda"]().ordered()[0].fn(_Ctx(crashed))
    own = Clients(account_id="", region="us-east-1", access_key=KEY_ID, secret_key=SECRET, endpoint_url=live_env)
    own.client("sqs").create_queue(QueueName="users-own-queue")
    listed = cli(["cleanup", "--backend", "live", "--json"], env, tmp_path)
    found = json.loads(listed.stdout)["regions"][0]["found"]
    assert sorted(x.split(":")[0] for x in found) == ["dynamodb", "s3"] and listed.returncode == 0
    assert len(stand_in_holds(live_env)) == 3                     # listing deleted nothing
    deleted = cli(["cleanup", "--backend", "live", "--yes", "--json"], env, tmp_path)
    report = json.loads(deleted.stdout)
    assert deleted.returncode == 0 and report["regions"][0]["left"] == []
    assert stand_in_holds(live_env) == ["sqs:users-own-queue"]
    own.client("sqs").delete_queue(QueueUrl=own.client("sqs").get_queue_url(QueueName="users-own-queue")["QueueUrl"])

    for text in (r.stdout, r.stderr, listed.stdout, deleted.stdout, deleted.stderr):
        assert SECRET not in text and KEY_ID not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


class _Ctx:
    """A bare run context for calling one step by hand."""

    def __init__(self, session):
        from app.runtime.pipeline import RunContext

        self._ctx = RunContext(session, {"uploads": 1}, "crash")

    def __getattr__(self, name):
        return getattr(self._ctx, name)
