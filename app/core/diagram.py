"""Architecture diagrams: the `diagrams` package builds the graph, Graphviz lays it out.

A case's ``diagram(values, kit)`` function draws inside an open diagram using the
ordinary `diagrams` API (``Cluster``, nodes, ``>>``) and takes its edges from
``kit.edge(...)`` so that the path of the last run can be highlighted.

Rendering captures the DOT source (no file is written by `diagrams`), then runs
Graphviz for SVG (PNG only when asked for). The SVG gets its icons inlined as data
URIs, so a downloaded file opens anywhere. Results are cached per
(case, toggle values, highlighted steps).
"""
from __future__ import annotations

import base64
import re
import shutil
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from diagrams import Cluster, Diagram, Edge, setcluster, setdiagram
from diagrams.aws.compute import Lambda
from diagrams.aws.database import DynamodbDax

from app.core.cases import Case, get_case

HIGHLIGHT = "#d6336c"
EDGE_COLOR = "#495057"
ASYNC_STYLE = "dashed"

GRAPH_ATTR = {
    "fontsize": "20",
    "fontname": "DejaVu Sans",
    "pad": "0.4",
    "nodesep": "0.55",
    "ranksep": "0.9",
    "splines": "spline",
    "labelloc": "t",
}
NODE_ATTR = {"fontname": "DejaVu Sans", "fontsize": "12"}
EDGE_ATTR = {"fontname": "DejaVu Sans", "fontsize": "11", "color": EDGE_COLOR, "fontcolor": "#343a40"}

_render_lock = threading.Lock()


class DotMissing(RuntimeError):
    """Graphviz is not installed."""


class DiagramKit:
    """What a case's diagram function gets besides the toggle values."""

    def __init__(self, highlight: Iterable[str] = ()):
        self.highlight = frozenset(highlight)

    def edge(self, label: str = "", *, step: str | None = None, asynchronous: bool = False,
             **attrs: Any) -> Edge:
        """A labelled edge; ``step`` ties it to a pipeline step for highlighting."""
        style = {"label": label, "fontname": EDGE_ATTR["fontname"], "fontsize": EDGE_ATTR["fontsize"]}
        if asynchronous:
            style["style"] = ASYNC_STYLE
        if step and step in self.highlight:
            style.update({"color": HIGHLIGHT, "fontcolor": HIGHLIGHT, "penwidth": "2.6"})
        style.update(attrs)
        return Edge(**style)


    def function_with_dax(self, label: str, dax_on: bool, *, nodeid: str = "lambda", dax_nodeid: str = "dax"):
        """A Lambda function, and when ``dax_on`` a DAX cluster beside it in a VPC (DAX lives in a
        VPC, so the function joins it). Returns ``(function, dax or None)``."""
        if not dax_on:
            return Lambda(label, nodeid=nodeid), None
        with Cluster("VPC"):
            return Lambda(label, nodeid=nodeid), DynamodbDax("DAX cluster", nodeid=dax_nodeid)


class _SourceOnly(Diagram):
    """A Diagram that keeps its DOT source instead of writing and rendering files."""

    def __exit__(self, exc_type, exc_value, traceback):
        setcluster(None)
        setdiagram(None)
        return False


@dataclass(frozen=True)
class Rendered:
    """A rendered diagram: DOT source and SVG (icons inline); the PNG is drawn on first use.

    Graphviz lays out SVG about ten times faster than PNG, so the app shows the SVG and
    only draws a PNG when one is asked for (download, ``--format png``).
    """

    case_id: str
    values: tuple
    dot: str
    svg: str

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


def dot_source(case: Case, values: Mapping[str, Any], highlight: Iterable[str] = ()) -> str:
    """The Graphviz DOT source of the case's diagram for these (already resolved) values."""
    with _render_lock:
        with _SourceOnly(case.title, filename=f"/nonexistent/{case.id}", show=False, direction="LR",
                         graph_attr=dict(GRAPH_ATTR), node_attr=dict(NODE_ATTR),
                         edge_attr=dict(EDGE_ATTR)) as diagram:
            case.diagram(values, DiagramKit(highlight))
            return diagram.dot.source


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


@lru_cache(maxsize=256)
def _render_cached(case_id: str, values: tuple, highlight: frozenset) -> Rendered:
    case = get_case(case_id)
    source = dot_source(case, dict(values), highlight)
    svg = _layout(source, "svg").decode()
    return Rendered(case_id, values, source, inline_icons(svg))


def render(case: Case, values: Mapping[str, Any] | None = None, highlight: Iterable[str] = ()) -> Rendered:
    """Render the case's diagram; ``values`` may be partial or text (they are resolved)."""
    resolved = case.resolve(values or {})
    key = tuple(sorted(resolved.items()))
    return _render_cached(case.id, key, frozenset(highlight))


def clear_cache() -> None:
    _render_cached.cache_clear()


def cache_info():
    return _render_cached.cache_info()
