"""What the latency and cost model says about each component of a diagram: its modelled p50 and its cost lines.

A case's model lays out hops and cost lines by service ("AWS Lambda", "Amazon S3"), not by
diagram node, so each is given to the component of that service. Where a case has several
components of one service (three Lambda functions, two buckets), a hop or line goes to the one
whose label shares the most words with the hop's or line's text ("Requests - welcome email"
goes to the "Welcome email function"); when two tie, it is shown as shared by them rather than
guessed. Everything here is modelled (see :mod:`app.engine.run`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core import format as fmt
from app.core.cases import Case, Component, parts

# Services a model bills under another name than the component's ("ECS tasks run on Fargate").
_ALSO_BILLED_AS = {"Amazon ECS": ("AWS Fargate",), "Amazon EC2 Auto Scaling": ("Amazon EC2",)}


@dataclass
class NodeFigures:
    key: str
    label: str
    service: str
    role: str
    present: bool
    p50_ms: float | None = None          # the first modelled hop of this component, at its median
    hop: str = ""
    assumption: bool = False
    monthly_usd: float | None = None
    lines: list[dict] = field(default_factory=list)     # cost lines of this component
    shared: list[dict] = field(default_factory=list)    # lines it shares with components of its service

    def tooltip(self) -> str:
        """One line per fact: role, modelled p50, monthly cost."""
        out = [self.label if self.label == self.service else f"{self.label} ({self.service})", self.role]
        if not self.present:
            out.append("Off in this configuration.")
            return "\n".join(out)
        if self.p50_ms is not None:
            out.append(f"p50 {fmt.duration(self.p50_ms)} modelled ({self.hop})"
                       + (", an assumption" if self.assumption else ""))
        if self.monthly_usd is not None:
            out.append(f"{fmt.usd(self.monthly_usd)} a month modelled ({len(self.lines)} cost line"
                       f"{'s' if len(self.lines) != 1 else ''})")
        if self.shared:
            out.append(f"shares {fmt.usd(sum(x['monthly_usd'] for x in self.shared))} a month of {self.service} "
                       "with its like components")
        return "\n".join(out)


def _norm(service: str) -> str:
    return service.split(" (")[0].strip()


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def _owner(service: str, text: str, components: list[Component]) -> list[Component]:
    """The components a hop or line of ``service`` described by ``text`` belongs to (several: shared)."""
    peers = [c for c in components
             if _norm(service) in (_norm(c.service), *_ALSO_BILLED_AS.get(_norm(c.service), ()))]
    if len(peers) <= 1:
        return peers
    words = _words(text)
    scores = {c.key: len(words & _words(c.label)) for c in peers}
    best = max(scores.values())
    return [c for c in peers if scores[c.key] == best]


def node_figures(case: Case, values: Mapping[str, Any]) -> dict[str, NodeFigures]:
    """Every component's role and, where the case has a model, its modelled p50 and monthly cost."""
    from app.engine.paths import Cache, Maybe
    from app.engine.run import build, resolve_values

    resolved = case.resolve({k: v for k, v in values.items() if k in {t.key for t in case.toggles}})
    out = {c.key: NodeFigures(c.key, c.label, c.service, c.role, c.present(resolved)) for c in case.components}
    if parts(case).model is None:
        return out
    present = [c for c in case.components if c.present(resolved)]
    plan, _ = build(case, resolve_values(case, values))
    for rc in plan.classes + plan.segments:
        for stage in rc.stages:
            if isinstance(stage, Maybe):      # a cold start, taken by few requests: not the component's p50
                continue
            owners = _owner(stage.service, stage.label, present)
            if len(owners) != 1 or out[owners[0].key].p50_ms is not None:
                continue
            dist = stage.hit if isinstance(stage, Cache) else getattr(stage, "dist", None)
            if dist is None:
                continue
            node = out[owners[0].key]
            node.p50_ms, node.hop, node.assumption = dist.p50, stage.label, bool(dist.assumption)
    for line in plan.costs.lines:
        owners = _owner(line.service, line.item, present)
        row = {"service": line.service, "item": line.item, "monthly_usd": line.monthly_usd}
        for c in owners:
            node = out[c.key]
            (node.lines if len(owners) == 1 else node.shared).append(row)
    for node in out.values():
        if node.lines:
            node.monthly_usd = sum(x["monthly_usd"] for x in node.lines)
    return out


__all__ = ["NodeFigures", "node_figures"]
