"""Study: exam questions of the case, then the evidence: predict the toggle's effect, then see it.

The question and the step are in the URL (``q``, ``step``), beside the case and its options. The
evidence compares the question's toggle before and after its flip (the case's defaults otherwise):
both diagrams, the modelled p50 latency and monthly cost, and, where the case has a pipeline, a link
to the Run page with that configuration. The score is kept for the session, by exam domain.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st

from app.core import format as fmt
from app.core.cases import parts
from app.core.diagram import DotMissing, render
from app.core.questions import Attempt, attempts_csv, direction, weak_topics
from app.engine.run import run as run_model
from app.ui import state, widgets

STEPS = ("question", "predict", "reveal")
SAMPLES = 20_000
ARROWS = {"up": "up", "down": "down", "same": "about the same"}


@st.cache_data(max_entries=64, show_spinner=False)
def modelled(case_id: str, values_json: str) -> dict:
    out = run_model(case_id, json.loads(values_json), samples=SAMPLES, with_break_even=False)
    # Keyed by what a student reads: "all requests", "read requests", "the database query part of the path".
    p50 = {"all requests": out["latency_ms"]["p50"]}
    p50.update({f"{g.replace('_', ' ')} requests": v["p50"] for g, v in out["latency_by_group_ms"].items()
                if g != "all"})
    p50.update({f"the {s.replace('_', ' ')} part of the path": v["p50"] for s, v in out["segments_ms"].items()})
    return {"p50": p50, "cost": out["monthly_cost_usd"]}


def most_changed(a: dict, b: dict) -> str:
    """The requests whose modelled p50 the flip changes most (all requests when none changes)."""
    common = [k for k in a["p50"] if k in b["p50"]]
    change = {k: abs(b["p50"][k] - a["p50"][k]) / max(a["p50"][k], b["p50"][k], 1e-9) for k in common}
    best = max(common, key=lambda k: change[k])
    return best if direction(a["p50"][best], b["p50"][best]) != "same" else "all requests"


def said(p, value) -> str:
    """A toggle's or workload input's value as the other pages write it: "on", "60 s", "30.5 M requests/month"."""
    if p.kind in ("int", "float"):
        return (fmt.count if p.kind == "int" else fmt.number)(value, p.unit)
    return p.to_text(value)


def _delta(before: float, after: float, show) -> str:
    """The change as "+$86.32" or "-690 µs", in the formatter of the figure."""
    return fmt.signed(show(abs(after - before)), after - before)


url = state.view_keys("q", "step")
case, values = state.sidebar()
bank = parts(case).questions or []

st.title(f"Study: {case.title}")
if not bank:
    st.info("This case has no exam questions yet.")
    st.stop()
by_id = {q.id: q for q in bank}
Q_KEY = f"study:q:{case.id}"


def step_key(qid: str) -> str:
    return f"study:step:{case.id}:{qid}"


attempts: dict[tuple[str, str], Attempt] = st.session_state.setdefault("study:attempts", {})

if not st.session_state.get("study:seeded"):
    # The link's question and step, read once per session.
    st.session_state["study:seeded"] = True
    qid, step = url.get("q"), url.get("step", "question")
    if qid is not None and qid not in by_id:
        message = (f"The link names an unknown question {fmt.quoted(qid)} for {case.title}; the first question is "
                   "open instead.")
        state.add_notice(message)
        st.warning(state.plain(message), icon=":material/link_off:")
        qid, step = None, "question"
    if step not in STEPS:
        message = f"The link names an unknown step {fmt.quoted(step)}; steps are {', '.join(STEPS)}."
        state.add_notice(message)
        st.warning(state.plain(message), icon=":material/link_off:")
        step = "question"
    st.session_state[Q_KEY] = qid or bank[0].id
    st.session_state[step_key(st.session_state[Q_KEY])] = step
LAST_KEY = f"study:last:{case.id}"   # the selectbox's value forgets itself while another page is shown
if st.session_state.get(Q_KEY) not in by_id:
    st.session_state[Q_KEY] = st.session_state.get(LAST_KEY) if st.session_state.get(LAST_KEY) in by_id \
        else bank[0].id

ids = [q.id for q in bank]
number = {q.id: i + 1 for i, q in enumerate(bank)}
chosen_id = st.selectbox("Question", ids, key=Q_KEY,
                         format_func=lambda i: f"{number[i]}. {by_id[i].exam} · {by_id[i].domain} · "
                                               f"{case.toggle(by_id[i].toggle).label}")
q = by_id[chosen_id]
st.session_state[LAST_KEY] = q.id
step = st.session_state.setdefault(step_key(q.id), "question")
state.write_url(case, values, {"q": q.id, "step": step})
attempt = attempts.get((case.id, q.id))

# -- score ----------------------------------------------------------------------------------------------
def score() -> None:
    """The session's score by exam domain, weakest first, and its CSV."""
    done = list(attempts.values())
    if not done:
        return
    st.sidebar.markdown("**Study score**")
    st.sidebar.caption(f"{sum(x.right for x in done)} of {len(done)} answered right this session.")
    st.subheader("Score this session, weakest exam domain first")
    widgets.table([{"Exam": t["exam"], "Domain": t["domain"], "Answered": t["answered"], "Right": t["right"],
                    "Predictions right": f"{t['predictions_right']} of {t['predictions']}"}
                   for t in weak_topics(done)], key="study:topics")
    st.download_button("Download answers and score (CSV)", attempts_csv(done), file_name="study-score.csv",
                       mime="text/csv", icon=":material/download:", key="study:csv")


