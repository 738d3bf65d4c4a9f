"""docs/adding-a-case.md holds a complete seventh case: written from the page into a folder of its own and
registered as a case kept outside the repository, it keeps the contract, runs from the command line and
opens on every page."""
from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from app.core.cases import all_cases, parts
from tests.commandline import cli
from tests.conftest import APP_ENTRY, ROOT

DOC = ROOT / "docs" / "adding-a-case.md"
FOLDER = "patterns/shop_orders/"
# A file's heading, then its code block: "#### `patterns/shop_orders/pipeline.py`" and a fenced block.
FILE_BLOCK = re.compile(r"^#### `(?P<path>[^`]+)`\n+```[a-z]*\n(?P<body>.*?)^```$", re.M | re.S)


def example_files() -> dict[str, str]:
    found = {m["path"]: m["body"] for m in FILE_BLOCK.finditer(DOC.read_text(encoding="utf-8"))}
    assert found and all(path.startswith(FOLDER) for path in found), sorted(found)
    return {path[len(FOLDER):]: body for path, body in found.items()}


@pytest.fixture
def shop(extra_case) -> str:
    return extra_case("shop_orders", example_files())


def test_the_example_has_every_part_and_the_contributor_touches_its_folder_only():
    assert set(example_files()) == {"__init__.py", "pipeline.py", "handlers.py", "run_view.py", "model.py",
                                    "questions.json"}
    assert "shop-orders" not in {c.id for c in all_cases()}        # not one of the registry's cases


def test_the_example_keeps_the_contract(shop, tmp_path):
    folder = tmp_path / "shop_orders"
    r = cli("check-case", str(folder))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("shop-orders (shop_orders) keeps the case contract; parts: __init__.py, pipeline.py, "
                               "run_view.py, model.py, questions.json.")
    assert "Not registered" not in r.stdout                         # EXPLORER_EXTRA_CASES names it


@pytest.mark.parametrize("dead_letter_queue,where", [("on", "dead-letter queue"),
                                                     ("off", "orders queue, received again and again")])
def test_the_example_runs_from_the_cli(shop, dead_letter_queue, where):
    r = cli("run", shop, "--set", f"dead_letter_queue={dead_letter_queue}", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["ok"], out["checks"]
    checks = {c["name"]: c for c in out["checks"]}
    assert checks["every order is in the table"]["detail"] == "5 of 5 read back"
    assert checks[f"the malformed order waits in the {where}"]["ok"]
    assert out["artifacts"]["orders saved"] == [0, 1, 2, 3, 4]


def test_the_example_simulates_and_a_dead_letter_queue_costs_less(shop):
    costs = {}
    for value in ("on", "off"):
        r = cli("simulate", shop, "--set", f"dead_letter_queue={value}", "--samples", "5000", "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["latency_ms"]["p50"] > 0
        costs[value] = out["monthly_cost_usd"]
    assert 0 < costs["on"] < costs["off"]
    assert "A malformed order is received 5,760 times." in json.loads(
        cli("simulate", shop, "--set", "dead_letter_queue=off", "--samples", "5000", "--json").stdout)["notes"]


def open_page(page: str, case_id: str, **query) -> AppTest:
    at = AppTest.from_file(APP_ENTRY, default_timeout=120)
    at.query_params["case"] = case_id
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    return at.run()


def test_the_example_opens_on_explore_and_what_if(shop):
    at = open_page("views/explore.py", shop)
    assert not at.exception and at.title[0].value == "MyShop orders"
    at = open_page("views/whatif.py", shop)
    assert not at.exception and at.title[0].value == "What if? MyShop orders"
    assert at.toggle(key=f"whatif:B:{shop}:dead_letter_queue").value is False      # B flips the case's option
    assert len(at.metric) == 4


def test_the_example_runs_from_the_run_page_and_present_walks_its_one_step(shop):
    at = open_page("views/run.py", shop)
    at.slider(key="run:shop:orders").set_value(3).run()
    at.button(key="run-button").click().run()
    assert not at.exception
    assert any(m.value == "**Orders saved**: 0, 1, 2" for m in at.markdown)
    at.switch_page("views/present.py").run()
    assert not at.exception
    assert at.title[0].value == "MyShop orders: step 1 of 1, Send the orders"
    assert at.button(key="present-prev").disabled and at.button(key="present-next").disabled


def test_the_example_is_studied_with_its_evidence(shop):
    q = parts(shop).questions[0]
    at = open_page("views/study.py", shop)
    right = q.answers[0]
    at.radio(key=f"study:pick:{q.id}").set_value(right).run()
    at.button(key=f"study:submit:{q.id}").click().run()
    at.radio(key=f"study:pl:{q.id}").set_value("same").run()
    at.radio(key=f"study:pc:{q.id}").set_value("down").run()
    at.selectbox(key=f"study:pa:{q.id}").set_value("dlq").run()
    at.button(key=f"study:reveal:{q.id}").click().run()
    assert not at.exception
    assert any(s.value.startswith("Right") for s in at.success)
    assert len(at.get("image")) == 2                                    # the diagram before and after
    assert [m.label for m in at.metric][1] == "Monthly cost, before → after (modelled)"
