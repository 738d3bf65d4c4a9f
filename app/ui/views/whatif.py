"""What if: the current configuration (A) against any other (B), side by side, with the deltas.

Latency, cost and break-even come from the latency and cost engine (modelled). Every
figure says where its numbers come from: modelled from the price and latency books,
published (a source link), or executed when hit ratios measured in a run are supplied.
"""
from __future__ import annotations

import json
import math
from typing import Literal

import plotly.graph_objects as go
import streamlit as st

from app.core import format as fmt
from app.core.cases import Case, case_ids, get_case, parts
from app.core.params import ParamError
from app.report import Configuration
from app.engine import run as run_engine
from app.engine.books import load_latency_book, load_price_book
from app.engine.executed import hit_ratios_from_spans
from app.engine.run import BreakEven, break_even_curve, default_b, latency_gain, model_of, resolve_values
from app.ui import charts, state
from app.ui.report import downloads as report_downloads

SAMPLES = 40_000
# The engine's break-even verdicts as the end of a sentence about the option.
VERDICTS = {"pays for itself above the break-even volume": "it pays for itself above the break-even volume",
            "cheaper below the break-even volume only": "it is cheaper below the break-even volume only",
            "cheaper over the whole range": "it is cheaper over the whole range",
            "costs more over the whole range": "it costs more over the whole range",
            "the curves cross more than once": "the two cost curves cross more than once"}
BE_POINTS = 11
COLORS = {"A": "#1f77b4", "B": "#e8590c"}
PLOT_CONFIG = {"displaylogo": False, "displayModeBar": False}     # no toolbar over the legends on a phone
LATENCY_BOOK = "assets/latency.json"
CLOUDPING = "https://www.cloudping.co/"


@st.cache_data(max_entries=128, show_spinner=False)
def model(case_id: str, values_json: str, measured_json: str) -> dict:
    return run_engine(case_id, json.loads(values_json), measured=json.loads(measured_json) or None, samples=SAMPLES,
                      with_break_even=False)


@st.cache_data(max_entries=128, show_spinner=False)
def break_even(case_id: str, values_json: str, toggle: str) -> dict:
    case = get_case(case_id)
    spec = next(s for s in model_of(case).BREAK_EVEN if s.toggle == toggle)
    spec = BreakEven(**{**spec.__dict__, "points": BE_POINTS})
    values = resolve_values(case, json.loads(values_json))
    out = break_even_curve(case, values, spec)
    out["latency_gain_ms"] = latency_gain(case, values, spec, samples=SAMPLES)     # as A and B are simulated
    return out


def _key(case: Case, side: str, name: str) -> str:
    return f"whatif:{side}:{case.id}:{name}"


def _widget(container, p, key: str):
    st.session_state.setdefault(key, p.default)
    unit = getattr(p, "unit", "")
    help_text = p.help
    # The unit beside the label, unless the label already ends with its own note ("Users (monthly active)")
    label = f"{p.label} ({unit})" if unit and p.kind in ("int", "float") and not p.label.endswith(")") else p.label
    if p.kind == "bool":
        return container.toggle(p.label, key=key, help=help_text)
    if p.kind == "choice":
        return container.selectbox(p.label, list(p.choices), key=key, help=help_text)
    if p.spans_decades:
        # A range over decades moves on a log scale (1, 2, 5, 10, ...), each value written for people.
        show = fmt.count if p.kind == "int" else fmt.number
        return container.select_slider(label, options=p.ladder(p.default, st.session_state[key]), key=key,
                                       help=help_text, format_func=lambda v: show(v, unit))
    if p.kind == "int":
        return container.slider(label, min_value=int(p.min), max_value=int(p.max), step=int(p.step or 1), key=key,
                                help=help_text, format=f"%,d {unit}".rstrip() if unit else "%,d")
    return container.slider(label, min_value=float(p.min), max_value=float(p.max), step=float(p.step or 0.01),
                            key=key, help=help_text, format=f"%g {unit}".rstrip() if unit else "%g")


def _figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure built in one pass from plain dicts (far cheaper than plotly's incremental helpers)."""
    base = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}}
    # The legend sits above the plot; the toolbar is off (PLOT_CONFIG), so nothing covers it.
    return go.Figure({"data": traces, "layout": {**base, **layout}})


