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

from app.core.cases import all_cases, case_module
from app.core.diagram import DotMissing, render
from app.runtime.live import LIVE_REGIONS, LiveError, estimate_run_cost, live_disabled_reason, live_session
from app.ui import state
from app.ui.runs import EXECUTED, MODELLED, STATUS_MARK, hops_figure, modelled, step_rows, waterfall

SESSION_KEY = "_runtime_session_key"


@st.cache_data(max_entries=64, show_spinner=False)
def _modelled(case_id: str, values_json: str) -> dict | None:
    return modelled(case_id, json.loads(values_json))


case, values = state.sidebar()

st.title(f"Run {case.title}")
module = case_module(case, "pipeline")
if module is None:
    runnable = [c.title for c in all_cases() if case_module(c, "pipeline") is not None]
    st.info(f"{case.title} is explored on the Explore and What if pages. Runs against the embedded backend are "
            f"available for: {', '.join(runnable)}; pick one in the sidebar.", icon=":material/info:")
    st.stop()

st.caption("Real boto3 calls against an embedded moto server in an account of your own; Lambda handlers run "
           "in-process, and what moto lacks (API Gateway invocation, DAX, the CloudFront edge, global-table "
           f"replication, the identity pool) is emulated. Step times are {EXECUTED}; figures from the latency "
           f"and cost engine are {MODELLED} for AWS.")


# -- options of this case's run -------------------------------------------------------------------
def _todo_options() -> dict:
    from patterns.todo_api.traffic import Workload

    with st.expander("Traffic run", expanded=False, icon=":material/trending_up:"):
        cols = st.columns(4)
        requests = cols[0].slider("Requests", 20, 2000, 500, 10, key="run:todo:requests",
                                  help="Requests sent through the API in the traffic step.")
        items = cols[1].slider("Todos", 5, 200, 40, 5, key="run:todo:items", help="Distinct todo ids requested.")
        skew = cols[2].slider("Zipf skew", 0.0, 2.0, 1.1, 0.1, key="run:todo:skew",
                              help="0 is uniform; around 1 a few todos take most requests.")
        reads = cols[3].slider("Read share", 0.5, 1.0, 0.9, 0.05, key="run:todo:reads",
                               help="Share of GETs; the rest are PUTs.")
    return {"workload": Workload(requests=requests, items=items, skew=skew, read_ratio=reads)}


def _blog_options() -> dict:
    from patterns.global_blog.uploads import UploadRejected, accepted_text, sample_image, validate_image

    with st.expander("Image for the thumbnail", expanded=False, icon=":material/image:"):
        file = st.file_uploader(f"Upload an image ({accepted_text()})", key="run:blog:upload",
                                help="Checked before anything is stored; without one the sample image is used.")
        side = st.slider("Longest side of the thumbnail (px)", 64, 400, 200, 8, key="run:blog:side")
        image = sample_image()
        if file is not None:
            try:
                image = validate_image(file.getvalue(), file.name)
                st.success(state.plain(f"{image.name}: {image.format} {image.width}x{image.height}, "
                                       f"{image.size_bytes:,} bytes. It will be uploaded by the run."),
                           icon=":material/check:")
            except UploadRejected as exc:
                st.error(state.plain(f"{exc} Nothing was stored; the run uses the sample image."),
                         icon=":material/block:")
        if image.name == sample_image().name:
            st.image(image.data, caption=f"Sample image {image.width}x{image.height}", width=240)
    return {"image": image, "thumb_max_side": side}


OPTIONS = {"todo-api": _todo_options, "global-blog": _blog_options}
options = OPTIONS.get(case.id, dict)()


# -- backend: the embedded server, or live AWS when this process allows it -------------------------
st.sidebar.markdown("**Backend**")
live_reason = live_disabled_reason()
live = st.sidebar.toggle("Run against live AWS", key="run:live", disabled=live_reason is not None,
                         help=live_reason or "Creates billable resources in your AWS account, tagged with the run "
                                             "id and deleted when the run ends.")
live = bool(live) and live_reason is None
region = st.sidebar.selectbox("AWS region", LIVE_REGIONS, key="run:live:region") if live else None


def _pipeline():
    return module.build_pipeline(values, **options) if hasattr(module, "build_pipeline") else module.PIPELINE


def _estimate_key() -> str:
    return "run:estimate:" + json.dumps([case.id, values, region], sort_keys=True, default=str)


