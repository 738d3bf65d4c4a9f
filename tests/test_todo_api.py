"""MyTodoList's steps, each run alone against a context prepared for it (the whole run is in test_pipeline_cli)."""
from __future__ import annotations

from app.runtime.pipeline import RunContext
from patterns.todo_api import checks, pipeline as todo


def test_the_sign_in_step_runs_alone_on_the_user_pool_its_deploy_step_made(runtime_session):
    ctx = RunContext(runtime_session, {"dax": False, "api_cache": False}, "todo-api", todo.State)
    todo.user_pool(ctx)
    assert ctx.state.users == {}
    todo.sign_in(ctx)
    assert sorted(ctx.state.users) == ["alice", "bob"]
    assert ctx.state.wrong_password == "NotAuthorizedException"
    claims = {name: ctx.state.user_pool.verify(u.id_token) for name, u in ctx.state.users.items()}
    assert {name: c["sub"] for name, c in claims.items()} == {n: u.sub for n, u in ctx.state.users.items()}
    verdicts = checks.v_signin(ctx)
    assert [c.ok for c in verdicts] == [True, True, True], [c.detail for c in verdicts]