def _table(rows: list[dict]) -> None:
    """A small read-only table as Markdown (no dataframe machinery for a handful of rows)."""
    if not rows:
        return
    cols = list(rows[0])

    def esc(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    st.markdown("\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] +
                          ["| " + " | ".join(esc(r[c]) for c in cols) + " |" for r in rows]))


_fmt_ms = fmt.duration

# The link's B, workload and break-even option (``_b.KEY``, ``_w.KEY``, ``_be``): read once per session,
# before the sidebar rewrites the URL with A.
LINK_SEEDED = "_whatif_link_seeded"
link_warnings: list[str] = []
if not st.session_state.get(LINK_SEEDED):
    st.session_state[LINK_SEEDED] = True
    raw = st.query_params.to_dict()
    if raw.get("case") in case_ids() and parts(raw["case"]).model is not None:
        linked = get_case(raw["case"])
        params = {"B": {t.key: t for t in linked.toggles}, "W": {p.key: p for p in model_of(linked).PARAMS}}
        for name, text in raw.items():
            side = {"_b.": "B", "_w.": "W"}.get(name[:3])
            if side and name[3:] in params[side]:
                try:
                    st.session_state[_key(linked, side, name[3:])] = params[side][name[3:]].parse(text)
                except ParamError as exc:
                    link_warnings.append(f"Ignored from the link: {exc}.")
        if raw.get("_be") in {b.toggle for b in getattr(model_of(linked), "BREAK_EVEN", ())}:
            st.session_state[_key(linked, "BE", "toggle")] = raw["_be"]

# -- inputs -----------------------------------------------------------------------------------------
case, values_a = state.sidebar("Current configuration (A)")
for message in link_warnings:
    st.warning(message, icon=":material/link_off:")

st.title(f"What if? {case.title}")
if parts(case).model is None:
    st.info(f"{case.title} has no latency and cost model yet, so there is nothing to compare: the Explore page "
            "shows its diagram" + (" and the Run page runs it." if parts(case).pipeline is not None else "."),
            icon=":material/info:")
    st.stop()
module = model_of(case)
st.caption("Compare the current configuration (A, the options in the sidebar) with another one (B). "
           "Latency and cost are modelled from the price and latency books; every figure names its sources.")

with st.container(border=True):
    st.markdown("**Configuration B**")
    cols = st.columns(min(3, max(1, len(case.toggles))))
    values_b = {}
    # B starts as A with the option the case is about changed, so the comparison says something at once.
    start_b = default_b(case, values_a)
    for i, t in enumerate(case.toggles):
        key = _key(case, "B", t.key)
        if key not in st.session_state:
            st.session_state[key] = start_b[t.key]
        values_b[t.key] = _widget(cols[i % len(cols)], t, key)

with st.expander("Workload (applies to A and B)", expanded=False, icon=":material/tune:"):
    wcols = st.columns(3)
    workload = {p.key: _widget(wcols[i % 3], p, _key(case, "W", p.key)) for i, p in enumerate(module.PARAMS)}

