"""IoT analytics on the Run page: the fleet's traffic, and what the lake and Athena made of it."""
from __future__ import annotations

import html
import json

import plotly.graph_objects as go
import streamlit as st

from app.core.format import number, series, utc
from app.core.uploads import UploadRejected, size_text
from app.ui.runs import EXECUTED
from app.ui.state import plain
from app.ui.widgets import table
from patterns.iot_analytics.messages import MAX_READINGS, accepted_text
from patterns.iot_analytics.pipeline import (
    DAYS,
    READING_FIELDS,
    REQUIRED_FIELDS,
    UPLOAD,
    Telemetry,
    example_reading,
    pasted_options,
)

# A reading's fields as table headings: with their units, and what they hold in people's words
HEADINGS = {"dt": "Day", "ts": "Time (UTC)", "device_id": "Device ID", "temperature": "Temperature (°C)",
            "humidity": "Humidity (%)", "battery": "Battery (%)", "status": "Status", "thing": "Thing",
            "readings": "Readings", "avg_temperature": "Avg temperature (°C)",
            "max_temperature": "Max temperature (°C)"}


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
    return {"telemetry": Telemetry(devices=devices, rate=rate, duration=duration), "message": _message()}


def _message():
    """The user's device message, checked; None when there is none or it is refused."""
    optional = [k for k in READING_FIELDS if k not in REQUIRED_FIELDS]
    with st.expander("Your device message", expanded=False, icon=":material/upload_file:"):
        st.caption(f"Publish readings of your own alongside the fleet's: {accepted_text()}, up to "
                   f"{UPLOAD.max_bytes:,} bytes ({size_text(UPLOAD.max_bytes)} of 1,024 bytes, the most the IoT Core "
                   "broker takes in one message; the uploader shows a file's size in KB of 1,000 bytes). A reading has "
                   f"{series(REQUIRED_FIELDS)}, and may have {series(optional)}. Without a device id the rule's "
                   "Kinesis action has no partition key and the reading goes to the error action; a temperature "
                   "of -40 or less is left out by the rule's WHERE clause. The run reads back where each one "
                   "ended.")
        file = st.file_uploader(f"Upload {UPLOAD.accepted}", key="run:iot:upload",
                                help="Checked before anything is published; without one the run publishes the "
                                     "generated readings only.")
        pasted = st.text_area("Or paste a reading (JSON)", key="run:iot:paste", height=110,
                              placeholder=json.dumps(example_reading()),
                              help="One JSON object, or an array of up to "
                                   f"{MAX_READINGS}; an uploaded file is used instead when there is one.")
        try:
            if file is not None:
                data = file.getvalue()
                message = UPLOAD.options(data, file.name)["message"]
            elif pasted.strip():
                data = pasted.encode()
                message = pasted_options(pasted)["message"]
            else:
                return None
        except UploadRejected as exc:
            st.error(plain(f"{exc} Nothing was published; the run uses the generated readings only."),
                     icon=":material/block:")
            return None
        n = len(message.readings)
        subject = message.name if file is not None else message.name[:1].upper() + message.name[1:]
        st.success(plain(f"{subject}: {n} reading{'s' * (n != 1)}, {len(data):,} bytes. The run publishes "
                         f"{'it' if n == 1 else 'them'} from a device of its own on day {DAYS} and reads back "
                         "where each one ends."), icon=":material/check:")
        return message


