"""Run: execute the case's pipeline against the embedded AWS backend and show what happened.

Each press of Run deploys the architecture into a fresh account of this session on the
embedded moto server, drives it, verifies it by reading the backend back, and tears it
down. Steps appear as they finish; the checks and artifacts (email, thumbnail, S3
listing, DynamoDB items, the denied request with its policy) stay on the page.
"""
from __future__ import annotations

import json
import uuid

import streamlit as st

from app.core import format as fmt
from app.core.cases import executable_cases, parts
from app.core.diagram import DotMissing, render
from app.report import Configuration
from app.engine.executed import hit_ratios_from_spans
from app.engine.steps import price_spans
from app.runtime.live import LIVE_REGIONS, LiveError, live_disabled_reason, live_session
from app.runtime.pipeline import highlight as run_highlight
from app.ui import state
from app.ui.faults import faults_panel, ledger_view, redrive_button
from app.ui.report import downloads as report_downloads
from app.ui.runs import (
    EXECUTED,
    MODELLED,
    STATUS_MARK,
    deployed_text,
    hops_figure,
    keep_result,
    keep_running,
    model_inputs,
    modelled,
    modelled_caption,
    press_run,
    step_rows,
    waterfall,
)
from app.ui.widgets import artifacts_as_kept, table

SESSION_KEY = "_runtime_session_key"
PLOT_CONFIG = {"displaylogo": False, "displayModeBar": False}     # no toolbar over the legends on a phone


@st.cache_data(max_entries=64, show_spinner=False)
def _modelled(case_id: str, values_json: str) -> dict | None:
    return modelled(case_id, json.loads(values_json))


case, values = state.sidebar()

st.title(f"Run {case.title}")
case_parts = parts(case)
module = case_parts.pipeline
if module is None:
    runnable = [c.title for c in executable_cases()]
    st.info(f"{case.title} is explored on the Explore and What if pages. Runs against the embedded backend are "
            f"available for: {', '.join(runnable)}; pick one in the sidebar.", icon=":material/info:")
    st.stop()

st.caption("Real boto3 calls against an embedded moto server in an account of your own; Lambda handlers run "
           "in-process, and the data planes moto lacks (API Gateway invocation, DAX, the CloudFront edge, load "
           "balancers, Route 53 answers, IoT rules, Firehose delivery, Athena queries, global-table replication, "
           f"identity pools, scaling policies) are emulated. Step times are {EXECUTED}; figures from the latency "
           f"and cost engine are {MODELLED} for AWS.")


# -- options of this case's run (drawn by the case's run view) ------------------------------------
view = case_parts.run_view
options = view.options() if view is not None else {}


# -- backend: the embedded server, or live AWS when this process allows it -------------------------
st.sidebar.markdown("**Backend**")
live_reason = live_disabled_reason()
live = st.sidebar.toggle("Run against live AWS", key="run:live", disabled=live_reason is not None,
                         help=live_reason or "Creates billable resources in your AWS account, tagged with the run "
                                             "id and deleted when the run ends.")
live = bool(live) and live_reason is None
# The live run's region ("" on the embedded backend); the select box always has one chosen.
region = (st.sidebar.selectbox("AWS region", LIVE_REGIONS, key="run:live:region") or LIVE_REGIONS[0]) if live else ""


def _pipeline():
    return module.build_pipeline(values, **options)


faults, redrive = faults_panel(_pipeline().faults, f"run:faults:{case.id}", disabled=live)


def _estimate_key() -> str:
    return "run:estimate:" + json.dumps([case.id, values, region], sort_keys=True, default=str)


