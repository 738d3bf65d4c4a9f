"""MyTodoList on the Run page: the traffic run's options and the run's artifacts."""
from __future__ import annotations

import json

import streamlit as st

from app.ui.runs import EXECUTED
from app.ui.widgets import table
from patterns.todo_api.traffic import Workload


def options() -> dict:
    with st.expander("Traffic run", expanded=False, icon=":material/trending_up:"):
        cols = st.columns(4)
        requests = cols[0].slider("Requests", 20, 2000, 500, 10, key="run:todo:requests", format="%d requests",
                                  help="Requests sent through the API in the traffic step.")
        items = cols[1].slider("Todos", 5, 200, 40, 5, key="run:todo:items", format="%d todos",
                               help="Distinct todo ids requested.")
        skew = cols[2].slider("Popularity skew (Zipf s)", 0.0, 2.0, 1.1, 0.1, key="run:todo:skew",
                              help="0 is uniform; around 1 a few todos take most requests.")
        reads = cols[3].slider("Reads (share of all calls)", 0.5, 1.0, 0.9, 0.05, key="run:todo:reads",
                               help="Share of GETs; the rest are PUTs.")
    return {"workload": Workload(requests=requests, items=items, skew=skew, read_ratio=reads)}


def artifacts(art: dict) -> None:
    if "denied_request" in art:
        d = art["denied_request"]
        st.markdown(f"**The denied request**: `{d['request']}` by `{d['caller']}` → "
                    f"**{d.get('code', d['status'])}** ({(d.get('decision') or {}).get('reason', '')})")
        c1, c2 = st.columns(2)
        c1.caption("Policy of the authenticated role (the document that decided)")
        c1.code(json.dumps(d["policy"], indent=2), language="json")
        c2.caption("Error returned to the app")
        c2.code(d.get("message") or "", language=None, wrap_lines=True)
    if "unauthorized" in art:
        st.markdown("**Requests the authorizer refused** (the function never ran)")
        table(art["unauthorized"], "art-401")
    if "cache_reads" in art:
        st.markdown("**The same todo read again**: stage cache and DAX per read")
        table(art["cache_reads"], "art-cache")
    if "traffic" in art:
        t = art["traffic"]
        st.markdown(f"**Traffic run**: {t['reads'] + t['writes']} requests over {t['workload']['items']} todos, "
                    f"Zipf skew {t['workload']['skew']}, {EXECUTED}")
        m = st.columns(4)
        m[0].metric("Lambda invocations", t["lambda_invocations"])
        m[1].metric("Stage cache hit ratio", f"{t['api_cache']['hit_ratio']:.1%}"
                    if (t.get("api_cache") or {}).get("hit_ratio") is not None else "off")
        m[2].metric("DAX hit ratio", f"{t['dax']['hit_ratio']:.1%}"
                    if (t.get("dax") or {}).get("hit_ratio") is not None else "off")
        m[3].metric("ms per request", f"{t['measured_ms_per_request']:.1f}",
                    help=f"Mean time of one request through the API, {EXECUTED}.")
    if "requests" in art:
        with st.expander("Todo CRUD requests through the API"):
            table(art["requests"], "art-crud")