measured: dict[str, float] = {}
with st.expander("Hit ratios measured in a run (optional)", icon=":material/science:"):
    st.caption("Enter hit ratios observed in an executed traffic run to replace the analytic model; charts then "
               "label those caches *executed*.")
    last_run = st.session_state.get(f"run:{case.id}")
    from_run = hit_ratios_from_spans(case, last_run["result"].spans) if last_run else {}
    compare = getattr(module, "RUN_COMPARISON", None)
    side_by_side = compare(last_run["values"], last_run["result"].artifacts) if last_run and compare else []
    if side_by_side:
        st.markdown("**The last run's traffic, measured and modelled**: each cache's hit ratio as the run "
                    "measured it (*executed*) beside the model's figure for that run's own workload (*modelled*)")
        st.table([{"Cache": r["cache"], "Measured in the run": fmt.percent(r["measured"]),
                   "Modelled for that run": fmt.percent(r["modelled"]),
                   "Difference": f"{(r['measured'] - r['modelled']) * 100:+.1f} points",
                   "Requests": fmt.count(r["requests"])} for r in side_by_side], hide_index=True)
    if from_run:
        cache_label = {n: c["label"] for v in (values_b, values_a)
                       for n, c in model(case.id, json.dumps({**v, **workload}), "{}")["caches"].items()}
        use_run = st.toggle("Use the hit ratios of the last run on the Run page", key=_key(case, "M", "run"))
        st.caption("Last run: " + ", ".join(f"{cache_label.get(n, n)} {m['hit_ratio']:.1%} "
                                             f"({m['hits']:,}/{m['lookups']:,} lookups)"
                                             for n, m in from_run.items()))
        if use_run:
            measured.update({n: m["hit_ratio"] for n, m in from_run.items()})
    elif last_run:
        st.caption("The last run on the Run page measured no cache lookups for this case.")
    use_measured = st.toggle("Enter hit ratios by hand", key=_key(case, "M", "use"))
    if use_measured:
        probe = model(case.id, json.dumps({**values_a, **workload}), "{}")
        probe_b = model(case.id, json.dumps({**values_b, **workload}), "{}")
        names = list(dict.fromkeys(list(probe["hit_ratio"]) + list(probe_b["hit_ratio"])))
        if not names:
            st.info("Neither configuration has a cache to measure.")
        mcols = st.columns(max(1, min(4, len(names))))
        for i, name in enumerate(names):
            default = probe["hit_ratio"].get(name, probe_b["hit_ratio"].get(name, 0.0))
            label = (probe["caches"].get(name) or probe_b["caches"][name])["label"]
            measured[name] = mcols[i % len(mcols)].number_input(
                f"{label} (hit ratio, 0 to 1)", min_value=0.0, max_value=1.0, value=round(float(default), 3), step=0.01,
                key=_key(case, "M", name))

specs = {s.toggle: s for s in getattr(module, "BREAK_EVEN", ())}

try:
    res_a = model(case.id, json.dumps({**values_a, **workload}), "{}")
    res_b = model(case.id, json.dumps({**values_b, **workload}), "{}")
    if measured:
        # Each configuration takes the measured ratios of the caches it has.
        res_a = model(case.id, json.dumps({**values_a, **workload}),
                      json.dumps({k: v for k, v in measured.items() if k in res_a["hit_ratio"]}))
        res_b = model(case.id, json.dumps({**values_b, **workload}),
                      json.dumps({k: v for k, v in measured.items() if k in res_b["hit_ratio"]}))
except ParamError as exc:
    st.error(str(exc))
    st.stop()

basis_a = "executed" if any(c["basis"] == "executed" for c in res_a["caches"].values()) else "modelled"
basis_b = "executed" if any(c["basis"] == "executed" for c in res_b["caches"].values()) else "modelled"


def _diff_text(a: dict, b: dict) -> str:
    changed = [f"{case.toggle(k).label}: {case.toggle(k).to_text(b[k])} instead of {case.toggle(k).to_text(a[k])}"
               for k in a if a[k] != b[k]]
    return "B: " + "; ".join(changed) + "." if changed else \
        "B has the same options as A: change an option of B to compare."


st.caption(_diff_text(values_a, values_b))

# The URL keeps B, the workload (where it differs from the defaults) and the break-even option.
link = {f"_b.{t.key}": t.to_text(values_b[t.key]) for t in case.toggles}
link.update({f"_w.{p.key}": p.to_text(workload[p.key]) for p in module.PARAMS if workload[p.key] != p.default})
if st.session_state.get(_key(case, "BE", "toggle")):
    link["_be"] = str(st.session_state[_key(case, "BE", "toggle")])
state.write_url(case, values_a, link)


def _delta(a: float, b: float, show, words: tuple[str, str]) -> tuple[str, Literal["off", "inverse"]]:
    """A delta in words and the colour that says better (lower, green) or worse (higher, red);
    a zero delta is "no change", in grey."""
    if show(abs(b - a)) == show(0.0) or (a and abs(b - a) / abs(a) < 0.0005):
        return "no change", "off"
    return f"{fmt.signed(show(abs(b - a)), b - a)} ({words[0] if b < a else words[1]})", "inverse"


# -- headline numbers ---------------------------------------------------------------------------------
m = st.columns(4)
for i, q in enumerate(("p50", "p90", "p99")):
    a, b = res_a["latency_ms"][q], res_b["latency_ms"][q]
    text, colour = _delta(a, b, fmt.duration, ("faster", "slower"))
    m[i].metric(f"Latency {q}: A → B", _fmt_ms(b), delta=text, delta_color=colour,
                help=f"A: {_fmt_ms(a)}. All requests of the workload mixed ({SAMPLES:,} simulated per "
                     "configuration). Lower is better: green means B is faster.")
