"""A report of one case as a single HTML file that reads offline, and its cost breakdown as CSV.

The report holds the diagram of each configuration (the SVG inline, its icons embedded), the
options and workload in words, the modelled latency and cost tables of the latency and cost
engine, and, for a run, the trace (steps with their measured times), the checks and the
artifacts. Every table says where its figures come from: *modelled* (the engine), *published*
(a price or latency with its source, linked) or *executed* (measured in a run on this machine).

Nothing in the file is fetched: no script, no stylesheet, no font, no image from anywhere; the
only web addresses in it are links to the sources of the published figures. Every text is
escaped, and every number goes through :mod:`app.core.format`.

API:

* ``Configuration(name, values, modelled)``: one configuration; ``values`` are its toggles and
  workload (resolved), ``modelled`` the engine's ``run(...)`` result for them, or None when the
  case has no model.
* ``html(case, configurations, *, run=None, highlight=(), generated="")`` -> str: the report.
  ``run`` is a pipeline's ``RunResult`` (then the configuration is the one that ran, and its
  diagram highlights ``highlight``, the edges the run travelled).
* ``cost_csv(configurations)`` -> str: every cost line of every configuration.
* ``file_stem(case, configurations, run=None)`` -> str: a file name without its extension.

The report is presentation, so it lives here and not in the pure core (:mod:`app.core`). No streamlit
here: the command line and the pages call it with what they have computed.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core import format as fmt
from app.core.cases import Case, parts
from app.core.diagram import DotMissing, render
from app.core.params import Param
from app.report.artifacts import artifact as _artifact
from app.report.artifacts import esc
from app.report.artifacts import table as _table

EXECUTED = "executed"
MODELLED = "modelled"
PUBLISHED = "published"
LATENCY_BOOK = "assets/latency.json"
CSV_COLUMNS = ("configuration", "service", "item", "quantity", "unit", "unit_price_usd", "monthly_usd",
               "basis", "source", "region", "note")


@dataclass(frozen=True)
class Configuration:
    name: str                               # "A", "B", or "" for a report of one configuration
    values: Mapping[str, Any]               # toggles and workload, resolved
    modelled: Mapping[str, Any] | None      # the engine's run(...) result, None without a model


# -- escaping and small pieces ------------------------------------------------------------------
def _link(url: str, text: str) -> str:
    """A link to a source page; anything but an http(s) address is shown as text."""
    if isinstance(url, str) and re.match(r"^https?://[^\s\"'<>]+$", url):
        return f'<a href="{esc(url)}" rel="noreferrer">{esc(text)}</a>'
    return esc(text)


def _basis(kind: str) -> str:
    return f'<span class="basis {esc(kind)}">{esc(kind)}</span>'


def _caption(kind: str, text: str) -> str:
    return f'<p class="caption">{_basis(kind)} {text}</p>'


def _value_text(p: Param, value: Any) -> str:
    """An option's or workload input's value in words, numbers through the formatter."""
    if p.kind == "bool":
        return "on" if value else "off"
    if p.kind == "choice":
        return str(value)
    if p.kind == "int":
        return fmt.count(value, p.unit)
    return fmt.number(value, p.unit)


def _label(configuration: Configuration) -> str:
    return f"Configuration {configuration.name}" if configuration.name else "Configuration"


# -- the diagram ----------------------------------------------------------------------------------
_PROLOGUE = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')
_ANCHOR = re.compile(r"<a\b[^>]*>")
_LINK_ATTRS = re.compile(r'\s+(xlink:href|href|target)="[^"]*"')


def inline_svg(svg: str) -> str:
    """Graphviz's SVG document as an element of an HTML page: no XML prologue, no namespace
    declarations (the HTML parser puts ``<svg>`` and ``xlink:href`` in their namespaces itself),
    no links out of its nodes, scaled to the page's width."""
    svg = _PROLOGUE.sub("", svg)
    svg = _NAMESPACES.sub("", svg)
    # A node's link points into the app, which a file does not have: the node keeps its tooltip only.
    svg = _ANCHOR.sub(lambda m: _LINK_ATTRS.sub("", m.group(0)), svg)
    return svg.replace("<svg ", '<svg class="diagram" role="img" ', 1).strip()


