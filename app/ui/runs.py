"""What the Run page draws from a pipeline run: the step waterfall and the modelled figures beside it.

Kept out of the page file so the pieces are plain functions of a run result. Step
times are measured on this machine (labelled "executed (this machine)"); the latency
and cost engine's figures for the same configuration are labelled "modelled".

:func:`press_run` makes a press of Run while this session's run is in flight wait for
that run instead of starting a second one in the same account. Streamlit answers the
second press by stopping the first script run at its next drawing call and starting a
new one at once; :func:`keep_running` lets the first run go on to its end (drawing
nothing more), so its result is kept for the page the second press shows.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

import plotly.graph_objects as go

from app.engine.steps import modelled_step, price_spans

EXECUTED = "executed (this machine)"
MODELLED = "modelled"
PHASE_COLORS = {"deploy": "#868e96", "drive": "#1c7ed6", "verify": "#2f9e44", "teardown": "#adb5bd"}
STATUS_MARK = {"ok": ":material/check_circle:", "error": ":material/error:", "skipped": ":material/skip_next:"}
STATUS_TEXT = {"ok": "", "error": " (failed)", "skipped": " (skipped)"}


WAIT_S = 900.0
_HANDOFF_MAX = 32
_handoff: dict[str, dict[str, Any]] = {}     # results of runs whose script run was stopped, by session
_handoff_lock = threading.Lock()
_current = threading.local()


def keep_result(name: str, value: Any) -> None:
    """``st.session_state[name] = value``; when Streamlit has stopped this script run for a new one
    (Run pressed again), the value is handed to that new run instead, which is waiting for it."""
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

    try:
        st.session_state[name] = value
    except ScriptControlException:
        key = getattr(_current, "key", None)
        if key is not None:
            with _handoff_lock:
                _handoff.setdefault(key, {})[name] = value
                while len(_handoff) > _HANDOFF_MAX:      # a stopped run nobody waits for
                    _handoff.pop(next(iter(_handoff)))
        raise


def press_run(session_key: str, run: Callable[[], None]) -> bool:
    """Call ``run`` unless a run of this session is in flight; then wait for that one to end, saying so,
    and return False (the page then shows the result that run kept)."""
    import streamlit as st

    from app.runtime.session import registry

    runs = registry()
    if not runs.claim_run(session_key):
        with st.spinner("Run was pressed while this session's run is still in flight: waiting for that run to "
                        "finish (one run at a time per session); its results appear below."):
            runs.wait_run(session_key, WAIT_S)
        with _handoff_lock:
            kept = _handoff.pop(session_key, {})
        for name, value in kept.items():
            st.session_state[name] = value
        st.info("Run was pressed again while a run was in flight; no second run was started. The results below "
                "are those of the run in flight.", icon=":material/hourglass_bottom:")
        return False
    _current.key = session_key
    try:
        run()
    finally:
        _current.key = None
        runs.release_run(session_key)
    return True


def keep_running(draw: Callable[[Any], None]) -> Callable[[Any], None]:
    """``draw`` for a run's progress, made harmless once Streamlit has stopped this script run: the
    run goes on to its teardown and its result, and only the drawing stops."""
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

    stopped = False

    def guarded(step: Any) -> None:
        nonlocal stopped
        if stopped:
            return
        try:
            draw(step)
        except ScriptControlException:
            stopped = True
    return guarded


def step_rows(steps: Iterable[Any]) -> list[dict[str, Any]]:
    """Steps (StepResult objects or their dicts) as rows with their start offset in the run."""
    rows, start = [], 0.0
    for s in steps:
        d = s if isinstance(s, dict) else s.to_dict()
        spans = [x for x in d.get("spans", []) if "service" in x]
        aws = modelled_step(spans)
        usd = price_spans(spans)["usd"]
        rows.append({"name": d["name"], "service": d["service"], "phase": d["phase"], "status": d["status"],
                     "start_ms": start, "measured_ms": d["measured_ms"], "calls": len(spans),
                     "modelled_ms": aws["p50_ms"] if aws["modelled_calls"] else None,
                     "modelled_calls": aws["modelled_calls"], "modelled_usd": usd, "error": d.get("error")})
        start += d["measured_ms"]
    return rows


def waterfall(steps: Iterable[Any], title: str = "") -> go.Figure:
    """One bar per step, each starting where the previous one ended, grouped by phase in run order;
    each step's name is written above its bar."""
    from app.core import format as fmt
    from app.ui import charts

    groups: list[dict[str, Any]] = []
    for r in step_rows(steps):
        if not groups or groups[-1]["phase"] != r["phase"]:
            groups.append({"phase": r["phase"], "color": PHASE_COLORS.get(r["phase"], "#868e96"), "bars": []})
        groups[-1]["bars"].append({
            "label": f"{r['name']}{STATUS_TEXT.get(r['status'], '')}: {fmt.duration(r['measured_ms'])}",
            "start_ms": r["start_ms"], "ms": r["measured_ms"],
            "hover": f"{fmt.service(r['service'])}, {r['calls']} calls, {fmt.duration(r['measured_ms'])} {EXECUTED}"})
    for g in groups:
        g["heading"] = f"{g['phase'].capitalize()}: {fmt.duration(sum(b['ms'] for b in g['bars']))}"
    fig = charts.waterfall(groups, f"time since the run started, {EXECUTED}")
    fig.update_layout(title={"text": title or f"Steps, measured — {EXECUTED}", "font": {"size": 14}},
                      margin={"t": 40})
    return fig


def model_inputs(case, values: dict, deployed: dict) -> dict:
    """The toggles of a run plus what it really deployed (node counts, cache sizes, TTLs), for the
    model's parameters of those names: the model then prices the configuration that ran."""
    from app.core.cases import parts

    model = parts(case).model
    known = {p.key for p in model.PARAMS} if model is not None else set()
    return {**values, **{k: v for k, v in deployed.items() if k in known}}


def deployed_text(case, deployed: dict) -> str:
    """What a run deployed, in the words of the model's parameters ("DAX nodes 1, API cache size 0.5")."""
    from app.core.cases import parts

    model = parts(case).model
    params = {p.key: p for p in model.PARAMS} if model is not None else {}
    def unit(p) -> str:
        return f" {p.unit}" if p.unit and p.unit.lower() not in p.label.lower() else ""

    return ", ".join(f"{params[k].label}: {v}{unit(params[k])}" for k, v in deployed.items() if k in params)


def modelled(case_id: str, values: dict, samples: int = 50_000) -> dict | None:
    """The engine's latency and monthly cost for this configuration, or None when the case has no model."""
    from app.core.cases import parts
    from app.engine import run as run_engine

    if parts(case_id).model is None:
        return None
    return run_engine(case_id, values, samples=samples, with_break_even=False)


def hops_figure(wf: dict, title: str) -> go.Figure:
    """The modelled waterfall of the most frequent request class: one group per path through its caches
    (with its share of requests), each hop's name above its bar."""
    from app.ui import charts

    fig = charts.waterfall(charts.path_groups(wf, "#f08c00", what=MODELLED),
                           f"time from the start of the request, {MODELLED}")
    fig.update_layout(title={"text": title, "font": {"size": 14}}, margin={"t": 40})
    return fig