# -- running --------------------------------------------------------------------------------------
def _run(faults: dict = faults, redrive: bool = redrive) -> None:
    from app.runtime.pipeline import run_pipeline
    from app.runtime.session import registry

    where = f"AWS {region}" if live else "the embedded backend"
    finished: list = []
    with st.status(f"Running {case.title} on {where}...", expanded=True) as status:
        chart = st.empty()

        def progress(step) -> None:
            finished.append(step)
            status.write(f"{STATUS_MARK.get(step.status, '')} **{step.name}**  ·  {fmt.service(step.service)}  ·  "
                         + fmt.duration(step.measured_ms) + (f"  ·  {step.error}" if step.error else ""))
            chart.plotly_chart(waterfall(finished), key=f"run-progress-{len(finished)}")

        if live:
            try:
                session = live_session(region)
            except LiveError as exc:
                status.update(label=str(exc), state="error")
                return
        else:
            session = registry().get(st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex))
        result = run_pipeline(_pipeline(), values, session=session, own_session=True, check_leftovers=True,
                              progress=keep_running(progress), faults=None if live else faults, redrive=redrive)
        keep_result(f"run:{case.id}", {"result": result, "values": dict(values), "faults": faults})  # kept first
        passed = sum(c.ok for c in result.checks)
        status.update(label=f"{case.title}: {passed}/{len(result.checks)} checks passed in "
                            f"{result.measured_ms / 1000:,.1f} s — {EXECUTED}",
                      state="complete" if result.ok else "error", expanded=False)


estimate = None
live_refused = _pipeline().live_unsupported if live else None
if live_refused:
    st.warning(f"{case.title} runs on the embedded backend only: {live_refused}. Switch live AWS "
               "off in the sidebar to run it.", icon=":material/cloud_off:")
    st.stop()
if live:
    st.warning(f"Live run in {region}: the pipeline creates real, billable resources in your AWS account and "
               "deletes them when it ends. Estimate the cost first.", icon=":material/warning:")
    if st.button("Estimate the cost", key="run-estimate", icon=":material/calculate:",
                 help="Rehearses the run on the embedded backend and prices the calls it makes."):
        from app.runtime.pipeline import run_pipeline

        def _rehearse() -> None:
            with st.spinner("Rehearsing on the embedded backend..."):
                rehearsal = run_pipeline(_pipeline(), values)
            st.session_state[_estimate_key()] = price_spans(rehearsal.spans, region)
        # a rehearsal is a run on the embedded backend: it queues for a slot of the run pool like one
        press_run(st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex), _rehearse)
    estimate = st.session_state.get(_estimate_key())
    if estimate is not None:
        st.markdown(f"**Estimated cost of this run: {estimate['usd_rounded_up']:.6f} USD** ({estimate['basis']}; "
                    f"prices {estimate['prices']})")
        st.dataframe(estimate["lines"], hide_index=True, width="stretch", key="run-estimate-lines")

if st.button("Run on AWS" if live else "Run", type="primary", icon=":material/play_arrow:", key="run-button",
             disabled=live and estimate is None,
             help="Deploy, drive, verify and tear down this architecture"
                  + (f" in AWS {region}." if live else " on the embedded backend.")):
    press_run(st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex), _run)    # one run at a time

last = st.session_state.get(f"run:{case.id}")
if last is None:
    st.info("Press Run to execute the pipeline with the options in the sidebar.", icon=":material/play_circle:")
    st.stop()

result, run_values = last["result"], last["values"]
if run_values != values:
    st.caption("The results below are from the last run, made with other options: "
               + ", ".join(f"{k}={case.toggle(k).to_text(v)}" for k, v in run_values.items()))


# -- results --------------------------------------------------------------------------------------
passed = sum(c.ok for c in result.checks)
cols = st.columns(4)
cols[0].metric("Checks passed", f"{passed} / {len(result.checks)}")
cols[1].metric("Run time", f"{result.measured_ms / 1000:,.2f} s", help=f"Wall time of the whole run, {EXECUTED}.")
cols[2].metric("Steps", len(result.steps))
cols[3].metric("Calls traced", len(result.spans))

st.subheader("Checks")
table([{"Result": "pass" if c.ok else "FAIL", "Check": c.name, "Detail": c.detail} for c in result.checks],
      "run-checks")
ledger_view(result)
last_faults = last.get("faults") or {}
redrive_button(result, lambda: press_run(st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex),
                                         lambda: _run(last_faults, True)))
