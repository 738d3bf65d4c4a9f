"""What a link carries is shown as text, refused when invalid, and the notice about it stays on
the page the link opened only until the user moves on (AppTest, like a user would)."""
from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from app.core.cases import get_case
from app.ui.state import widget_key
from tests.conftest import APP_ENTRY

PAGES = ("views/explore.py", "views/whatif.py", "views/run.py")
HOSTILE = "**B** [x](http://evil.example/) ![i](http://127.0.0.1:9/x.png) <img src=x> :red[big] __u__"


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    if page != PAGES[0]:
        at.switch_page(page)          # the link opens this page
    return at.run()


def notices(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "link" in w.value]


def unescaped_markup(source: str) -> list[str]:
    """Markdown constructs that would act in ``source`` (a character not preceded by a backslash)."""
    bare = re.sub(r"\\.", "", source)                  # drop every escaped character
    found = [c for c in "*[]!<>`" if c in bare]
    found += re.findall(r":[a-z]+\[|(?<![A-Za-z0-9])_\w", bare)
    # bare URLs become links after escapes are read, unless something joins them to the text before
    found += re.findall(r"(?<!\u2060)(?:https?:|www\.)", re.sub(r"\\(.)", r"\1", source))
    return found


def as_text(source: str) -> str:
    """What the reader sees of ``source``: escapes read, invisible word joiners dropped."""
    return re.sub(r"\\(.)", r"\1", source).replace("\u2060", "")


@pytest.mark.parametrize("page", PAGES)
def test_markdown_and_html_in_a_link_are_shown_as_text(page):
    at = open_page(page, case="todo-api", dax=HOSTILE, **{"**k**": "v"})
    assert not at.exception
    shown = notices(at)
    assert len(shown) == 2
    for source in shown:
        assert unescaped_markup(source) == [], source
    text = " ".join(as_text(s) for s in shown)
    assert repr(HOSTILE) in text and "**k**" in text       # every character is still there, as text

    at = open_page(page, case=HOSTILE)
    assert not at.exception
    [source] = notices(at)
    assert unescaped_markup(source) == [] and HOSTILE in as_text(source)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", "9" * 400])
def test_non_finite_numbers_in_a_link_are_refused_with_a_notice(page, value):
    at = open_page(page, case="iot-analytics", buffer_interval=value)
    assert not at.exception
    [notice] = notices(at)
    assert "buffer\\_interval" in notice or "buffer_interval" in notice
    assert "not a finite number" in notice and "from 60 to 900" in notice and len(notice) < 300
    case = get_case("iot-analytics")
    slider = at.slider(key=widget_key(case, case.toggle("buffer_interval")))
    assert slider.value == case.toggle("buffer_interval").default


def test_the_notice_stays_on_the_page_the_link_opened_until_a_value_changes():
    case = get_case("todo-api")
    at = open_page("views/explore.py", case="todo-api", dax="sometimes")
    assert len(notices(at)) == 1
    at.run()                                           # a rerun of the same view keeps it
    assert len(notices(at)) == 1
    at.toggle(key=widget_key(case, case.toggle("api_cache"))).set_value(True).run()
    assert notices(at) == [] and not at.exception
    at.toggle(key=widget_key(case, case.toggle("api_cache"))).set_value(False).run()
    assert notices(at) == []                           # back to the linked view: the notice stays gone


def test_the_notice_is_cleared_once_the_user_goes_to_another_page():
    at = open_page("views/explore.py", case="todo-api", dax="sometimes")
    assert len(notices(at)) == 1
    at.switch_page("views/whatif.py").run()
    assert notices(at) == [] and not at.exception
    at.switch_page("views/explore.py").run()
    assert notices(at) == []


def test_a_link_to_another_page_shows_its_notice_there_until_a_value_changes():
    at = open_page("views/run.py", case="todo-api", dax="sometimes")
    assert len(notices(at)) == 1 and at.title[0].value.startswith("Run")
    case = get_case("todo-api")
    at.toggle(key=widget_key(case, case.toggle("dax"))).set_value(True).run()
    assert notices(at) == [] and not at.exception


LONG = "x" * 100_000


@pytest.mark.parametrize("query", [{"case": "todo-api", "dax": LONG}, {"case": "todo-api", LONG: "on"},
                                   {"case": LONG}, {"case": "iot-analytics", "buffer_interval": "9" * 100_000}],
                         ids=["value", "key", "case", "digits"])
def test_a_link_value_100_kb_long_is_cut_in_its_notice(query):
    at = open_page("views/explore.py", **query)
    assert not at.exception
    [notice] = notices(at)
    assert len(notice) < 400 and "(100,000 characters)" in as_text(notice), notice[:500]


@pytest.mark.parametrize("page, query", [("views/study.py", {"q": LONG}), ("views/study.py", {"step": LONG}),
                                         ("views/present.py", {"step": LONG}), ("views/present.py", {"node": LONG}),
                                         ("views/present.py", {"step": "9" * 4000})],
                         ids=["question", "study-step", "present-step", "node", "step-digits"])
def test_a_page_s_own_link_values_100_kb_long_are_cut_in_its_notice(page, query):
    at = open_page(page, case="todo-api", **query)
    assert not at.exception
    shown = notices(at)
    assert shown and all(len(n) < 400 and "characters)" in as_text(n) for n in shown), [n[:300] for n in shown]
