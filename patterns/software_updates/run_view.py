"""Software updates on the Run page: the surge's size, and what it did to the edge, the origin and the group."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app.engine.books import load_price_book
from app.engine.cdn import describe
from app.ui.runs import EXECUTED, MODELLED
from app.ui.widgets import table
from patterns.software_updates.model import surge_cost
from patterns.software_updates.surge import Surge


def options() -> dict:
    with st.expander("Release-day surge", expanded=False, icon=":material/trending_up:"):
        cols = st.columns(3)
        clients = cols[0].slider("Clients downloading", 200, 10_000, 2_000, 100, key="run:updates:clients",
                                 format="%d clients",
                                 help="Installed copies that download the new version during the surge.")
        size = cols[1].slider("Update size (MB)", 1, 200, 20, 1, key="run:updates:size",
                              help="Size of the update package.")
        minutes = cols[2].slider("Surge length (simulated minutes)", 10, 60, 20, 5, key="run:updates:minutes",
                                 help="The run moves its clock one minute per step; no real waiting.")
    return {"surge": Surge(clients=clients, file_mb=float(size), minutes=minutes)}


def _figure(minutes: list[dict], by_edge: bool) -> go.Figure:
    x = [m["minute"] for m in minutes]
    traces = []
    if by_edge:
        traces.append({"type": "bar", "name": "requests at the edge", "x": x,
                       "y": [m["edge_requests"] for m in minutes], "marker": {"color": "#74c0fc"}})
    traces += [
        {"type": "bar", "name": "requests at the origin (ALB)", "x": x, "y": [m["origin_requests"] for m in minutes],
         "marker": {"color": "#e8590c"}},
        {"type": "scatter", "mode": "lines+markers", "name": "instances in service", "x": x, "yaxis": "y2",
         "y": [m["instances_in_service"] for m in minutes], "line": {"color": "#2b8a3e", "width": 3}},
    ]
    layout = {"title": {"text": f"Release-day surge, per simulated minute — {EXECUTED}", "font": {"size": 14}},
              "barmode": "group", "height": 380, "margin": {"l": 10, "r": 10, "t": 50, "b": 40},
              "xaxis": {"title": {"text": "simulated minute"}},
              "yaxis": {"title": {"text": "requests"}, "rangemode": "tozero"},
              "yaxis2": {"title": {"text": "instances"}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                         "dtick": 1},
              "legend": {"orientation": "h", "y": -0.25}}
    return go.Figure({"data": traces, "layout": layout})


def artifacts(art: dict) -> None:
    if "release" in art:
        r = art["release"]
        st.markdown(f"**Release 2.0.0 published** at `{r['package']}` ({r['bytes'] / 1e6:,.0f} MB): {r['how']}.")
    if "surge" not in art:
        return
    s = art["surge"]
    minutes = s["minutes"]
    by_edge = s["served_by"] == "CloudFront"
    st.plotly_chart(_figure(minutes, by_edge), key="art-surge-chart")
    m = st.columns(4)
    m[0].metric("Downloads", f"{s['surge']['clients']:,}", help=f"Clients that fetched the update, {EXECUTED}.")
    m[1].metric("Requests at the origin", f"{s['origin_requests']:,}", help="Answered by the instances' web servers.")
    m[2].metric("Most instances in service", max(x["instances_in_service"] for x in minutes))
    total_gb = sum(s["bytes_by_region"].values()) / 1e9
    m[3].metric("Delivered", f"{total_gb:,.1f} GB", help=f"Bytes sent to clients, from {s['served_by']}.")
    sheet, plans = surge_cost(s, load_price_book())
    st.markdown(f"**What this surge costs on AWS** ({MODELLED}: the run's counted bytes, requests and "
                f"instance-minutes at the price book's unit prices): **{sheet.total:,.2f} USD**")
    if plans is not None:
        st.caption(f"{describe(plans)} A flat-rate plan is billed by the month, so it pays when surges like this "
                   f"one come often. Plans and prices: {plans['plan_source']}")
    table([{"Service": line.service, "Item": line.item, "Quantity": f"{line.quantity:,.2f} {line.unit}",
            "USD": f"{line.monthly_usd:,.2f}"} for line in sheet.lines], "art-surge-cost")
    with st.expander("Scaling decisions, minute by minute"):
        table([{"Minute": x["minute"], "Clients starting": x["clients"], "At the edge": x["edge_requests"],
                "At the origin": x["origin_requests"], "In service": x["instances_in_service"],
                "Decision": x["action"], "Why": x["reason"]} for x in minutes], "art-surge-minutes")
