"""The Run page through AppTest, as the case tests drive it."""
from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.conftest import APP_ENTRY


def open_run_page(case_id: str, timeout: float = 300) -> AppTest:
    """The Run page with ``case_id`` picked in the sidebar."""
    at = AppTest.from_file(APP_ENTRY, default_timeout=timeout)
    at.run()
    at.switch_page("views/run.py").run()
    if at.selectbox(key="case").value != case_id:
        at.selectbox(key="case").set_value(case_id).run()
    assert not at.exception
    return at


def press_run(at: AppTest) -> tuple[int, int]:
    """Press Run; (checks passed, checks in all) as the page's metric shows them."""
    at.button(key="run-button").click().run()
    assert not at.exception
    passed, total = next(m.value for m in at.metric if m.label == "Checks passed").split(" / ")
    return int(passed), int(total)


def _as_read(value):
    """A static table's cell as a reader sees it: its Markdown escapes read, the invisible joiners
    that keep bare links text dropped."""
    return re.sub(r"\\(.)", r"\1", value).replace("\u2060", "") if isinstance(value, str) else value


def shown_tables(at: AppTest) -> list:
    """The page's static tables (DataFrames) as a reader sees their cells."""
    return [t.value.map(_as_read) for t in at.table]


def table_with(at: AppTest, column: str):
    """The first static table of the page that has ``column``, as a reader sees it."""
    return next(t for t in shown_tables(at) if column in t.columns)
