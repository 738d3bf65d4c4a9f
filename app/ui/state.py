"""The view a user is looking at (case and toggles), kept in the URL.

The URL is read once when a session starts, so a copied link reproduces the
view; after that the widgets own the state and every run writes it back to
``st.query_params`` in a canonical form (case first, then every toggle as
``on``/``off`` or its value). A value in the URL that is not valid is ignored
with a visible warning naming the valid ones, shown on the page the link opened
until the user changes a value or goes to another page.

Text that came from a link or a user is shown with :func:`plain`: as text, never
as Markdown or HTML.
"""
from __future__ import annotations

import re
from typing import Any

import streamlit as st

from app.core.cases import Case, all_cases, case_ids, get_case
from app.core.format import quoted
from app.core.params import ParamError, Toggle

CASE_KEY = "case"
_SEEDED = "_url_seeded"
_WARNINGS = "_url_warnings"
_WARNED_VIEW = "_url_warned_view"
PAGE_KEY = "_page"            # set by the entry point to the page being shown
# What can start Markdown (or HTML, LaTeX, Streamlit directives) in one line of text: characters
# that act anywhere, an underscore at a word's edge, a colon or an @ before a word (directives,
# shortcodes, autolinks, e-mail links), "www." and a list or heading marker at the start.
_MARKUP = re.compile(r"[\\`*\[\]<>!$~|{}&#^]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|[:@](?=\S)|(?<=\bwww)\.|^[-+=]")


_AUTOLINK = re.compile(r"(?i)(?=\b(?:https?:|ftp:|mailto:|www\.))|(?<=@)")
WORD_JOINER = "\u2060"


def plain(text: Any) -> str:
    """``text`` as Markdown that shows exactly these characters, on one line: what could start
    emphasis, a link, an image, HTML, a formula or a directive is escaped with a backslash. Bare
    URLs and e-mail addresses, which the renderer turns into links after escapes are read, get an
    invisible word joiner before them (or after the @), which keeps them text."""
    one_line = " ".join(str(text).split())
    return _MARKUP.sub(lambda m: "\\" + m.group(0), _AUTOLINK.sub(WORD_JOINER, one_line))


# On a narrow screen the sidebar is folded away behind a button at the top left: say so there only.
PHONE_HINT = ("<style>.phone-hint{display:none}@media (max-width: 640px){.phone-hint{display:block;"
              "padding:.4rem .6rem;border-radius:.5rem;background:#e7f5ff;color:#1864ab;font-size:.9rem}}</style>"
              "<div class='phone-hint'>The architecture and its options are in the sidebar: tap the » button at "
              "the top left to open it.</div>")

_STICKY = "_sticky:"
# Query parameters a page keeps beside the case and toggles (a question, a step): not toggles.
VIEW_KEYS: set[str] = set()


def view_keys(*names: str) -> dict[str, str]:
    """Declare the page's own query parameters (before :func:`sidebar`) and return the URL's values for them."""
    VIEW_KEYS.update(names)
    params = st.query_params.to_dict()
    return {n: params[n] for n in names if n in params}


def add_notice(message: str) -> None:
    """A bad-link notice found by the page itself; shown like the sidebar's, until the view changes."""
    warnings = st.session_state.setdefault(_WARNINGS, [])
    if message not in warnings:
        warnings.append(message)


def _restore(key: str, default: Any) -> None:
    """Carry a sidebar widget's value across pages.

    Each page's widget is a new widget to Streamlit, which would start from its default;
    assigning the value through the Session State API before the widget is created makes
    the new widget adopt it.
    """
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]
    else:
        st.session_state[key] = st.session_state.get(_STICKY + key, default)


def _remember(key: str) -> None:
    st.session_state[_STICKY + key] = st.session_state[key]


def widget_key(case: Case, toggle: Toggle) -> str:
    return f"toggle:{case.id}:{toggle.key}"


