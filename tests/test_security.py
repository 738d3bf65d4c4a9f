"""A hosted demo's safety: credentials planted in the environment appear in no output, each session
is held to limits on what its runs store in the embedded backend, and an idle session's account goes."""
from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from streamlit.testing.v1 import AppTest

from app.core import limits
from app.core.cases import executable_cases, modelled_cases
from app.runtime import quota
from app.runtime.session import RuntimeSession, SessionRegistry
from tests.commandline import cli, cli_batch
from tests.conftest import APP_ENTRY, ROOT
from tests.runpage import open_run_page, press_run


def planted() -> dict[str, str]:
    """Credentials of the shape AWS hands out, drawn at random so no output can hold them by chance."""
    return {"AWS_ACCESS_KEY_ID": "AKIA" + secrets.token_hex(8).upper(),
            "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30)[:40],
            "AWS_SESSION_TOKEN": "IQoJb3JpZ2lu" + secrets.token_urlsafe(150)}


def leaks(text: str, env: dict[str, str]) -> list[str]:
    return [name for name, value in env.items() if value in text]


def files_written_since(start: float, *folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if ".git" in path.parts or not path.is_file():
                continue
            try:
                if path.stat().st_mtime >= start:
                    found.append(path)
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_planted_credentials_reach_no_output_of_any_command(tmp_path):
    env = planted()
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    start = time.time() - 1
    runnable = [c.id for c in executable_cases()]
    assert runnable
    commands = [["run", case_id, "--json"] for case_id in runnable]
    commands.append(["run", runnable[0]])                              # the text report of a run
    for case_id in runnable:
        commands += [["diagram", case_id, "--format", "svg", "-o", str(tmp_path / f"{case_id}.svg")],
                     ["diagram", case_id, "--format", "dot", "-o", str(tmp_path / f"{case_id}.dot")]]
    commands += [["simulate", c.id, "--samples", "1000", "--json"] for c in modelled_cases()]
    commands += [["list", "--json"], ["prices"], ["params", runnable[0], "--json"]]
    # one process runs every command: what it printed, all of it, and what it wrote are searched
    ran, process = cli_batch(commands, env={**env, "TMPDIR": str(temp)})
    for args, r in zip(commands, ran):
        assert r.returncode == 0, (args, r.stderr[-500:])
        if args[0] == "run" and "--json" in args:
            assert '"trace' in r.stdout or '"spans"' in r.stdout      # the trace is in what is searched
    assert len(process.stdout) > sum(len(r.stdout) for r in ran)      # each command's output is in it
    printed = [r.stdout + r.stderr for r in ran] + [process.stdout, process.stderr]
    assert leaks("\n".join(printed), env) == []
    written = files_written_since(start, tmp_path, ROOT)
    assert any(p.suffix == ".svg" for p in written)
    for path in written:                  # exports, logs, caches and anything else the commands wrote
        assert leaks(path.read_bytes().decode(errors="replace"), env) == [], path


def _page_text(at: AppTest) -> str:
    """Everything the pages sent to the browser: each element's message, as text."""
    parts_ = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts_.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at.main)
    walk(at.sidebar)
    return "\n".join(parts_)


@pytest.mark.slow
def test_planted_credentials_appear_on_no_page(monkeypatch):
    env = planted()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(APP_ENTRY, default_timeout=300)
    at.run()
    texts = [_page_text(at)]
    for page in ("views/whatif.py", "views/study.py"):
        at.switch_page(page).run()
        assert not at.exception
        texts.append(_page_text(at))
    at = open_run_page("todo-api")
    passed, total = press_run(at)
    assert passed == total
    texts.append(_page_text(at))
    assert len("".join(texts)) > 10_000
    assert leaks("\n".join(texts), env) == []


# -- what one session may store -------------------------------------------------------------------
def test_the_limits_are_read_from_one_place_and_checked(monkeypatch):
    assert [lim.key for lim in limits.all_limits()] == ["session_max_objects", "session_max_bytes",
                                                        "session_max_items", "session_idle_s"]
    monkeypatch.setenv("EXPLORER_SESSION_MAX_ITEMS", "12")
    assert limits.SESSION_MAX_ITEMS.value == 12
    for bad in ("many", "0", "-3"):
        monkeypatch.setenv("EXPLORER_SESSION_MAX_ITEMS", bad)
        with pytest.raises(ValueError, match="EXPLORER_SESSION_MAX_ITEMS"):
            limits.SESSION_MAX_ITEMS.value  # noqa: B018  (reading the limit is what raises)