st.subheader("Path of this run")
try:
    rendered = render(case, run_values, highlight=run_highlight(result))
    st.image(rendered.svg, width="stretch", caption="The edges this run travelled are highlighted")
except DotMissing as exc:
    st.error(str(exc))

st.plotly_chart(waterfall(result.steps), key="run-waterfall", config=PLOT_CONFIG)
with st.expander("Steps and their calls", icon=":material/list:"):
    import pandas as pd

    steps_table = pd.DataFrame([{"Status": r["status"], "Phase": r["phase"], "Step": r["name"],
                   "Service": fmt.service(r["service"]), f"ms, {EXECUTED}": round(r["measured_ms"], 1),
                   "Calls": r["calls"],
                   f"ms on AWS, {MODELLED}": None if r["modelled_ms"] is None else round(r["modelled_ms"], 1),
                   "Calls modelled": r["modelled_calls"],
                   f"USD on AWS, {MODELLED}": f"{r['modelled_usd']:.7f}", "Error": r["error"] or ""}
                  for r in step_rows(result.steps)])
    # A step without data-plane calls has no modelled time: the cell says so instead of "None".
    st.dataframe(steps_table.style.format(precision=1, na_rep="not modelled"), hide_index=True, width="stretch")
    st.caption(f"**ms on AWS, {MODELLED}**: the p50 of each data-plane call of the step (GetItem, PutObject, a "
               "DAX or stage-cache lookup, an API request, ...) from the latency book, added up as if made one "
               "after another; most of these latencies are assumptions (listed on the What if page). "
               "Control-plane calls (creating tables, functions, APIs) are not modelled. **USD on AWS**: the "
               "step's requests priced with the price book (request units, Lambda requests and GB-seconds, S3, "
               "SQS, SNS and SES requests; free tiers not applied).")


art = result.artifacts
st.subheader("Artifacts")
if view is not None:
    view.artifacts(art)
else:
    artifacts_as_kept(art, skip=("s3_listing", "dynamodb_items"))
if "s3_listing" in art:
    with st.expander("S3 listing", icon=":material/folder:"):
        table([{"Bucket": bucket, "Key": key} for bucket, keys in art["s3_listing"].items() for key in keys]
              or [{"Bucket": bucket, "Key": "(empty)"} for bucket in art["s3_listing"]], "art-s3")
        if st.toggle("Raw JSON", key="art-s3-raw"):
            st.json(art["s3_listing"], expanded=True)
if "dynamodb_items" in art:
    with st.expander("DynamoDB items", icon=":material/table:"):
        table(art["dynamodb_items"], "art-items")

st.subheader(f"On AWS, {MODELLED} by the latency and cost engine")
report = _modelled(case.id, json.dumps(model_inputs(case, run_values, result.deployed), sort_keys=True))
if report is None:
    st.caption("This case has no latency and cost model.")
else:
    m = st.columns(4)
    for i, q in enumerate(("p50", "p90", "p99")):
        m[i].metric(f"{q} latency", fmt.duration(report["latency_ms"][q]), help=f"One request, {MODELLED}.")
    m[3].metric("Monthly cost", fmt.usd(report["monthly_cost_usd"]),
                help=f"{MODELLED} for the default workload of the What if page.")
    wf = report["waterfall"]
    st.plotly_chart(hops_figure(wf, f"The most frequent request ({wf['class']}), hop by hop, {MODELLED}"),
                    key="run-modelled", config=PLOT_CONFIG)
    run_calls = sum(r["calls"] for r in step_rows(result.steps) if r["phase"] == "drive")
    st.caption(modelled_caption(report, deployed_text(case, result.deployed), run_calls,
                                hit_ratios_from_spans(case, result.spans)))
st.subheader("Downloads")
report_downloads(case, [Configuration("", report["values"] if report else run_values, report)], run=result,
                 highlight=run_highlight(result), key="run-report")
with st.expander("Run as JSON"):
    st.download_button("Download", json.dumps(result.to_dict(), indent=1, default=str),
                       file_name=f"{case.id}-run-{result.run_id}.json", mime="application/json",
                       icon=":material/download:")