ca, cb = res_a["monthly_cost_usd"], res_b["monthly_cost_usd"]
text, colour = _delta(ca, cb, fmt.usd, ("less", "more"))
m[3].metric("Monthly cost: A → B", fmt.usd(cb), delta=text, delta_color=colour,
            help=f"A: {fmt.usd(ca)} a month. Free tiers not applied. Lower is better: green means B costs less.")

report_downloads(case, [Configuration("A", res_a["values"], res_a), Configuration("B", res_b["values"], res_b)],
                 key="whatif-report")

# -- latency percentiles ---------------------------------------------------------------------------------
left, right = st.columns(2, gap="large")
with left:
    st.subheader("Latency percentiles")
    groups = list(dict.fromkeys(list(res_a["latency_by_group_ms"]) + list(res_b["latency_by_group_ms"])))
    xs = [f"{g} {q}" for g in groups for q in ("p50", "p90", "p99")]
    top = max(max(r["latency_ms"].values()) for r in (res_a, res_b))
    unit, scale = ("s", 1000.0) if top >= 1000 else ("ms", 1.0)     # the axis speaks the metrics' unit
    fig = _figure([{"type": "bar", "name": side, "x": xs, "marker": {"color": COLORS[side]},
                    "y": [(res["latency_by_group_ms"].get(g, {}).get(q) or 0) / scale
                          for g in groups for q in ("p50", "p90", "p99")]}
                   for side, res in (("A", res_a), ("B", res_b))],
                  {"barmode": "group", "height": 340, "yaxis": {"title": {"text": unit}, "tickformat": ",~r"}})
    st.plotly_chart(fig, width="stretch", key="fig_latency", config=PLOT_CONFIG)
    st.caption(f"**Modelled** ({basis_a} hit ratios in A, {basis_b} in B): {SAMPLES:,} requests simulated hop by "
               f"hop from the latency book ({LATENCY_BOOK}); inter-region round trips **published** by "
               f"[cloudping.co]({CLOUDPING}), Lambda cold starts **published** by "
               f"[lambda-perf](https://github.com/maxday/lambda-perf). Hops without a published figure are "
               f"assumptions (listed below).")
    if res_a["segments_ms"] or res_b["segments_ms"]:
        segs = list(dict.fromkeys(list(res_a["segments_ms"]) + list(res_b["segments_ms"])))
        _table([{"Part of the path": s.replace("_", " ").capitalize(),
                       "A p50": _fmt_ms(res_a["segments_ms"][s]["p50"]) if s in res_a["segments_ms"] else "",
                       "B p50": _fmt_ms(res_b["segments_ms"][s]["p50"]) if s in res_b["segments_ms"] else "",
                       "A p99": _fmt_ms(res_a["segments_ms"][s]["p99"]) if s in res_a["segments_ms"] else "",
                       "B p99": _fmt_ms(res_b["segments_ms"][s]["p99"]) if s in res_b["segments_ms"] else ""}
                for s in segs])

with right:
    st.subheader("Requests hop by hop")
    groups = [g for side, res in (("A", res_a), ("B", res_b))
              for g in charts.path_groups(res["waterfall"], COLORS[side], side)]
    shown = [h for res in (res_a, res_b) for path in res["waterfall"]["paths"] for h in path["hops"]]
    st.plotly_chart(charts.waterfall(groups, "time from the start of the request"), width="stretch",
                    key="fig_waterfall", config=PLOT_CONFIG)
    published: dict[str, list[str]] = {}     # source -> the hops it gives a figure for
    for h in shown:
        if h["url"] and not h["assumption"]:
            names = published.setdefault(h["url"], [])
            if h["hop"].split(" (")[0] not in names:
                names.append(h["hop"].split(" (")[0])
    assumed = list(dict.fromkeys(h["hop"].split(" (")[0] for h in shown if h["assumption"]))
    parts = [f"**Modelled** from the latency book, each hop at its median; the most frequent request class "
             f"({res_a['waterfall']['class']}), one chart per path its requests take through the caches, with "
             "the share of all requests that take it."]
    if published:
        cited = [f"{', '.join(names)} ([source]({url}))" for url, names in published.items()]
        n_hops = sum(len(names) for names in published.values())
        parts.append(("The hop with a published figure is " if n_hops == 1 else
                      "The hops with a published figure are ") + ", ".join(cited) + ".")
    if assumed:
        parts.append(("No published figure exists for " if not published else "The other hops have no published "
                      "figure: ") + ", ".join(assumed) + ("; their latencies are assumptions (marked \"assumed\", "
                      "each listed with its reason below)."))
    st.caption(" ".join(parts))

