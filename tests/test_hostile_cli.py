"""Numbers and names a careless or hostile user types on the command line, in-process through `main()`:
NaN, infinity and whole numbers too large for a float in every numeric input, a name given twice, and
values tens of kilobytes long. Each is bad input: exit 2, one short line on standard error, nothing run."""
from __future__ import annotations

import pytest

from app.cli import main

NON_FINITE = ["nan", "NaN", "inf", "-inf", "1e309", "9" * 400]
HUGE = "7" * 120_000


def refused(capsys, argv: list[str]) -> str:
    """The one error line ``argv`` is refused with (exit 2, nothing on standard output)."""
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "", (code, out[:300], err[-600:])
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err[-600:]
    return lines[0]


@pytest.fixture
def no_run(monkeypatch):
    """Fails the test if a pipeline is run at all."""
    import app.runtime.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run_pipeline", lambda *a, **k: pytest.fail("a run started"))


SIMULATE = ["simulate", "todo-api", "--set", "dax=on", "--samples", "1000", "--no-break-even"]


@pytest.mark.parametrize("value", NON_FINITE)
def test_a_measured_hit_ratio_that_is_not_a_finite_number_is_bad_input(capsys, value):
    line = refused(capsys, [*SIMULATE, "--hit-ratio", f"dax_item={value}"])
    assert "dax_item" in line and "not a finite number" in line and "from 0 to 1" in line
    assert len(line) < 200


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_a_measured_hit_ratio_out_of_range_is_bad_input(capsys, value):
    line = refused(capsys, [*SIMULATE, "--hit-ratio", f"dax_item={value}"])
    assert "dax_item" in line and "out of range" in line and "from 0 to 1" in line


def test_a_measured_hit_ratio_in_range_is_used(capsys):
    assert main([*SIMULATE, "--hit-ratio", "dax_item=0.25", "--json"]) == 0
    assert '"hit_ratio": 0.25' in capsys.readouterr().out


@pytest.mark.parametrize("argv, name", [
    (["simulate", "todo-api", "--samples", "1000", "--no-break-even", "--set", "requests_per_month={}"],
     "requests_per_month"),
    (["simulate", "todo-api", "--samples", "1000", "--no-break-even", "--set", "zipf_skew={}"], "zipf_skew"),
    (["run", "iot-analytics", "--fault", "lambda_error_rate={}"], "lambda_error_rate"),
    (["run", "iot-analytics", "--fault", "s3_event_delay_s={}"], "s3_event_delay_s"),
    (["run", "runtime:s3-lambda", "--set", "uploads={}"], "uploads"),
    (["report", "todo-api", "--set", "requests_per_month={}", "-o", "-"], "requests_per_month"),
])
@pytest.mark.parametrize("value", [*NON_FINITE, "1e300", "-" + "9" * 400])
def test_every_numeric_input_refuses_non_finite_and_huge_numbers_in_a_short_line(capsys, no_run, argv, name,
                                                                                  value):
    line = refused(capsys, [a.format(value) for a in argv])
    assert name in line and ("not a finite number" in line or "out of range" in line), line
    assert len(line) < 300, line          # 300 digits are not echoed back in full


def test_samples_out_of_range_is_not_echoed_in_full(capsys):
    line = refused(capsys, ["simulate", "todo-api", "--samples", "9" * 400, "--no-break-even"])
    assert "--samples" in line and "from 1000 to 10000000" in line and len(line) < 200


@pytest.mark.parametrize("argv, name", [
    (["run", "iot-analytics", "--fault", "lambda_error_rate=1", "--fault", "lambda_error_rate=0"],
     "lambda_error_rate"),
    (["run", "iot-analytics", "--set", "format=json", "--set", "format=parquet"], "format"),
    (["simulate", "todo-api", "--set", "dax=on", "--set", "dax=off", "--samples", "1000"], "dax"),
    ([*SIMULATE, "--hit-ratio", "dax_item=0.2", "--hit-ratio", " dax_item = 0.9"], "dax_item"),
    (["report", "todo-api", "--set", "dax=on", "--set", "dax=on", "-o", "-"], "dax"),
    (["diagram", "todo-api", "--set", "api_cache=on", "--set", "api_cache=off", "--format", "dot", "-o", "-"],
     "api_cache"),
])
def test_a_name_given_twice_is_refused_naming_it(capsys, no_run, argv, name):
    line = refused(capsys, argv)
    assert f"{name} is given twice" in line, line


@pytest.mark.parametrize("argv", [
    ["simulate", "todo-api", "--samples", "1000", "--no-break-even", "--set", f"{HUGE}=1"],
    ["simulate", "todo-api", "--samples", "1000", "--no-break-even", "--set", f"dax={HUGE}"],
    ["simulate", "todo-api", "--samples", "1000", "--no-break-even", "--set", f"requests_per_month=x{HUGE[1:]}"],
    [*SIMULATE, "--hit-ratio", f"{HUGE}=0.5"],
    [*SIMULATE, "--hit-ratio", f"dax_item=x{HUGE[1:]}"],
    ["simulate", HUGE, "--samples", "1000"],
    ["run", "iot-analytics", "--fault", f"{HUGE}=1"],
    ["run", "iot-analytics", "--fault", f"lambda_error_rate={HUGE}"],
    ["run", "iot-analytics", "--set", f"format={HUGE}"],
    ["run", f"runtime:{HUGE}"],
    ["run", "runtime:s3-lambda", "--set", f"{HUGE}=1"],
    ["diagram", "todo-api", "--set", HUGE, "--format", "dot", "-o", "-"],
])
def test_a_value_tens_of_kilobytes_long_is_cut_in_the_error(capsys, no_run, argv):
    line = refused(capsys, argv)
    assert len(line) < 1000, line[:1100]         # the valid names are listed in full
    assert "777777" in line and "(120,000 characters)" in line, line