# -- the question ------------------------------------------------------------------------------------
st.caption(f"{q.exam} · {q.domain} · about the option **{state.plain(case.toggle(q.toggle).label)}** · question "
           f"{number[q.id]} of {len(bank)}")
st.markdown(state.plain(q.scenario))
st.markdown(f"**{state.plain(q.question)}**")
labels = {o.id: f"{o.id}. {o.text}" for o in q.options}


def submit(selected: list[str]) -> None:
    attempts[(case.id, q.id)] = Attempt(case.id, q.id, q.exam, q.domain, tuple(sorted(selected)),
                                        q.is_right(selected))
    st.session_state[step_key(q.id)] = "predict"


if step == "question":
    if q.multiple:
        st.caption(f"Choose {len(q.answers)}.")
        selected = [o.id for o in q.options if st.checkbox(labels[o.id], key=f"study:pick:{q.id}:{o.id}")]
    else:
        pick = st.radio("Your answer", [o.id for o in q.options], index=None, format_func=labels.get,
                        key=f"study:pick:{q.id}", label_visibility="collapsed")
        selected = [pick] if pick else []
    st.button("Check my answer", type="primary", disabled=not selected, on_click=submit, args=(selected,),
              key=f"study:submit:{q.id}")
    score()
    st.stop()

# -- right or wrong, with every option's reason ------------------------------------------------------------
if attempt is None:
    st.info("Opened from a link: this question was not answered in this session, so the answer is shown "
            "unscored.", icon=":material/link:")
elif attempt.right:
    st.success(f"Right: {', '.join(q.answers)}.", icon=":material/check_circle:")
else:
    st.error(f"Not quite: you chose {', '.join(attempt.chosen) or 'nothing'}; the answer is "
             f"{', '.join(q.answers)}.", icon=":material/cancel:")
for o in q.options:
    mark = ":green[:material/check:] " if o.id in q.answers else ":red[:material/close:] "
    yours = " (your choice)" if attempt and o.id in attempt.chosen else ""
    st.markdown(f"{mark}**{state.plain(labels[o.id])}**{yours}  \n{state.plain(o.reason)}")
st.caption(f"Takeaway: {state.plain(case.takeaways[q.takeaway])}")


def again() -> None:
    attempts.pop((case.id, q.id), None)
    st.session_state[step_key(q.id)] = "question"
    for o in q.options:
        st.session_state.pop(f"study:pick:{q.id}:{o.id}", None)
    st.session_state.pop(f"study:pick:{q.id}", None)


def next_question() -> None:
    st.session_state[Q_KEY] = ids[(ids.index(q.id) + 1) % len(ids)]


cols = st.columns([1, 1, 4])
cols[0].button("Answer again", on_click=again, key=f"study:again:{q.id}", icon=":material/replay:")
cols[1].button("Next question", on_click=next_question, key=f"study:next:{q.id}", icon=":material/arrow_forward:")

# -- see the evidence: predict, then reveal ---------------------------------------------------------------
toggle = case.toggle(q.toggle)
before, after = q.evidence_values(case)
flip = f"{toggle.label}: {said(toggle, q.from_value)} → {said(toggle, q.to_value)}"
st.subheader("See the evidence")
others = "; ".join(f"{case.toggle(k).label} {said(case.toggle(k), v)}" for k, v in after.items() if k != q.toggle)
# "100 devices" when the label is the unit ("Devices"), else "Requests per month 30 M requests/month".
load = "; ".join(said(p, q.workload[p.key]) if p.unit and p.unit.lower() in p.label.lower()
                 else f"{p.label} {said(p, q.workload[p.key])}"
                 for p in (parts(case).model.PARAMS if q.workload else ()) if p.key in q.workload)
st.markdown(f"Flip **{state.plain(flip)}**." + (f" The other options, for this comparison: {state.plain(others)}."
                                               if others else "")
            + (f" Workload as in the scenario: {state.plain(load)} (the rest as on the What if page's defaults)."
               if load else ""))
present = case.present_components(after)
comp_label = {c.key: c.label for c in case.components}

has_model = parts(case).model is not None
if not has_model:
    st.caption(f"{case.title} has no latency and cost model yet: the evidence is the diagram before and after the "
               "flip, and the component that answers.")

