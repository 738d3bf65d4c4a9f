"""Every page of every case in a real browser, at a phone's width (390x844), a laptop's (1440x900)
and a desktop's (1920x1080), read as a student reads it.

One app server and one Chromium for the whole sweep. Each page of each case is opened once, at
the phone's width (where Streamlit folds the sidebar away), then the same page is widened to 1440
and 1920 pixels, which unfolds the sidebar: one session per page, so the Run page's result is
read at every width after a single press of Run. At each width the page's visible text is checked:
no e-notation, no "None", no internal option or workload key, a unit beside every slider; and the
browser's console stays free of errors. A full-height screenshot of each view is kept under
``.pytest_cache/screens/`` (the main area scrolls, so the window is made as tall as the page for it).
"""
from __future__ import annotations

import re
import time

import pytest

from app.core.cases import all_cases, parts
from tests.browser import ROOT

pytestmark = pytest.mark.browser
SHOTS = ROOT / ".pytest_cache" / "screens"
PHONE, LAPTOP, DESKTOP = (390, 844), (1440, 900), (1920, 1080)
PAGES = {"explore": "/", "whatif": "/whatif", "run": "/run", "study": "/study"}
CASES = [c.id for c in all_cases()]
MAIN = "[data-testid='stMain']"
SIDEBAR = "[data-testid='stSidebar']"


def _internal_keys() -> set[str]:
    """Keys a student must never read: every toggle and workload key that is not an English word."""
    keys = set()
    for case in all_cases():
        keys.update(t.key for t in case.toggles)
        if parts(case).model is not None:
            keys.update(p.key for p in parts(case).model.PARAMS)
    return {k for k in keys if "_" in k or k == "dax"}


KEYS = re.compile(r"(?<![\w.:/-])(" + "|".join(sorted(map(re.escape, _internal_keys()), key=len, reverse=True))
                  + r")(?![\w-])")
E_NOTATION = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?e[+-]\d+(?![\w-])", re.IGNORECASE)
NONE = re.compile(r"(?<![\w-])None(?![\w-])")
SNAKE = re.compile(r"(?<![\w./:@${-])[a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9](?![\w./-])")   # a name from the code
# The visible text outside code blocks, JSON viewers, links, icons and verbatim JSON bodies (where names
# from the code belong).
PROSE_JS = """(sel) => { const out = []; for (const root of document.querySelectorAll(sel)) {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) { const el = walk.currentNode.parentElement;
        if (!el || el.closest('pre, code, a, [data-testid=stJson], [data-testid=stCode]')) continue;
        if (!el.checkVisibility() || getComputedStyle(el).fontFamily.includes('Material')) continue;  // icons
        const text = walk.currentNode.textContent.trim();
        if (text.startsWith('{') || text.startsWith('[')) continue;    // a message or response body, verbatim
        out.push(text); } }
    return out.join(' '); }"""


def base_path_probe(url: str) -> bool:
    """Streamlit's page, opened at /whatif, first asks /whatif/_stcore/health and host-config to learn
    whether the app is served under a base path; the 404 answers are that probe, not a fault."""
    return bool(re.search(r"/[a-z]+/_stcore/(health|host-config)$", url))


def settle(page, timeout: float = 120_000) -> None:
    """Wait until the script run is over and every chart on the page is drawn."""
    page.locator(f"{MAIN} h1").first.wait_for(timeout=timeout)
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='stApp']\")?.getAttribute('data-test-script-state')"
        " === 'notRunning' && !document.querySelector(\"[data-stale='true']\") && "
        "[...document.querySelectorAll('.stPlotlyChart')].every(c => c.querySelector('.main-svg'))",
        timeout=timeout)
    page.wait_for_timeout(400)


def screenshot(page, name: str) -> None:
    """The whole page: the window is made as tall as the main area's content for the picture."""
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    full = page.evaluate(f"() => document.querySelector(\"{MAIN}\").scrollHeight")
    page.set_viewport_size({"width": width, "height": min(max(height, full + 40), 16_000)})
    page.wait_for_timeout(250)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size({"width": width, "height": height})


def read(page, where: str, viewport: tuple[int, int]) -> list[str]:
    """What a student would object to on the page as it is shown."""
    problems = []
    text = page.locator(MAIN).inner_text()
    if viewport != PHONE:                       # the sidebar is folded away on a phone
        text += "\n" + page.locator(SIDEBAR).inner_text()
    for pattern, what in ((E_NOTATION, "e-notation"), (NONE, "'None'"), (KEYS, "an internal key")):
        for m in pattern.finditer(text):
            context = text[max(0, m.start() - 40):m.end() + 40].replace("\n", " | ")
            problems.append(f"{where}: {what} {m.group(0)!r} in '...{context}...'")
    scope = f"{MAIN}, {SIDEBAR}" if viewport != PHONE else MAIN
    prose = page.evaluate(PROSE_JS, scope)
    for m in SNAKE.finditer(prose):
        context = prose[max(0, m.start() - 40):m.end() + 40].replace("\n", " | ")
        problems.append(f"{where}: a name from the code {m.group(0)!r} in '...{context}...'")
    for slider in page.locator(scope).locator("[data-testid='stSlider']").all():
        if not slider.is_visible():
            continue
        label = slider.locator("[data-testid='stWidgetLabel']").inner_text().strip()
        shown = slider.locator("[data-testid='stSliderThumbValue']").first.inner_text().strip()
        if not (label.endswith(")") or re.search(r"[A-Za-z]", shown)):
            problems.append(f"{where}: slider '{label}' shows {shown!r} with no unit")
    return problems


