"""The app as a careless or hostile visitor meets it: a double press of Run, a link carrying Markdown."""
from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from tests.browser import CHROMIUM_ARGS, ROOT, app_server, chromium_path

pytestmark = pytest.mark.browser
SHOTS = ROOT / ".pytest_cache" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base_url():
    with app_server() as url:
        yield url


def checks_passed(page) -> tuple[int, int]:
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Checks passed")
    metric.wait_for(timeout=120_000)
    passed, total = re.findall(r"\d+", metric.locator("[data-testid='stMetricValue']").inner_text())
    return int(passed), int(total)


@pytest.mark.parametrize("gap_s", [0.25, 2.0])
def test_a_second_press_of_run_while_it_runs_starts_no_second_run(browser, base_url, gap_s):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base_url + "/run?case=global-blog")
    button = page.get_by_role("button", name="Run", exact=True)
    button.wait_for(timeout=60_000)
    button.click()
    time.sleep(gap_s)
    button.click()
    try:
        passed, total = checks_passed(page)
    finally:
        page.screenshot(path=str(SHOTS / f"run-double-press-{gap_s}.png"), full_page=True)
    assert total > 5 and passed == total, f"{passed}/{total} checks passed after a second press"
    assert page.get_by_text("no second run was started").count() == 1
    assert page.locator("[data-testid='stException']").count() == 0
    # the session still works: a later press runs again, green
    button.click()
    page.get_by_text("checks passed in").first.wait_for(timeout=120_000)
    passed, total = checks_passed(page)
    assert passed == total and page.get_by_text("no second run was started").count() == 0
    page.close()


def test_markdown_in_a_link_is_shown_as_text(browser, base_url):
    hostile = "**B** [x](http://evil.example/) ![i](http://127.0.0.1:9/x.png)"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(f"{base_url}/?case=todo-api&dax={quote(hostile)}")
    alert = page.locator("[data-testid='stAlert']").filter(has_text="Ignored from the link")
    alert.wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "link-markdown-as-text.png"), full_page=True)
    assert hostile in alert.inner_text().replace("\u2060", "")     # every character, as text
    assert alert.locator("a, img, strong, em, code").count() == 0
    assert [u for u in fetched if u.startswith(("http://127.0.0.1:9/", "http://evil.example"))] == []   # nothing fetched
    page.close()
