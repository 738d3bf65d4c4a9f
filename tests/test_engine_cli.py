"""`simulate` and `params` through the command line, including the refusals."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.cli import main
from tests.conftest import ROOT


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_simulate_json_has_the_documented_fields(capsys):
    code, out, _ = run_cli(capsys, "simulate", "todo-api", "--set", "dax=on", "--set", "api_cache=on",
                           "--samples", "20000", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data["latency_ms"]) == {"p50", "p90", "p99"}
    assert data["latency_ms"]["p50"] <= data["latency_ms"]["p90"] <= data["latency_ms"]["p99"]
    assert set(data["hit_ratio"]) == {"api_cache_get", "api_cache_list", "dax_item", "dax_query"}
    assert all(0 <= h <= 1 for h in data["hit_ratio"].values())
    assert data["monthly_cost_usd"] > 0
    assert {"service", "item", "quantity", "unit", "unit_price_usd", "monthly_usd", "source"} <= \
        set(data["cost_breakdown"][0])
    assert {b["toggle"] for b in data["break_even"]} == {"dax", "api_cache"}
    assert data["values"]["dax"] is True and data["samples"] == 20000


def test_simulate_as_a_subprocess_prints_a_readable_summary():
    proc = subprocess.run([sys.executable, "-m", "app", "simulate", "global-blog", "--set", "global_tables=on",
                           "--samples", "20000", "--no-break-even"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "latency ms: p50" in proc.stdout
    assert "Replicated write request units (global tables) (ap-southeast-2)" not in proc.stdout  # default replica is eu-west-1
    assert "Replicated write request units (global tables) (eu-west-1)" in proc.stdout


@pytest.mark.parametrize("argv,needle", [
    (["simulate", "todo-api", "--set", "requests_per_month=5"], "use a number from 100000 to 10000000000"),
    (["simulate", "todo-api", "--set", "zipf_skew=3"], "use a number from 0.5 to 1.2"),
    (["simulate", "todo-api", "--set", "dax=maybe"], "use on or off"),
    (["simulate", "todo-api", "--set", "colour=blue"], "valid names are dax, api_cache, requests_per_month"),
    (["simulate", "todo-api", "--set", "dax_node_type=dax.x9.huge"], "one of dax.t3.small, dax.t3.medium"),
    (["simulate", "nope"], "valid cases are todo-api"),
    (["simulate", "todo-api", "--set", "dax=on", "--hit-ratio", "redis=0.5"], "caches are dax_item, dax_query"),
    (["simulate", "todo-api", "--set", "dax=on", "--hit-ratio", "dax_item=1.5"], "use a number from 0 to 1"),
    (["simulate", "todo-api", "--hit-ratio", "dax_item=0.5"], "none in this configuration"),
    (["simulate", "todo-api", "--samples", "5"], "use a number from 1000 to 10000000"),
    (["params", "nope"], "valid cases are"),
])
def test_bad_input_is_refused_with_the_valid_values(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert needle in err
    assert out == ""


def test_params_json_lists_toggles_and_workload_with_defaults_units_and_ranges(capsys):
    code, out, _ = run_cli(capsys, "params", "global-blog", "--json")
    assert code == 0
    params = {p["key"]: p for p in json.loads(out)["params"]}
    assert params["cloudfront"]["group"] == "toggle" and params["cloudfront"]["kind"] == "bool"
    assert params["replica_region"]["choices"][0] == "eu-west-1"
    req = params["requests_per_month"]
    assert req["group"] == "workload" and req["unit"] == "requests/month" and req["min"] < req["default"] < req["max"]
    for p in params.values():
        assert "default" in p and "help" in p


def test_every_case_with_a_model_simulates_at_its_defaults(capsys):
    from app.core.cases import modelled_cases
    for case in [c.id for c in modelled_cases()]:
        code, out, _ = run_cli(capsys, "simulate", case, "--samples", "5000", "--no-break-even", "--json")
        assert code == 0, case
        data = json.loads(out)
        assert data["case"] == case and data["monthly_cost_usd"] > 0 and data["latency_ms"]["p50"] > 0
