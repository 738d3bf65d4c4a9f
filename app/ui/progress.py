"""Where Study's answers last: in the learner store (app.store) when it works, for this browser's learner;
in the browser session only when it does not (the page says so).

``restore`` fills the session's attempts from the store once per session, so a reload or the next day's
visit finds the score and the missed questions; ``record`` keeps an answer (once: it moves the question's
review box), ``record_prediction`` the prediction and evidence beside it; ``due`` names the questions whose
spaced review is due.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from app.core.questions import Attempt

_RESTORED = "study:restored"


def _store_and_learner() -> tuple[Any, str | None]:
    from app.store import get_store
    from app.ui.learner import ensure_learner

    store = get_store()
    if not store.available:
        return store, None
    return store, ensure_learner()


def restore(attempts: dict[tuple[str, str], Attempt]) -> None:
    """Once per session: the learner's last answer to each question, from the store."""
    if st.session_state.get(_RESTORED):
        return
    st.session_state[_RESTORED] = True
    store, token = _store_and_learner()
    if token is None:
        return
    for row in store.answers(token):
        if row.get("origin", "study") != "study":
            continue
        attempts[(row["case"], row["question"])] = Attempt(
            row["case"], row["question"], row["exam"], row["domain"], tuple(row["chosen"]), bool(row["right"]),
            dict(row.get("prediction") or {}), dict(row.get("actual") or {}))


def record(attempt: Attempt) -> None:
    """Keep an attempt (its answer, then its prediction and the evidence) in the store."""
    store, token = _store_and_learner()
    if token is None:
        return
    store.record_answer(token, case=attempt.case, question=attempt.question, exam=attempt.exam,
                        domain=attempt.domain, chosen=list(attempt.chosen), right=attempt.right,
                        prediction=attempt.prediction or None, actual=attempt.actual or None, origin="study")


def record_prediction(attempt: Attempt) -> None:
    """Keep the prediction made before the reveal and the evidence beside the attempt's answer."""
    store, token = _store_and_learner()
    if token is None:
        return
    store.record_prediction(token, case=attempt.case, question=attempt.question,
                            prediction=dict(attempt.prediction), actual=dict(attempt.actual))


def due(case_id: str) -> list[str]:
    """The questions of the case whose spaced review is due, missed ones first."""
    store, token = _store_and_learner()
    if token is None:
        return []
    return [qid for cid, qid in store.due(token) if cid == case_id]


def panel() -> None:
    """Where progress is kept, and the learner's controls over it (export, import, forget)."""
    from app.store import get_store
    from app.ui.learner import ensure_learner, progress_panel

    store = get_store()
    progress_panel(store, ensure_learner() if store.available else None)
