"""Charts the pages share, built from plain dicts (far cheaper than plotly's incremental helpers).

:func:`waterfall` draws hop-by-hop (or step-by-step) bars with each label written above its
bar, not beside it: the bars keep the chart's whole width on a phone as on a wide screen.
Legends go below the plot area, clear of Plotly's toolbar.
"""
from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go

from app.core import format as fmt

LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0}
ROW_PX = 38          # one bar and the one-line label above it
WRAP = 52            # characters of a label line: what a phone's width holds at 12 px


def time_axis(top_ms: float) -> tuple[str, float]:
    """The unit an axis of durations speaks ("ms" or "s") and the divisor from ms."""
    return ("s", 1000.0) if top_ms >= 1000 else ("ms", 1.0)


def _wrap(text: str, width: int = WRAP) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces (no line for no text)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def waterfall(groups: list[dict[str, Any]], axis_title: str) -> go.Figure:
    """``groups``: ``{"heading": str | None, "color": str, "bars": [{"label", "start_ms", "ms", "hover"}]}``.

    Each group starts with its heading (bold, in its colour) and lists its bars, each bar's label
    above it; the x axis is in ms or s, whichever fits the longest bar.
    """
    top = max((b["start_ms"] + b["ms"] for g in groups for b in g["bars"]), default=0.0)
    unit, scale = time_axis(top)
    traces, notes, y, px = [], [], 0.0, 20.0
    for g in groups:
        if g.get("heading"):
            # The title, then how many requests and how long, each wrapped to a phone's width.
            title, _, detail = g["heading"].partition(": ")
            lines = [f"<b>{line}</b>" for line in _wrap(title)] + _wrap(detail)
            y += 0.7 + 0.4 * len(lines)
            notes.append({"x": 0, "xref": "paper", "y": y - 0.15, "yref": "y", "yanchor": "bottom",
                          "text": "<br>".join(lines), "showarrow": False, "xanchor": "left", "align": "left",
                          "font": {"size": 12, "color": g["color"]}})
            px += (0.7 + 0.4 * len(lines)) * ROW_PX
        ys = []
        for b in g["bars"]:
            lines = _wrap(b["label"])
            y += 1.0 + 0.4 * (len(lines) - 1)
            ys.append(y)
            notes.append({"x": 0, "xref": "paper", "y": y - 0.2, "yref": "y", "text": "<br>".join(lines),
                          "showarrow": False, "xanchor": "left", "yanchor": "bottom", "align": "left",
                          "font": {"size": 12}})
            px += (1.0 + 0.4 * (len(lines) - 1)) * ROW_PX
        traces.append({"type": "bar", "orientation": "h", "y": ys, "width": 0.36,
                       "x": [max(b["ms"], 0.02 * top if top else 0.05) / scale for b in g["bars"]],
                       "base": [b["start_ms"] / scale for b in g["bars"]], "marker": {"color": g["color"]},
                       "hovertext": [b.get("hover", "") for b in g["bars"]], "hoverinfo": "text",
                       "name": g.get("heading") or ""})
    layout = {"height": round(px) + 70, "margin": {"l": 10, "r": 10, "t": 10, "b": 50}, "showlegend": False,
              "bargap": 0.4, "annotations": notes,
              "yaxis": {"showticklabels": False, "showgrid": False, "zeroline": False,
                        "range": [y + 0.6, 0.4]},
              "xaxis": {"title": {"text": f"{axis_title} ({unit})"}, "tickformat": ",~r", "rangemode": "tozero"}}
    return go.Figure({"data": traces, "layout": layout})


def hop_bars(hops: list[dict[str, Any]], what: str = "modelled") -> list[dict[str, Any]]:
    """The engine's hops (``hop``, ``service``, ``start_ms``, ``ms``, ``source``, ``assumption``) as bars;
    an assumed hop's label ends with "(assumed)"."""
    return [{"label": f"{h['hop']}: {fmt.duration(h['ms'])}" + (" (assumed)" if h.get("assumption") else ""),
             "start_ms": h["start_ms"], "ms": h["ms"],
             "hover": f"{h.get('service', '')}: {fmt.duration(h['ms'])} (p50, {what}). {h.get('source', '')[:160]}"}
            for h in hops]


def path_groups(wf: dict[str, Any], color: str, side: str = "", what: str = "modelled") -> list[dict[str, Any]]:
    """The engine's waterfall of a request class (``class``, ``share``, ``paths``) as one group per path
    its requests take through the caches, each headed by the path, its share of all requests and its time."""
    groups = []
    for path in wf["paths"]:
        last = path["hops"][-1] if path["hops"] else {"start_ms": 0.0, "ms": 0.0}
        heading = ((f"{side} · " if side else "") + wf["class"]
                   + ("" if path["path"] == "every request" else f", {path['path']}")
                   + f": {fmt.percent(path['share'] * wf['share'])} of requests, "
                     f"{fmt.duration(last['start_ms'] + last['ms'])}")
        groups.append({"heading": heading, "color": color, "bars": hop_bars(path["hops"], what)})
    return groups


def decade_ticks(values: list[float], label) -> dict[str, Any]:
    """A log axis's ticks at 1, 10, 100, ... within ``values``' range, each written by ``label``
    (a formatter of :mod:`app.core.format`), so a log axis reads "$10, $100, $1,000"."""
    positive = [v for v in values if v > 0]
    if not positive:
        return {}
    lo, hi = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    ticks = [10.0 ** e for e in range(lo, hi + 1)]
    if len(ticks) > 7:                               # every other decade on a wide range
        ticks = ticks[::2]
    return {"tickvals": ticks, "ticktext": [label(t) for t in ticks], "minor": {"showgrid": False}}


def money_tick(usd: float) -> str:
    """A money axis's tick: cents only below a dollar, so decades read "$0.10, $1, $10, $100, $1,000"."""
    from app.core import format as fmt

    return fmt.usd(usd) if usd < 1 or usd >= 1e6 else f"${usd:,.0f}"


def on_curve(xs: list[float], ys: list[float], x: float) -> float:
    """The value at ``x`` of the curve through (xs, ys), interpolated in log-log space."""
    for (x0, y0), (x1, y1) in pairwise(zip(xs, ys, strict=True)):
        if x0 <= x <= x1 and x1 > x0 and y0 > 0 and y1 > 0:
            f = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return math.exp(math.log(y0) + f * (math.log(y1) - math.log(y0)))
    return ys[0] if x <= xs[0] else ys[-1]


__all__ = ["LEGEND_BELOW", "time_axis", "waterfall", "hop_bars", "path_groups", "decade_ticks", "money_tick",
           "on_curve"]
