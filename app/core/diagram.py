"""Architecture diagrams: the `diagrams` package builds the graph, Graphviz lays it out.

A case's ``diagram(values, kit)`` function draws inside an open diagram using the
ordinary `diagrams` API (``Cluster``, nodes, ``>>``) and takes its edges from
``kit.edge(...)`` so that the path of the last run can be highlighted.

Diagrams hold still: a case draws every component in every configuration, and one that
the options turn off (its :class:`~app.core.cases.Component` is not ``present``) keeps its
place, drawn dashed and grey (class ``off`` in the SVG). Edges that touch it are drawn the
same way; an edge the case marks ``on=False`` between two present components (a route the
options replace) is laid out but not drawn. Graphviz then sees the same graph for every
option value, so nodes do not move when an option flips.

Each node of the SVG carries ``id="node-<key>"``, a class (``on`` or ``off``, and
``hl``/``dim`` in focus mode), and, when given, a tooltip and a link.

Rendering captures the DOT source (no file is written by `diagrams`), then runs
Graphviz for SVG (PNG only when asked for). The SVG gets its icons inlined as data
URIs, so a downloaded file opens anywhere. Results are cached per
(case, toggle values, highlighted steps, focus, tooltips, link).
"""
from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from diagrams import Cluster, Diagram, Edge, setcluster, setdiagram
from diagrams.aws.compute import Lambda
from diagrams.aws.database import DynamodbDax

from app.core.cases import Case, get_case

HIGHLIGHT = "#d6336c"
EDGE_COLOR = "#495057"
OFF_COLOR = "#adb5bd"          # a component the options turn off, and its edges
DIM_COLOR = "#ced4da"          # focus mode: what the highlighted step does not travel
ASYNC_STYLE = "dashed"

GRAPH_ATTR = {
    "fontsize": "24",
    "fontname": "DejaVu Sans",
    "pad": "0.15",
    "nodesep": "0.45",
    "ranksep": "0.5",
    "splines": "spline",
    "labelloc": "t",
}
NODE_ATTR = {"fontname": "DejaVu Sans", "fontsize": "16", "width": "1.6", "imagepos": "tc"}
EDGE_ATTR = {"fontname": "DejaVu Sans", "fontsize": "14", "color": EDGE_COLOR, "fontcolor": "#343a40"}
CLUSTER_FONTSIZE = "16"
OFF_CLUSTER = {"style": "dashed,rounded", "pencolor": OFF_COLOR, "fontcolor": OFF_COLOR, "bgcolor": "#f8f9fa"}
# The SVG's own stylesheet: dimmed and switched-off nodes fade (a PNG keeps their dashed grey frame).
SVG_STYLE = ("<style>g.node.off image{opacity:.35;filter:grayscale(1)} g.node.dim{opacity:.3}"
             " g.edge.dim{opacity:.6} g.node a{cursor:pointer}</style>")

_render_lock = threading.Lock()


class DotMissing(RuntimeError):
    """Graphviz is not installed."""


@dataclass(frozen=True)
class DrawnEdge:
    """One edge as drawn: its ends (component keys), the pipeline step it belongs to, its label,
    and whether it is on (both ends present and not a route the options replaced)."""

    tail: str
    head: str
    step: str | None
    label: str
    on: bool


