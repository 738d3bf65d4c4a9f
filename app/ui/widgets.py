"""Small Streamlit pieces the pages and the cases' run views share."""
from __future__ import annotations

import json
from typing import Any

import streamlit as st


def table(rows: Any, key: str) -> None:
    """Rows (a list of dicts) as a table; nothing when there are none."""
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key=key)


def _plain(obj: Any) -> str:
    return f"<{len(obj):,} bytes>" if isinstance(obj, (bytes, bytearray)) else str(obj)


def artifacts_as_kept(art: dict, skip: tuple[str, ...] = ()) -> None:
    """Every artifact of a run as it was kept, one expander each (for a case without a run view)."""
    for name, value in art.items():
        if name in skip:
            continue
        with st.expander(name.replace("_", " ").capitalize()):
            if isinstance(value, (bytes, bytearray)):
                st.caption(f"{len(value):,} bytes")
            elif isinstance(value, (dict, list)):
                st.json(json.loads(json.dumps(value, default=_plain)), expanded=2)
            else:
                st.text(str(value))
