"""The case contract: what every page, command and test relies on a case folder to keep, as rules.

A case is a folder (a Python package) holding ``__init__.py`` with ``CASE`` and, each optional,
``pipeline.py``, ``run_view.py``, ``model.py``, ``questions.json`` and ``drills.py``. Each rule below takes a case
and returns its problems, one line each, starting with the file to fix; no problem means the case
keeps the rule. A part the case does not have is not checked: the pages and commands say, in a
sentence, what a missing part leaves out. :func:`check` runs every rule, :func:`load_folder`
(app.core.case_folder) imports a case folder first, and ``python -m app check-case PATH`` prints the
problems. The tests hold every registered case to these rules, and docs/adding-a-case.md explains them with an example.

Pure Python: no streamlit (the run view is read as source, not imported).
"""
from __future__ import annotations

import ast
import importlib
import importlib.resources
import re
from collections.abc import Callable, Iterable
from typing import Any

from app.core.case_folder import CaseFolderError, _line, load_folder, registered
from app.core.cases import Case, all_cases, parts
from app.core.dot import all_nodes, clusters, edge_attrs, edges, nodes, off_nodes, positions, toggle_variants
from app.core.params import Param, Toggle

CASE_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
COMPONENT_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOGGLE_KEY = re.compile(r"[a-z][a-z0-9_]*")
# Query parameters the pages keep beside the toggles in a link: a toggle may not take their names.
URL_KEYS = ("case", "step", "node", "q")
REGION = re.compile(r"[a-z]{2}-[a-z]+-\d")
HOLD_STILL_IN = 0.2          # inches a node may shift when an option flips (labels that follow a value)
MODEL_SAMPLES = 2_000        # simulated requests per configuration when the model is checked


# -- helpers --------------------------------------------------------------------------------------------
def configurations(case: Case) -> list[tuple[str, dict[str, Any]]]:
    """The configurations a rule looks at, named: the defaults, then each toggle flipped on its own to
    each value other than its default (an int or float toggle to its minimum and maximum)."""
    out = [("the defaults", case.defaults())]
    for t in case.toggles:
        for value in toggle_variants(t):
            out.append((f"{t.key}={t.to_text(value)}", case.resolve({t.key: value})))
    return out


def _grouped(found: dict[str, list[str]]) -> list[str]:
    """Problems found in several configurations, each said once with the configurations it holds in."""
    return [f"{message} (with {', '.join(names)})" for message, names in found.items()]


def _dot(case: Case, values: dict) -> str:
    from app.core.diagram import dot_source

    return dot_source(case, values)


def _file(case: Case, name: str):
    return importlib.resources.files(case.package) / name


def _module(case: Case, part: str, problems: list[str]):
    """The case's ``part`` module (None when it has none); an import that fails is a problem."""
    try:
        return getattr(parts(case), part)
    except Exception as exc:  # a part that cannot be imported is reported, never raised
        problems.append(f"{part}.py: importing it fails: {_line(exc)}")
        return None


def _others(case: Case) -> list[Case]:
    """The registered cases other than this one."""
    try:
        return [c for c in all_cases() if c.package != case.package]
    except Exception:   # a broken registry is reported by the case that breaks it
        return []


