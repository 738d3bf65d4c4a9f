"""MyBlog.com's steps, each run alone against a context prepared for it (whole runs are in test_pipeline_cli)."""
from __future__ import annotations

from app.core.cases import get_case
from app.runtime.pipeline import RunContext
from patterns.global_blog import checks, pipeline as blog


def test_the_readers_step_runs_alone_on_the_public_site_its_deploy_steps_made(runtime_session):
    values = get_case("global-blog").resolve({"cloudfront": "off"})
    ctx = RunContext(runtime_session, values, "global-blog", blog.State)
    blog.site(ctx)
    blog.public_site(ctx)
    assert ctx.state.site_fetches == []
    blog.readers(ctx)
    fetched = ctx.state.site_fetches
    assert {(f["reader"], f["path"]) for f in fetched} == {
        (region, path) for region in (runtime_session.region, values["replica_region"]) for path in blog.SITE_PATHS}
    assert all(f["status"] == 200 and f["body_ok"] and f["served_from"] == f"S3 {runtime_session.region}"
               for f in fetched), fetched
    assert checks.v_site(ctx).ok
