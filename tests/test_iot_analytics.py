"""IoT analytics executed: its handlers on AWS sample events, its runs from the CLI and the Run page."""
from __future__ import annotations

import base64
import json
import re

import pytest

from app.cli import main
from patterns.iot_analytics import handlers
from patterns.iot_analytics.pipeline import Telemetry
from tests.runpage import open_run_page, press_run, shown_tables
from tests.streaming_support import acct  # noqa: F401


def test_transform_keeps_the_contract_on_telemetry_and_on_other_data(load_event):
    event = load_event("firehose_transform_telemetry")
    out = handlers.firehose_transform(event, None)["records"]
    assert [r["recordId"] for r in out] == [r["recordId"] for r in event["records"]]
    assert [r["result"] for r in out] == ["Ok", "Dropped", "Ok", "ProcessingFailed"]
    first = base64.b64decode(out[0]["data"])
    assert first.endswith(b"\n") and json.loads(first)["temperature_f"] == 70.7
    assert json.loads(base64.b64decode(out[2]["data"]))["quality"] == "low-battery"
    for name in ("firehose_transform", "firehose_transform_kinesis_source"):     # AWS's samples: "Hello World"
        sample = load_event(name)
        results = handlers.firehose_transform(sample, None)["records"]
        assert {r["result"] for r in results} == {"ProcessingFailed"}
        assert [r["data"] for r in results] == [r["data"] for r in sample["records"]]