# -- __init__.py: the case ------------------------------------------------------------------------------
def case_fields(case: Case) -> list[str]:
    """The case's id, texts, components and toggles: present, well formed and consistent."""
    out = []
    if not CASE_ID.fullmatch(case.id):
        out.append(f"__init__.py: the case id {case.id!r} is not lower-case words joined by dashes "
                   "(e.g. 'shop-orders')")
    for name in ("title", "tagline", "story"):
        if not isinstance(getattr(case, name), str) or not getattr(case, name).strip():
            out.append(f"__init__.py: the case has no {name} (a sentence the pages show)")
    if not case.takeaways or not all(isinstance(t, str) and t.strip() for t in case.takeaways):
        out.append("__init__.py: the case needs at least one takeaway, each a sentence (a question's takeaway "
                   "points at one)")
    if not callable(case.diagram):
        out.append("__init__.py: the case's diagram is not a function diagram(values, kit)")
    keys = [c.key for c in case.components]
    if not keys:
        out.append("__init__.py: the case has no components (the building blocks its diagram draws)")
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        out.append(f"__init__.py: the component key {key!r} is used twice")
    toggles = {t.key: t for t in case.toggles}
    for c in case.components:
        if not COMPONENT_KEY.fullmatch(c.key):
            out.append(f"__init__.py: the component key {c.key!r} is not a name of letters, digits and _")
        missing = [f for f in ("label", "service", "role") if not str(getattr(c, f) or "").strip()]
        if missing:
            out.append(f"__init__.py: the component {c.key!r} has no {' and no '.join(missing)}")
        if c.when is not None and c.when.lstrip("!").partition("=")[0] not in toggles:
            out.append(f"__init__.py: the component {c.key!r} appears when={c.when!r}, which names no toggle of "
                       f"the case ({', '.join(toggles) or 'it has none'})")
    if not case.toggles:
        out.append("__init__.py: the case has no toggles: it teaches by the options a student flips")
    names = [t.key for t in case.toggles]
    for key in sorted({k for k in names if names.count(k) > 1}):
        out.append(f"__init__.py: the toggle key {key!r} is used twice")
    for t in case.toggles:
        if not isinstance(t, Toggle):
            out.append(f"__init__.py: the toggle {t.key!r} is a {type(t).__name__}, not an app.core.params.Toggle")
            continue
        if not TOGGLE_KEY.fullmatch(t.key) or t.key in URL_KEYS:
            out.append(f"__init__.py: the toggle key {t.key!r} cannot stand in a link: use lower-case letters, "
                       f"digits and _, and none of {', '.join(URL_KEYS)}")
        if not t.help.strip():
            out.append(f"__init__.py: the toggle {t.key!r} has no help (one line saying what it does)")
        if not t.exam_point.strip():
            out.append(f"__init__.py: the toggle {t.key!r} has no exam_point (what flipping it teaches)")
    return out


def case_id_free(case: Case) -> list[str]:
    """No other registered case uses the case's id."""
    taken = [c.package for c in _others(case) if c.id == case.id]
    return [f"__init__.py: the case id {case.id!r} is already the id of {taken[0]}"] if taken else []


# -- __init__.py: the diagram ---------------------------------------------------------------------------
def _each_configuration(case: Case, check: Callable[[dict, str], Iterable[str]]) -> list[str]:
    found: dict[str, list[str]] = {}
    for name, values in configurations(case):
        try:
            messages = list(check(values, _dot(case, values)))
        except Exception as exc:
            messages = [f"__init__.py: diagram() fails: {_line(exc)}"]
        for message in messages:
            found.setdefault(message, []).append(name)
    return _grouped(found)


def diagram_components(case: Case) -> list[str]:
    """Every component is a node in every configuration (with ``nodeid=`` its key), drawn as off where its
    ``when`` is not met, and the diagram draws no node that is no component."""
    keys = {c.key for c in case.components}

    def check(values: dict, dot: str):
        drawn = all_nodes(dot)
        if keys - drawn:
            yield (f"__init__.py: the diagram draws no node for {', '.join(sorted(keys - drawn))}: draw every "
                   "component whatever the options, with nodeid= its key")
        if drawn - keys:
            yield (f"__init__.py: the diagram draws {', '.join(sorted(drawn - keys))}, which is no component: give "
                   "each node nodeid= the key of its component")
        absent = {c.key for c in case.components if not c.present(values)} & drawn
        if off_nodes(dot) != absent:
            yield "__init__.py: the components drawn as off are not those whose when= is unmet"

    return _each_configuration(case, check)


