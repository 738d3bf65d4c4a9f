"""The app as a person sees it: a real server, headless Chromium, screenshots."""
from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from app.core.cases import get_case
from app.core.diagram import render
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


def diagram_src(page) -> str:
    img = page.locator("img[alt^='Architecture diagram']")
    img.wait_for(state="visible", timeout=30_000)
    return img.get_attribute("src")


def test_explore_in_a_browser_toggle_changes_diagram_and_url(browser, base_url):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base_url + "/?case=todo-api")
    page.get_by_role("heading", name="MyTodoList").wait_for(timeout=30_000)
    before = diagram_src(page)
    loaded = page.evaluate("() => { const i = document.querySelector(\"img[alt^='Architecture diagram']\");"
                           " return i.complete && i.naturalWidth > 600; }")
    assert loaded, "the diagram image loaded"
    page.screenshot(path=str(SHOTS / "explore-todo-default.png"), full_page=True)

    page.locator("label").filter(has_text="DAX in front of DynamoDB").first.click()
    page.wait_for_function("(old) => { const i = document.querySelector(\"img[alt^='Architecture diagram']\");"
                           " return i && i.getAttribute('src') !== old; }", arg=before, timeout=30_000)
    page.wait_for_url("**dax=on**", timeout=10_000)
    page.get_by_text("= on)").first.wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "explore-todo-dax.png"), full_page=True)

    # The copied URL reproduces the view in a fresh page.
    copy = browser.new_page(viewport={"width": 1400, "height": 1000})
    copy.goto(page.url)
    copy.get_by_role("heading", name="MyTodoList").wait_for(timeout=30_000)
    assert "dax=on" in copy.url
    copy.locator("img[alt$='dax=on, api_cache=off']").wait_for(state="visible", timeout=30_000)
    copy.close()
    page.close()


def test_downloaded_svg_shows_every_icon_from_another_folder(browser, tmp_path):
    rendered = render(get_case("todo-api"), {"dax": True, "api_cache": True})
    svg = tmp_path / "somewhere" / "todo.svg"
    svg.parent.mkdir()
    svg.write_text(rendered.svg)
    page = browser.new_page()
    page.goto(svg.as_uri())
    counts = page.evaluate("""async () => {
        const imgs = [...document.querySelectorAll('image')];
        const ok = await Promise.all(imgs.map(el => new Promise(res => {
            const src = el.getAttribute('xlink:href') || el.getAttribute('href');
            const probe = new Image();
            probe.onload = () => res(probe.naturalWidth > 0);
            probe.onerror = () => res(false);
            probe.src = src;
        })));
        return {total: imgs.length, loaded: ok.filter(Boolean).length};
    }""")
    assert counts["total"] >= 8 and counts["loaded"] == counts["total"]
    page.screenshot(path=str(SHOTS / "svg-elsewhere.png"))
    page.close()


# -- a careless or hostile visitor: a double press of Run, a link carrying Markdown ---------------
def checks_passed(page) -> tuple[int, int]:
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Checks passed")
    metric.wait_for(timeout=120_000)
    passed, total = re.findall(r"\d+", metric.locator("[data-testid='stMetricValue']").inner_text())
    return int(passed), int(total)


@pytest.mark.parametrize("gap_s", [0.25, 2.0])
def test_a_second_press_of_run_while_it_runs_starts_no_second_run(browser, base_url, gap_s):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base_url + "/run?case=todo-api")
    button = page.get_by_role("button", name="Run", exact=True)
    button.wait_for(timeout=60_000)
    # The longest traffic run (2,000 requests), so the run is still in flight when the second press comes.
    page.get_by_text("Traffic run").first.click()
    requests = page.locator("[data-testid='stSlider']").filter(has_text="Requests").locator("input[type='range']")
    requests.focus()
    page.keyboard.press("End")
    page.wait_for_timeout(1500)
    assert requests.input_value() == "2000"
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


