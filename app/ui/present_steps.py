"""The Present page's step-through, as plain functions: which step a link opens, what a step says, and
the entry a run kept for it."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core import format as fmt
from app.core.cases import Case
from app.core.diagram import Rendered
from app.ui.runs import step_rows
from app.ui.state import plain

PRESENT_STEP = "present:step"


def clamp_step(index: int, count: int) -> int:
    """A step number within 1..count (1 when there are none)."""
    return max(1, min(int(index), max(count, 1)))


def step_from_link(raw: str | None, count: int) -> tuple[int, str | None]:
    """The step a link's ``step`` opens, and a notice when it named none that exists."""
    if raw is None:
        return 1, None
    try:
        wanted = int(str(raw).strip())
    except ValueError:
        return 1, f"The link's step {fmt.quoted(raw)} is not a number: showing step 1 of {count}."
    if count == 0:
        return 1, f"The link asks for step {fmt.clip(wanted)}, but this case has no steps to walk through."
    if not 1 <= wanted <= count:
        nearest = clamp_step(wanted, count)
        return nearest, (f"The link asks for step {fmt.clip(wanted)}; this case has steps 1 to {count}: "
                         f"showing step {nearest}.")
    return wanted, None


def explain(case: Case, rendered: Rendered, step: Any) -> list[str]:
    """What a step does, as Markdown blocks: its hops as the diagram draws them, and the roles of the
    components it goes through."""
    labels = {c.key: c.label for c in case.components}
    roles = {c.key: c.role for c in case.components}
    hops, seen = [], set()
    for e in rendered.edges:
        if e.on and e.step in step.edges and (e.tail, e.head) not in seen:
            seen.add((e.tail, e.head))
            what = " ".join(e.label.split())
            hops.append(f"1. {plain(labels.get(e.tail, e.tail))} → {plain(labels.get(e.head, e.head))}"
                        + (f": *{plain(what)}*" if what else ""))
    blocks = [f"**What happens** ({plain(fmt.service(step.service))}, {len(hops)} hop{'s' if len(hops) != 1 else ''} "
              "highlighted)"]
    doc = " ".join((getattr(step.fn, "__doc__", None) or "").split())
    if doc:
        blocks.append(plain(doc))
    blocks.append("\n".join(hops))
    touched = [k for k in labels if k in rendered.nodes_of(step.edges)]
    if touched:
        blocks.append("**The components it goes through**")
        blocks.append("\n".join(f"- **{plain(labels[k])}**: {plain(roles[k])}" for k in touched))
    return blocks


def run_entry(kept: dict | None, values: dict, step_name: str) -> dict | None:
    """The trace entry of this step in the run the session kept (``{"result", "values"}`` as the Run page
    keeps it): its status, measured ms, calls and the modelled AWS ms and USD; ``{"other_options": ...}``
    when that run used other options; None when there is no run or the step did not run."""
    if not kept:
        return None
    if kept["values"] != values:
        return {"other_options": ", ".join(f"{k}={v}" for k, v in kept["values"].items() if values.get(k) != v)}
    rows: Iterable[dict] = step_rows(kept["result"].steps)
    return next((r for r in rows if r["name"] == step_name), None)