def diagram_edges(case: Case) -> list[str]:
    """The diagram has edges, each joining two drawn nodes, and at least half of them say what travels."""
    def check(values: dict, dot: str):
        found = edges(dot)
        if not found:
            yield "__init__.py: the diagram draws no edge: show what travels between the components"
            return
        drawn = nodes(dot)
        loose = sorted(f"{a} -> {b}" for a, b in found if a not in drawn or b not in drawn)
        if loose:
            yield f"__init__.py: the edges {', '.join(loose)} join a node that is not drawn as on"
        labelled = [a for a in edge_attrs(dot).values() if "label=" in a]
        if len(labelled) < len(found) / 2:
            yield (f"__init__.py: {len(labelled)} of the diagram's {len(found)} edges carry a label: say what "
                   "travels on most of them (kit.edge(\"PutItem\", step=...))")

    return _each_configuration(case, check)


def diagram_region(case: Case) -> list[str]:
    """The AWS resources are drawn inside a cluster named for their region ("AWS Cloud - us-east-1")."""
    def check(values: dict, dot: str):
        if not any(REGION.search(name) for name in clusters(dot)):
            yield ("__init__.py: the diagram draws no AWS region: put the AWS resources in a cluster named for "
                   "their region, Cluster(\"AWS Cloud - us-east-1\")")

    return _each_configuration(case, check)


def toggles_change_diagram(case: Case) -> list[str]:
    """Every toggle, flipped from its default, changes the diagram."""
    try:
        default = _dot(case, case.defaults())
    except Exception:          # reported by diagram_components
        return []
    out = []
    for name, values in configurations(case)[1:]:
        try:
            same = _dot(case, values) == default
        except Exception:
            continue
        if same:
            out.append(f"__init__.py: {name} leaves the diagram as it is: draw what the option changes (a "
                       "component with when=, an edge with on=, a label)")
    return out


def diagram_holds_still(case: Case) -> list[str]:
    """No node moves when a toggle flips: a component that is off keeps its place."""
    try:
        before = positions(_dot(case, case.defaults()))
    except FileNotFoundError:
        return ["Graphviz (dot) is not installed: the layout cannot be checked (install graphviz)"]
    except Exception:          # reported by diagram_components
        return []
    out = []
    for name, values in configurations(case)[1:]:
        try:
            after = positions(_dot(case, values))
        except Exception:
            continue
        moved = sorted(k for k in set(before) & set(after)
                       if max(abs(before[k][0] - after[k][0]), abs(before[k][1] - after[k][1])) > HOLD_STILL_IN)
        if moved:
            out.append(f"__init__.py: with {name} {', '.join(moved)} move on the diagram: draw every component and "
                       "edge in every configuration, marking what is off (when=, kit.edge(..., on=...), "
                       "kit.cluster(label, on=...))")
    return out


# -- pipeline.py ----------------------------------------------------------------------------------------
def pipeline(case: Case) -> list[str]:
    """``build_pipeline(values)`` builds a Pipeline named for the case in every configuration, with at least one
    verify step (a run is ok only when it checked something), steps travelling edges the diagram draws, known
    faults, and, where the run takes a file, ``UPLOAD`` an Upload."""
    from app.core.diagram import drawn_edges
    from app.runtime.faults import FAULTS
    from app.runtime.pipeline import Pipeline

    out: list[str] = []
    module = _module(case, "pipeline", out)
    if module is None:
        return out
    build = getattr(module, "build_pipeline", None)
    if not callable(build):
        return out + ["pipeline.py: defines no build_pipeline(values, **options) returning a Pipeline"]
    try:
        parts(case).upload
    except TypeError as exc:
        out.append(f"pipeline.py: {exc}")
    try:
        steps = {e.step for _, values in configurations(case) for e in drawn_edges(case, values) if e.step}
    except Exception:          # reported by diagram_components
        steps = None
    found: dict[str, list[str]] = {}
    for name, values in configurations(case):
        messages = []
        try:
            p = build(dict(values))
        except Exception as exc:
            messages.append(f"pipeline.py: build_pipeline fails: {_line(exc)}")
            p = None
        if p is not None and not isinstance(p, Pipeline):
            messages.append(f"pipeline.py: build_pipeline returns a {type(p).__name__}, not a Pipeline")
        elif p is not None:
            messages += _pipeline_problems(case, p, steps, FAULTS)
        for message in messages:
            found.setdefault(message, []).append(name)
    return out + _grouped(found)