def _celsius(value) -> str:
    """A temperature as read: one decimal ("21.5", "-45.0"); a value no thermometer gives as a number."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return f"{t:.1f}" if abs(t) < 10_000 else number(t)


def _readable(row: dict) -> dict:
    """A reading or a result row for people: headings with units, times in UTC, temperatures to a decimal."""
    out = {}
    for key, value in row.items():
        if key == "ts" and isinstance(value, int) and not isinstance(value, bool):
            value = utc(value)
        elif "temperature" in key and value is not None:
            value = _celsius(value)
        out[HEADINGS.get(key, key)] = value
    return out


def _chart(rows: list[dict]) -> go.Figure:
    """Grouped bars per device, a colour per day; the legend above the plot, so the device ids below it,
    rotated on a narrow screen, never run into it."""
    days = sorted({r["dt"] for r in rows})
    traces = [{"type": "bar", "name": day, "x": [html.escape(str(r["device_id"])) for r in rows if r["dt"] == day],
               "y": [float(r["avg_temperature"]) for r in rows if r["dt"] == day]} for day in days]
    layout = {"title": {"text": "Average temperature per device and day (Athena result)", "font": {"size": 14},
                        "y": 0.98, "yanchor": "top"},
              "barmode": "group", "height": 380, "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
              "xaxis": {"automargin": True}, "yaxis": {"title": {"text": "°C"}, "automargin": True},
              "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"}}
    return go.Figure({"data": traces, "layout": layout})


def artifacts(art: dict) -> None:
    if "buffering" in art:
        b = art["buffering"]
        kind = "Parquet" if b["format"] == "parquet" else "JSON lines"
        st.markdown(f"**Firehose buffer**: an object of {kind} lands in S3 every {b['buffer_interval_s']} s, or "
                    f"sooner once {b['buffer_mib']:g} MiB of records are buffered. {b['notice']}  \n"
                    f"Time is {b['time']}.")
    if "ledger" in art:
        lg = art["ledger"]
        st.markdown("**Every record accounted for** (read back from S3, the error queue and Firehose's counters)")
        m = st.columns(6)
        m[0].metric("Published", lg["published"], help=f"{lg['sent_by_devices']} sent; {lg['refused_by_broker']} "
                    "over the broker's payload limit were refused and reached no rule.")
        m[1].metric("Delivered to S3", lg["delivered_to_s3"])
        m[2].metric("Dropped", lg["dropped_by_transform"],
                    help="Dropped by the Firehose transform function (it drops calibrating readings); 0 without "
                         "the transform.")
        m[3].metric("Error action (SQS)", lg["error_action"])
        m[4].metric("Left out by WHERE", lg["left_out_by_where"])
        m[5].metric("Refused (too large)", lg["refused_by_broker"])
    if "athena" in art:
        queries = art["athena"]["queries"]
        kind = "Parquet" if art["athena"]["format"] == "parquet" else "JSON lines"
        st.markdown(f"**Athena report**, {EXECUTED}: the report's SQL over the lake's {kind} objects. Result CSV: "
                    f"`{queries[0]['output']}`")
        table([_readable(r) for r in queries[0]["rows"]], "art-athena-rows")
        st.plotly_chart(_chart(queries[0]["rows"]), key="art-athena-chart")
        st.markdown("**Bytes scanned per query** (what Athena bills)")
        table([{"Query": q["query"], "Bytes scanned": f"{q['bytes_scanned']:,}", "State": q["state"],
                "Result": q["output"]} for q in queries], "art-athena-scanned")
    if "error_queue" in art:
        st.markdown(f"**Messages in the rule's error queue**: {len(art['error_queue'])} (no device id: the Kinesis "
                    "action had no partition key)")
        table([_readable(b) for b in art["error_queue"]], "art-error-queue")
    if "your_message" in art:
        y = art["your_message"]
        st.markdown("**Your device message**: "
                    + plain(f"{y['name']}, published by the thing {y['thing']} on day {DAYS}; "
                            f"where each reading ended, read back from S3, the error queue and Athena (Athena "
                            f"counts {y['athena_counts']} of them in the lake)"))
        table([{"Reading": r["reading"], **_readable({"device_id": r["device_id"], "temperature": r["temperature"],
                                                       "status": r["status"]}),
                "The rule": r["rule"], "Read back": r["read_back"]} for r in y["readings"]], "art-your-message")
    if "consumers" in art:
        st.markdown(f"**Consumers of the reporting bucket** (not run here): {art['consumers']}")
