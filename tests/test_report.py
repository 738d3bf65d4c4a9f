"""The report: `python -m app report` and the downloads of the Run and What if pages.

One HTML file that reads offline (nothing in it is fetched; the only web addresses are links to
the sources of published figures), with the diagram, the options in words, the modelled latency
and cost tables and, for a run, the trace, the checks and the artifacts; the cost breakdown as CSV.
"""
from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from app.cli import main
from app.core import format as fmt
from app import report
from app.core.cases import get_case, modelled_cases, parts
from app.core.diagram import render
from app.engine import run as run_engine
from app.engine.books import load_price_book
from app.runtime.pipeline import Check, RunResult, StepResult
from tests.conftest import APP_ENTRY, ROOT
from tests.runpage import open_run_page, press_run, table_with
from tests.scratch_case import NOTES

MODELLED = modelled_cases()      # a case without a model gets a report too: see own_case below


# -- reading a report back --------------------------------------------------------------------------
class Page(HTMLParser):
    """The parts of a report a reader meets: tables (by class), texts, every URL-bearing attribute."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.attrs: list[tuple[str, str, str]] = []     # (tag, attribute, value)
        self.text: list[str] = []
        self.tags: list[str] = []
        self._stack: list[tuple[str, list]] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
        if tag == "table":
            rows: list = []
            self.tables.setdefault(dict(attrs).get("class", ""), []).append(rows)
            self._stack.append((tag, rows))
        elif tag == "tr" and self._stack:
            self._stack[-1][1].append([])
        elif tag in ("td", "th") and self._stack and self._cell is None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._stack:
            self._stack[-1][1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table(self, cls: str, n: int = 0) -> list[dict[str, str]]:
        rows = self.tables[cls][n]
        return [dict(zip(rows[0], r)) for r in rows[1:]]

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def source_urls() -> set[str]:
    """The sources the price and latency books name: the only addresses a report may link to."""
    urls = {p.source_url for p in load_price_book().prices.values() if p.source_url}
    return urls | set(re.findall(r'https?://[^\s"\'<>]+', (ROOT / "assets" / "latency.json").read_text()))


def assert_reads_offline(text: str) -> Page:
    """Nothing in the file is fetched: every attribute with an address is a data: URI or a link (<a href>)
    to a published source; no stylesheet, script, frame or font; a policy that forbids fetching."""
    page = Page(text)
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(page.tags)
    assert "url(" not in text and "@import" not in text
    sources = source_urls()
    for tag, name, value in page.attrs:
        if name in ("href", "xlink:href", "src", "srcset", "action", "poster", "data"):
            if value.startswith("data:image/"):
                continue
            assert tag == "a" and name == "href", (tag, name, value[:80])
            assert urlparse(value).scheme == "https" and value in sources, value
    csp = [v for t, n, v in page.attrs if n == "content" and "default-src 'none'" in v]
    assert csp, "the page forbids fetching anything"
    # Any other address in the file is text a reader sees (a request the run made), never a reference.
    for url in re.findall(r'https?://[^\s"\'<>&]+', text):
        assert url in sources or url in page.all_text(), url
    return page


def cli_report(tmp_path, *args: str, name: str = "report") -> tuple[int, str, str]:
    out, costs = tmp_path / f"{name}.html", tmp_path / f"{name}.csv"
    code = main(["report", *args, "-o", str(out), "--csv", str(costs)])
    return code, out.read_text() if out.exists() else "", costs.read_text() if costs.exists() else ""


def node_titles(svg: str) -> list[str]:
    return re.findall(r'<g id="node[^"]*" class="node[^"]*">\s*<title>([^<]*)</title>', svg)


# -- the command line ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", MODELLED, ids=lambda c: c.id)
def test_a_report_of_every_case_has_the_diagram_options_and_modelled_tables(case, tmp_path):
    flip = case.toggles[0]
    value = (not flip.default) if flip.kind == "bool" else next(c for c in flip.choices if c != flip.default) \
        if flip.kind == "choice" else flip.max
    code, text, costs = cli_report(tmp_path, case.id, "--set", f"{flip.key}={flip.to_text(value)}")
    assert code == 0
    page = assert_reads_offline(text)
    words = page.all_text()

    # The diagram of this configuration, inline, every icon embedded.
    values = case.resolve({flip.key: value})
    assert node_titles(text) == node_titles(render(case, values).svg) and node_titles(text)
    icons = [v for t, n, v in page.attrs if t == "image" and n in ("xlink:href", "href")]
    assert icons and all(v.startswith("data:image/png;base64,") for v in icons)
    assert "<?xml" not in text and "<svg" in text

    # The options in words, the flipped one with its new value.
    options = {r["Option"]: r["Value"] for r in page.table("options")}
    assert set(options) == {t.label for t in case.toggles}
    assert options[flip.label] == report._value_text(flip, value)
    workload = {r["Input"]: r["Value"] for r in page.table("workload")}
    assert set(workload) == {p.label for p in parts(case).model.PARAMS}

    # The modelled tables match the engine's figures for the same configuration.
    res = run_engine(case, {**values}, samples=report_samples(), with_latency_gain=False)
    latency = page.table("latency")
    assert [r["Requests"] for r in latency][:1] == ["All requests"]
    assert all(re.fullmatch(r"[\d.,]+ (µs|ms|s)|\d+ min( \d+ s)?", r[q]) for r in latency for q in ("p50", "p90", "p99"))
    lines = page.table("costs")
    assert len(lines) == len(res["cost_breakdown"])
    assert [r["Monthly"] for r in lines] == [fmt.usd(line["monthly_usd"]) for line in res["cost_breakdown"]]
    assert {r["Basis"] for r in lines} <= {"published", "assumption"}
    total = page.table("by-service")[-1]
    assert total == {"Service": "Total", "USD a month": fmt.usd(res["monthly_cost_usd"])}
    assert [r["Basis"] for r in page.table("hops")] and {r["Basis"] for r in page.table("hops")} <= {"published", "assumption"}
    # one hop table per path the requests take through the caches, each ending where its path ends
    paths = res["waterfall"]["paths"]
    assert len(page.tables["hops"]) == len(paths)
    for n, path in enumerate(paths):
        assert [r["Hop"] for r in page.table("hops", n)] == [h["hop"] for h in path["hops"]]
    assert "modelled" in words and "published" in words and "e+" not in words and "e-0" not in words
    assert "The run" not in words      # no run was asked for

    # The cost breakdown as CSV: the same lines, unrounded.
    rows = list(csv.DictReader(io.StringIO(costs)))
    assert [r["item"] for r in rows] == [line["item"] for line in res["cost_breakdown"]]
    assert sum(float(r["monthly_usd"]) for r in rows) == pytest.approx(res["monthly_cost_usd"])
    assert {r["configuration"] for r in rows} == {"current"}


def report_samples() -> int:
    from app.commands.report import SAMPLES

    return SAMPLES


@pytest.mark.parametrize("case_id", ["software-updates", "global-blog"])
def test_a_report_with_run_has_the_trace_checks_and_artifacts(case_id, tmp_path):
    code, text, costs = cli_report(tmp_path, case_id, "--run")
    assert code == 0
    page = assert_reads_offline(text)
    words = page.all_text()
    checks = page.table("checks")
    assert checks and {r["Result"] for r in checks} == {"pass"}
    assert f"{len(checks)} of {len(checks)} checks passed" in words
    trace = page.table("trace")
    assert {r["Phase"] for r in trace} >= {"deploy", "drive", "verify"}
    assert all(re.fullmatch(r"[\d.,]+ (µs|ms|s)", r["Measured"]) for r in trace)
    assert "executed" in words and "Artifacts" in words
    # The highlighted path: the run's edges drawn in the highlight colour.
    assert "#d6336c" in text
    if case_id == "global-blog":
        images = [v for t, n, v in page.attrs if t == "img" and n == "src"]
        assert len(images) >= 2 and all(v.startswith("data:image/png;base64,") for v in images)  # the thumbnail
        assert "Welcome email" in words or "Email" in words
    else:
        assert "Surge" in words and "Release" in words
    assert costs.startswith("configuration,service,item")


@pytest.mark.parametrize("args, needle", [
    (["no-such-case"], "unknown case"),
    (["todo-api", "--set", "dax=maybe"], "dax"),
    (["todo-api", "--set", "warp=on"], "warp"),
    (["iot-analytics", "--set", "buffer_interval=nan"], "buffer_interval"),
    (["todo-api", "--set", "requests_per_month=-5"], "requests_per_month"),
    (["todo-api", "--set", "dax"], "KEY=VALUE"),
])
def test_bad_input_exits_2_and_writes_nothing(args, needle, tmp_path, capsys):
    code, text, costs = cli_report(tmp_path, *args, "--run")
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert text == "" and costs == ""


def test_an_output_that_cannot_be_written_exits_4_before_anything_runs(tmp_path, capsys):
    code = main(["report", "todo-api", "--run", "-o", str(tmp_path / "missing" / "r.html")])
    assert code == 4 and "cannot write" in capsys.readouterr().err
    code = main(["report", "todo-api", "-o", str(tmp_path / "r.html"), "--csv", str(tmp_path)])
    assert code == 4 and "Is a directory" in capsys.readouterr().err


def test_the_report_goes_to_standard_output_with_dash(capsys):
    assert main(["report", "software-updates", "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")


# -- a case of its own: no model, a failing check, no pipeline -------------------------------------------
@pytest.fixture
def own_case(extra_case):
    def make(drop: tuple[str, ...] = (), failing: bool = False) -> str:
        files = {}
        for name, text in NOTES.items():
            if name in drop:
                continue
            text = text.replace('id="scratch-notes"', 'id="report-notes"')
            if failing:
                text = text.replace("len(keys) == notes,", "len(keys) == notes + 1,")
            files[name] = text
        return extra_case("report_notes_case", files)
    return make


def test_a_failed_check_exits_1_and_the_report_says_which(own_case, tmp_path, capsys):
    case_id = own_case(failing=True)
    code, text, _ = cli_report(tmp_path, case_id, "--run", "--set", "versioned=on")
    assert code == 1 and "every note was stored" in capsys.readouterr().err
    page = assert_reads_offline(text)
    assert page.table("checks")[0] == {"Result": "FAIL", "Check": "every note was stored",
                                       "Detail": "2 of 2 read back"}
    assert "1 of 2 checks passed" in page.all_text() and "a check FAILED" in page.all_text()
    assert {r["Option"]: r["Value"] for r in page.table("options")} == {"Versioning": "on"}
    assert "This case has no latency and cost model." in page.all_text()
    assert "note-0.txt" in page.all_text()       # the artifact


def test_a_case_without_a_pipeline_exits_3_with_run_and_reports_without(own_case, tmp_path, capsys):
    case_id = own_case(drop=("pipeline.py", "run_view.py"))
    assert cli_report(tmp_path, case_id, "--run")[0] == 3
    assert "no executable pipeline" in capsys.readouterr().err
    code, text, costs = cli_report(tmp_path, case_id)
    assert code == 0 and "Notes bucket" in text and costs.strip() == ",".join(report.CSV_COLUMNS)


# -- the core: text escaped, images kept --------------------------------------------------------------
def test_every_text_in_the_report_is_escaped():
    case = get_case("todo-api")
    hostile = '<script>alert(1)</script><img src="http://127.0.0.1:9/x.png">'
    res = run_engine(case, {}, samples=2_000, with_break_even=False)
    res["notes"] = [hostile]
    res["cost_breakdown"][0] = {**res["cost_breakdown"][0], "item": hostile, "source": "javascript:alert(1)"}
    run = RunResult(case=case.id, backend="moto", ok=False, run_id="r1", region="us-east-1",
                    steps=[StepResult(hostile, "s3", "drive", "error", 12.5, error=hostile)],
                    checks=[Check(hostile, False, hostile)],
                    artifacts={"upload": {"name": hostile, "data": b"\x89PNG\r\n\x1a\n" + bytes(40)},
                               "body": hostile, "raw": b"\x00\x01"})
    text = report.html(case, [report.Configuration("", res["values"], res)], run=run)
    page = assert_reads_offline(text)
    assert "script" not in page.tags and "javascript:" not in [v for _, n, v in page.attrs if n == "href"]
    assert page.all_text().count(hostile) >= 6         # shown as text, every time
    assert "img" in page.tags and "2 bytes" in page.all_text()     # the PNG shown, other bytes counted


def test_a_run_reads_in_words_deployed_values_headings_and_an_email_without_its_markup():
    case = get_case("global-blog")
    res = run_engine(case, {}, samples=2_000, with_break_even=False)
    body = ('<p>Hello Maria Lopez,</p><p>thank you for joining <b>MyBlog.com</b>.</p>'
            '<script>alert(1)</script><img src="http://127.0.0.1:9/x.png">')
    run = RunResult(case=case.id, backend="moto", ok=True, run_id="r1", region="us-east-1",
                    steps=[StepResult("Publish", "apigateway", "drive", "ok", 12.5)], checks=[Check("c", True, "")],
                    deployed={"cloudfront_ttl_s": 86_400, "iot_things": 5},
                    artifacts={"email": {"subject": "Welcome", "body": body},
                               "dynamodb_items": [{"pk": "POST", "url_expires_in_s": 300, "delivered_to_s3": 2}],
                               "orders": [{"order_id": "o1", "total_cents": 24_900}],
                               "thumbnail": {"bytes": 50_622}})
    text = report.html(case, [report.Configuration("", res["values"], res)], run=run)
    page = assert_reads_offline(text)
    words = page.all_text()
    assert "Deployed: CloudFront TTL 86,400 s (1 day), IoT things 5" in words
    assert "cloudfront ttl s 86400" not in words.lower()
    assert "DynamoDB items" in words and "Dynamodb items" not in words
    assert list(page.table("records")[0]) == ["PK", "URL expires in (s)", "Delivered to S3"]
    assert page.table("records", 1) == [{"Order ID": "o1", "Total": "$249"}]     # cents shown as dollars
    assert "Bytes 50,622" in words
    # The email reads as its words; its HTML is kept only as escaped text, nothing of it rendered or run.
    assert "Hello Maria Lopez, thank you for joining MyBlog.com." in words
    assert "<p>Hello Maria Lopez,</p>" in words          # the HTML as sent, shown as text under "as HTML"
    assert not {"b", "script", "img"} & set(page.tags)
    assert "alert(1)" not in words.split("as HTML")[0]
    assert "text-overflow" not in text and "break-all" not in text     # words wrap whole, never POS/T


# -- the pages ---------------------------------------------------------------------------------------
@pytest.fixture
def downloads(monkeypatch):
    """Press a download button: the file Streamlit would serve (made on the press when the page defers it)."""
    files: dict[str, bytes] = {}
    deferred: dict[str, object] = {}
    real_load, real_defer = MemoryMediaFileStorage.load_and_get_id, MediaFileManager.add_deferred

    def keep(self, data, mimetype, kind, filename=None):
        file_id = real_load(self, data, mimetype, kind, filename)
        files[file_id] = data if isinstance(data, bytes) else data.encode()
        return file_id

    def defer(self, data_callable, *args, **kwargs):
        file_id = real_defer(self, data_callable, *args, **kwargs)
        deferred[file_id] = data_callable
        return file_id
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    monkeypatch.setattr(MediaFileManager, "add_deferred", defer)

    def fetch(button) -> str:
        proto = button.proto
        if proto.deferred_file_id:
            data = deferred[proto.deferred_file_id]()
            return data if isinstance(data, str) else data.decode()
        return files[proto.url.rsplit("/", 1)[1].split(".")[0]].decode()
    return fetch


def download_buttons(at: AppTest, prefix: str) -> dict:
    return {b.key.rsplit(":", 1)[1]: b for b in at.get("download_button") if (b.key or "").startswith(prefix)}


def test_the_what_if_page_downloads_a_report_of_a_and_b(downloads):
    at = AppTest.from_file(APP_ENTRY, default_timeout=120)
    at.query_params["case"] = "todo-api"
    at.switch_page("views/whatif.py")
    at.run()
    assert not at.exception
    buttons = download_buttons(at, "whatif-report")
    assert set(buttons) == {"html", "csv"}
    text = downloads(buttons["html"])
    page = assert_reads_offline(text)
    assert "Configuration A" in page.all_text() and "Configuration B" in page.all_text()
    a, b = (dict((r["Option"], r["Value"]) for r in page.table("options", i)) for i in (0, 1))
    assert a["DAX in front of DynamoDB"] == "off" and b["DAX in front of DynamoDB"] == "on"   # B: the case's option
    assert text.count('<svg class="diagram"') == 2
    headline = next(m for m in at.metric if m.label == "Monthly cost: A → B")
    assert f"monthly cost {headline.value}" in page.all_text()        # the same B as the page shows
    rows = list(csv.DictReader(io.StringIO(downloads(buttons["csv"]))))
    assert {r["configuration"] for r in rows} == {"A", "B"}
    assert fmt.usd(sum(float(r["monthly_usd"]) for r in rows if r["configuration"] == "B")) == headline.value


def test_the_run_page_downloads_a_report_of_the_run(downloads):
    at = open_run_page("software-updates")
    passed, total = press_run(at)
    assert passed == total
    buttons = download_buttons(at, "run-report")
    assert set(buttons) == {"html", "csv"}
    page = assert_reads_offline(downloads(buttons["html"]))
    shown = table_with(at, "Check")
    assert [r["Check"] for r in page.table("checks")] == list(shown["Check"])
    assert [r["Result"] for r in page.table("checks")] == list(shown["Result"])
    assert f"{passed} of {total} checks passed" in page.all_text()
    assert page.table("trace") and "Artifacts" in page.all_text()
    rows = list(csv.DictReader(io.StringIO(downloads(buttons["csv"]))))
    assert rows and {r["configuration"] for r in rows} == {"current"}


def test_the_inline_diagram_keeps_its_icons_and_tooltips_but_no_links():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/x.dtd">\n'
           '<svg width="10pt" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           '<g id="a_node1"><a xlink:href="?node=dax" target="_top" xlink:title="DAX: the cache">'
           '<image xlink:href="data:image/png;base64,AAAA"/></a></g></svg>')
    out = report.inline_svg(svg)
    assert out.startswith('<svg class="diagram"') and "http" not in out and "?node=" not in out
    assert 'xlink:title="DAX: the cache"' in out and 'xlink:href="data:image/png;base64,AAAA"' in out
