"""Evidence of a change on the diagram: both configurations side by side, what the change did framed."""
from __future__ import annotations

import streamlit as st

from app.core.diagram import DotMissing, changed_components, render
from app.ui import state


def evidence_diagrams(case, before: dict, after: dict, names: tuple[str, str], alt: tuple[str, str]) -> None:
    """Both diagrams side by side, what the change added, took away or relabelled framed, and said in words."""
    changed = changed_components(case, before, after)
    keys = [k for k, _ in changed]
    label = {c.key: c.label for c in case.components}
    left, right = st.columns(2, gap="large")
    try:
        for col, vals, name, text in ((left, before, names[0], alt[0]), (right, after, names[1], alt[1])):
            with col:
                st.markdown(f"**{state.plain(name)}**")
                st.image(render(case, vals, mark=keys).svg, width="stretch", alt=text)
    except DotMissing as exc:
        st.error(str(exc))
    if changed:
        said_how = {"added": "added", "removed": "taken away", "relabelled": "changed"}
        st.caption("Framed in pink on both diagrams, what the change does: "
                   + "; ".join(f"{state.plain(label[k])} {said_how[how]}" for k, how in changed) + ".")
    else:
        st.caption("No component appears, goes or changes its label: the change is in how the same components "
                   "are used.")