# -- running --------------------------------------------------------------------------------------
def _run() -> None:
    from app.runtime.pipeline import run_pipeline
    from app.runtime.session import registry

    where = f"AWS {region}" if live else "the embedded backend"
    finished: list = []
    with st.status(f"Running {case.title} on {where}...", expanded=True) as status:
        chart = st.empty()

        def progress(step) -> None:
            finished.append(step)
            status.write(f"{STATUS_MARK.get(step.status, '')} **{step.name}**  ·  {step.service}  ·  "
                         f"{step.measured_ms:,.0f} ms" + (f"  ·  {step.error}" if step.error else ""))
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
                              progress=progress)
        passed = sum(c.ok for c in result.checks)
        status.update(label=f"{case.title}: {passed}/{len(result.checks)} checks passed in "
                            f"{result.measured_ms / 1000:,.1f} s ({EXECUTED})",
                      state="complete" if result.ok else "error", expanded=False)
    st.session_state[f"run:{case.id}"] = {"result": result, "values": dict(values)}


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

        with st.spinner("Rehearsing on the embedded backend..."):
            rehearsal = run_pipeline(_pipeline(), values)
        st.session_state[_estimate_key()] = estimate_run_cost(rehearsal.spans, region)
    estimate = st.session_state.get(_estimate_key())
    if estimate is not None:
        st.markdown(f"**Estimated cost of this run: {estimate['usd_rounded_up']:.6f} USD** ({estimate['basis']}; "
                    f"prices {estimate['prices']})")
        st.dataframe(estimate["lines"], hide_index=True, width="stretch", key="run-estimate-lines")

if st.button("Run on AWS" if live else "Run", type="primary", icon=":material/play_arrow:", key="run-button",
             disabled=live and estimate is None,
             help="Deploy, drive, verify and tear down this architecture"
                  + (f" in AWS {region}." if live else " on the embedded backend.")):
    _run()

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
st.dataframe([{"Result": "pass" if c.ok else "FAIL", "Check": c.name, "Detail": c.detail} for c in result.checks],
             hide_index=True, width="stretch", key="run-checks",
             column_config={"Result": st.column_config.TextColumn(width="small"),
                            "Check": st.column_config.TextColumn(width="medium"),
                            "Detail": st.column_config.TextColumn(width="large")})
st.subheader("Path of this run")
try:
    highlight = module.highlight(result) if hasattr(module, "highlight") else {s.name for s in result.steps}
    rendered = render(case, run_values, highlight=highlight)
    st.image(rendered.svg, width="stretch", caption="The edges this run travelled are highlighted")
except DotMissing as exc:
    st.error(str(exc))

st.plotly_chart(waterfall(result.steps), key="run-waterfall")
with st.expander("Steps and their calls", icon=":material/list:"):
    st.dataframe([{"Status": r["status"], "Phase": r["phase"], "Step": r["name"],
                   "Service": r["service"], f"ms, {EXECUTED}": round(r["measured_ms"], 1), "Calls": r["calls"],
                   f"ms on AWS, {MODELLED}": None if r["modelled_ms"] is None else round(r["modelled_ms"], 1),
                   "Calls modelled": r["modelled_calls"],
                   f"USD on AWS, {MODELLED}": f"{r['modelled_usd']:.7f}", "Error": r["error"] or ""}
                  for r in step_rows(result.steps)], hide_index=True, width="stretch")
    st.caption(f"**ms on AWS, {MODELLED}**: the p50 of each data-plane call of the step (GetItem, PutObject, a "
               "DAX or stage-cache lookup, an API request, ...) from the latency book, added up as if made one "
               "after another; most of these latencies are assumptions (listed on the What if page). "
               "Control-plane calls (creating tables, functions, APIs) are not modelled. **USD on AWS**: the "
               "step's requests priced with the price book (request units, Lambda requests and GB-seconds, S3, "
               "SQS, SNS and SES requests; free tiers not applied).")


def _plain(obj):
    return f"<{len(obj):,} bytes>" if isinstance(obj, (bytes, bytearray)) else str(obj)


def _table(rows, key: str) -> None:
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key=key)


art = result.artifacts
st.subheader("Artifacts")
if case.id == "todo-api":
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
        _table(art["unauthorized"], "art-401")
    if "cache_reads" in art:
        st.markdown("**The same todo read again**: stage cache and DAX per read")
        _table(art["cache_reads"], "art-cache")
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
            _table(art["requests"], "art-crud")
