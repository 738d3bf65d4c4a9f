"""The Run page through AppTest: press Run, see the steps, the checks and the artifacts."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import APP_ENTRY
from tests.runpage import table_with
from tests.scratch_case import NOTES_SKETCH


def _run_page(case_id: str) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=300)
    at.run()
    at.switch_page("views/run.py").run()
    if case_id != at.selectbox(key="case").value:
        at.selectbox(key="case").set_value(case_id).run()
    assert not at.exception
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.slow
def test_run_todo_api_from_the_page():
    at = _run_page("todo-api")
    assert "Press Run" in " ".join(i.value for i in at.info)
    at.slider(key="run:todo:requests").set_value(20).run()
    at.button(key="run-button").click().run()
    assert not at.exception
    passed, total = _metric(at, "Checks passed").split(" / ")
    assert passed == total and int(total) >= 10
    assert "checks passed" in at.status[0].label
    assert _metric(at, "Lambda invocations") == "20"
    policy = next(c.value for c in at.code if '"ReadWriteOwnPrefix"' in c.value)   # the policy that denied
    assert "${cognito-identity.amazonaws.com:sub}/*" in policy
    assert any("AccessDenied" in m.value for m in at.markdown)
    assert any("modelled" in h.value for h in at.subheader) and _metric(at, "p50 latency").endswith(" ms")
    steps = next(d.value for d in at.dataframe if "ms on AWS, modelled" in d.value.columns)
    crud = steps[steps["Step"] == "Todo CRUD through the API"].iloc[0]
    assert crud["Calls modelled"] > 0 and crud["ms on AWS, modelled"] > 0 and float(crud["USD on AWS, modelled"]) > 0
    deploy = steps[steps["Phase"] == "deploy"]
    assert deploy["ms on AWS, modelled"].isna().all()     # control-plane calls are not modelled


@pytest.mark.slow
def test_run_global_blog_with_an_upload():
    at = _run_page("global-blog")
    uploader = at.file_uploader(key="run:blog:upload")
    uploader.set_value(("notes.txt", b"just some text", "text/plain")).run()
    assert any("not an image" in e.value for e in at.error)       # refused, the page keeps working
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 80, 40)).save(buf, format="JPEG")
    at.file_uploader(key="run:blog:upload").set_value(("holiday.jpg", buf.getvalue(), "image/jpeg")).run()
    assert not at.error and any("640x480" in s.value for s in at.success)
    at.button(key="run-button").click().run()
    assert not at.exception
    passed, total = _metric(at, "Checks passed").split(" / ")
    assert passed == total
    captions = " ".join(c for i in at.image for c in i.captions)
    assert "Original 640x480" in captions and "Thumbnail 200x150" in captions
    assert any("Maria Lopez" in m.value for m in at.markdown)


def test_live_switch_is_disabled_unless_allowed(monkeypatch):
    monkeypatch.delenv("EXPLORER_ALLOW_LIVE", raising=False)
    at = _run_page("todo-api")
    switch = at.toggle(key="run:live")
    assert switch.disabled and "EXPLORER_ALLOW_LIVE=1" in switch.help
    assert at.button(key="run-button").label == "Run"


@pytest.mark.slow
def test_live_switch_on_a_pipeline_built_on_emulations_refuses_to_run(monkeypatch):
    monkeypatch.setenv("EXPLORER_ALLOW_LIVE", "1")
    at = _run_page("todo-api")
    at.toggle(key="run:live").set_value(True).run()
    assert not at.exception
    assert any("embedded backend only" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key in ("run-button", "run-estimate")]


def test_live_run_needs_a_cost_estimate_first(monkeypatch):
    """The live flow of the page, for a pipeline that can run on AWS."""
    import patterns.todo_api.pipeline as todo

    def live_capable(*args, **kwargs):
        pipeline = original(*args, **kwargs)
        pipeline.live_unsupported = None
        return pipeline

    original = todo.build_pipeline
    monkeypatch.setattr(todo, "build_pipeline", live_capable)
    monkeypatch.setenv("EXPLORER_ALLOW_LIVE", "1")
    at = _run_page("todo-api")
    at.toggle(key="run:live").set_value(True).run()
    at.slider(key="run:todo:requests").set_value(20).run()
    run = at.button(key="run-button")
    assert run.label == "Run on AWS" and run.disabled
    from app.runtime.admission import run_pool

    admitted = run_pool().admitted_total
    at.button(key="run-estimate").click().run()          # a rehearsal on the embedded backend, priced
    assert not at.exception
    assert run_pool().admitted_total == admitted + 1     # it took a slot of the run pool, as a run does
    assert any("Estimated cost of this run" in m.value for m in at.markdown)
    assert not at.button(key="run-button").disabled


def test_a_case_without_a_pipeline_says_which_cases_run(extra_case):
    from app.core.cases import parts

    without = extra_case("notes_sketch_case", NOTES_SKETCH)      # a diagram and a story, no pipeline yet
    assert parts(without).pipeline is None
    at = _run_page(without)
    text = " ".join(i.value for i in at.info)
    assert "Scratch notes is explored on the Explore and What if pages" in text
    assert "MyTodoList" in text and "MyBlog.com" in text and "Scratch notes" not in text.split("available for:")[1]
    assert not [b for b in at.button if b.key == "run-button"]


@pytest.mark.slow
def test_run_microservices_from_the_page():
    at = _run_page("microservices")
    at.button(key="run-button").click().run()
    assert not at.exception
    passed, total = _metric(at, "Checks passed").split(" / ")
    assert passed == total and int(total) >= 9
    assert _metric(at, "Queue depth after orders") == "3" and _metric(at, "Queue depth after billing") == "0"
    dns = table_with(at, "Client region")
    assert list(dns["Answers"]) == ["1,000"] and set(dns["Record"]) == {"simple"}     # thousands separated
    orders = table_with(at, "Task")
    assert len(orders) == 3 and set(orders["Status"].astype(int)) == {201}
    assert "ElastiCache" in orders.columns and all(t.startswith("$") for t in orders["Total"])


def test_what_if_shows_the_last_runs_hit_ratios_beside_the_model_for_that_run():
    from tests.runpage import open_run_page, press_run

    at = open_run_page("todo-api")
    at.toggle(key="toggle:todo-api:api_cache").set_value(True).run()
    at.slider(key="run:todo:requests").set_value(400).run()
    passed, total = press_run(at)
    assert passed == total
    measured = next(m.value for m in at.metric if m.label == "Stage cache hit ratio")
    at.switch_page("views/whatif.py").run()
    assert not at.exception
    compared = table_with(at, "Measured in the run")
    row = compared[compared["Cache"] == "Stage cache"].iloc[0]
    assert abs(float(row["Measured in the run"].rstrip("%")) - float(measured.rstrip("%"))) <= 0.5   # rounding
    assert abs(float(row["Difference"].split()[0])) <= 10      # a 400-request run against its own workload


@pytest.mark.parametrize("case_id", ["iot-analytics", "global-blog", "software-updates"])
def test_the_modelled_caption_says_what_the_model_stands_for_in_every_case(case_id):
    from app.core.cases import get_case, parts
    from app.engine import run as run_engine
    from app.ui.runs import deployed_text, modelled_caption

    case = get_case(case_id)
    report = run_engine(case, {}, samples=2_000, with_break_even=False)
    deployed = {p.key: p.default for p in parts(case).model.PARAMS if p.unit == "s" or p.key.endswith("_mb")}
    shown = deployed_text(case, deployed)
    text = modelled_caption(report, shown, 2_345, {})
    assert "few hundred" not in text and "measured above" not in text
    assert "2,345 data-plane calls this run made" in text
    assert "_" not in shown and ": " not in shown
    assert ("hit ratios" in text) == bool(report["caches"])
    if shown:
        assert f"with what it deployed: {shown};" in text
    if case_id == "global-blog":
        assert "CloudFront TTL 86,400 s (1 day)" in shown
        cache = next(iter(report["caches"]))
        measured = modelled_caption(report, "", 10, {cache: {"hit_ratio": 0.75, "hits": 30, "lookups": 40}})
        assert "75% (30 of 40 lookups" in measured and "What if page" in measured