def _glue_table(acct, monkeypatch):
    glue = acct.client("glue")
    glue.create_database(DatabaseInput={"Name": "lake"})
    glue.create_table(DatabaseName="lake", TableInput={
        "Name": "telemetry", "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "StorageDescriptor": {"Location": "s3://example-ingest/telemetry/",
                              "Columns": [{"Name": "device_id", "Type": "string"}],
                              "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}})
    monkeypatch.setenv("GLUE_DATABASE", "lake")
    monkeypatch.setenv("GLUE_TABLE", "telemetry")
    monkeypatch.setattr(handlers, "_client", acct.client)
    return glue


def test_partition_registrar_adds_the_day_once_and_skips_test_events(acct, monkeypatch, load_event):
    glue = _glue_table(acct, monkeypatch)
    event = load_event("sqs_s3_partition")
    assert handlers.register_partitions(event, None) == {"batchItemFailures": []}
    assert handlers.register_partitions(event, None) == {"batchItemFailures": []}     # already there: left alone
    parts = glue.get_partitions(DatabaseName="lake", TableName="telemetry")["Partitions"]
    assert [(p["Values"], p["StorageDescriptor"]["Location"]) for p in parts] == [
        (["2025-12-01"], "s3://example-ingest/telemetry/dt=2025-12-01/")]
    # AWS's sample (an object without a partition in its key) registers nothing and fails nothing
    assert handlers.register_partitions(load_event("s3_put_via_sqs"), None) == {"batchItemFailures": []}
    bad = {"Records": [{**event["Records"][0], "body": "not json"}]}
    assert handlers.register_partitions(bad, None) == {"batchItemFailures": [
        {"itemIdentifier": event["Records"][0]["messageId"]}]}


def _run(capsys, *sets: str) -> dict:
    argv = ["run", "iot-analytics", *[a for s in sets for a in ("--set", s)], "--json"]
    code = main(argv)
    out = json.loads(capsys.readouterr().out)
    assert code == (0 if out["ok"] else 1)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("sets", [("firehose_transform=off", "format=json", "buffer_interval=60"),
                                  ("firehose_transform=on", "format=parquet", "buffer_interval=900")],
                         ids=["json-60-plain", "parquet-900-transform"])
def test_run_from_the_cli_passes_every_check(capsys, sets):
    out = _run(capsys, *sets)
    assert out["ok"], [c for c in out["checks"] if not c["ok"]]
    checks = {c["name"]: c["detail"] for c in out["checks"]}
    ledger = out["artifacts"]["ledger"]
    assert ledger["published"] == Telemetry().describe()["messages"] and ledger["error_action"] > 0
    assert len(out["artifacts"]["error_queue"]) == ledger["error_action"]
    every, one_day = out["artifacts"]["athena"]["queries"]
    assert 0 < one_day["bytes_scanned"] < every["bytes_scanned"]
    assert f"{every['bytes_scanned']:,}" in checks["a query on one day scans less than a query on all days "
                                                   "(partition pruning)"]
    buffering = out["artifacts"]["buffering"]
    if "format=parquet" in sets:
        assert buffering["buffer_mib"] == 64 and "64 MiB" in buffering["notice"]
        assert "Parquet scans fewer bytes than the same records as JSON" in checks
        assert ledger["dropped_by_transform"] > 0
    else:
        assert buffering["buffer_mib"] == 5 and ledger["dropped_by_transform"] == 0
    assert "compressed" in buffering["time"]
    steps = {s["name"]: s for s in out["steps"]}
    assert ("transform" in steps["Devices publish three days of telemetry"]["edges"]) == ("firehose_transform=on" in sets)


def test_the_rules_error_queue_is_drawn_and_lit_by_the_publishing_step():
    from app.core.cases import get_case
    from app.core.diagram import dot_source, drawn_edges
    from app.core.dot import edge_attrs
    from patterns.iot_analytics.pipeline import build_pipeline

    case = get_case("iot-analytics")
    assert "rule_errors" in {c.key for c in case.present_components(case.defaults())}
    assert "error action" in case.story
    steps = {s.name: s for s in build_pipeline(case.defaults()).steps}
    lit = steps["Devices publish three days of telemetry"].edges
    assert "error_action" in lit
    assert ("iot_core", "rule_errors", "error_action") in {(e.tail, e.head, e.step) for e in
                                                            drawn_edges(case, case.defaults())}
    assert "penwidth" in edge_attrs(dot_source(case, case.defaults(), highlight=set(lit)))[("iot_core", "rule_errors")]


def test_options_teach_with_their_units_and_the_report_chart_keeps_its_legend_clear_of_the_device_ids():
    from app.core.cases import get_case
    from patterns.iot_analytics.run_view import _chart

    interval = get_case("iot-analytics").toggle("buffer_interval")
    assert interval.value_text(300) == "300 s" and interval.to_text(300) == "300"
    assert get_case("iot-analytics").toggle("firehose_transform").value_text(True) == "on"
    rows = [{"dt": d, "device_id": f"run-sensor-00{i}", "avg_temperature": "21.5"} for d in ("a", "b") for i in (1, 2)]
    layout = _chart(rows).layout
    assert layout.legend.yanchor == "bottom" and layout.legend.y >= 1 and layout.xaxis.automargin


def test_explore_names_each_options_value_with_its_unit():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP_ENTRY

    at = AppTest.from_file(APP_ENTRY, default_timeout=120)
    at.query_params["case"] = "iot-analytics"
    at.query_params["buffer_interval"] = "300"
    at.run()
    assert not at.exception, at.exception
    teach = [m.value for m in at.markdown if m.value.startswith("**Firehose buffer interval**")]
    assert teach and teach[0].startswith("**Firehose buffer interval**: 300 s  \n")


def test_telemetry_refuses_bad_sizes():
    with pytest.raises(ValueError, match="devices"):
        Telemetry(devices=0)


@pytest.mark.slow
def test_run_page_shows_the_athena_result_the_error_queue_and_the_ledger():
    at = open_run_page("iot-analytics")
    at.slider(key="run:iot:devices").set_value(3).run()
    passed, total = press_run(at)
    assert passed == total
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Published"] == str(Telemetry(devices=3).describe()["messages"])
    assert any("Athena report" in m.value for m in at.markdown)
    assert any("Bytes scanned per query" in m.value for m in at.markdown)
    assert any("Messages in the rule's error queue" in m.value for m in at.markdown)
    assert any("Quick Sight" in m.value for m in at.markdown)
    tables = shown_tables(at)
    report = next(t for t in tables if "Avg temperature (°C)" in t.columns)
    assert list(report.columns[:2]) == ["Day", "Device ID"]
    assert all(re.fullmatch(r"-?\d+\.\d", v) for v in report["Avg temperature (°C)"])
    errors = next(t for t in tables if "Time (UTC)" in t.columns)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", v) for v in errors["Time (UTC)"])
    assert all(re.fullmatch(r"-?\d+\.\d", v) for v in errors["Temperature (°C)"])
    assert metrics["Dropped"] == "0"
    texts = " ".join(m.value for m in at.markdown)
    assert "an object of JSON lines lands in S3 every 60 s, or sooner once 5 MiB of records are buffered." in texts
    assert "executed (this machine): the report's SQL over the lake's JSON lines objects." in texts
    assert ". (" not in texts and ".)." not in texts


def test_the_fleet_check_runs_alone_on_the_fleet_its_deploy_step_registered(runtime_session):
    """One verify step alone, on what the fleet's deploy step made: every device a thing of the thing type,
    with an active certificate carrying the fleet policy."""
    from functools import partial

    from app.core.cases import get_case
    from app.runtime.pipeline import RunContext
    from patterns.iot_analytics import checks, pipeline as iot

    ctx = RunContext(runtime_session, get_case("iot-analytics").defaults(), "iot-analytics",
                     partial(iot.State, options=iot.Options(Telemetry(devices=3))))
    iot.fleet(ctx)
    assert len(ctx.state.fleet.things) == 3 and ctx.state.stream
    verdict = checks.v_fleet(ctx)
    assert verdict.ok and "3/3 active certificates attached" in verdict.detail, verdict.detail
    ctx.client("iot").update_certificate(certificateId=next(iter(ctx.state.fleet.things.values())).rsplit("/", 1)[1],
                                         newStatus="INACTIVE")
    again = checks.v_fleet(ctx)
    assert not again.ok and "2/3 active certificates attached" in again.detail
    ctx.run_teardowns()