class _KitEdge(Edge):
    """An edge made by :meth:`DiagramKit.edge`: its style is settled when it joins two nodes."""

    def __init__(self, *, step: str | None, on: bool, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.step = step
        self.on = on


class DiagramKit:
    """What a case's diagram function gets besides the toggle values."""

    def __init__(self, highlight: Iterable[str] = ()):
        self.highlight = frozenset(highlight)

    def edge(self, label: str = "", *, step: str | None = None, asynchronous: bool = False, on: bool = True,
             **attrs: Any) -> Edge:
        """A labelled edge; ``step`` ties it to a pipeline step for highlighting; ``on=False`` marks a route
        the options replace (laid out, not drawn, so the layout does not change)."""
        style = {"label": label, "fontname": EDGE_ATTR["fontname"], "fontsize": EDGE_ATTR["fontsize"]}
        if asynchronous:
            style["style"] = ASYNC_STYLE
        style.update(attrs)
        return _KitEdge(step=step, on=on, **style)

    @staticmethod
    def cluster(label: str, *, on: bool = True, graph_attr: Mapping[str, str] | None = None) -> Cluster:
        """A cluster; one the options turn off keeps its place, dashed and grey."""
        attrs = {"fontsize": CLUSTER_FONTSIZE, **(graph_attr or {})}
        if not on:
            attrs.update(OFF_CLUSTER)
        return Cluster(label, graph_attr=attrs)

    def function_with_dax(self, label: str, dax_on: bool, *, nodeid: str = "lambda", dax_nodeid: str = "dax"):
        """A Lambda function and a DAX cluster beside it in a VPC (DAX lives in a VPC, so the function
        joins it); without DAX the VPC and the cluster are drawn as off. Returns ``(function, dax)``."""
        with self.cluster("VPC", on=dax_on):
            return Lambda(label, nodeid=nodeid), DynamodbDax("DAX cluster", nodeid=dax_nodeid)


class _SourceOnly(Diagram):
    """A Diagram that keeps its DOT source instead of writing and rendering files, and settles each
    edge's style once both of its ends are known."""

    def __init__(self, *args, off: frozenset = frozenset(), highlight: frozenset = frozenset(),
                 focus: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.off, self.highlight, self.focus = off, highlight, focus
        self.drawn: list[DrawnEdge] = []

    def __exit__(self, exc_type, exc_value, traceback):
        setcluster(None)
        setdiagram(None)
        return False

    def connect(self, node, node2, edge) -> None:
        attrs = dict(edge.attrs)
        step, wanted = getattr(edge, "step", None), getattr(edge, "on", True)
        tail, head = node.nodeid, node2.nodeid
        ends_on = tail not in self.off and head not in self.off
        on = wanted and ends_on
        classes = ["on" if on else "off"] + ([f"step-{step}"] if step else [])
        if not on:
            if ends_on:        # a route these options replace: keep its room, draw nothing
                attrs.update({"style": "invis"})
            else:
                attrs.update({"color": OFF_COLOR, "fontcolor": OFF_COLOR, "style": "dashed", "penwidth": "1"})
        elif step and step in self.highlight:
            attrs.update({"color": HIGHLIGHT, "fontcolor": HIGHLIGHT, "penwidth": "3.2"})
            classes.append("hl")
        elif self.focus and self.highlight:
            attrs.update({"color": DIM_COLOR, "fontcolor": "#adb5bd"})
            classes.append("dim")
        attrs["class"] = " ".join(classes)
        if attrs.get("label"):
            attrs.setdefault("tooltip", attrs["label"].replace("\n", " "))
        self.drawn.append(DrawnEdge(tail, head, step, str(edge.attrs.get("label", "")), on))
        self.dot.edge(tail, head, **attrs)


@dataclass(frozen=True)
class Rendered:
    """A rendered diagram: DOT source and SVG (icons inline); the PNG is drawn on first use.

    Graphviz lays out SVG about ten times faster than PNG, so the app shows the SVG and
    only draws a PNG when one is asked for (download, ``--format png``). ``edges`` are the
    edges as drawn, in drawing order.
    """

    case_id: str
    values: tuple
    dot: str
    svg: str
    edges: tuple[DrawnEdge, ...] = ()

    @property
    def png(self) -> bytes:
        return _png(self.dot)

    def content(self, fmt: str) -> bytes:
        if fmt == "dot":
            return self.dot.encode()
        if fmt == "svg":
            return self.svg.encode()
        if fmt == "png":
            return self.png
        raise ValueError(f"unknown format {fmt!r}: use png, svg or dot")

    def nodes_of(self, steps: Iterable[str]) -> set[str]:
        """The components the edges of these steps join (those that are on)."""
        wanted = set(steps)
        return {k for e in self.edges if e.on and e.step in wanted for k in (e.tail, e.head)}


_DECLARED = re.compile(r'^\s*"?([A-Za-z0-9_.:-]+)"?\s*\[label=', re.M)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _draw(case: Case, values: Mapping[str, Any], highlight: Iterable[str] = (), *, focus: bool = False,
          tooltips: Mapping[str, str] | None = None, link: str | None = None,
          mark: Iterable[str] = ()) -> tuple[str, tuple[DrawnEdge, ...]]:
    highlight, mark = frozenset(highlight), frozenset(mark)
    off = frozenset(c.key for c in case.components if not c.present(values))
    with _render_lock:
        with _SourceOnly(case.title, filename=f"/nonexistent/{case.id}", show=False, direction="LR",
                         graph_attr=dict(GRAPH_ATTR), node_attr=dict(NODE_ATTR), edge_attr=dict(EDGE_ATTR),
                         off=off, highlight=highlight, focus=focus) as diagram:
            case.diagram(values, DiagramKit(highlight))
            drawn = tuple(diagram.drawn)
            lit = {k for e in drawn if e.on and e.step in highlight for k in (e.tail, e.head)}
            declared = set(_DECLARED.findall(diagram.dot.source))
            for c in case.components:
                if c.key not in declared:     # a case that leaves an absent component out: nothing to style
                    continue
                attrs = {"id": f"node-{c.key}"}
                if c.key in off:
                    attrs.update({"class": "off", "shape": "box", "style": "dashed,rounded", "color": OFF_COLOR,
                                  "fontcolor": OFF_COLOR})
                    if c.key in mark:       # taken away by a change: its dashed frame in the highlight colour
                        attrs.update({"class": "off changed", "color": HIGHLIGHT, "penwidth": "3"})
                elif c.key in mark:         # added or changed by a change: framed in the highlight colour
                    attrs.update({"class": "on changed", "shape": "box", "style": "rounded,bold", "color": HIGHLIGHT,
                                  "penwidth": "3"})
                elif focus and highlight and c.key in lit:
                    attrs.update({"class": "on hl", "shape": "box", "style": "rounded,bold", "color": HIGHLIGHT,
                                  "penwidth": "3", "fontcolor": HIGHLIGHT})
                else:
                    attrs["class"] = "on dim" if focus and highlight else "on"
                if tooltips and c.key in tooltips:
                    attrs["tooltip"] = tooltips[c.key]
                if link:
                    attrs.update({"URL": link.replace("{node}", c.key).replace("&", "&amp;"), "target": "_top"})
                # A node named again at the end keeps its place and cluster and takes these attributes.
                diagram.dot.body.append("\t" + _quote(c.key) + " ["
                                        + " ".join(f"{k}={_quote(v)}" for k, v in attrs.items()) + "]\n")
            return diagram.dot.source, drawn


def dot_source(case: Case, values: Mapping[str, Any], highlight: Iterable[str] = (), *, focus: bool = False) -> str:
    """The Graphviz DOT source of the case's diagram for these (already resolved) values."""
    return _draw(case, values, highlight, focus=focus)[0]


def drawn_edges(case: Case, values: Mapping[str, Any]) -> tuple[DrawnEdge, ...]:
    """The edges of the case's diagram for these (already resolved) values, in drawing order."""
    return _draw(case, values)[1]


def _dot_binary() -> str:
    found = shutil.which("dot")
    if not found:
        raise DotMissing("Graphviz is not installed: install the 'graphviz' package "
                         "(apt-get install graphviz, or brew install graphviz)")
    return found


def _layout(source: str, fmt: str) -> bytes:
    """Lay the graph out with Graphviz into one format."""
    proc = subprocess.run([_dot_binary(), f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError("Graphviz failed: " + proc.stderr.decode(errors="replace")[:500])
    return proc.stdout


@lru_cache(maxsize=128)
def _png(source: str) -> bytes:
    return _layout(source, "png")


_png_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="png")


def png_soon(rendered: Rendered) -> Future:
    """Start drawing the diagram's PNG in Graphviz (a separate process) and return its future, so a
    page can show the SVG meanwhile and hand the PNG's bytes to its download when they are ready."""
    return _png_pool.submit(_png, rendered.dot)


@lru_cache(maxsize=512)
def _icon_data_uri(path: str) -> str:
    data = Path(path).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


_HREF = re.compile(r'(xlink:href|href)="([^"]+\.png)"')


def inline_icons(svg: str) -> str:
    """Replace references to icon files on disk with the icons themselves."""
    def swap(match: re.Match) -> str:
        path = match.group(2)
        if Path(path).is_file():
            return f'{match.group(1)}="{_icon_data_uri(path)}"'
        return match.group(0)

    return _HREF.sub(swap, svg)


_TITLE = re.compile(r'(<g id="node&#45;([^"]+)" class="node[^"]*">\s*<title>)[^<]*(</title>)')


def _titles(svg: str, tooltips: Mapping[str, str]) -> str:
    """Each node's <title> (what a browser shows on hover) becomes its tooltip."""
    def swap(m: re.Match) -> str:
        key = html.unescape(m.group(2))
        text = tooltips.get(key)
        return m.group(0) if text is None else m.group(1) + html.escape(text, quote=False) + m.group(3)
    return _TITLE.sub(swap, svg)


@lru_cache(maxsize=256)
def _render_cached(case_id: str, values: tuple, highlight: frozenset, focus: bool = False,
                   tooltips: tuple = (), link: str | None = None, mark: frozenset = frozenset()) -> Rendered:
    case = get_case(case_id)
    tips = dict(tooltips)
    source, drawn = _draw(case, dict(values), highlight, focus=focus, tooltips=tips, link=link, mark=mark)
    svg = _layout(source, "svg").decode()
    svg = svg.replace("<g id=\"graph0\"", SVG_STYLE + "\n<g id=\"graph0\"", 1)
    if tips:
        svg = _titles(svg, tips)
    return Rendered(case_id, values, source, inline_icons(svg), drawn)


def render(case: Case, values: Mapping[str, Any] | None = None, highlight: Iterable[str] = (), *,
           focus: bool = False, tooltips: Mapping[str, str] | None = None, link: str | None = None,
           mark: Iterable[str] = ()) -> Rendered:
    """Render the case's diagram; ``values`` may be partial or text (they are resolved).

    ``mark``: component keys framed in the highlight colour (what a change added, took away or relabelled;
    see :func:`changed_components`).

    ``highlight``: pipeline steps whose edges are drawn bold and coloured; with ``focus`` the
    rest is dimmed and the nodes those edges join are framed. ``tooltips``: text per component
    key, shown on hover. ``link``: a URL with ``{node}`` where each node's key goes, so a click
    on a node opens it."""
    resolved = case.resolve(values or {})
    key = tuple(sorted(resolved.items()))
    return _render_cached(case.id, key, frozenset(highlight), bool(focus),
                          tuple(sorted((tooltips or {}).items())), link, frozenset(mark))


_LABEL = re.compile(r'^\s*"?([A-Za-z0-9_.:-]+)"?\s*\[label=("(?:[^"\\]|\\.)*"|<[^\n]*>)', re.M)


def changed_components(case: Case, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a change of options does to the diagram, component by component: ``(key, how)`` with ``how``
    "added", "removed" or "relabelled" (drawn in both, its label changed), in the case's component order."""
    a, b = case.resolve(dict(before)), case.resolve(dict(after))
    labels_a, labels_b = dict(_LABEL.findall(dot_source(case, a))), dict(_LABEL.findall(dot_source(case, b)))
    out = []
    for c in case.components:
        was, now = c.present(a), c.present(b)
        if was != now:
            out.append((c.key, "added" if now else "removed"))
        elif now and labels_a.get(c.key) != labels_b.get(c.key):
            out.append((c.key, "relabelled"))
    return out


def clear_cache() -> None:
    _render_cached.cache_clear()


def cache_info():
    return _render_cached.cache_info()
