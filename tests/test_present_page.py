"""The Present page through AppTest: steps from the link, next and previous, the URL, node details,
bad links with their notice, and a run's trace entry beside the step."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.core import format as fmt
from app.core.cases import all_cases, get_case
from app.runtime.pipeline import load_pipeline, run_pipeline
from app.ui.present_steps import clamp_step, step_from_link
from tests.conftest import APP_ENTRY

PAGE = "views/present.py"


def open_present(**query) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    return at.run()


def drive_steps(case_id: str) -> list[str]:
    case = get_case(case_id)
    return [s.name for s in load_pipeline(case, case.defaults()).ordered() if s.phase == "drive" and s.edges]


def heading(at) -> str:
    return at.title[0].value


def notices(at) -> list[str]:
    return [w.value for w in at.warning]


def walked(case) -> bool:
    """Whether Present walks the case through two steps or more (a case with one step, or none, is walked in
    tests/test_adding_a_case.py and tests/test_case_seam.py)."""
    return load_pipeline(case, case.defaults()) is not None and len(drive_steps(case.id)) >= 2


@pytest.mark.parametrize("case_id", [c.id for c in all_cases() if walked(c)])
def test_a_step_link_opens_that_step_and_next_moves_the_url(case_id):
    names = drive_steps(case_id)
    at = open_present(case=case_id, step="2")
    assert not at.exception
    assert heading(at).endswith(f"step 2 of {len(names)}, {names[1]}")
    assert "2" in at.query_params["step"]
    if len(names) > 2:
        at.button(key="present-next").click().run()
        assert heading(at).endswith(f"step 3 of {len(names)}, {names[2]}")
        assert "3" in at.query_params["step"]
        at.button(key="present-prev").click().run()
        assert heading(at).endswith(f"step 2 of {len(names)}, {names[1]}")
    at.button(key="present-prev").click().run()
    assert heading(at).endswith(f"step 1 of {len(names)}, {names[0]}")
    assert "1" in at.query_params["step"]
    assert not notices(at)


def test_the_first_step_cannot_go_back_and_the_last_cannot_go_on():
    names = drive_steps("todo-api")
    at = open_present(case="todo-api")
    assert heading(at).endswith(f"step 1 of {len(names)}, {names[0]}")
    assert at.button(key="present-prev").disabled and not at.button(key="present-next").disabled
    at = open_present(case="todo-api", step=str(len(names)))
    assert at.button(key="present-next").disabled


def test_the_step_says_what_happens_hop_by_hop():
    at = open_present(case="todo-api", step="1")
    text = "\n".join(m.value for m in at.markdown)
    assert "What happens" in text and "Mobile app → Cognito user pool" in text and "sign in" in text
    assert "The components it goes through" in text


@pytest.mark.parametrize("raw,expected,says", [("99", 9, "step 99"), ("0", 1, "step 0"), ("two", 1, "'two'"),
                                               ("-3", 1, "step -3")])
def test_a_bad_step_opens_the_nearest_step_with_a_notice(raw, expected, says):
    names = drive_steps("todo-api")
    expected = min(expected, len(names))
    at = open_present(case="todo-api", step=raw)
    assert not at.exception
    assert f"step {expected} of {len(names)}" in heading(at)
    assert any(says in n for n in notices(at)), notices(at)
    assert at.query_params["step"] in (str(expected), [str(expected)])


def test_step_from_link_and_clamp():
    assert step_from_link(None, 5) == (1, None)
    assert step_from_link("3", 5) == (3, None)
    assert step_from_link("7", 5)[0] == 5 and "1 to 5" in step_from_link("7", 5)[1]
    assert clamp_step(0, 4) == 1 and clamp_step(9, 4) == 4 and clamp_step(3, 0) == 1


def test_a_node_in_the_link_shows_its_details_and_a_bad_one_a_notice():
    at = open_present(case="todo-api", node="table")
    text = "\n".join(m.value for m in at.markdown)
    assert "**Todos table** · Amazon DynamoDB" in text
    assert at.query_params["node"] in ("table", ["table"])
    at.button(key="present-node-close").click().run()
    assert "node" not in at.query_params
    bad = open_present(case="todo-api", node="mainframe")
    assert any("mainframe" in n and "table" in n for n in notices(bad)), notices(bad)
    assert "node" not in bad.query_params


def test_a_run_of_these_options_puts_the_steps_executed_entry_beside_it():
    case = get_case("paid-content")
    values = case.defaults()
    result = run_pipeline(load_pipeline(case, values), values)       # a real run on the embedded backend
    names = drive_steps("paid-content")
    at = AppTest.from_file(APP_ENTRY, default_timeout=90)
    at.query_params["case"] = "paid-content"
    at.query_params["step"] = "2"
    at.session_state["run:paid-content"] = {"result": result, "values": dict(values)}
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    entry = next(s for s in result.steps if s.name == names[1])
    shown = {m.label: m.value for m in at.metric}
    measured = next(v for k, v in shown.items() if k.startswith("Measured"))
    assert measured == fmt.duration(entry.measured_ms)
    assert any(k.startswith("On AWS") for k in shown) and any(k.startswith("Cost on AWS") for k in shown)


def test_without_a_run_the_page_says_where_to_get_one():
    at = open_present(case="software-updates")
    assert any("No run of these options" in c.value for c in at.caption)


def test_another_case_starts_at_its_first_step():
    at = open_present(case="todo-api", step="3", node="table")
    at.selectbox(key="case").set_value("paid-content").run()
    assert not at.exception
    assert "step 1 of" in heading(at) and heading(at).startswith("MyVideo")
    assert "1" in at.query_params["step"] and "node" not in at.query_params
