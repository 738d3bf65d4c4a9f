"""Software updates executed: the surge with and without CloudFront, from the CLI and the Run page."""
from __future__ import annotations

import json
from functools import partial

import pytest

from app.cli import main
from app.runtime.pipeline import RunContext
from patterns.software_updates import checks, pipeline as updates
from patterns.software_updates.surge import Surge
from tests.runpage import open_run_page, press_run


def _run(capsys, cloudfront: str) -> dict:
    code = main(["run", "software-updates", "--set", f"cloudfront={cloudfront}", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == (0 if out["ok"] else 1)
    return out


@pytest.mark.slow
def test_with_cloudfront_the_edge_absorbs_the_surge_and_the_group_stays_small(capsys):
    out = _run(capsys, "on")
    assert out["ok"], [c for c in out["checks"] if not c["ok"]]
    minutes = out["artifacts"]["surge"]["minutes"]
    after = minutes[1:]
    assert sum(m["origin_requests"] for m in after) <= 0.05 * sum(m["edge_requests"] for m in after)
    assert {m["instances_in_service"] for m in minutes} == {2}
    assert out["artifacts"]["release"]["invalidation"]


@pytest.mark.slow
def test_without_cloudfront_the_group_scales_out_and_every_decision_has_its_reason(capsys):
    out = _run(capsys, "off")
    assert out["ok"], [c for c in out["checks"] if not c["ok"]]
    minutes = out["artifacts"]["surge"]["minutes"]
    assert max(m["instances_in_service"] for m in minutes) > 2
    outs = [m for m in minutes if m["action"] == "scale out"]
    assert outs and all("above the target" in m["reason"] for m in outs)
    # the instances the policy asked for were really launched and registered in the backend
    assert any(b["instances_in_service"] > a["instances_in_service"] for a, b in zip(minutes, minutes[1:]))
    served = out["artifacts"]["surge"]["servers"]
    assert len(served) > 2 and sum(s["requests"] for s in served.values()) == 2 * Surge().clients


def test_the_surge_adds_up_to_its_clients():
    for surge in (Surge(), Surge(clients=50, minutes=5), Surge(clients=20_000, minutes=120)):
        arrivals = surge.arrivals()
        assert sum(arrivals) == surge.clients and len(arrivals) == surge.minutes and min(arrivals) >= 0
    with pytest.raises(ValueError, match="clients"):
        Surge(clients=10)


def test_the_surge_step_runs_alone_on_the_state_its_deploy_step_prepared(runtime_session):
    """One drive step alone: the application is launched by its deploy step and the release published,
    then the surge runs by itself; what it served is read back from the instances' servers."""
    surge = Surge(clients=50, minutes=5, file_mb=0.1)
    ctx = RunContext(runtime_session, {"cloudfront": False}, "software-updates",
                     partial(updates.State, options=updates.Options(surge)))
    updates.application(ctx)
    updates.publish(ctx)
    assert ctx.state.minutes == []
    updates.surge_step(ctx)
    minutes = ctx.state.minutes
    assert [m["clients"] for m in minutes] == surge.arrivals() and ctx.state.failures == 0
    served = ctx.artifacts["surge"]["servers"]
    assert sum(s["requests"] for s in served.values()) == 2 * surge.clients
    assert checks.v_served(ctx).ok


@pytest.mark.slow
def test_run_page_shows_the_surge_chart_and_its_cost():
    at = open_run_page("software-updates")
    at.slider(key="run:updates:clients").set_value(500).run()
    passed, total = press_run(at)
    assert passed == total
    assert next(m.value for m in at.metric if m.label == "Downloads") == "500"
    assert any("What this surge costs on AWS" in m.value for m in at.markdown)