def test_study_question_answered_and_evidence_revealed_in_a_browser(browser, base_url):
    from app.core.cases import all_cases, parts

    SHOTS.mkdir(parents=True, exist_ok=True)
    case = all_cases()[0]
    q = next(q for q in parts(case).questions if not q.multiple)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base_url}/study?case={case.id}&q={q.id}")
    page.get_by_role("heading", name=f"Study: {case.title}").wait_for(timeout=30_000)
    page.get_by_text(q.option(q.answers[0]).text[:40]).first.click()
    page.get_by_role("button", name="Check my answer").click()
    page.get_by_text("Right: " + ", ".join(q.answers)).wait_for(timeout=30_000)
    for o in q.options:
        page.get_by_text(o.reason[:40]).first.wait_for(timeout=10_000)
    page.wait_for_url("**step=predict**", timeout=10_000)

    page.get_by_role("radiogroup", name="Latency (p50) will go").get_by_text("down").click()
    page.get_by_role("radiogroup", name="Monthly cost will go").get_by_text("up").click()
    page.get_by_role("combobox", name="Which component now answers the request?").click()
    label = next(c.label for c in case.components if c.key == q.answered_by)
    page.get_by_role("option", name=label, exact=True).click()
    page.get_by_role("button", name="Commit my prediction and reveal").click()
    after = page.locator("img[alt^='Evidence diagram after']")
    after.wait_for(state="visible", timeout=60_000)
    page.locator("img[alt^='Evidence diagram before']").wait_for(state="visible", timeout=10_000)
    page.get_by_text("Your prediction against the evidence").wait_for(timeout=10_000)
    page.get_by_text("(modelled)").first.wait_for(timeout=10_000)
    assert page.evaluate("() => [...document.querySelectorAll(\"img[alt^='Evidence diagram']\")]"
                         ".every(i => i.complete && i.naturalWidth > 300)"), "both evidence diagrams loaded"
    page.wait_for_url("**step=reveal**", timeout=10_000)
    page.screenshot(path=str(SHOTS / "study-evidence.png"), full_page=True)

    # The copied link opens the same question at the same step in a new browser context.
    other = browser.new_context(viewport={"width": 390, "height": 844})
    copy = other.new_page()
    copy.goto(page.url)
    copy.locator("img[alt^='Evidence diagram after']").wait_for(state="visible", timeout=60_000)
    copy.get_by_text(q.question[:40]).first.wait_for(timeout=10_000)
    assert f"q={q.id}" in copy.url and "step=reveal" in copy.url
    copy.screenshot(path=str(SHOTS / "study-evidence-phone.png"), full_page=True)
    other.close()


SIZES = [(1440, 900), (1920, 1080), (390, 844)]


@pytest.mark.parametrize("width,height", SIZES, ids=lambda x: str(x))
def test_what_if_reads_as_a_student_expects(browser, base_url, width, height):
    """No e-notation, no internal keys, units beside the workload sliders; screenshots kept."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    for case in ("todo-api", "iot-analytics"):
        page.goto(f"{base_url}/whatif?case={case}")
        page.get_by_text("Latency p50: A → B").first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(SHOTS / f"whatif-{case}-{width}x{height}-top.png"))
        page.get_by_text("Workload (applies to A and B)").click()
        page.get_by_text("(requests/month)" if case == "todo-api" else "(devices)").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        text = page.locator("section.main, [data-testid='stMain']").first.inner_text()
        assert "e+" not in text
        assert "same options as A" not in text and "instead of" in text
        for key in ("database_read", "global_tables", "requests_per_month", "+0.00"):
            assert key not in text, key
        page.screenshot(path=str(SHOTS / f"whatif-{case}-{width}x{height}.png"), full_page=True)
    page.close()


def test_pages_request_nothing_from_outside_the_machine(browser, base_url):
    """Every request of every page (favicon, fonts, scripts) goes to the app's own server."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    for path, heading in (("/?case=todo-api", "MyTodoList"), ("/whatif?case=todo-api", None),
                          ("/run?case=todo-api", None)):
        page.goto(base_url + path)
        if heading:
            page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle", timeout=30_000)
    page.close()
    assert requested, "the pages made no request at all"
    outside = [url for url in requested
               if not url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:"))]
    assert outside == []
