"""Downloads on Explore, clicked the moment a toggle flip has rerun the page, deliver their file."""
from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest

from app.core.cases import get_case
from app.core.diagram import render
from tests.browser import ROOT

pytestmark = pytest.mark.browser
SHOTS = ROOT / ".pytest_cache" / "screenshots"
DIAGRAM = "img[alt^='Architecture diagram']"


def download(page, name: str, tmp_path) -> tuple[str, bytes]:
    with page.expect_download(timeout=20_000) as info:
        page.get_by_role("button", name=name, exact=True).click()
    dl = info.value
    target = tmp_path / dl.suggested_filename
    dl.save_as(target)
    return dl.suggested_filename, target.read_bytes()


def rerun_done(page) -> None:
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=30_000)


def shown_values(page, case) -> dict:
    """The toggle values the page shows, read from its URL (every run writes them there)."""
    query = parse_qs(urlparse(page.url).query)
    return case.resolve({t.key: query[t.key][0] for t in case.toggles})


def test_png_and_svg_downloaded_right_after_a_toggle_flip_are_the_flipped_diagram(browser, base_url, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    case = get_case("todo-api")
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base_url + "/?case=todo-api")
    page.get_by_role("heading", name="MyTodoList").wait_for(timeout=30_000)
    page.locator(DIAGRAM).wait_for(state="visible", timeout=30_000)
    dax = False
    for flip in range(4):
        before = page.locator(DIAGRAM).get_attribute("src")
        page.locator("label").filter(has_text="DAX in front of DynamoDB").first.click()
        dax = not dax
        page.wait_for_function("(old) => { const i = document.querySelector(\"" + DIAGRAM.replace('"', '\\"')
                               + "\"); return i && i.getAttribute('src') !== old; }", arg=before, timeout=30_000)
        rerun_done(page)        # the rerun has finished: download at once, with no pause
        expected = render(case, {"dax": dax, "api_cache": False})
        slug = f"todo-api_dax-{'on' if dax else 'off'}_api_cache-off"
        png_name, png = download(page, "PNG", tmp_path)
        svg_name, svg = download(page, "SVG", tmp_path)
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), f"flip {flip}: the PNG download is a PNG"
        assert (png_name, png) == (f"{slug}.png", expected.png), f"flip {flip}: the PNG of the flipped diagram"
        assert (svg_name, svg.decode()) == (f"{slug}.svg", expected.svg), f"flip {flip}: the SVG of the flipped diagram"
    page.screenshot(path=str(SHOTS / "explore-downloads-after-flips.png"), full_page=True)
    assert errors == [], errors
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_png_clicked_while_the_flip_still_reruns_delivers_a_file(browser, base_url, tmp_path):
    """The click lands 0 to 200 ms after the flip, on configurations never drawn before, while the
    button may still be the one of the previous run: the file that button holds is delivered."""
    case = get_case("global-blog")
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(base_url + "/?case=global-blog")
    page.locator(DIAGRAM).wait_for(state="visible", timeout=30_000)
    switches = page.locator("[data-testid='stSidebar'] label:has(input[role='switch'])")
    switches.first.wait_for(timeout=30_000)
    bools = [t for t in case.toggles if t.kind == "bool"]
    assert switches.count() == len(bools) >= 3
    rerun_done(page)
    for n, i in enumerate([0, 1, 2, 0, 1, 2, 1, 0]):
        before = shown_values(page, case)
        switches.nth(i).click()
        after = dict(before, **{bools[i].key: not before[bools[i].key]})
        page.wait_for_timeout((0, 100, 200)[n % 3])
        name, png = download(page, "PNG", tmp_path)
        assert png in {render(case, before).png, render(case, after).png}, f"download {n}: the diagram before or after"
        rerun_done(page)
        assert shown_values(page, case) == after
    _, png = download(page, "PNG", tmp_path)
    assert png == render(case, shown_values(page, case)).png
    page.close()


def test_what_if_report_and_csv_clicked_right_after_a_flip_deliver_their_files(browser, base_url, tmp_path):
    """What if reruns on every change of B: the report and the cost CSV clicked 0 to 200 ms after a
    flip are still delivered, the CSV with both configurations' lines and the report whole."""
    from app.report import CSV_COLUMNS

    page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base_url + "/whatif?case=todo-api")
    page.get_by_role("button", name="Cost breakdown (CSV)", exact=True).wait_for(timeout=60_000)
    rerun_done(page)
    b_options = [page.locator("[data-testid='stMain'] label:has(input[role='switch'])").filter(has_text=t.label).first
                 for t in get_case("todo-api").toggles]
    for option in b_options:
        option.wait_for(state="visible", timeout=30_000)
    for n in range(4):
        b_options[n % 2].click()
        page.wait_for_timeout((0, 100, 200)[n % 3])
        _, data = download(page, "Cost breakdown (CSV)", tmp_path)
        rows = list(csv.reader(io.StringIO(data.decode())))
        assert rows[0] == list(CSV_COLUMNS), f"download {n}: a CSV with its header"
        assert {r[0] for r in rows[1:]} == {"A", "B"}, f"download {n}: lines of A and of B"
        rerun_done(page)
        _, html = download(page, "Report (HTML)", tmp_path)
        assert html.rstrip().endswith(b"</html>") and b"<svg" in html, f"download {n}: the whole report"
    assert errors == [], errors
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
