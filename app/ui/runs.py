"""What the Run page draws from a pipeline run: the step waterfall and the modelled figures beside it.

Kept out of the page file so the pieces are plain functions of a run result. Step
times are measured on this machine (labelled "executed (this machine)"); the latency
and cost engine's figures for the same configuration are labelled "modelled".

:func:`press_run` makes a press of Run while this session's run is in flight wait for
that run instead of starting a second one in the same account. Streamlit answers the
second press by stopping the first script run at its next drawing call and starting a
new one at once; :func:`keep_running` lets the first run go on to its end (drawing
nothing more), so its result is kept for the page the second press shows.

Runs take a slot of the process's run pool (:mod:`app.runtime.admission`) before they start;
while a run waits, the page shows its place in the queue and the expected wait, updated about
every second. A page closed while its run waits leaves the queue; one closed while its run is
in flight stops that run after its current step, and the run's account is torn down as at the
end of any run.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import plotly.graph_objects as go

from app.core import format as fmt
from app.engine.steps import modelled_step, price_spans
from app.runtime.admission import Wait, pages_first

EXECUTED = "executed (this machine)"
MODELLED = "modelled"
PHASE_COLORS = {"deploy": "#868e96", "drive": "#1c7ed6", "verify": "#2f9e44", "teardown": "#adb5bd"}
STATUS_MARK = {"ok": ":material/check_circle:", "error": ":material/error:", "skipped": ":material/skip_next:"}
STATUS_TEXT = {"ok": "", "error": " (failed)", "skipped": " (skipped)"}


WAIT_S = 900.0
GONE_GRACE_S = 2.0       # a page away this long (not a reconnect after a blip) has left
QUEUE_POLL_S = 1.0
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


class RunAbandoned(Exception):
    """The page that pressed Run has been closed: its run stops and is torn down."""


def _visitor_connected() -> Callable[[], bool]:
    """A check, callable from this script's thread, that the page that pressed Run is still open
    (False once Streamlit has had no connection to it for ``GONE_GRACE_S``)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return lambda: True
    instance, session_id = runtime.get_instance(), ctx.session_id
    gone_since: list[float | None] = [None]

    def connected() -> bool:
        if instance.is_active_session(session_id):
            gone_since[0] = None
            return True
        now = time.monotonic()
        since = gone_since[0]
        if since is None:
            since = gone_since[0] = now
        return now - since < GONE_GRACE_S
    return connected


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def queue_text(wait: Wait) -> str:
    """What a visitor whose run waits for a slot is told."""
    runs = f"{wait.running} run{'s' * (wait.running != 1)} in progress, {wait.slots} at a time on this server"
    if wait.expected_s is None:
        expected = "expected wait: not known yet (the first runs on this server have not all finished)"
    else:      # in steps of 5 s (1 s under 10 s): an estimate, and a text that does not flicker every second
        seconds = max(1, round(wait.expected_s)) if wait.expected_s < 10 else 5 * round(wait.expected_s / 5)
        expected = f"expected wait about {seconds:,} s (from the mean duration of the last runs)"
    return (f"Waiting for a free run slot: your run is **{ordinal(wait.place)}** in the queue ({runs}); "
            f"{expected}. It starts on its own.")


@contextmanager
def admitted(pool, connected: Callable[[], bool]) -> Iterator[None]:
    """Hold a slot of the run pool for the ``with`` block, showing the queue while waiting for one."""
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

    box = st.empty()
    drawing = [True]

    def draw(fn: Callable[[], Any]) -> None:
        if drawing[0]:
            try:
                fn()
            except ScriptControlException:     # this script run was stopped: the run waits on silently
                drawing[0] = False

    shown = [""]

    def on_wait(wait: Wait) -> None:
        text = queue_text(wait)
        if text != shown[0]:           # redrawn when the place or the estimate changes, not every poll
            shown[0] = text
            draw(lambda: box.info(text, icon=":material/hourglass_top:"))
        if not connected():
            raise RunAbandoned("the page was closed while its run waited for a slot")

    with pool.admit(on_wait=on_wait, poll_s=QUEUE_POLL_S):
        draw(box.empty)
        yield