# -- cost ---------------------------------------------------------------------------------------------
left, right = st.columns(2, gap="large")
with left:
    st.subheader("Monthly cost by service")
    services = sorted(set(res_a["cost_by_service_usd"]) | set(res_b["cost_by_service_usd"]),
                      key=lambda s: -(res_a["cost_by_service_usd"].get(s, 0) + res_b["cost_by_service_usd"].get(s, 0)))
    fig = _figure([{"type": "bar", "orientation": "h", "name": side, "y": services, "marker": {"color": COLORS[side]},
                    "x": [res["cost_by_service_usd"].get(svc, 0.0) for svc in services]}
                   for side, res in (("A", res_a), ("B", res_b))],
                  {"barmode": "group", "height": max(300, 40 * len(services) + 60),
                   "yaxis": {"autorange": "reversed"}, "xaxis": {"title": {"text": "USD / month"}}})
    st.plotly_chart(fig, width="stretch", key="fig_cost", config=PLOT_CONFIG)
    book = load_price_book()
    st.caption(f"**Modelled**: quantity × unit price, with unit prices **published** on the AWS pricing pages "
               f"(price book {book.region}, compiled {book.compiled}; each line below links its page). "
               "Free tiers are not applied.")

with right:
    st.subheader("Break-even")
    if not specs:
        st.info("This case has no option to price against a volume.")
    else:
        chosen = st.selectbox("Option", list(specs), key=_key(case, "BE", "toggle"),
                              format_func=lambda k: f"{case.toggle(k).label}: {specs[k].title}")
        spec = specs[chosen]
        be = break_even(case.id, json.dumps({**values_b, **workload}), chosen)
        toggle = case.toggle(chosen)
        curve = {k: f"{toggle.label}: {toggle.to_text(be[k])}" for k in ("on", "off")}
        unit_words = be["volume_unit"].split("/")[0].lower()
        x_title = be["volume_label"] if unit_words and unit_words in be["volume_label"].lower() else \
            f"{be['volume_label']} ({be['volume_unit']})"
        costs = [c for k in ("on", "off") for c in be[f"cost_{k}_usd"] if c > 0]
        fig = _figure([{"type": "scatter", "mode": "lines", "x": be["volumes"], "y": be[f"cost_{k}_usd"],
                        "name": curve[k], "hovertemplate": "%{x:,.0f}: $%{y:,.2f}<extra>" + curve[k] + "</extra>",
                        "line": {"dash": "solid" if k == "on" else "dash", "width": 3,
                                 "color": "#2b8a3e" if k == "on" else "#c92a2a"}} for k in ("on", "off")],
                      {"height": 400, "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
                       "legend": charts.LEGEND_BELOW,
                       "xaxis": {"type": "log", "title": {"text": x_title}, "showgrid": True,
                                 **charts.decade_ticks(be["volumes"], fmt.count)},
                       "yaxis": {"type": "log", "title": {"text": "Monthly cost"},
                                 **charts.decade_ticks(costs, charts.money_tick)}})
        def cheaper_above(x: float) -> str:
            after = {k: charts.on_curve(be["volumes"], be[f"cost_{k}_usd"], x * 1.2) for k in ("on", "off")}
            value = be["on"] if after["on"] < after["off"] else be["off"]
            return f"{toggle.label} {toggle.to_text(value)}" if toggle.kind == "bool" else \
                toggle.to_text(value).capitalize()

        for x in be["break_even_volumes"]:
            y = charts.on_curve(be["volumes"], be["cost_on_usd"], x)
            fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers", showlegend=False, hoverinfo="skip",
                                     marker={"size": 12, "color": "black", "symbol": "x"}))
            right_half = math.log10(x) > (math.log10(be["volumes"][0]) + math.log10(be["volumes"][-1])) / 2
            fig.add_annotation(x=math.log10(x), y=math.log10(y), ax=-30 if right_half else 30, ay=-50,
                               xanchor="right" if right_half else "left", align="right" if right_half else "left",
                               text=f"<b>break-even at {fmt.count(x)}</b><br>cheaper above it:<br>{cheaper_above(x)}",
                               showarrow=True, arrowhead=0, font={"size": 12}, bgcolor="rgba(255,255,255,0.85)")
        # The current workload: a thin line and its label above the plot, never over the curves.
        fig.add_vline(x=be["current_volume"], line={"dash": "dot", "color": "grey", "width": 1})
        fig.add_annotation(x=math.log10(be["current_volume"]), y=1.0, xref="x", yref="paper", yanchor="bottom",
                           showarrow=False, text=f"your workload: {fmt.count(be['current_volume'])}",
                           font={"color": "grey", "size": 12})
        st.plotly_chart(fig, width="stretch", key="fig_breakeven", config=PLOT_CONFIG)
        if toggle.kind == "bool":
            option = f"{toggle.label} on instead of off"
        else:
            option = f"{toggle.label}: {toggle.to_text(be['on'])} instead of {toggle.to_text(be['off'])}"
        where = (f"break-even at **{fmt.count(be['break_even_volume'], be['volume_unit'])}**"
                 if be["break_even_volume"] else "no break-even in the slider range")
        gains = [f"{'all requests' if g == 'all' else g.replace('_', ' ')} p50 {fmt.duration(abs(d['p50']))} "
                 f"{'faster' if d['p50'] > 0 else 'slower'}"
                 for g, d in be["latency_gain_ms"].items() if abs(d["p50"]) >= 0.05]
        gained = ("Latency: " + ", ".join(gains) + ".") if gains else "It does not change the modelled latency."
        st.caption(f"**Modelled** for configuration B's other options and the workload above. {option}: {where}; "
                   f"{VERDICTS.get(be['verdict'], be['verdict'])}. It saves {spec.saves}. {gained} "
                   "Prices **published** (price book, links in the cost lines).")