def _diagram(case: Case, values: Mapping[str, Any], highlight: Iterable[str], caption: str) -> str:
    toggles = {t.key: values[t.key] for t in case.toggles if t.key in values}
    try:
        svg = render(case, toggles, highlight=highlight).svg
    except DotMissing as exc:
        return f'<p class="error">The diagram could not be drawn: {esc(exc)}</p>'
    return f'<figure>{inline_svg(svg)}<figcaption>{esc(caption)}</figcaption></figure>'


# -- options ----------------------------------------------------------------------------------------
def _options(case: Case, values: Mapping[str, Any]) -> str:
    rows = [[esc(t.label), f"<strong>{esc(_value_text(t, values[t.key]))}</strong>", esc(t.help),
             esc(t.exam_point)] for t in case.toggles if t.key in values]
    out = "<h3>Options</h3>" + _table(("Option", "Value", "What it does", "What it teaches"), rows, "options")
    model = parts(case).model
    params = [p for p in getattr(model, "PARAMS", ()) if p.key in values]
    if params:
        rows = [[esc(p.label), esc(_value_text(p, values[p.key])),
                 "default" if values[p.key] == p.default else f"default {esc(_value_text(p, p.default))}",
                 esc(p.help)] for p in params]
        out += "<h3>Workload</h3>" + _table(("Input", "Value", "Default", "What it is"), rows, "workload")
    return out


# -- modelled latency and cost ----------------------------------------------------------------------
def _percentile_rows(res: Mapping[str, Any]) -> list[list[str]]:
    rows = [("All requests", res["latency_ms"])]
    rows += [(f"{g} requests", p) for g, p in res["latency_by_group_ms"].items()]
    rows += [(str(s), p) for s, p in res["segments_ms"].items()]
    return [[esc(name), *(fmt.duration(p[q]) for q in ("p50", "p90", "p99"))] for name, p in rows]


def _hop_rows(hops: list[dict]) -> list[list[str]]:
    rows = []
    for h in hops:
        if h.get("assumption"):
            basis = _basis("assumption")
        else:
            basis = _basis(PUBLISHED)
        source = _link(h.get("url") or "", h.get("source") or "") if h.get("url") else esc(h.get("source") or "")
        rows.append([esc(h["hop"]), esc(h.get("service", "")), fmt.duration(h["start_ms"]), fmt.duration(h["ms"]),
                     basis, source])
    return rows


def _cost_rows(lines: list[dict]) -> list[list[str]]:
    rows = []
    for line in lines:
        basis = _basis("assumption") if line["assumption"] else _basis(PUBLISHED)
        source = _link(line["source"], "pricing page") if line.get("source") else ""
        note = f'<br><span class="note">{esc(line["note"])}</span>' if line.get("note") else ""
        rows.append([esc(line["service"]), esc(line["item"]) + note, esc(fmt.number(line["quantity"], line["unit"])),
                     esc(f"{fmt.number(line['unit_price_usd'])} USD per {line['unit']}"),
                     esc(fmt.usd(line["monthly_usd"])), basis, source])
    return rows