def press_run(session_key: str, run: Callable[[], None]) -> bool:
    """Call ``run`` unless a run of this session is in flight; then wait for that one to end, saying so,
    and return False (the page then shows the result that run kept). The run waits for a slot of the
    run pool first; False too when the page was closed before the run ended."""
    import streamlit as st

    from app.runtime.session import registry

    runs = registry()
    with pages_first().run():        # waiting for a run, or running one, is not drawing a page
        return _press_run(st, runs, session_key, run)


def _press_run(st, runs, session_key: str, run: Callable[[], None]) -> bool:
    from app.runtime.admission import run_pool

    try:
        pool = run_pool()
    except ValueError as exc:          # EXPLORER_RUN_SLOTS set to something that is not a size
        st.error(str(exc), icon=":material/error:")
        return False
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
    _current.connected = connected = _visitor_connected()
    try:
        with admitted(pool, connected):
            run()
    except RunAbandoned:
        return False
    finally:
        _current.key = _current.connected = None
        runs.release_run(session_key)
    return True


def keep_running(draw: Callable[[Any], None], connected: Callable[[], bool] | None = None) -> Callable[[Any], None]:
    """``draw`` for a run's progress, made harmless once Streamlit has stopped this script run: the
    run goes on to its teardown and its result, and only the drawing stops. When the page itself
    has been closed, the run stops after the step that just ended (:class:`RunAbandoned`): the
    steps left are skipped and the teardown runs. ``connected`` is the page's check (by default the
    one :func:`press_run` made)."""
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

    connected = connected or getattr(_current, "connected", None) or (lambda: True)
    stopped = abandoned = False

    def guarded(step: Any) -> None:
        nonlocal stopped, abandoned
        if not stopped:
            try:
                draw(step)
                return
            except ScriptControlException:
                stopped = True
        if not abandoned and getattr(step, "phase", "") != "teardown" and not connected():
            abandoned = True
            raise RunAbandoned(f"the page was closed during step {getattr(step, 'name', '?')!r}")
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
    fig = charts.waterfall(groups, "time since the run started")
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
    """What a run deployed that the model prices, in the words of the model's parameters
    ("DAX nodes 1, CloudFront TTL 86,400 s (1 day)")."""
    from app.core.cases import parts

    model = parts(case).model
    params = {p.key: p for p in model.PARAMS} if model is not None else {}
    return fmt.settings({k: v for k, v in deployed.items() if k in params}, params)


def modelled_caption(report: dict, shown: str, run_calls: int, measured: dict) -> str:
    """What the model on the Run page stands for, from what the run and the model say: the options of
    the run and what it deployed, the What if page's monthly workload (not the run's own calls), and
    the hit ratios the run measured, if any."""
    caches = report.get("caches") or {}
    what = "Latency, hit ratios and cost" if caches else "Latency and cost"
    text = (f"{what} {MODELLED} by the engine for the options of this run"
            + (f", with what it deployed: {shown};" if shown else ",")
            + f" and for the default monthly workload of the What if page, not the "
              f"{fmt.count(run_calls)} data-plane calls this run made.")
    if measured:
        named = fmt.series(f"{caches[name]['label'] if name in caches else fmt.heading(name)} "
                           f"{fmt.percent(m['hit_ratio'])} ({fmt.count(m['hits'])} of {fmt.count(m['lookups'])} "
                           f"lookups)" for name, m in measured.items())
        text += (f" The hit ratios this run measured ({named}, {EXECUTED}) can stand in for the modelled ones "
                 "on the What if page.")
    elif caches:
        text += " The hit ratios are the model's, for that workload."
    return text + " Hover a bar for its source."


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
