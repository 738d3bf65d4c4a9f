"""What the Run page draws from a pipeline run: the step waterfall and the modelled figures beside it.

Kept out of the page file so the pieces are plain functions of a run result. Step
times are measured on this machine (labelled "executed (this machine)"); the latency
and cost engine's figures for the same configuration are labelled "modelled".
"""
from __future__ import annotations

from typing import Any, Iterable

import plotly.graph_objects as go

from app.engine.steps import modelled_step, price_spans

EXECUTED = "executed (this machine)"
MODELLED = "modelled"
PHASE_COLORS = {"deploy": "#868e96", "drive": "#1c7ed6", "verify": "#2f9e44", "teardown": "#adb5bd"}
STATUS_MARK = {"ok": ":material/check_circle:", "error": ":material/error:", "skipped": ":material/skip_next:"}
STATUS_TEXT = {"ok": "", "error": " (failed)", "skipped": " (skipped)"}


def step_rows(steps: Iterable[Any]) -> list[dict[str, Any]]:
    """Steps (StepResult objects or their dicts) as rows with their start offset in the run."""
    rows, start = [], 0.0
    for s in steps:
        d = s if isinstance(s, dict) else s.to_dict()
        spans = [x for x in d.get("spans", []) if "service" in x]
        aws = modelled_step(spans)
        usd = price_spans(spans)["usd"]
        rows.append({"name": d["name"], "service": d["service"], "phase": d["phase"], "status": d["status"],
                     "start_ms": start, "measured_ms": d["measured_ms"], "calls": len(spans),
                     "modelled_ms": aws["p50_ms"] if aws["modelled_calls"] else None,
                     "modelled_calls": aws["modelled_calls"], "modelled_usd": usd, "error": d.get("error")})
        start += d["measured_ms"]
    return rows


def waterfall(steps: Iterable[Any], title: str = "") -> go.Figure:
    """Horizontal bars, one per step, each starting where the previous one ended."""
    rows = step_rows(steps)
    names = [f"{r['name']}{STATUS_TEXT.get(r['status'], '')}" for r in rows]
    traces = []
    for phase, color in PHASE_COLORS.items():
        part = [(n, r) for n, r in zip(names, rows) if r["phase"] == phase]
        if not part:
            continue
        traces.append({
            "type": "bar", "orientation": "h", "name": phase, "marker": {"color": color},
            "y": [n for n, _ in part], "x": [max(r["measured_ms"], 0.05) for _, r in part],
            "base": [r["start_ms"] for _, r in part],
            "customdata": [[r["service"], r["calls"], r["measured_ms"]] for _, r in part],
            "hovertemplate": "%{y}<br>%{customdata[0]}, %{customdata[1]} calls<br>"
                             "%{customdata[2]:.1f} ms " + EXECUTED + "<extra></extra>",
        })
    height = 120 + 26 * max(1, len(rows))
    layout = {"title": {"text": title or f"Steps, measured ms ({EXECUTED})", "font": {"size": 14}},
              "barmode": "overlay", "height": height, "margin": {"l": 10, "r": 10, "t": 40, "b": 30},
              "xaxis": {"title": {"text": f"ms since the run started, {EXECUTED}"}},
              "yaxis": {"autorange": "reversed", "categoryorder": "array", "categoryarray": names},
              "legend": {"orientation": "h", "y": -0.15}}
    return go.Figure({"data": traces, "layout": layout})


def model_inputs(case, values: dict, deployed: dict) -> dict:
    """The toggles of a run plus what it really deployed (node counts, cache sizes, TTLs), for the
    model's parameters of those names: the model then prices the configuration that ran."""
    from app.core.cases import parts

    model = parts(case).model
    known = {p.key for p in model.PARAMS} if model is not None else set()
    return {**values, **{k: v for k, v in deployed.items() if k in known}}


def deployed_text(case, deployed: dict) -> str:
    """What a run deployed, in the words of the model's parameters ("DAX nodes 1, API cache size 0.5")."""
    from app.core.cases import parts

    model = parts(case).model
    params = {p.key: p for p in model.PARAMS} if model is not None else {}
    def unit(p) -> str:
        return f" {p.unit}" if p.unit and p.unit.lower() not in p.label.lower() else ""

    return ", ".join(f"{params[k].label}: {v}{unit(params[k])}" for k, v in deployed.items() if k in params)


def modelled(case_id: str, values: dict, samples: int = 50_000) -> dict | None:
    """The engine's latency and monthly cost for this configuration, or None when the case has no model."""
    from app.core.cases import parts
    from app.engine import run as run_engine

    if parts(case_id).model is None:
        return None
    return run_engine(case_id, values, samples=samples, with_break_even=False)


def hops_figure(hops: list[dict], title: str) -> go.Figure:
    """The modelled waterfall of one typical request."""
    names = [h["hop"] for h in hops]
    trace = {"type": "bar", "orientation": "h", "y": names, "x": [max(h["ms"], 0.05) for h in hops],
             "base": [h["start_ms"] for h in hops], "marker": {"color": "#f08c00"},
             "customdata": [[h.get("service", ""), h.get("source", "")[:120]] for h in hops],
             "hovertemplate": "%{y}: %{x:.2f} ms " + MODELLED + "<br>%{customdata[0]}<br>%{customdata[1]}"
                              "<extra></extra>", "name": MODELLED}
    layout = {"title": {"text": title, "font": {"size": 14}}, "height": 110 + 28 * len(hops),
              "margin": {"l": 10, "r": 10, "t": 40, "b": 30}, "showlegend": False,
              "xaxis": {"title": {"text": f"ms, {MODELLED}"}}, "yaxis": {"autorange": "reversed"}}
    return go.Figure({"data": [trace], "layout": layout})
