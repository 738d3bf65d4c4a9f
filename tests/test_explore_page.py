"""The Explore page, driven through Streamlit's AppTest like a user would."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.core.cases import all_cases, get_case
from app.core.dot import toggle_variants
from app.ui.state import widget_key
from tests.conftest import APP_ENTRY

CASES = all_cases()


def open_app(**query) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def diagram(at: AppTest):
    images = at.get("image")
    assert len(images) == 1, "the diagram is shown once"
    return images[0].proto.imgs[0]


def test_opens_on_the_first_case_with_its_diagram():
    at = open_app()
    assert not at.exception
    first = CASES[0]
    assert at.title[0].value == first.title
    assert diagram(at).url.startswith("data:image/svg+xml")
    assert at.query_params["case"] == first.id


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_case_shows_its_diagram_story_and_takeaways(case):
    at = open_app()
    at.selectbox(key="case").set_value(case.id).run()
    assert not at.exception
    assert at.title[0].value == case.title
    assert case.title in diagram(at).alt
    text = " ".join(m.value for m in at.markdown)
    assert case.takeaways[0][:40] in text
    for t in case.toggles:
        assert t.exam_point[:40] in text
    assert len(at.get("download_button")) == 3


@pytest.mark.parametrize("case_id,key,value",
                         [(c.id, t.key, v) for c in CASES for t in c.toggles for v in toggle_variants(t)],
                         ids=lambda x: str(x))
def test_every_toggle_changes_the_diagram_and_the_url(case_id, key, value):
    case = get_case(case_id)
    at = open_app(case=case_id)
    before = diagram(at).url
    toggle = case.toggle(key)
    widget = at.get("toggle" if toggle.kind == "bool" else ("selectbox" if toggle.kind == "choice" else "slider"))
    widget = [w for w in widget if w.key == widget_key(case, toggle)][0]
    widget.set_value(value).run()
    assert not at.exception
    assert diagram(at).url != before
    assert at.query_params[key] == toggle.to_text(value)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_copied_url_reproduces_the_view(case):
    flipped = {t.key: toggle_variants(t)[0] for t in case.toggles}
    query = {"case": case.id, **{k: case.toggle(k).to_text(v) for k, v in flipped.items()}}
    at = open_app(**query)
    assert not at.exception
    assert at.title[0].value == case.title
    expected = ", ".join(f"{k}={case.toggle(k).to_text(v)}" for k, v in case.resolve(flipped).items())
    assert diagram(at).alt.endswith(expected)


def test_bad_values_in_the_url_are_ignored_with_a_warning():
    at = open_app(case="todo-api", dax="sometimes", bogus="1")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "dax" in warnings and "on or off" in warnings
    assert "bogus" in warnings and "dax, api_cache" in warnings
    assert at.toggle(key=widget_key(get_case("todo-api"), get_case("todo-api").toggle("dax"))).value is False


def test_an_unknown_case_in_the_url_falls_back_with_a_warning():
    at = open_app(case="my-startup")
    assert not at.exception
    assert "my-startup" in at.warning[0].value and CASES[0].id in at.warning[0].value
    assert at.title[0].value == CASES[0].title