def _modelled(case: Case, res: Mapping[str, Any]) -> str:
    out = []
    lat = res["latency_ms"]
    total = res["monthly_cost_usd"]
    book = res.get("price_book") or {}
    samples = fmt.count(res.get("samples", 0))
    out.append(f'<p class="headline">Latency p50 <strong>{esc(fmt.duration(lat["p50"]))}</strong>, '
               f'p90 <strong>{esc(fmt.duration(lat["p90"]))}</strong>, p99 <strong>{esc(fmt.duration(lat["p99"]))}'
               f'</strong>; monthly cost <strong>{esc(fmt.usd(total))}</strong> {_basis(MODELLED)}</p>')

    out.append("<h3>Latency percentiles</h3>")
    out.append(_table(("Requests", "p50", "p90", "p99"), _percentile_rows(res), "latency"))
    basis = EXECUTED if res.get("basis", {}).get("hit_ratio") == EXECUTED else MODELLED
    out.append(_caption(MODELLED, f"{esc(samples)} requests simulated hop by hop from the latency book "
                                  f"({esc(LATENCY_BOOK)}), with {esc(basis)} cache hit ratios."))

    wf = res["waterfall"]
    paths = wf.get("paths") or [{"path": "every request", "share": 1.0, "hops": wf["hops"]}]
    out.append(f"<h3>The most frequent request ({esc(wf['class'])}), hop by hop, on each path through the "
               "caches</h3>")
    for path in paths:
        last = path["hops"][-1] if path["hops"] else {"start_ms": 0.0, "ms": 0.0}
        out.append(f"<h4>{esc(path['path'][:1].upper() + path['path'][1:])}: {esc(fmt.percent(path['share']))} of "
                   f"these requests, {esc(fmt.duration(last['start_ms'] + last['ms']))} at the medians</h4>")
        out.append(_table(("Hop", "Service", "Starts at", "p50", "Basis", "Source"), _hop_rows(path["hops"]), "hops"))
    out.append(_caption(MODELLED, "each hop at its median from the latency book; a path taken by under 1% of "
                                  "the requests is left out; a hop is <em>published</em> where its source "
                                  "measured it and an <em>assumption</em> where no published figure exists."))

    if res.get("caches"):
        rows = [[esc(c.get("label") or name), esc(fmt.percent(c["hit_ratio"])), _basis(c["basis"]),
                 esc(c.get("model", ""))]
                for name, c in res["caches"].items()]
        out.append("<h3>Cache hit ratios</h3>")
        out.append(_table(("Cache", "Hit ratio", "Basis", "Model"), rows, "caches"))
        out.append(_caption(MODELLED, "the TTL formula (Poisson arrivals) or Che's approximation for LRU, under "
                                      "Zipf popularity; <em>executed</em> ratios were measured in a run."))

    out.append("<h3>Monthly cost by service</h3>")
    rows = [[esc(s), esc(fmt.usd(v))] for s, v in sorted(res["cost_by_service_usd"].items(), key=lambda kv: -kv[1])]
    rows.append(["<strong>Total</strong>", f"<strong>{esc(fmt.usd(total))}</strong>"])
    out.append(_table(("Service", "USD a month"), rows, "by-service"))
    out.append("<h3>Cost line items</h3>")
    out.append(_table(("Service", "Item", "Quantity a month", "Unit price", "Monthly", "Basis", "Source"),
                      _cost_rows(res["cost_breakdown"]), "costs"))
    out.append(_caption(MODELLED, f"quantity × unit price; unit prices <em>published</em> on the AWS pricing pages "
                                  f"(price book {esc(book.get('region', ''))}, "
                                  f"compiled {esc(book.get('compiled', ''))}); free tiers not applied."))

    if res.get("break_even"):
        rows = []
        for be in res["break_even"]:
            t = case.toggle(be["toggle"])
            x = be["break_even_volume"]
            rows.append([esc(t.label), esc(be["title"]),
                         esc(fmt.count(x, be["volume_unit"])) if x else "none in range", esc(be["verdict"]),
                         esc(be["saves"])])
        out.append("<h3>Break-even</h3>")
        out.append(_table(("Option", "Priced against", "Break-even", "Verdict", "It saves"), rows, "break-even"))
        out.append(_caption(MODELLED, "each option priced on and off over the range of its volume."))

    if res.get("assumptions"):
        rows = [[esc(a["what"]), esc(a["value"]), esc(a["basis"])] for a in res["assumptions"]]
        out.append("<h3>Assumptions in these numbers</h3>")
        out.append(_table(("What", "Value", "Why"), rows, "assumptions"))
    if res.get("notes"):
        out.append("<ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in res["notes"]) + "</ul>")
    return "\n".join(out)


# -- a run ------------------------------------------------------------------------------------------
def _calls_text(spans: list[dict]) -> str:
    groups: dict[tuple[str, str], list[dict]] = {}
    for s in spans:
        if "service" in s:
            groups.setdefault((s["service"], s.get("operation", "")), []).append(s)
    parts_ = []
    for (service, operation), calls in groups.items():
        bad = sum(1 for c in calls if c.get("status") != "ok")
        failed = f", {fmt.count(bad)} not ok" if bad else ""
        parts_.append(f"{service} {operation} ×{fmt.count(len(calls))}{failed}")
    return "; ".join(parts_)


def _run(run: Any, case: Case) -> str:
    out = []
    passed = sum(1 for c in run.checks if c.ok)
    state = "every check passed" if run.ok else "a check FAILED"
    out.append(f'<p class="headline">Run <code>{esc(run.run_id)}</code> on {esc(run.backend)} ({esc(run.region)}): '
               f"<strong>{esc(fmt.count(passed))} of {esc(fmt.count(len(run.checks)))} checks passed</strong>, "
               f"{esc(state)}, in {esc(fmt.duration(run.measured_ms))} {_basis(EXECUTED)}</p>")
    if run.deployed:
        model = parts(case).model
        params = {p.key: p for p in model.PARAMS} if model is not None else {}
        out.append("<p>Deployed: " + esc(fmt.settings(run.deployed, params)) + "</p>")

    out.append("<h3>Checks</h3>")
    rows = [['<span class="pass">pass</span>' if c.ok else '<span class="fail">FAIL</span>', esc(c.name),
             esc(c.detail)] for c in run.checks]
    out.append(_table(("Result", "Check", "Detail"), rows, "checks"))
    out.append(_caption(EXECUTED, "each check read back from the backend after the run."))

    out.append("<h3>Trace</h3>")
    rows, start = [], 0.0
    for i, s in enumerate(run.steps, 1):
        spans = [x for x in s.spans if "service" in x]
        error = f'<br><span class="fail">{esc(s.error)}</span>' if s.error else ""
        rows.append([esc(i), esc(s.phase), esc(s.name) + error, esc(s.service), esc(s.status),
                     esc(fmt.duration(start)), esc(fmt.duration(s.measured_ms)), esc(fmt.count(len(spans))),
                     esc(_calls_text(spans))])
        start += s.measured_ms
    out.append(_table(("#", "Phase", "Step", "Service", "Status", "Starts at", "Measured", "Calls", "AWS calls"),
                      rows, "trace"))
    td = run.teardown or {}
    tail = (f" Teardown: {esc(fmt.count(td.get('deleted', 0)))} resources deleted in "
            f"{esc(fmt.duration(td.get('measured_ms', 0)))}.") if td else ""
    out.append(_caption(EXECUTED, "each step's wall time, measured on the machine that ran it (not AWS's latency: "
                                  "the modelled tables are AWS's)." + tail))

    out.append("<h3>Artifacts</h3>")
    out.append(_caption(EXECUTED, "what the run kept, read back from the backend."))
    for name, value in run.artifacts.items():
        out.append(f'<section class="artifact"><h4>{esc(fmt.heading(name))}</h4>'
                   f"{_artifact(value)}</section>")
    return "\n".join(out)


# -- the page -----------------------------------------------------------------------------------------
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1200px;
padding:0 1rem;color:#212529;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #dee2e6;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.4rem 0 .6rem;font-size:.92rem}
th,td{border:1px solid #dee2e6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f5}table.record{font-size:.88rem}table.record td:first-child{color:#495057;white-space:nowrap}
.caption{color:#495057;font-size:.9rem;margin-top:0}.note{color:#495057;font-size:.85rem}
.basis{display:inline-block;border-radius:.6rem;padding:0 .45rem;font-size:.78rem;font-weight:600;color:#fff;
background:#495057}.basis.modelled{background:#1c7ed6}.basis.published{background:#2f9e44}
.basis.executed{background:#d6336c}.basis.assumption{background:#e8590c}
.pass{color:#2b8a3e;font-weight:600}.fail{color:#c92a2a;font-weight:600}
svg.diagram{max-width:100%;height:auto}figure{margin:0}figcaption{color:#495057;font-size:.9rem}
img.artifact{max-width:320px;border:1px solid #dee2e6}.text{white-space:pre-wrap;overflow-wrap:break-word}
.headline{font-size:1.05rem}code{overflow-wrap:break-word}
table.records{display:block;max-width:100%;overflow-x:auto}
"""


def html(case: Case, configurations: list[Configuration], *, run: Any = None, highlight: Iterable[str] = (),
         generated: str = "") -> str:
    """The report as one HTML document (see the module docstring)."""
    highlight = frozenset(highlight)
    title = f"{case.title}: report" + (" of a run" if run is not None else "")
    body = [f"<header><h1>{esc(title)}</h1><p>{esc(case.tagline)}</p>",
            f'<p class="note">Case <code>{esc(case.id)}</code>' + (f", made {esc(generated)}" if generated else "")
            + ". Everything this report shows is in this file: it reads offline. Figures are labelled "
            + " ".join(_basis(k) for k in (MODELLED, PUBLISHED, EXECUTED)) + " (modelled by the latency and cost "
            "engine; published, with its source linked; executed, measured in a run on this machine) or "
            + _basis("assumption") + " where no published figure exists.</p></header>"]
    for conf in configurations:
        label = _label(conf)
        body.append(f'<section class="configuration"><h2>{esc(label)}</h2>')
        words = ", ".join(f"{t.label} {_value_text(t, conf.values[t.key])}" for t in case.toggles
                          if t.key in conf.values)
        caption = (f"The diagram with {words}" + ("; the edges the run travelled are highlighted." if run is not None
                                                   else "."))
        body.append(_diagram(case, conf.values, highlight if run is not None else (), caption))
        body.append(_options(case, conf.values))
        body.append("<h3>Modelled latency and cost on AWS</h3>")
        if conf.modelled is None:
            body.append('<p class="none">This case has no latency and cost model.</p>')
        else:
            body.append(_modelled(case, conf.modelled))
        body.append("</section>")
    if run is not None:
        body.append('<section class="run"><h2>The run</h2>')
        body.append(_run(run, case))
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")


def cost_csv(configurations: list[Configuration]) -> str:
    """The cost breakdown of every configuration, one line item a row (numbers unrounded)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for conf in configurations:
        for line in (conf.modelled or {}).get("cost_breakdown", []):
            out.writerow([conf.name or "current", line["service"], line["item"], line["quantity"], line["unit"],
                          line["unit_price_usd"], line["monthly_usd"],
                          "assumption" if line["assumption"] else PUBLISHED, line.get("source", ""),
                          line.get("region", ""), line.get("note") or ""])
    return buf.getvalue()


def file_stem(case: Case, configurations: list[Configuration], run: Any = None) -> str:
    """``todo-api-dax-on_api_cache-off-report`` (the first configuration's options)."""
    values = configurations[0].values if configurations else {}
    options = "_".join(f"{t.key}-{t.to_text(values[t.key])}" for t in case.toggles if t.key in values)
    stem = f"{case.id}-{options}" if options else case.id
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem)
    return f"{stem}-{'run-' + re.sub(r'[^A-Za-z0-9]+', '', str(run.run_id)) if run is not None else 'report'}"


__all__ = ["Configuration", "html", "cost_csv", "file_stem", "inline_svg", "esc", "EXECUTED", "MODELLED", "PUBLISHED"]