def open_expanders(page) -> None:
    """Open the folded sections whose content a student reads (workload, run options, artifacts)."""
    opened = page.evaluate(f"""() => [...document.querySelectorAll("{MAIN} details:not([open])")]
        .map(d => {{ d.open = true; return 1; }}).length""")
    if opened:
        page.wait_for_timeout(300)


def press_run(page) -> tuple[int, int]:
    page.get_by_role("button", name="Run", exact=True).click()
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Checks passed")
    metric.wait_for(timeout=180_000)
    settle(page)
    passed, total = re.findall(r"\d+", metric.locator("[data-testid='stMetricValue']").inner_text())
    return int(passed), int(total)


@pytest.mark.parametrize("case_id", CASES)
def test_every_page_of_the_case_reads_as_a_student_expects(browser, base_url, case_id):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]})
    errors: list[str] = []
    problems: list[str] = []
    timings: list[str] = []
    try:
        for name, path in PAGES.items():
            page = context.new_page()
            page.on("console", lambda m, n=name: errors.append(f"{n}: {m.text} ({m.location.get('url')})")
                    if m.type == "error" and not base_path_probe(m.location.get("url", "")) else None)
            page.on("pageerror", lambda e, n=name: errors.append(f"{n}: {e}"))
            page.on("response", lambda r, n=name: errors.append(f"{n}: {r.status} {r.url}")
                    if r.status >= 400 and not base_path_probe(r.url) else None)
            t0 = time.monotonic()
            page.goto(f"{base_url}{path}?case={case_id}")
            settle(page)
            timings.append(f"{name} open {time.monotonic() - t0:.1f}s")
            if name == "run":
                t0 = time.monotonic()
                passed, total = press_run(page)
                timings.append(f"run {time.monotonic() - t0:.1f}s")
                assert total > 0 and passed == total, f"{case_id}: {passed}/{total} checks passed in the browser"
            for viewport in (PHONE, LAPTOP, DESKTOP):
                if viewport != PHONE:
                    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
                    page.locator(SIDEBAR).get_by_text("Architecture").first.wait_for(timeout=10_000)
                    page.wait_for_timeout(500)
                t0 = time.monotonic()
                open_expanders(page)
                t1 = time.monotonic()
                where = f"{case_id} {name} {viewport[0]}x{viewport[1]}"
                problems += read(page, where, viewport)
                t2 = time.monotonic()
                screenshot(page, f"{case_id}-{name}-{viewport[0]}x{viewport[1]}")
                timings.append(f"{name} {viewport[0]}: expand {t1 - t0:.1f}s read {t2 - t1:.1f}s "
                               f"shot {time.monotonic() - t2:.1f}s")
            assert page.locator("[data-testid='stException']").count() == 0, f"{case_id} {name}: an exception"
            page.close()
    finally:
        context.close()
    print(f"screenshots in {SHOTS}; " + "; ".join(timings))
    assert problems == [], "\n".join(problems)
    assert errors == [], "\n".join(errors)


def test_a_bad_link_notice_stays_on_its_page_until_a_value_changes(browser, base_url):
    """The notice shows on the page the link opened, survives a rerun of that view, and is gone once the
    user changes a value; it does not follow the user to another page."""
    context = browser.new_context(viewport={"width": LAPTOP[0], "height": LAPTOP[1]})
    page = context.new_page()
    notice = page.locator("[data-testid='stAlert']").filter(has_text="Ignored from the link")
    page.goto(f"{base_url}/whatif?case=todo-api&dax=maybe")
    settle(page)
    assert notice.count() == 1 and "dax='maybe'" in notice.inner_text()
    page.locator(SIDEBAR).locator("label").filter(has_text="API Gateway caching").first.click()
    page.wait_for_url("**api_cache=on**", timeout=30_000)
    settle(page)
    assert notice.count() == 0, "the notice is cleared once the user changes a value"
    page.locator(SIDEBAR).get_by_role("link", name="Explore").click()
    page.get_by_role("heading", name="MyTodoList").wait_for(timeout=30_000)
    settle(page)
    assert notice.count() == 0, "the notice does not follow the user to another page"

    page.goto(f"{base_url}/whatif?case=todo-api&dax=maybe")        # a fresh link: a fresh notice
    settle(page)
    assert notice.count() == 1
    page.locator(SIDEBAR).get_by_role("link", name="Run").click()
    page.get_by_role("heading", name="Run MyTodoList").wait_for(timeout=30_000)
    settle(page)
    assert notice.count() == 0, "navigating away clears it"
    context.close()
