"""The Present page in a browser: labels a room can read at 1920x1080, the step-through walked with the
arrow keys and the buttons, a step's URL reopened, a node clicked for its details, bad links."""
from __future__ import annotations

import json

import pytest

from app.core.cases import all_cases
from tests.browser import ROOT

pytestmark = pytest.mark.browser
SHOTS = ROOT / ".pytest_cache" / "screenshots"
MIN_LABEL_PX = 14.0

LABEL_HEIGHTS = """() => {
  const texts = [...document.querySelectorAll('.explorer-diagram svg g.node text')];
  const svg = document.querySelector('.explorer-diagram svg').getBoundingClientRect();
  return {heights: texts.map(t => t.getBoundingClientRect().height), width: svg.width};
}"""
LIT = "() => [...document.querySelectorAll('.explorer-diagram svg g.node.hl')].map(g => g.id).sort()"


def open_present(browser, url, width=1920, height=1080):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.locator(".explorer-diagram svg g.node text").first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    return page


def title(page) -> str:
    return page.locator("h1").first.inner_text()


@pytest.mark.parametrize("case_id", [c.id for c in all_cases()])
def test_node_labels_are_at_least_14_px_high_at_1920(browser, base_url, case_id):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_present(browser, f"{base_url}/present?case={case_id}")
    measured = page.evaluate(LABEL_HEIGHTS)
    assert measured["width"] > 1800, "the diagram fills the width"
    assert measured["heights"] and min(measured["heights"]) >= MIN_LABEL_PX, (case_id, min(measured["heights"]))
    (SHOTS / f"present-{case_id}-label-px.json").write_text(json.dumps(
        {"case": case_id, "min_px": round(min(measured["heights"]), 2), "svg_width": measured["width"]}))
    page.screenshot(path=str(SHOTS / f"present-{case_id}-1920.png"))
    page.close()


def test_walk_every_step_with_arrow_keys_and_buttons_then_reopen_a_step(browser, base_url):
    page = open_present(browser, f"{base_url}/present?case=global-blog")
    first = title(page)
    total = int(first.split(" of ")[1].split(",")[0])
    assert "step 1 of" in first and total >= 3
    seen = [page.evaluate(LIT)]
    assert seen[0], "the first step lights its nodes"
    for i in range(2, total + 1):
        if i % 2:
            page.get_by_role("button", name="Next").click()
        else:
            page.locator("body").press("ArrowRight")
        page.wait_for_function("(n) => document.querySelector('h1') && "
                               "document.querySelector('h1').innerText.includes('step ' + n + ' of')", arg=i,
                               timeout=30_000)
        page.wait_for_url(f"**step={i}**", timeout=10_000)
        page.locator(f".explorer-diagram[aria-label*='step {i}:']").wait_for(timeout=30_000)
        seen.append(page.evaluate(LIT))
    assert all(seen) and len({tuple(s) for s in seen}) >= 3, seen
    assert page.get_by_role("button", name="Next").is_disabled()
    page.locator("body").press("ArrowLeft")
    page.wait_for_url(f"**step={total - 1}**", timeout=10_000)
    page.wait_for_function("(n) => document.querySelector('h1').innerText.includes('step ' + n + ' of')",
                           arg=total - 1, timeout=30_000)
    page.locator(f".explorer-diagram[aria-label*='step {total - 1}:']").wait_for(timeout=30_000)
    back = page.evaluate(LIT)
    assert back == seen[-2]

    # A copied link reopens the step in a new browser.
    copy = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    copy.goto(page.url)
    copy.locator(".explorer-diagram svg g.node text").first.wait_for(timeout=60_000)
    assert title(copy) == title(page)
    assert copy.evaluate(LIT) == back
    copy.close()
    page.close()


def test_a_node_click_shows_its_details_and_is_a_link(browser, base_url):
    page = open_present(browser, f"{base_url}/present?case=todo-api&step=1", 1440, 900)
    node = page.locator(".explorer-diagram svg g#node-table")
    tip = node.locator("title").first.text_content()
    assert "Todos table" in tip and "modelled" in tip        # role, p50 and cost on hover
    href = node.locator("a").first.get_attribute("xlink:href")
    assert href and "node=table" in href and "case=todo-api" in href
    node.locator("image").first.click()
    panel = page.locator(".st-key-present-node")
    panel.get_by_text("a month").first.wait_for(timeout=30_000)     # its modelled cost lines
    assert "Todos table" in panel.inner_text() and "p50 latency" in panel.inner_text()
    page.wait_for_url("**node=table**", timeout=10_000)
    page.screenshot(path=str(SHOTS / "present-todo-node-1440.png"), full_page=True)
    page.close()


def test_a_link_with_a_bad_step_or_node_opens_the_nearest_view_with_a_notice(browser, base_url):
    page = open_present(browser, f"{base_url}/present?case=todo-api&step=99&node=nosuch")
    text = page.locator("[data-testid='stAlert']").all_inner_texts()
    assert any("step 99" in t for t in text) and any("nosuch" in t for t in text), text
    total = int(title(page).split(" of ")[1].split(",")[0])
    assert f"step {total} of {total}" in title(page)
    page.close()


@pytest.mark.parametrize("width,height", [(390, 844), (1440, 900)])
def test_the_case_picker_is_below_the_pages_header_on_a_phone_and_a_laptop(browser, base_url, width, height):
    page = open_present(browser, f"{base_url}/present?case=todo-api", width, height)
    header = page.locator("[data-testid='stHeader']").bounding_box()
    label = page.get_by_text("Architecture", exact=True).first.bounding_box()
    opaque = page.evaluate("() => getComputedStyle(document.querySelector(\"[data-testid='stHeader']\"))"
                           ".backgroundColor")
    hidden = header is not None and opaque not in ("rgba(0, 0, 0, 0)", "transparent") \
        and label["y"] < header["y"] + header["height"]
    assert not hidden, (width, label, header, opaque)
    page.close()
