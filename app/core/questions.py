"""Exam questions of a case: ``questions.json`` in the case's folder, read and checked here."""
from __future__ import annotations

import importlib.resources
import json
from typing import Any


def load_questions(case) -> list[dict[str, Any]] | None:
    """The case's questions as data, or None when its folder has no ``questions.json``."""
    folder = importlib.resources.files(case.package)
    path = folder / "questions.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["questions"]
