"""Study: exam questions of the case, then the evidence: predict the deciding option's effect, then see it.

The question and the step are in the URL (``q``, ``step``), beside the case and its options; a question the
engine answers is named by its template and seed (``drill``, ``seed``). Nothing shown before the answer
names the question's domain or the option of the case it is about: the picker shows the exam and the
difficulty only. For a question that an option of the case decides, the evidence compares that option
before and after its flip (the case's defaults otherwise): both diagrams with what changed framed, the
modelled p50 latency and monthly cost, and, where the case has a pipeline, a link to the Run page with
that configuration. The score is kept for the browser session, by exam domain.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st

from app.core import format as fmt
from app.core.cases import parts
from app.core.questions import Attempt, Question, attempts_csv, direction, weak_topics
from app.engine.drills import templates
from app.engine.run import run as run_model
from app.ui import progress, state, widgets
from app.ui.evidence import evidence_diagrams
from app.ui.study_drills import drill_view

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


def sources(q: Question) -> str:
    """The documentation pages the reasons cite, each once, as links."""
    pages = list(dict.fromkeys(o.source for o in q.options))
    return " · ".join(f"[{i}]({page})" for i, page in enumerate(pages, 1))


url = state.view_keys("q", "step", "drill", "seed")
case, values = state.sidebar()
bank = parts(case).questions or []
drills = templates(case)

st.title(f"Study: {case.title}")
if not bank and not drills:
    st.info("This case has no exam questions yet.")
    st.stop()
MODES = ("Exam questions", "Questions the engine answers")
if drills and bank:
    if "drill" in url and not st.session_state.get("study:mode-seeded"):
        st.session_state["study:mode"] = MODES[1]
    st.session_state["study:mode-seeded"] = True
    mode = st.radio("Questions", MODES, horizontal=True, key="study:mode", label_visibility="collapsed",
                    help="Exam questions are written in the exams' style; the engine's questions draw new "
                         "numbers each time and the latency and cost model computes the answer.")
else:
    mode = MODES[0] if bank else MODES[1]
if mode == MODES[1]:
    drill_view(case, values, drills, url)
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

number = {q.id: i + 1 for i, q in enumerate(bank)}
with st.expander("Filter the questions"):
    fc = st.columns(3)
    exams = fc[0].multiselect("Exam", sorted({q.exam for q in bank}), key="study:f:exam")
    levels = fc[1].multiselect("Difficulty", [d for d in ("easy", "medium", "hard") if any(q.difficulty == d
                                                                                        for q in bank)],
                               key="study:f:difficulty")
    domains = fc[2].multiselect("Domain", sorted({f"{q.exam} · {q.domain}" for q in bank}), key="study:f:domain",
                                help="Filtering by domain tells you the domain before you answer.")
    missed_only = st.checkbox("Only the questions I missed", key="study:f:missed")
missed = {qid for (cid, qid), a in attempts.items() if cid == case.id and not a.right}
shown = [q for q in bank if (not exams or q.exam in exams) and (not levels or q.difficulty in levels)
         and (not domains or f"{q.exam} · {q.domain}" in domains) and (not missed_only or q.id in missed)]
if not shown:
    st.info("No question of this case matches these filters" + (" (none missed yet)" if missed_only else "")
            + "; all of them are listed instead.",
            icon=":material/filter_alt_off:")
    shown = bank
ids = [q.id for q in shown]
if st.session_state.get(Q_KEY) not in ids:
    st.session_state[Q_KEY] = ids[0]


def picker_label(qid: str) -> str:
    q, done = by_id[qid], attempts.get((case.id, qid))
    mark = "" if done is None else (" · right" if done.right else " · missed")
    return f"{number[qid]}. {q.exam} · {q.difficulty}{mark}"


chosen_id = st.selectbox("Question", ids, key=Q_KEY, format_func=picker_label)
q = by_id[chosen_id]
st.session_state[LAST_KEY] = q.id
step = st.session_state.setdefault(step_key(q.id), "question")
state.write_url(case, values, {"q": q.id, "step": step})
attempt = attempts.get((case.id, q.id))

# -- score ----------------------------------------------------------------------------------------------
def score() -> None:
    """The score by exam domain, weakest first, and its CSV; where progress is kept, in the sidebar."""
    with st.sidebar:
        progress.panel()
    done = list(attempts.values())
    if not done:
        return
    st.sidebar.markdown("**Study score**")
    st.sidebar.caption(f"{sum(x.right for x in done)} of {len(done)} answered right (your last answer to each).")
    st.subheader("Your score, weakest exam domain first")
    widgets.table([{"Exam": t["exam"], "Domain": t["domain"], "Answered": t["answered"], "Right": t["right"],
                    "Predictions right": f"{t['predictions_right']} of {t['predictions']}"}
                   for t in weak_topics(done)], key="study:topics")
    st.download_button("Download answers and score (CSV)", attempts_csv(done), file_name="study-score.csv",
                       mime="text/csv", icon=":material/download:", key="study:csv")


# -- the question ------------------------------------------------------------------------------------
st.caption(f"{q.exam} · {q.difficulty} · question {number[q.id]} of {len(bank)}"
           + (f" · the domain is {q.domain}" if step != "question" else ""))
st.markdown(state.plain(q.scenario))
st.markdown(f"**{state.plain(q.question)}**")
labels = {o.id: f"{o.id}. {o.text}" for o in q.options}


def submit(selected: list[str]) -> None:
    attempts[(case.id, q.id)] = Attempt(case.id, q.id, q.exam, q.domain, tuple(sorted(selected)),
                                        q.is_right(selected))
    st.session_state[step_key(q.id)] = "predict" if q.has_evidence else "reveal"


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
    st.markdown(f"{mark}**{state.plain(labels[o.id])}**{yours}  \n{state.plain(o.reason)} "
                f"[Documentation]({o.source})")
st.caption(f"Domain: {q.domain} · Takeaway: {state.plain(case.takeaways[q.takeaway])} · Facts as of {q.as_of}")


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

if not q.has_evidence:
    st.caption("This question is decided by the design its scenario describes, not by an option of this case's "
               "diagram, so there is no flip to show: the reasons above and their documentation are the evidence.")
    score()
    st.stop()

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

evidence_diagrams(case, before, after,
                  (f"Before: {toggle.label} = {said(toggle, before[q.toggle])}",
                   f"After: {toggle.label} = {said(toggle, after[q.toggle])}"),
                  tuple(f"Evidence diagram {name}: {case.title} with {toggle.label} {said(toggle, vals[q.toggle])}"
                        for name, vals in (("before", before), ("after", after))))

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
             "Evidence": f"{comp_label[q.answered_by or '']} ({on_diagram})", "Check": verdict("component")})
st.markdown("**Your prediction against the evidence**")
widgets.table(rows, key="study:checks")

if parts(case).pipeline is not None:
    query = {"case": case.id, **{t.key: t.to_text(after[t.key]) for t in case.toggles}}
    st.link_button("Run this configuration on the Run page", f"run?{urlencode(query)}", icon=":material/play_circle:",
                   help="Opens the Run page with these options in a new tab; a run executes the pipeline on the "
                        "embedded backend and takes a while.")

score()
