"""Every AWS fact a case states comes from app/core/facts.py: texts are built from the facts (a changed
fact changes the text) and no outdated name or value is left in any label or sentence."""
from __future__ import annotations

import dataclasses
import importlib
import re

from app.core import facts
from app.core.cases import all_cases

STALE = (r"Kinesis Data Firehose", r"QuickSight", r"ElastiCache (for )?Redis(?! OSS)", r"aws:rep:")


def _texts(case) -> str:
    parts = [case.title, case.tagline, case.story, *case.takeaways]
    for t in case.toggles:
        parts += [t.label, t.help, getattr(t, "exam_point", "")]
    for c in case.components:
        parts += [c.label, c.service, c.role]
    return "\n".join(str(p) for p in parts)


def test_every_fact_has_source_and_date():
    for f in facts.all_facts():
        assert f.source.startswith("https://") and f.checked and f.says, f.key


def test_no_outdated_name_in_any_case_text():
    for case in all_cases():
        text = _texts(case)
        for stale in STALE:
            assert not re.search(stale, text), (case.id, stale)


def test_stated_facts_appear_as_the_facts_say():
    by_id = {c.id: _texts(c) for c in all_cases()}
    for name in facts.ROUTE53_ROUTING_POLICIES.value:
        assert name.lower() in by_id["microservices"].lower(), name
    assert f"{len(facts.ROUTE53_ROUTING_POLICIES.value)} routing policies" in by_id["microservices"]
    assert f"{facts.SES_SANDBOX.value['max_per_24h']} messages" in by_id["global-blog"]
    assert "sandbox" in by_id["global-blog"] and "witness" in by_id["global-blog"]
    assert facts.FIREHOSE_NAME.value in by_id["iot-analytics"]
    assert facts.QUICK_SIGHT_NAME.value in by_id["iot-analytics"]


def test_texts_are_built_from_the_facts(monkeypatch):
    """Change a fact and the case text follows: the numbers are not typed twice."""
    module = importlib.import_module("patterns.microservices.case")
    changed = dataclasses.replace(facts.APIGW_CACHE_TTL_DEFAULT_S, value=301)
    policies = dict(facts.ROUTE53_ROUTING_POLICIES.value, **{"test-only": "a ninth policy"})
    monkeypatch.setattr(facts, "APIGW_CACHE_TTL_DEFAULT_S", changed)
    monkeypatch.setattr(facts, "ROUTE53_ROUTING_POLICIES",
                        dataclasses.replace(facts.ROUTE53_ROUTING_POLICIES, value=policies))
    try:
        reloaded = importlib.reload(module)
        text = _texts(reloaded.CASE)
        assert "TTL 301 s by default" in text and "TTL 300 s" not in text
        assert "9 routing policies" in text and "test-only, a ninth policy" in text
    finally:
        monkeypatch.undo()
        importlib.reload(module)
