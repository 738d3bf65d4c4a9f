"""Small Streamlit pieces the pages and the cases' run views share."""
from __future__ import annotations

import json
from typing import Any

import streamlit as st

from app.core.format import heading
from app.ui.state import plain

STATIC_ROWS = 40   # up to this many rows a table shows whole, its cells wrapped; longer ones scroll


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    return value


def table(rows: Any, key: str) -> None:
    """Rows (a list of dicts) as a table; nothing when there are none. Short tables are static (every cell
    shown and wrapped, yes/no for booleans, blank for missing values); long ones scroll. A static table
    renders Markdown in its cells, so their text is escaped first: a file name, a device id or a key a
    visitor chose shows exactly as written (a scrolling grid shows text as it is anyway)."""
    if not rows:
        return
    rows = [{heading(k): _cell(v) for k, v in r.items()} for r in rows] if isinstance(rows, list) else rows
    if isinstance(rows, list) and len(rows) <= STATIC_ROWS:
        st.table([{k: plain(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows], hide_index=True)
    else:
        st.dataframe(rows, hide_index=True, width="stretch", key=key)


def _plain(obj: Any) -> str:
    return f"<{len(obj):,} bytes>" if isinstance(obj, (bytes, bytearray)) else str(obj)


def artifacts_as_kept(art: dict, skip: tuple[str, ...] = ()) -> None:
    """Every artifact of a run as it was kept, one expander each (for a case without a run view)."""
    for name, value in art.items():
        if name in skip:
            continue
        with st.expander(heading(name)):
            if isinstance(value, (bytes, bytearray)):
                st.caption(f"{len(value):,} bytes")
            elif isinstance(value, (dict, list)):
                st.json(json.loads(json.dumps(value, default=_plain)), expanded=2)
            else:
                st.text(str(value))
