"""The app as a person sees it: a real server, headless Chromium, screenshots."""
from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from app.core.cases import all_cases, get_case, parts
from app.core.diagram import render
from tests.browser import ROOT

pytestmark = pytest.mark.browser
SHOTS = ROOT / ".pytest_cache" / "screenshots"


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
    page.get_by_text("DAX in front of DynamoDB: on").first.wait_for(timeout=30_000)
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


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.id)
def test_study_question_answered_and_evidence_revealed_in_a_browser(browser, base_url, case):
    SHOTS.mkdir(parents=True, exist_ok=True)
    q = next(q for q in parts(case).questions if not q.multiple and q.has_evidence)
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
    before_src, after_src = (page.locator(f"img[alt^='Evidence diagram {w}']").get_attribute("src")
                             for w in ("before", "after"))
    assert before_src != after_src, "the flip changes the diagram"
    if parts(case).model is not None:
        page.get_by_text("Monthly cost, before → after (modelled)").first.wait_for(timeout=10_000)
    page.screenshot(path=str(SHOTS / f"study-evidence-{case.id}.png"), full_page=True)

    # The copied link opens the same question at the same step in a new browser context.
    other = browser.new_context(viewport={"width": 390, "height": 844})
    copy = other.new_page()
    copy.goto(page.url)
    copy.locator("img[alt^='Evidence diagram after']").wait_for(state="visible", timeout=60_000)
    copy.get_by_text(q.question[:40]).first.wait_for(timeout=10_000)
    assert f"q={q.id}" in copy.url and "step=reveal" in copy.url
    copy.screenshot(path=str(SHOTS / f"study-evidence-phone-{case.id}.png"), full_page=True)
    other.close()


def test_a_prediction_is_checked_against_the_evidence_in_a_browser(browser, base_url):
    """A wrong answer, then a prediction: the cost right, the component wrong, the latency as the evidence says;
    the page marks each and the session's score counts the right ones."""
    from app.core.questions import direction
    from app.engine.run import run as run_model

    case = get_case("todo-api")
    q = next(q for q in parts(case).questions if not q.multiple)
    before, after = q.evidence_values(case)
    cost = [run_model(case.id, {**v, **q.workload}, samples=2_000, with_break_even=False)["monthly_cost_usd"]
            for v in (before, after)]
    cost_went = direction(*cost)
    wrong_component = next(c for c in case.present_components(after) if c.key != q.answered_by)
    wrong_option = next(o for o in q.options if o.id not in q.answers)
    words = {"up": "up", "down": "down", "same": "about the same"}

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base_url}/study?case={case.id}&q={q.id}")
    page.get_by_role("heading", name=f"Study: {case.title}").wait_for(timeout=30_000)
    page.get_by_text(wrong_option.text[:40]).first.click()
    page.get_by_role("button", name="Check my answer").click()
    page.get_by_text(f"Not quite: you chose {wrong_option.id}").wait_for(timeout=30_000)

    page.get_by_role("radiogroup", name="Latency (p50) will go").get_by_text("down").click()
    page.get_by_role("radiogroup", name="Monthly cost will go").get_by_text(words[cost_went], exact=True).click()
    page.get_by_role("combobox", name="Which component now answers the request?").click()
    page.get_by_role("option", name=wrong_component.label, exact=True).click()
    page.get_by_role("button", name="Commit my prediction and reveal").click()
    page.get_by_text("Your prediction against the evidence").wait_for(timeout=60_000)
    table = page.locator("[data-testid='stTable']").filter(has_text="You predicted").first
    table.wait_for(timeout=10_000)
    rows = {r[0]: r for r in table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText.trim()))")}
    rows = {k: r[-4:] for k, r in rows.items()}     # What, You predicted, Evidence, Check
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "study-prediction-checked.png"))
    assert rows["Monthly cost"][1] == words[cost_went] and rows["Monthly cost"][3] == "right"
    assert rows["Monthly cost"][2].startswith(words[cost_went])
    assert rows["Component that answers"][1:] == [wrong_component.label, rows["Component that answers"][2], "wrong"]
    assert rows["Component that answers"][2].startswith(next(c.label for c in case.components
                                                             if c.key == q.answered_by))
    latency_right = rows["Latency (p50)"][2].startswith("down")
    assert rows["Latency (p50)"][3] == ("right" if latency_right else "wrong")
    score = page.locator("[data-testid='stTable']").filter(has_text="Predictions right").first
    cells = score.locator("tbody tr").first.evaluate("r => [...r.querySelectorAll('th, td')].map(c => c.innerText.trim())")
    assert cells[-3:] == ["1", "0", f"{1 + latency_right} of 3"], cells      # answered, right, predictions right
    page.close()


def test_a_downloaded_report_reads_offline_from_another_folder(browser, tmp_path):
    """The report of a run, opened from a folder of its own with the network cut: the diagram with every
    icon, the thumbnail the run made, the tables; and not one request beyond the file itself."""
    from app.cli import main

    folder = tmp_path / "elsewhere" / "reports"
    folder.mkdir(parents=True)
    target = folder / "blog.html"
    assert main(["report", "global-blog", "--set", "dax=on", "--run", "-o", str(target)]) == 0
    context = browser.new_context(offline=True, viewport={"width": 1440, "height": 900})
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    context.route("**/*", lambda route: route.abort() if not route.request.url.startswith(("file:", "data:"))
                  else route.continue_())
    page = context.new_page()
    page.goto(target.as_uri())
    page.get_by_role("heading", name="MyBlog.com: report of a run").wait_for(timeout=10_000)
    counts = page.evaluate("""async () => {
        const probe = src => new Promise(res => { const i = new Image(); i.onload = () => res(i.naturalWidth > 0);
                                                  i.onerror = () => res(false); i.src = src; });
        const icons = [...document.querySelectorAll('svg.diagram image')]
            .map(el => el.getAttribute('xlink:href') || el.getAttribute('href'));
        const imgs = [...document.querySelectorAll('img')];
        return {icons: icons.length, iconsLoaded: (await Promise.all(icons.map(probe))).filter(Boolean).length,
                imgs: imgs.length, imgsLoaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
                width: document.querySelector('svg.diagram').getBoundingClientRect().width};
    }""")
    page.screenshot(path=str(SHOTS / "report-offline.png"), full_page=True)
    assert counts["icons"] >= 8 and counts["iconsLoaded"] == counts["icons"], counts
    assert counts["imgs"] >= 2 and counts["imgsLoaded"] == counts["imgs"], counts    # the image and its thumbnail
    assert counts["width"] > 800, counts
    for cls in ("options", "latency", "costs", "checks", "trace"):
        assert page.locator(f"table.{cls}").first.is_visible(), cls
    assert page.locator("table.checks .fail").count() == 0 and page.locator("table.checks .pass").count() > 5
    assert page.locator("table.options").first.inner_text().count("on") >= 2
    assert requested == [target.as_uri()], requested
    context.close()


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