def test_a_session_past_its_limits_is_refused_with_a_message_and_stores_nothing_more(monkeypatch):
    monkeypatch.setenv("EXPLORER_SESSION_MAX_OBJECTS", "3")
    monkeypatch.setenv("EXPLORER_SESSION_MAX_BYTES", "5000")
    monkeypatch.setenv("EXPLORER_SESSION_MAX_ITEMS", "4")
    with RuntimeSession.moto() as s:
        s3, ddb = s.clients.client("s3"), s.clients.client("dynamodb")
        bucket = s.name("files")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 1000)
        with pytest.raises(ClientError) as refused:                     # 1000 + 4500 bytes > 5000
            s3.put_object(Bucket=bucket, Key="big", Body=b"x" * 4500)
        assert refused.value.response["Error"]["Code"] == "SessionLimitExceeded"
        assert "limit of 5,000 bytes of S3 objects" in str(refused.value) and "big was refused" in str(refused.value)
        s3.put_object(Bucket=bucket, Key="b", Body=b"x")
        s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "b"})   # copies count too
        with pytest.raises(ClientError, match="limit of 3 S3 objects"):
            s3.put_object(Bucket=bucket, Key="d", Body=b"x")
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
        assert keys == ["a", "b", "c"]                                   # read back: nothing refused was stored

        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        ddb.put_item(TableName="t", Item={"k": {"S": "1"}})
        ddb.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"k": {"S": "2"}}}}]})
        ddb.update_item(TableName="t", Key={"k": {"S": "3"}}, UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": {"N": "1"}})
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"k": {"S": "4"}}}}])
        with pytest.raises(ClientError) as refused:
            ddb.put_item(TableName="t", Item={"k": {"S": "5"}})
        assert refused.value.response["Error"]["Code"] == "SessionLimitExceeded"
        assert "limit of 4 DynamoDB item writes" in str(refused.value)
        assert ddb.scan(TableName="t")["Count"] == 4
        assert ddb.get_item(TableName="t", Key={"k": {"S": "1"}})["Item"]    # reads still work
        assert quota.usage(s.account_id) == quota.Usage(objects=3, bytes=1002, items=4)
        account = s.account_id
    assert quota.usage(account) == quota.Usage()                        # the counts go with the account
    with RuntimeSession.moto() as fresh:                                 # the next account starts at zero
        fresh.clients.client("s3").create_bucket(Bucket=fresh.name("files"))
        fresh.clients.client("s3").put_object(Bucket=fresh.name("files"), Key="a", Body=b"x" * 4000)


def test_a_run_past_the_limit_fails_with_the_message_on_the_command_line():
    r = cli("run", "runtime:s3-sqs-lambda-ddb", "--set", "uploads=5", env={"EXPLORER_SESSION_MAX_OBJECTS": "2"})
    assert r.returncode == 1
    assert "SessionLimitExceeded" in r.stdout and "limit of 2 S3 objects" in r.stdout
    assert "Traceback" not in r.stderr
    r = cli("run", "runtime:s3-sqs-lambda-ddb", "--set", "uploads=5")      # the default limits let it run
    assert r.returncode == 0, r.stdout[-800:]


@pytest.mark.slow
def test_a_run_past_the_limit_says_so_on_the_run_page_and_the_session_runs_again(monkeypatch):
    monkeypatch.setenv("EXPLORER_SESSION_MAX_ITEMS", "3")
    at = open_run_page("todo-api")
    passed, total = press_run(at)
    assert passed < total and not at.exception
    shown = _page_text(at)
    assert "SessionLimitExceeded" in shown and "limit of 3 DynamoDB item writes" in shown
    monkeypatch.delenv("EXPLORER_SESSION_MAX_ITEMS")
    passed, total = press_run(at)                                        # a fresh account: green again
    assert passed == total


def test_a_limit_met_inside_a_function_is_named_in_the_step_and_the_check(monkeypatch, capsys):
    import json

    from app.cli import main

    monkeypatch.setenv("EXPLORER_SESSION_MAX_ITEMS", "3")      # the posts take 3; the sign-up's user item is one more
    assert main(["run", "global-blog", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    says = "The session's limit of 3 DynamoDB item writes (EXPLORER_SESSION_MAX_ITEMS) was reached"
    step = next(s for s in out["steps"] if s["name"] == "A new user signs up")   # refused inside the API's function
    assert step["status"] == "error" and step["error"].startswith(f"SessionLimitExceeded: {says}"), step["error"]
    check = next(c for c in out["checks"] if c["name"] == "pipeline ran to the end")
    assert not check["ok"] and says in check["detail"]
    assert all(s["status"] == "skipped" for s in out["steps"] if s["phase"] == "verify")   # nothing more is tried


@pytest.mark.slow
def test_a_sessions_runs_share_its_limits_and_a_new_session_starts_again(monkeypatch):
    monkeypatch.setenv("EXPLORER_SESSION_MAX_OBJECTS", "10")   # a MyBlog.com run stores 6 objects
    at = open_run_page("global-blog")
    passed, total = press_run(at)
    assert passed == total
    passed, total = press_run(at)                              # the same session: 6 + 6 is over 10
    assert passed < total and not at.exception
    shown = _page_text(at).replace("\\'", "'")
    assert "The session's limit of 10 S3 objects (EXPLORER_SESSION_MAX_OBJECTS) was reached" in shown
    assert "used by this session's runs" in shown
    fresh = open_run_page("global-blog")                       # another session counts from zero
    passed, total = press_run(fresh)
    assert passed == total


def test_an_idle_sessions_account_is_dropped_when_the_next_session_opens(monkeypatch):
    monkeypatch.setenv("EXPLORER_SESSION_IDLE_S", "60")
    reg = SessionRegistry()
    assert reg.idle_s == 60
    a = reg.get("visitor-a")
    bucket = a.name("files")
    a.clients.client("s3").create_bucket(Bucket=bucket)
    a.clients.client("s3").put_object(Bucket=bucket, Key="k", Body=b"kept while active")
    assert quota.usage(a.account_id).objects == 1
    a.last_used = time.time() - 61                                       # a minute without a call
    b = reg.get("visitor-b")                                             # opening another session reaps it
    assert a.closed and not b.closed and len(reg) == 1
    assert a.inventory(everywhere=True) == [] and quota.usage(a.account_id) == quota.Usage()
    again = reg.get("visitor-a")                                         # the visitor comes back: a new account
    assert again is not a and again.account_id != a.account_id
    reg.end("visitor-a")
    reg.end("visitor-b")