elif case.id == "global-blog":
    if "email" in art and not art["email"].get("missing"):
        e = art["email"]
        st.markdown(f"**Welcome email** read back from SES: to {', '.join(e['to'])}, from `{e['source']}`  \n"
                    f"Subject: **{e['subject']}**")
        with st.container(border=True):
            st.html(e["body"])
    if "thumbnail" in art:
        t = art["thumbnail"]
        c1, c2 = st.columns([2, 1])
        original = t["original"]
        c1.image(original["data"], width=min(520, original["width"]),
                 caption=f"Original {original['width']}x{original['height']}, {original['bytes']:,} bytes")
        c2.image(t["thumbnail"]["data"], caption=f"Thumbnail {t['thumbnail']['width']}x{t['thumbnail']['height']}, "
                                                 f"{t['thumbnail']['bytes']:,} bytes")
    if "upload" in art:
        u = art["upload"]
        acc = u["transfer_acceleration"]
        st.markdown(f"**Upload** through the pre-signed URL, called over HTTP: `{u['request']}` → {u['status']} "
                    f"({u['bytes']:,} bytes, URL valid {u['url_expires_in_s']} s)"
                    + ("" if acc == "off" else f"  \nTransfer Acceleration: bucket setting {acc['bucket_setting']}, "
                                               f"upload went to the {acc['endpoint']}"))
    if "fanout_message" in art and not art["fanout_message"].get("missing"):
        st.markdown(f"**Fan-out message** ({art['fanout_message']['via']})")
        st.json(art["fanout_message"], expanded=2)
    if "replication" in art:
        r = art["replication"]
        lag = r.get("lag") or {}
        if lag.get("n"):
            st.markdown(f"**Replication** {' ↔ '.join(r['regions'])}: {lag['n']} writes replicated, lag median "
                        f"{lag['median_ms']} ms, max {lag['max_ms']} ms ({EXECUTED})")
        elif r.get("note"):
            st.markdown(f"**Replication**: {r['note']}")
        _table(r.get("far_reads"), "art-far")
    if "site_fetches" in art:
        with st.expander("Static site requests"):
            _table(art["site_fetches"], "art-site")
    if "post_reads" in art:
        with st.expander("Post reads (DAX)"):
            _table(art["post_reads"], "art-posts")
else:
    # Other cases' pipelines: every artifact as it was kept.
    for name, value in art.items():
        if name in ("s3_listing", "dynamodb_items"):
            continue
        with st.expander(name.replace("_", " ").capitalize()):
            if isinstance(value, (bytes, bytearray)):
                st.caption(f"{len(value):,} bytes")
            elif isinstance(value, (dict, list)):
                st.json(json.loads(json.dumps(value, default=_plain)), expanded=2)
            else:
                st.write(value)
if "s3_listing" in art:
    with st.expander("S3 listing", icon=":material/folder:"):
        st.json(art["s3_listing"], expanded=True)
if "dynamodb_items" in art:
    with st.expander("DynamoDB items", icon=":material/table:"):
        _table(art["dynamodb_items"], "art-items")

st.subheader(f"On AWS, {MODELLED} by the latency and cost engine")
report = _modelled(case.id, json.dumps(run_values, sort_keys=True))
if report is None:
    st.caption("This case has no latency and cost model.")
else:
    m = st.columns(4)
    m[0].metric("p50 latency", f"{report['latency_ms']['p50']:.1f} ms", help=f"One request, {MODELLED}.")
    m[1].metric("p90 latency", f"{report['latency_ms']['p90']:.1f} ms", help=f"One request, {MODELLED}.")
    m[2].metric("p99 latency", f"{report['latency_ms']['p99']:.1f} ms", help=f"One request, {MODELLED}.")
    m[3].metric("Monthly cost", f"{report['monthly_cost_usd']:,.0f} USD",
                help=f"{MODELLED} for the default workload of the What if page.")
    wf = report["waterfall"]
    st.plotly_chart(hops_figure(wf["hops"], f"A typical request ({wf['class']}), {MODELLED}"), key="run-modelled")
    st.caption(f"Latency, hit ratios and cost {MODELLED} by the engine for the default monthly workload of the "
               "What if page (not the few hundred requests of this run, whose hit ratios are measured above). "
               "Hover a bar for its source.")
with st.expander("Run as JSON"):
    st.download_button("Download", json.dumps(result.to_dict(), indent=1, default=str),
                       file_name=f"{case.id}-run-{result.run_id}.json", mime="application/json",
                       icon=":material/download:")
