"""Every fault at its documented maximum, alone and in every pair: the run reaches its verify steps, every
flow is in the ledger and balances (what failed reached its caller or waits in a dead-letter queue), and a
fault that another fault kept from firing is reported as masked, not as a fault that did not fire.

Each case runs in the configuration that offers the most faults (found from its own pipelines over a
covering set of its toggles), through the command line (`run CASE --fault NAME=VALUE --json`).
"""
from __future__ import annotations

import itertools
import json

import pytest

from app.cli import main
from app.core.cases import executable_cases
from app.runtime.faults import COUNTERS, FAULTS
from app.runtime.pipeline import load_pipeline
from tests.pipeline_combos import combinations


def _richest(case) -> tuple[dict, tuple[str, ...]]:
    """The toggle values under which the case's pipeline offers the most faults, and those faults."""
    best = max(combinations(case.id), key=lambda v: len(load_pipeline(case, v).faults))
    return best, load_pipeline(case, best).faults


def _maximum(name: str) -> str:
    """``NAME=VALUE`` at the fault's documented maximum (a choice at its one value)."""
    spec = FAULTS[name]
    return f"{name}={spec.default}" if spec.kind == "choice" else f"{name}={spec.max:g}"


def _runs() -> list:
    out = []
    for case in executable_cases():
        values, faults = _richest(case)
        sets = [(f,) for f in faults] + list(itertools.combinations(faults, 2))
        for chosen in sets:
            out.append(pytest.param(case.id, values, chosen, id=f"{case.id}:{'+'.join(chosen)}"))
    return out


def _set_args(case_id: str, values: dict) -> list[str]:
    from app.core.cases import get_case

    defaults = get_case(case_id).defaults()
    args = []
    for key, value in values.items():
        if value != defaults.get(key):
            args += ["--set", f"{key}={'on' if value is True else 'off' if value is False else value}"]
    return args


@pytest.mark.slow
@pytest.mark.parametrize("case_id,values,chosen", _runs())
def test_faults_at_their_maximum_never_cost_the_verify_steps_or_the_ledger(capsys, case_id, values, chosen):
    argv = ["run", case_id, *_set_args(case_id, values), *[a for f in chosen for a in ("--fault", _maximum(f))],
            "--json"]
    code = main(argv)
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    broken = [(s["name"], s["status"], s["error"]) for s in out["steps"] if s["status"] != "ok"]
    assert not broken, broken                       # every step ran, none crashed on what a fault left out
    assert not any(c["name"] == "pipeline ran to the end" for c in out["checks"])
    assert out["ledger"], "a run with faults has every flow in its ledger"
    for name, n in out["ledger"].items():
        assert n["lost"] == 0, (name, n)
    fired = next(c for c in out["checks"] if c["name"].startswith("the injected faults fired"))
    assert fired["ok"], fired                       # each fault fired, or another fault masked it
    for name, by in out["faults"]["masked"].items():
        assert FAULTS[name].label in fired["detail"] and "masked by" in fired["detail"]
        assert all(out["faults"]["counters"][COUNTERS[m][0]] > 0 for m in by)


def test_a_region_outage_with_late_s3_events_recovers_and_reads_its_ledger(capsys):
    """The region comes back before the late events are delivered and the dead letters redriven."""
    code = main(["run", "global-blog", "--set", "global_tables=on", "--fault", "region_outage=primary",
                 "--fault", "s3_event_delay_s=60", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, [c for c in out["checks"] if not c["ok"]]
    assert all(s["status"] == "ok" for s in out["steps"])
    assert {"dynamodb -> welcome", "s3 -> thumbnail"} <= set(out["ledger"])
    thumbnail = out["ledger"]["s3 -> thumbnail"]
    assert thumbnail["in"] == thumbnail["processed"] == 1
    assert "redriven" in out["artifacts"]
    assert out["faults"]["counters"]["s3_events_delayed"] >= 1 and out["faults"]["counters"]["outage_refused"] > 0


def test_a_throttled_invocation_masks_the_rejection_it_never_reached(capsys):
    code = main(["run", "global-blog", "--fault", "lambda_throttle_rate=1", "--fault", "ses_reject_rate=1",
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, [c for c in out["checks"] if not c["ok"]]
    assert out["faults"]["masked"] == {"ses_reject_rate": ["lambda_throttle_rate"]}
    assert out["faults"]["counters"]["ses_rejected"] == 0 and out["faults"]["counters"]["lambda_throttles"] > 0
    fired = next(c for c in out["checks"] if c["name"].startswith("the injected faults fired"))
    assert fired["name"] == "the injected faults fired, or were masked by another"
    assert "SES rejection never had an attempt to fail: masked by the Lambda throttling" in fired["detail"]