# -- details --------------------------------------------------------------------------------------------
st.subheader("Cost line items")
st.dataframe([{"Config": side, "Service": line["service"], "Item": line["item"],
               "Quantity": fmt.number(line["quantity"]), "Unit": line["unit"],
               "Unit price (USD)": line["unit_price_usd"], "Monthly": fmt.usd(line["monthly_usd"]),
               "Basis": "assumption" if line["assumption"] else "published", "Source": line["source"]}
              for side, res in (("A", res_a), ("B", res_b)) for line in res["cost_breakdown"]],
             hide_index=True, width="stretch", height=320,
             column_config={"Source": st.column_config.LinkColumn("Source", display_text="pricing page")})
st.caption(f"Totals: A {fmt.usd(res_a['monthly_cost_usd'])}, B {fmt.usd(res_b['monthly_cost_usd'])} a month, each "
           "the sum of its lines (quantity × unit price).")

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Cache hit ratios")
    names = list(dict.fromkeys(list(res_a["caches"]) + list(res_b["caches"])))
    if names:
        _table([{"Cache": (res_b["caches"].get(n) or res_a["caches"][n])["label"],
                       "A": f"{res_a['caches'][n]['hit_ratio']:.1%}" if n in res_a["caches"] else "off",
                       "B": f"{res_b['caches'][n]['hit_ratio']:.1%}" if n in res_b["caches"] else "off",
                       "Basis": (res_b["caches"].get(n) or res_a["caches"][n])["basis"],
                 "Model": (res_b["caches"].get(n) or res_a["caches"][n])["model"]} for n in names])
        st.caption("**Modelled** hit ratios use the TTL formula (exact under Poisson arrivals) or Che's "
                   "approximation for LRU, under Zipf popularity; **executed** ones were measured in a run.")
    else:
        st.info("No cache is on in A or B.")
with right:
    st.subheader("Assumptions in these numbers")
    rows = {a["what"]: a for res in (res_a, res_b) for a in res["assumptions"]}
    _table([{"What": a["what"], "Value": a["value"], "Why": a["basis"]} for a in rows.values()])
    for note in dict.fromkeys(res_a["notes"] + res_b["notes"]):
        st.markdown(f"- {note}")
    lat = load_latency_book()
    st.caption(f"Latency book compiled {lat.data['compiled']}; cold starts from lambda-perf "
               f"({lat.data['lambda_cold_start']['as_of']}); round trips from cloudping "
               f"({lat.data['inter_region_rtt']['as_of']}).")