def _pipeline_problems(case: Case, p, steps: set[str] | None, faults: Iterable[str]) -> list[str]:
    out = []
    if p.case != case.id:
        out.append(f"pipeline.py: Pipeline({p.case!r}) is not named for the case: write Pipeline({case.id!r}, ...)")
    if not any(s.phase == "verify" for s in p.steps):
        out.append("pipeline.py: the pipeline has no verify step: a run is ok only when its checks pass, so add "
                   "@p.verify(...) returning a Check read back from the backend")
    for s in p.ordered():
        unknown = sorted(set(s.edges) - steps) if steps is not None else []
        if unknown:
            out.append(f"pipeline.py: the step {s.name!r} travels {', '.join(unknown)}, which no edge of the diagram "
                       "has as its step= key")
    unknown = sorted(set(p.faults) - set(faults))
    if unknown:
        out.append(f"pipeline.py: the faults {', '.join(unknown)} are not faults the runtime injects "
                   f"({', '.join(faults)})")
    drive = {s.name for s in p.steps if s.phase == "drive"}
    for option in ("recover_before", "outage_from"):
        named = getattr(p, option)
        if named and named not in drive:
            out.append(f"pipeline.py: {option}={named!r} names no drive step of the pipeline")
    return out


# -- run_view.py ----------------------------------------------------------------------------------------
def run_view(case: Case) -> list[str]:
    """``run_view.py`` (read, not imported) defines ``options()`` and ``artifacts(art)``, beside a pipeline."""
    path = _file(case, "run_view.py")
    if not path.is_file():
        return []
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        return [f"run_view.py: line {exc.lineno}: {exc.msg}"]
    defined = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    out = []
    for name, wanted, what in (("options", 0, "options() drawing the Run page's options, returning the keyword "
                                               "arguments of build_pipeline"),
                               ("artifacts", 1, "artifacts(art) drawing what the run kept")):
        fn = defined.get(name)
        if fn is None:
            out.append(f"run_view.py: defines no {what}")
        elif len(fn.args.args) - len(fn.args.defaults) > wanted:
            out.append(f"run_view.py: {name}() takes more arguments than the Run page gives it ({wanted})")
    if not _file(case, "pipeline.py").is_file():
        out.append("run_view.py: the case has no pipeline.py, so the Run page never shows its run view")
    return out


# -- model.py -------------------------------------------------------------------------------------------
def model(case: Case) -> list[str]:
    """``PARAMS`` (workload inputs, named apart from the toggles) and ``build(values, ctx)`` give a latency and
    a cost in every configuration, billed under the services the components name; ``BREAK_EVEN`` and
    ``WHATIF``, if declared, name a toggle of the case (and a numeric workload input)."""
    out: list[str] = []
    module = _module(case, "model", out)
    if module is None:
        return out
    params = getattr(module, "PARAMS", None)
    if not isinstance(params, (tuple, list)) or not all(isinstance(p, Param) for p in params):
        return out + ["model.py: PARAMS is not a tuple of app.core.params.Param (the workload inputs)"]
    if not callable(getattr(module, "build", None)):
        return out + ["model.py: defines no build(values, ctx) returning an app.engine.run.Plan"]
    toggles = {t.key: t for t in case.toggles}
    keys = [p.key for p in params]
    clash = sorted(set(keys) & set(toggles)) + sorted({k for k in keys if keys.count(k) > 1})
    if clash:
        return out + [f"model.py: the workload inputs {', '.join(clash)} repeat a toggle's or another input's key"]
    numeric = {p.key for p in params if p.kind in ("int", "float")}
    for spec in getattr(module, "BREAK_EVEN", ()):
        if spec.toggle not in toggles or spec.volume not in numeric:
            out.append(f"model.py: BreakEven({spec.toggle!r}, {spec.volume!r}) needs a toggle of the case and a "
                       f"numeric workload input ({', '.join(sorted(numeric)) or 'the model has none'})")
    whatif = getattr(module, "WHATIF", None)
    if whatif is not None and whatif.toggle not in toggles:
        out.append(f"model.py: WhatIf({whatif.toggle!r}) names no toggle of the case")
    out += _each_model_run(case)
    if not out:
        from app.engine.nodes import node_figures

        if not any(f.monthly_usd for f in node_figures(case, case.defaults()).values()):
            out.append("model.py: no cost line is billed under a service a component names (Component.service, "
                       "e.g. 'Amazon SQS'), so the diagram's nodes show no cost")
    return out


