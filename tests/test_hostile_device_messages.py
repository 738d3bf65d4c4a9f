"""Hostile device messages given to the IoT analytics run, on the Run page and with `run iot-analytics --upload`:
each is refused with a sentence that says why, nothing is published, and a following run still works; a good
message is published with the fleet's readings and its fate (delivered, error action, left out by the WHERE
clause, dropped by the transform) is read back and reported."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from app.core import facts
from app.core.cases import parts
from app.core.uploads import UploadRejected
from patterns.iot_analytics.messages import MAX_READINGS
from patterns.iot_analytics.pipeline import REQUIRED_FIELDS, Telemetry, example_reading, pasted_options
from tests.runpage import open_run_page, press_run, table_with

LIMIT = facts.IOT_MAX_PAYLOAD_BYTES.value
GOOD = {"device_id": "my-sensor", "ts": 1767254400000, "temperature": 21.5, "humidity": 45.0, "battery": 90,
        "status": "ok"}


def _lines(*readings) -> bytes:
    return "\n".join(json.dumps(r) for r in readings).encode()


def _with_digits(field: str, digits: int) -> bytes:
    """A good reading whose ``field`` is a whole number of ``digits`` digits, as a device could send it
    (beyond 4,300 digits Python's own ``json.dumps`` refuses to write one)."""
    return json.dumps({**GOOD, field: 7}).encode().replace(b": 7", b": 1" + b"0" * (digits - 1))


# name, content, what the message says
HOSTILE = [
    ("reading.txt", json.dumps(GOOD).encode(), "reading.txt ends in .txt: a device message is a .json file"),
    ("reading", json.dumps(GOOD).encode(), "reading has no extension"),
    ("empty.json", b"", "empty.json is empty (0 bytes)"),
    ("big.json", json.dumps({**GOOD, "status": "x" * LIMIT}).encode(),
     f"bytes, over the {LIMIT:,} bytes (128 KB) the IoT Core broker accepts in one message"),
    ("cut.json", b'{"ts": 1,\n  "temperature" 21', "cut.json is not valid JSON: Expecting ':' delimiter at line 2, "
                                                   "column 17."),
    ("lines.json", _lines(GOOD, GOOD), "Extra data at line 2, column 1 (one reading a line is a .jsonl file)"),
    ("broken.jsonl", _lines(GOOD) + b'\n{"ts": 2,', "broken.jsonl is not valid JSON: Expecting property name "
                                                    "enclosed in double quotes at line 2, column 10."),
    ("latin1.json", json.dumps({**GOOD, "status": "été"}, ensure_ascii=False).encode("latin-1"),
     "latin1.json is not UTF-8 text: byte 0xe9 at offset"),
    ("numbers.json", b"[21.5, 22]", "Reading 1 of numbers.json is a number, not a reading"),
    ("text.json", b'"temperature=21"', "text.json holds a string, not a reading"),
    ("partial.json", json.dumps({k: v for k, v in GOOD.items() if k not in ("humidity", "battery")}).encode(),
     "partial.json lacks humidity and battery: every reading the devices send has "
     "ts, temperature, humidity, battery and status."),
    ("hot.json", json.dumps({**GOOD, "temperature": "hot"}).encode(),
     "hot.json: temperature is a string, but it must be a number (the Glue table's column temperature is double)."),
    ("flag.json", json.dumps({**GOOD, "battery": True}).encode(), "battery is true, but it must be a whole number"),
    ("wide.json", json.dumps({**GOOD, "battery": 2 ** 40}).encode(), "battery is 1,099,511,627,776, outside what"),
    ("huge.json", _with_digits("humidity", 400),
     "huge.json: humidity is too large to be a number (the Glue table's column humidity is double)."),
    ("longer.json", _with_digits("temperature", 5000),
     "longer.json: temperature is too large to be a number (the Glue table's column temperature is double)."),
    ("stamp.json", _with_digits("ts", 400), "stamp.json: ts is a whole number of 400 digits, outside what the Glue "
                                            "table's bigint column ts holds"),
    ("cells.json", _with_digits("battery", 5000), "cells.json: battery is a whole number of 5,000 digits, outside"),
    ("nan.json", b'{"device_id": "d", "ts": 1, "temperature": NaN, "humidity": 1, "battery": 1, "status": "ok"}',
     "nan.json holds NaN, which is not a JSON number."),
    ("twice.json", b'{"ts": 1, "temperature": 21, "temperature": -99}', "names the field 'temperature' twice"),
    ("script.json", json.dumps({**GOOD, "script": "<script>alert(1)</script>"}).encode(),
     "script.json has script, which no device reading has"),
    ("many.jsonl", _lines(*[GOOD] * (MAX_READINGS + 1)),
     f"holds {MAX_READINGS + 1} readings, more than the {MAX_READINGS} a run takes from you"),
    ("deep.json", b"[" * 100_000, "deep.json is nested too deeply to be read"),
    ("none.json", b"[]", "none.json holds no reading"),
]


def test_each_hostile_message_is_refused_by_the_declared_check_with_its_reason():
    upload = parts("iot-analytics").upload
    for name, data, says in HOSTILE:
        with pytest.raises(UploadRejected) as refused:
            upload.options(data, name)
        assert says in str(refused.value), (name, str(refused.value))
        assert len(str(refused.value)) < 400, (name, str(refused.value)[:500])


def test_the_run_page_refuses_a_pasted_number_too_large_for_a_float_and_keeps_its_run_button():
    at = open_run_page("iot-analytics")
    at.text_area(key="run:iot:paste").set_value(_with_digits("humidity", 400).decode()).run()
    assert not at.exception
    [error] = [e.value.replace("\\", "") for e in at.error]
    assert error.startswith("The pasted text: humidity is too large to be a number") and len(error) < 400
    assert at.button(key="run-button") is not None and not at.success


def _sized(n: int) -> bytes:
    """A reading of exactly ``n`` bytes."""
    bare = json.dumps({**GOOD, "status": ""}).encode()
    return json.dumps({**GOOD, "status": "x" * (n - len(bare))}).encode()


def test_a_message_over_the_limit_says_its_exact_bytes_against_the_exact_limit():
    upload = parts("iot-analytics").upload
    data = _sized(LIMIT + 21)
    assert len(data) == 131_093
    with pytest.raises(UploadRejected) as refused:
        upload.options(data, "oversize.json")
    assert str(refused.value).startswith("oversize.json is 131,093 bytes, over the 131,072 bytes (128 KB) the IoT "
                                         "Core broker accepts in one message")
    assert upload.options(_sized(LIMIT), "edge.json")["message"].readings     # at the limit: taken


def test_pasted_text_is_spoken_of_as_the_pasted_text_not_as_a_file():
    for text, says in (('{"ts": 1, "temperature": 2', "The pasted text is not valid JSON: Expecting ',' delimiter"),
                       (json.dumps(GOOD) + "\n" + json.dumps(GOOD), "(several readings go in a JSON array"),
                       ("[1]", "Reading 1 of the pasted text is a number, not a reading"),
                       ("[]", "The pasted text holds no reading")):
        with pytest.raises(UploadRejected) as refused:
            pasted_options(text)
        assert says in str(refused.value) and ".json" not in str(refused.value).split(":")[0], str(refused.value)
    assert pasted_options(json.dumps(GOOD))["message"].name == "the pasted text"


def test_what_the_check_lets_through():
    upload = parts("iot-analytics").upload
    assert upload.options(json.dumps(example_reading()).encode(), "one.json")["message"].readings == (
        example_reading(),)
    no_id = {k: v for k, v in GOOD.items() if k != "device_id"}     # allowed: the error action takes it
    assert len(upload.options(_lines(GOOD, no_id), "two.jsonl")["message"].readings) == 2
    assert len(upload.options(b"\xef\xbb\xbf" + json.dumps([GOOD] * MAX_READINGS).encode(),
                              "bom.json")["message"].readings) == MAX_READINGS
    # the fields it asks for are those the devices' own readings carry
    assert set(REQUIRED_FIELDS) | {"device_id"} == set(example_reading())


@pytest.fixture
def no_run(monkeypatch):
    """Fails the test if a pipeline is run (so built, deployed or published) at all."""
    import app.runtime.pipeline as pipeline

    ran = []
    monkeypatch.setattr(pipeline, "run_pipeline", lambda *a, **k: ran.append(a) or pytest.fail("a run started"))
    return ran


@pytest.mark.parametrize("index", range(len(HOSTILE)), ids=[h[0] for h in HOSTILE])
def test_the_command_line_refuses_a_hostile_message_and_runs_nothing(tmp_path, capsys, no_run, index):
    name, data, says = HOSTILE[index]
    (tmp_path / name).write_bytes(data)
    assert main(["run", "iot-analytics", "--upload", str(tmp_path / name), "--json"]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("error: "), err
    assert says in lines[0] and lines[0].endswith("Nothing was stored and nothing ran.")
    assert not no_run


def _fates(art: dict) -> list[str]:
    return [r["read_back"].split(" (")[0] for r in art["your_message"]["readings"]]


@pytest.mark.slow
def test_the_command_line_publishes_a_good_message_and_reads_back_each_readings_fate(tmp_path, capsys):
    message = tmp_path / "mine.jsonl"
    message.write_bytes(_lines(GOOD, {k: v for k, v in GOOD.items() if k != "device_id"},
                               {**GOOD, "temperature": -60.0}, {**GOOD, "status": "calibrating"}))
    code = main(["run", "iot-analytics", "--upload", str(message), "--set", "format=parquet",
                 "--set", "firehose_transform=on", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"], [c for c in out["checks"] if not c["ok"]]
    art = out["artifacts"]
    assert _fates(art) == ["delivered to S3", "sent to the error action", "left out by the rule's WHERE clause",
                           "dropped by the Firehose transform, as a calibrating reading"]
    assert art["your_message"]["athena_counts"] == 1 and "parquet" in art["your_message"]["readings"][0]["read_back"]
    assert [b for b in art["error_queue"] if b.get("thing") == art["your_message"]["thing"]] == [
        {**{k: v for k, v in GOOD.items() if k != "device_id"}, "thing": art["your_message"]["thing"]}]
    ledger = art["ledger"]
    assert ledger["yours"] == 4 and ledger["published"] == Telemetry().describe()["messages"] + 4
    check = next(c for c in out["checks"] if c["name"].startswith("your device message's fate"))
    assert "reading 3 left out by the rule's WHERE clause" in check["detail"]


@pytest.mark.slow
def test_the_run_page_refuses_each_hostile_message_and_then_reports_a_good_ones_fate():
    at = open_run_page("iot-analytics")
    for name, data, says in HOSTILE:
        at.file_uploader(key="run:iot:upload").set_value((name, data, "application/json")).run()
        assert not at.exception, name
        errors = [e.value.replace("\\", "") for e in at.error]
        assert len(errors) == 1 and says in errors[0], (name, errors)
        assert errors[0].endswith("Nothing was published; the run uses the generated readings only.")
        assert not at.success
    at.file_uploader(key="run:iot:upload").set_value(None).run()
    at.text_area(key="run:iot:paste").set_value('{"ts": 1, "temperature": 2').run()
    assert "The pasted text is not valid JSON: Expecting ',' delimiter at line 1, column 27." in at.error[0].value
    # the refused message was not published: a run now has the generated readings only
    at.slider(key="run:iot:devices").set_value(2).run()
    passed, total = press_run(at)
    assert passed == total and {m.label: m.value for m in at.metric}["Published"] == str(
        Telemetry(devices=2).describe()["messages"])
    assert not any("Your device message" in m.value for m in at.markdown)
    # the same session takes a good message: published, its fates read back and shown
    pasted = json.dumps([GOOD, {**GOOD, "device_id": ""}, {**GOOD, "temperature": -40}])
    at.text_area(key="run:iot:paste").set_value(pasted).run()
    assert not at.error and any("The pasted text: 3 readings" in s.value for s in at.success)
    passed, total = press_run(at)
    assert passed == total
    fates = table_with(at, "Read back")
    read_back = [f.split(" (")[0] for f in fates["Read back"]]
    assert read_back == ["delivered to S3", "sent to the error action", "left out by the rule's WHERE clause"]
    assert any("Your device message" in m.value and "Athena counts 1 of them" in m.value for m in at.markdown)


def _csv_check(out: dict) -> dict:
    return next(c for c in out["checks"] if c["name"].startswith("the report's result CSV"))


@pytest.mark.slow
def test_a_device_id_with_a_line_break_is_one_row_of_the_reports_csv(tmp_path, capsys):
    message = tmp_path / "odd.json"
    message.write_text(json.dumps({**GOOD, "device_id": "dev\nice-1"}))
    code = main(["run", "iot-analytics", "--upload", str(message), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"], [c for c in out["checks"] if not c["ok"]]
    report = next(q for q in out["artifacts"]["athena"]["queries"] if q["rows"] and "readings" in q["rows"][0])
    assert "dev\nice-1" in [r["device_id"] for r in report["rows"]]
    check = _csv_check(out)
    assert check["ok"] and f": {len(report['rows'])} rows;" in check["detail"]


@pytest.mark.slow
def test_a_json_lines_file_is_cut_at_line_feeds_only(tmp_path, capsys):
    # U+2028 and U+0085 may stand as they are inside a JSON string; they do not end a JSON line
    message = tmp_path / "odd.jsonl"
    message.write_text(json.dumps({**GOOD, "device_id": "dev\u2028ice-2"}, ensure_ascii=False) + "\r\n"
                       + json.dumps({**GOOD, "device_id": "dev\x85ice-3"}, ensure_ascii=False) + "\n",
                       encoding="utf-8", newline="")
    code = main(["run", "iot-analytics", "--upload", str(message), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert out["ok"], [c for c in out["checks"] if not c["ok"]]
    assert _fates(out["artifacts"]) == ["delivered to S3", "delivered to S3"]
    assert _csv_check(out)["ok"]
