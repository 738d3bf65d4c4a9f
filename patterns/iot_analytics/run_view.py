"""IoT analytics on the Run page: the fleet's traffic, and what the lake and Athena made of it."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app.ui.runs import EXECUTED
from app.ui.widgets import table
from patterns.iot_analytics.pipeline import DAYS, Telemetry


def options() -> dict:
    with st.expander("Device traffic", expanded=False, icon=":material/sensors:"):
        cols = st.columns(3)
        devices = cols[0].slider("Devices", 1, 20, 4, 1, key="run:iot:devices", format="%d devices",
                                 help="IoT things registered, each with its own certificate.")
        rate = cols[1].slider("Messages per device (a minute)", 1, 12, 4, 1, key="run:iot:rate",
                              format="%d a minute",
                              help="How often each device publishes a reading.")
        duration = cols[2].slider("Minutes of telemetry per day (simulated)", 1, 20, 6, 1, key="run:iot:duration",
                                  help=f"The run replays {DAYS} days on a simulated clock: no real waiting.")
    return {"telemetry": Telemetry(devices=devices, rate=rate, duration=duration)}


def _chart(rows: list[dict]) -> go.Figure:
    days = sorted({r["dt"] for r in rows})
    traces = [{"type": "bar", "name": day, "x": [r["device_id"] for r in rows if r["dt"] == day],
               "y": [float(r["avg_temperature"]) for r in rows if r["dt"] == day]} for day in days]
    layout = {"title": {"text": "Average temperature per device and day (Athena result)", "font": {"size": 14}},
              "barmode": "group", "height": 340, "margin": {"l": 10, "r": 10, "t": 50, "b": 40},
              "yaxis": {"title": {"text": "°C"}}, "legend": {"orientation": "h", "y": -0.3}}
    return go.Figure({"data": traces, "layout": layout})


def artifacts(art: dict) -> None:
    if "buffering" in art:
        b = art["buffering"]
        st.markdown(f"**Firehose buffer**: {b['buffer_interval_s']} s or {b['buffer_mib']:g} MiB, {b['format']}. "
                    f"{b['notice']}.  \nTime is {b['time']}.")
    if "ledger" in art:
        lg = art["ledger"]
        st.markdown("**Every record accounted for** (read back from S3, the error queue and Firehose's counters)")
        m = st.columns(6)
        m[0].metric("Published", lg["published"], help=f"{lg['sent_by_devices']} sent; {lg['refused_by_broker']} "
                    "over the broker's payload limit were refused and reached no rule.")
        m[1].metric("Delivered to S3", lg["delivered_to_s3"])
        m[2].metric("Dropped by the transform", lg["dropped_by_transform"])
        m[3].metric("Error action (SQS)", lg["error_action"])
        m[4].metric("Left out by WHERE", lg["left_out_by_where"])
        m[5].metric("Refused (too large)", lg["refused_by_broker"])
    if "athena" in art:
        queries = art["athena"]["queries"]
        st.markdown(f"**Athena report** ({EXECUTED}: SQL run over the lake's {art['athena']['format']} objects); "
                    f"result CSV at `{queries[0]['output']}`")
        table(queries[0]["rows"], "art-athena-rows")
        st.plotly_chart(_chart(queries[0]["rows"]), key="art-athena-chart")
        st.markdown("**Bytes scanned per query** (what Athena bills)")
        table([{"Query": q["query"], "Bytes scanned": f"{q['bytes_scanned']:,}", "State": q["state"],
                "Result": q["output"]} for q in queries], "art-athena-scanned")
    if "error_queue" in art:
        st.markdown(f"**Messages in the rule's error queue**: {len(art['error_queue'])} (no device id: the Kinesis "
                    "action had no partition key)")
        table(art["error_queue"], "art-error-queue")
    if "consumers" in art:
        st.markdown(f"**Consumers of the reporting bucket** (not run here): {art['consumers']}")
