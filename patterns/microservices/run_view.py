"""Micro-services on the Run page: how many resolutions to measure, and the run's artifacts."""
from __future__ import annotations

import streamlit as st

from app.core import format as fmt
from app.ui.runs import EXECUTED
from app.ui.widgets import table
from patterns.microservices.case import HOME
from patterns.microservices.pipeline import ORDERS, RESOLUTIONS


def options() -> dict:
    with st.expander("DNS resolutions", expanded=False, icon=":material/dns:"):
        n = st.slider(f"Resolutions of {ORDERS} per client region", RESOLUTIONS, 10 * RESOLUTIONS, RESOLUTIONS,
                      500, key="run:micro:resolutions", format="%d resolutions",
                      help="Each is answered by the resolver from the record sets and health checks read back "
                           "from the backend; weighted shares are measured over these.")
    return {"resolutions": n}


def artifacts(art: dict) -> None:
    if "resolutions" in art:
        st.markdown(f"**Which `{ORDERS}` record answered**, per client region ({EXECUTED})")
        table([{"client_region": region, "record": record, "answers": fmt.count(v["answers"]),
                "share": f"{v['share']:.1%}"}
               for region, records in art["resolutions"].items() for record, v in records.items()], "art-dns")
    if "orders" in art:
        st.markdown("**Orders placed**: the record that answered, the task that served, the catalog hop")
        table([{"record": o["record"], "region": o["region"], "status": o["status"], "task": o["task"],
                "order": o["order_id"],
                "total": "" if o.get("total_cents") is None else fmt.usd(o["total_cents"] / 100),
                "elasticache": (o.get("catalog") or {}).get("cache"),
                "error": o.get("error")} for o in art["orders"]], "art-orders")
    if "failover" in art:
        f = art["failover"]
        after = ", ".join(f"{k} {v}" for k, v in f["answers_after"].items())
        st.markdown(f"**Failover**: before, `{f['answered_before']}` answered; the primary failed ({f['cause']}; "
                    f"its health check healthy now: {f['primary_healthy_after']}); after {f['failover_s']:g} s on "
                    f"the run's clock: {after}. The next order "
                    f"was served in **{f['order']['region']}** with status {f['order']['status']}"
                    + (f"; replicated to {HOME} after recovery: {f['replicated_home']}" if "replicated_home" in f
                       else "") + ".")
    if "catalog_reads" in art:
        st.markdown("**The catalog read again** (stage cache, Lambda, ElastiCache per read)")
        table(art["catalog_reads"], "art-catalog")
    if "queue_depth" in art:
        d = art["queue_depth"]
        m = st.columns(3)
        m[0].metric("Queue depth before orders", d.get("before"))
        m[1].metric("Queue depth after orders", d.get("before_drain"))
        m[2].metric("Queue depth after billing", d.get("after"))
