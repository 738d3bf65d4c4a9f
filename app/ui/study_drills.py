"""Study's questions the engine answers: a drill drawn from one of the case's templates, answered, then the
computation that decides it shown as the evidence (see app.engine.drills).

The template and the seed are in the URL (``drill``, ``seed``), so a link reproduces the same numbers; a link
with an unknown template or a seed that is not a whole number in range opens the first template with new
numbers, and says so.
"""
from __future__ import annotations

import random
from typing import Any

import streamlit as st

from app.core import format as fmt
from app.core.params import ParamError
from app.engine.drills import SEED_MAX, Drill, Template, draw
from app.ui import state, widgets
from app.ui.evidence import evidence_diagrams

BASIS = {"input": "drawn for this question", "modelled": "modelled", "published": "published"}


def _new_seed() -> int:
    return random.SystemRandom().randrange(SEED_MAX)


def _from_link(drills: list[Template], url: dict[str, str]) -> tuple[str, int]:
    """The template and seed the link names, or the first template with new numbers (and a notice)."""
    ids = [t.id for t in drills]
    tid, raw_seed = url.get("drill", ids[0]), url.get("seed")
    problems = []
    if tid not in ids:
        problems.append(f"the link names an unknown question template {fmt.quoted(tid)}; the first one is open")
        tid = ids[0]
    seed = None
    if raw_seed is not None:
        if raw_seed.isdigit() and len(raw_seed) <= len(str(SEED_MAX)) and int(raw_seed) < SEED_MAX:
            seed = int(raw_seed)
        else:
            problems.append(f"the link's seed {fmt.quoted(raw_seed)} is not a whole number from 0 to "
                            f"{SEED_MAX - 1:,}; new numbers are drawn")
    for message in problems:
        message = message[0].upper() + message[1:] + "."
        state.add_notice(message)
        st.warning(state.plain(message), icon=":material/link_off:")
    return tid, _new_seed() if seed is None else seed


def drill_view(case, values: dict[str, Any], drills: list[Template], url: dict[str, str]) -> None:
    by_id = {t.id: t for t in drills}
    key_t, key_s = f"study:drill:{case.id}", f"study:seed:{case.id}"
    if key_t not in st.session_state or st.session_state[key_t] not in by_id:
        st.session_state[key_t], st.session_state[key_s] = _from_link(drills, url)
    tid = st.selectbox("Question template", list(by_id), key=key_t, format_func=lambda i: by_id[i].title)
    seed = st.session_state.setdefault(key_s, _new_seed())
    answered_key = f"study:drill-answer:{case.id}:{tid}:{seed}"
    state.write_url(case, values, {"drill": tid, "seed": str(seed)})
    try:
        d = draw(case, tid, seed)
    except ParamError as exc:
        st.error(str(exc))
        return

    def new_numbers() -> None:
        st.session_state[key_s] = _new_seed()

    st.caption(f"{d.exam} · {d.difficulty} · numbers drawn with seed {seed:,} (the link keeps them)")
    st.markdown(state.plain(d.scenario))
    st.markdown(f"**{state.plain(d.question)}**")
    labels = {o.id: f"{o.id}. {o.text}" for o in d.options}
    chosen = st.session_state.get(answered_key)
    if chosen is None:
        if d.multiple:
            picked = [o.id for o in d.options if st.checkbox(labels[o.id], key=f"{answered_key}:{o.id}")]
        else:
            pick = st.radio("Your answer", [o.id for o in d.options], index=None, format_func=labels.get,
                            key=f"{answered_key}:pick", label_visibility="collapsed")
            picked = [pick] if pick else []

        def submit() -> None:
            st.session_state[answered_key] = tuple(sorted(picked))

        cols = st.columns([1, 1, 4])
        cols[0].button("Check my answer", type="primary", disabled=not picked, on_click=submit,
                       key=f"{answered_key}:submit")
        cols[1].button("New numbers", on_click=new_numbers, key=f"{answered_key}:new", icon=":material/casino:")
        return
    _reveal(case, d, chosen)
    st.button("New numbers", on_click=new_numbers, key=f"{answered_key}:again", icon=":material/casino:",
              type="primary")


def _reveal(case, d: Drill, chosen: tuple[str, ...]) -> None:
    if d.is_right(chosen):
        st.success(f"Right: {', '.join(d.answers)}.", icon=":material/check_circle:")
    else:
        st.error(f"Not quite: you chose {', '.join(chosen)}; the answer is {', '.join(d.answers)}.",
                 icon=":material/cancel:")
    for o in d.options:
        mark = ":green[:material/check:] " if o.id in d.answers else ":red[:material/close:] "
        yours = " (your choice)" if o.id in chosen else ""
        link = f" [Documentation]({o.source})" if o.source else ""
        st.markdown(f"{mark}**{state.plain(o.id + '. ' + o.text)}**{yours}  \n{state.plain(o.reason)}{link}")
    st.caption(f"Domain: {d.domain}")
    st.subheader("The computation")
    widgets.table([{"What": e.label, "Value": e.value, "Where it comes from": BASIS[e.basis]
                    + (f" ({e.source})" if e.source else "")} for e in d.evidence], key=f"study:drill-ev:{d.id}")
    st.caption("**Modelled** figures come from the latency and cost engine (the What if page shows the "
               "breakdown); **published** prices from the price book; inputs were drawn for this question.")
    if d.values_a and d.values_b and dict(d.values_a) != dict(d.values_b):
        evidence_diagrams(case, dict(d.values_a), dict(d.values_b), ("First configuration", "Second configuration"),
                          (f"{case.title}, the first configuration compared", f"{case.title}, the second one"))
