"""Hit ratios measured in an executed run, read from its trace spans.

A run on the embedded backend (or live AWS) records one span per cache lookup with
``cache`` set to ``hit`` or ``miss`` (DAX reads, API Gateway stage requests, CloudFront
edge requests). A case model lists in ``EXECUTED_CACHES`` which spans feed which of its
caches (``{"dax_item": ("dax", "GetItem"), ...}``: service and an operation prefix or
exact name); :func:`hit_ratios_from_spans` counts them. Caches with fewer than
``min_lookups`` lookups are left to the model.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.core.cases import Case
from app.engine.run import model_of


def _matches(span: Mapping[str, Any], service: str, operation: str) -> bool:
    if span.get("service") != service:
        return False
    op = str(span.get("operation", ""))
    if operation.startswith("re:"):
        return re.fullmatch(operation[3:], op) is not None
    return op == operation


def hit_ratios_from_spans(case: Case, spans: Iterable[Mapping[str, Any]], *,
                          min_lookups: int = 10) -> dict[str, dict]:
    """``{cache: {"hit_ratio", "hits", "lookups"}}`` for the caches the spans measure."""
    rules: dict[str, tuple[str, str]] = getattr(model_of(case), "EXECUTED_CACHES", {})
    counts = {name: [0, 0] for name in rules}
    for span in spans:
        if span.get("cache") not in ("hit", "miss"):
            continue
        for name, (service, operation) in rules.items():
            if _matches(span, service, operation):
                counts[name][1] += 1
                counts[name][0] += span["cache"] == "hit"
    return {name: {"hit_ratio": hits / lookups, "hits": hits, "lookups": lookups}
            for name, (hits, lookups) in counts.items() if lookups >= min_lookups}


__all__ = ["hit_ratios_from_spans"]
