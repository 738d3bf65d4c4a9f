"""Where Study's answers are kept: in the browser session (a reload starts afresh), and the page says so."""
from __future__ import annotations

import streamlit as st


def panel() -> None:
    """Where progress is kept."""
    st.caption("Your answers are kept for this browser session: a reload starts afresh. Once you have answered, "
               "your answers and score download as CSV below the question.")