def seed_from_url() -> None:
    """Copy the URL's case and toggles into session state, once per session."""
    if st.session_state.get(_SEEDED):
        return
    st.session_state[_SEEDED] = True
    warnings: list[str] = []
    params = st.query_params.to_dict()
    case_id = params.get(CASE_KEY)
    if case_id is not None and case_id not in case_ids():
        warnings.append(f"The link names an unknown case {quoted(case_id)}; valid cases are {', '.join(case_ids())}.")
        case_id = None
    case = get_case(case_id or case_ids()[0])
    st.session_state[CASE_KEY] = case.id
    for key, raw in params.items():
        if key == CASE_KEY or key.startswith("_") or key in VIEW_KEYS:
            continue
        try:
            toggle = case.toggle(key)
            st.session_state[widget_key(case, toggle)] = toggle.parse(raw)
        except ParamError as exc:
            warnings.append(f"Ignored from the link: {exc}.")
    st.session_state[_WARNINGS] = warnings


def url_warnings(case: Case | None = None, values: dict[str, Any] | None = None) -> list[str]:
    """The bad-link notices, while the user still looks at the view the link opened: they are
    dropped for good once a value changes or another page is shown."""
    warnings = st.session_state.get(_WARNINGS, [])
    if not warnings or case is None:
        return warnings
    shown = values or {}
    view = [st.session_state.get(PAGE_KEY), case.id, {k: shown[k] for k in sorted(shown)}]
    seen = st.session_state.setdefault(_WARNED_VIEW, view)
    if seen != view:
        st.session_state[_WARNINGS] = warnings = []
    return warnings


def case_picker(container=st.sidebar) -> Case:
    cases = all_cases()
    ids = [c.id for c in cases]
    titles = {c.id: c.title for c in cases}
    _restore(CASE_KEY, ids[0])
    chosen = container.selectbox("Architecture", ids, key=CASE_KEY, format_func=lambda i: f"{titles[i]}  ({i})",
                                 help="The serverless reference architectures of the course.")
    _remember(CASE_KEY)
    return get_case(chosen)


def toggle_widgets(case: Case, container=st.sidebar) -> dict[str, Any]:
    """One widget per toggle; returns the checked values."""
    values: dict[str, Any] = {}
    for t in case.toggles:
        key = widget_key(case, t)
        _restore(key, t.default)
        if t.kind == "bool":
            values[t.key] = container.toggle(t.label, key=key, help=t.help)
        elif t.kind == "choice":
            values[t.key] = container.selectbox(t.label, list(t.choices), key=key, help=t.help)
        else:
            values[t.key] = container.slider(f"{t.label} ({t.unit})" if t.unit else t.label, min_value=t.min,
                                             max_value=t.max, step=t.step, key=key, help=t.help,
                                             format=f"%d {t.unit}" if t.unit and t.kind == "int" else None)
        _remember(key)
    return case.resolve(values)


def write_url(case: Case, values: dict[str, Any], extra: dict[str, str] | None = None) -> None:
    """Put the canonical view into the URL (only when it changed, to keep history clean)."""
    wanted = {CASE_KEY: case.id}
    wanted.update({t.key: t.to_text(values[t.key]) for t in case.toggles})
    if extra:
        wanted.update(extra)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def sidebar(options_heading: str = "Options") -> tuple[Case, dict[str, Any]]:
    """The sidebar every page shares: case picker and toggles, synced with the URL.

    Returns the case and its checked toggle values; warnings about a bad link are shown
    at the top of the page.
    """
    seed_from_url()
    st.sidebar.markdown("### Serverless Architecture Explorer")
    case = case_picker()
    st.sidebar.markdown(f"**{options_heading}**")
    values = toggle_widgets(case)
    write_url(case, values)
    for message in url_warnings(case, values):
        st.warning(plain(message), icon=":material/link_off:")
    st.html(PHONE_HINT)
    return case, values