if step == "predict":
    cols = st.columns(3)
    p_lat = p_cost = None
    if has_model:
        st.markdown("First, your prediction (latency: the requests this option changes most):")
        p_lat = cols[0].radio("Latency (p50) will go", list(ARROWS), index=None, format_func=ARROWS.get,
                              key=f"study:pl:{q.id}")
        p_cost = cols[1].radio("Monthly cost will go", list(ARROWS), index=None, format_func=ARROWS.get,
                               key=f"study:pc:{q.id}")
    else:
        st.markdown("First, your prediction:")
    p_comp = cols[2].selectbox("Which component now answers the request?", [c.key for c in present], index=None,
                               format_func=lambda key: comp_label[key], key=f"study:pa:{q.id}")

    def reveal() -> None:
        if p_comp is None or (has_model and (p_lat is None or p_cost is None)):   # the button waits for every guess
            return
        entry = attempts.get((case.id, q.id))
        if entry is not None:
            entry.prediction = {"latency": p_lat, "cost": p_cost, "component": p_comp}
        st.session_state[f"study:prediction:{case.id}:{q.id}"] = {"latency": p_lat, "cost": p_cost,
                                                                  "component": p_comp}
        st.session_state[step_key(q.id)] = "reveal"

    st.button("Commit my prediction and reveal", type="primary",
              disabled=p_comp is None or has_model and None in (p_lat, p_cost),
              on_click=reveal, key=f"study:reveal:{q.id}")
    score()
    st.stop()

# step == "reveal"
a = modelled(case.id, json.dumps({**before, **q.workload})) if has_model else None
b = modelled(case.id, json.dumps({**after, **q.workload})) if has_model else None
actual = {"component": q.answered_by}
if a and b:
    which = most_changed(a, b)
    a_ms, b_ms = a["p50"][which], b["p50"][which]
    actual.update(latency=direction(a_ms, b_ms), cost=direction(a["cost"], b["cost"]))
if attempt is not None:
    attempt.actual = actual
prediction = st.session_state.get(f"study:prediction:{case.id}:{q.id}", {})

left, right = st.columns(2, gap="large")
try:
    for col, vals, name in ((left, before, "Before"), (right, after, "After")):
        with col:
            st.markdown(f"**{name}: {state.plain(toggle.label)} = {said(toggle, vals[q.toggle])}**")
            st.image(render(case, vals).svg, width="stretch",
                     alt=f"Evidence diagram {name.lower()}: {case.title} with {toggle.label} "
                         f"{said(toggle, vals[q.toggle])}")
except DotMissing as exc:
    st.error(str(exc))

if a and b:
    m = st.columns(2)
    same = {"latency": actual["latency"] == "same", "cost": actual["cost"] == "same"}
    m[0].metric(f"Latency p50 of {which}, before → after (modelled)", fmt.duration(b_ms),
                delta=_delta(a_ms, b_ms, fmt.duration) + (" (about the same)" if same["latency"] else ""),
                delta_color="off" if same["latency"] else "inverse",
                help=f"Before: {fmt.duration(a_ms)}. The requests this flip changes most; {SAMPLES:,} requests "
                     "simulated per configuration from the latency book; workload defaults unless the scenario "
                     "sets it.")
    m[1].metric("Monthly cost, before → after (modelled)", fmt.usd(b["cost"]),
                delta=_delta(a["cost"], b["cost"], fmt.usd) + (" (about the same)" if same["cost"] else ""),
                delta_color="off" if same["cost"] else "inverse",
                help=f"Before: {fmt.usd(a['cost'])} a month. Price book, free tiers not applied.")
    st.caption("**Modelled** by the latency and cost engine (the What if page shows the breakdown); changes "
               "within 1% count as about the same.")


def verdict(kind: str) -> str:
    said = prediction.get(kind)
    if said is None:
        return "no prediction"
    return "right" if said == actual.get(kind) else "wrong"


rows = []
if a and b:   # the modelled evidence: latency and cost
    rows.append({"What": "Latency (p50)", "You predicted": ARROWS.get(prediction.get("latency"), "not made"),
                 "Evidence": f"{ARROWS[actual['latency']]} "
                             f"({which}: {fmt.duration(a_ms)} → {fmt.duration(b_ms)}, modelled)",
                 "Check": verdict("latency")})
    rows.append({"What": "Monthly cost", "You predicted": ARROWS.get(prediction.get("cost"), "not made"),
                 "Evidence": f"{ARROWS[actual['cost']]} "
                             f"({fmt.usd(a['cost'])} → {fmt.usd(b['cost'])} a month, modelled)",
                 "Check": verdict("cost")})
on_diagram = "on the after diagram" if q.answered_by in {c.key for c in present} else "not on the diagram"
rows.append({"What": "Component that answers", "You predicted": comp_label.get(prediction.get("component"), "not made"),
             "Evidence": f"{comp_label[q.answered_by]} ({on_diagram})", "Check": verdict("component")})
st.markdown("**Your prediction against the evidence**")
widgets.table(rows, key="study:checks")

if parts(case).pipeline is not None:
    query = {"case": case.id, **{t.key: t.to_text(after[t.key]) for t in case.toggles}}
    st.link_button("Run this configuration on the Run page", f"run?{urlencode(query)}", icon=":material/play_circle:",
                   help="Opens the Run page with these options in a new tab; a run executes the pipeline on the "
                        "embedded backend and takes a while.")

score()