def _each_model_run(case: Case) -> list[str]:
    from app.engine.run import run

    found: dict[str, list[str]] = {}
    for name, values in configurations(case):
        try:
            result = run(case, values, samples=MODEL_SAMPLES, with_break_even=False)
        except Exception as exc:
            message = f"model.py: the model fails: {_line(exc)}"
        else:
            if result["latency_ms"]["p50"] > 0 and result["monthly_cost_usd"] > 0:
                continue
            message = "model.py: the model gives no latency or no cost: lay out the request's hops and bill its lines"
        found.setdefault(message, []).append(name)
    return _grouped(found)


# -- questions.json -------------------------------------------------------------------------------------
def questions(case: Case) -> list[str]:
    """``questions.json`` follows the schema of app/core/questions.py, asks about every toggle, and uses ids no
    other registered case uses."""
    from app.core.questions import QuestionError, load_questions

    try:
        bank = load_questions(case)
    except (QuestionError, ValueError) as exc:
        return [f"questions.json: {' '.join(str(exc).split())}"]
    if bank is None:
        return []
    if not bank:
        return ["questions.json: holds no question"]
    out = []
    for q in bank:
        if not all(o.reason.startswith(("Right", "Wrong")) for o in q.options):
            out.append(f"questions.json: question {q.id}: every option's reason starts with Right or Wrong")
            continue
        right = [o for o in q.options if o.reason.startswith("Right")]
        if sorted(o.id for o in right) != sorted(q.answers):
            said = "; ".join(repr(o.text[:40]) for o in right) or "none"
            out.append(f"questions.json: question {q.id}: the answers are not the options whose reason starts with "
                       f"Right ({said})")
    uncovered = sorted({t.key for t in case.toggles} - {q.toggle for q in bank})
    if uncovered:
        out.append(f"questions.json: no question is decided by {', '.join(uncovered)}: ask about every toggle")
    ids = {q.id for q in bank}
    for other in _others(case):
        try:
            theirs = {q.id for q in parts(other).questions or ()}
        except Exception:
            continue
        if ids & theirs:
            out.append(f"questions.json: the question ids {', '.join(sorted(ids & theirs))} are ids of {other.id}")
    return out


RULES: tuple[Callable[[Case], list[str]], ...] = (
    case_fields, case_id_free, diagram_components, diagram_edges, diagram_region, toggles_change_diagram,
    diagram_holds_still, pipeline, run_view, model, questions)
DIAGRAM_RULES = (diagram_components, diagram_edges, diagram_region, toggles_change_diagram, diagram_holds_still)


def check(case: Case) -> list[str]:
    """Every problem of the case, one line each (none: it keeps the contract)."""
    out: list[str] = []
    for rule in RULES:
        try:
            out += rule(case)
        except Exception as exc:  # a rule that cannot run on this case says so rather than stop the others
            out.append(f"{rule.__name__}: the rule could not be checked: {_line(exc)}")
    return out


def present_parts(case: Case) -> list[str]:
    """The optional parts the case folder has, by file name."""
    return [name for name in ("pipeline.py", "run_view.py", "model.py", "questions.json", "drills.py")
            if _file(case, name).is_file()]


__all__ = ["RULES", "DIAGRAM_RULES", "CaseFolderError", "check", "configurations", "load_folder", "present_parts",
           "registered"] + [r.__name__ for r in RULES]
