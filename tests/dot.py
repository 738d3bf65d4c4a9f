"""Small readers of Graphviz DOT source, for asserting on diagrams without image bytes."""
from __future__ import annotations

import re

_NODE = re.compile(r'^\s*"?([A-Za-z0-9_.:-]+)"?\s*\[label=', re.M)
_EDGE = re.compile(r'^\s*"?([A-Za-z0-9_.:-]+)"?\s*->\s*"?([A-Za-z0-9_.:-]+)"?\s*(\[.*\])?', re.M)
_CLUSTER = re.compile(r'subgraph\s+"?cluster_([^"{]+?)"?\s*\{')


def nodes(dot: str) -> set[str]:
    return set(_NODE.findall(dot))


def edges(dot: str) -> set[tuple[str, str]]:
    return {(a, b) for a, b, _ in _EDGE.findall(dot)}


def edge_attrs(dot: str) -> dict[tuple[str, str], str]:
    return {(a, b): attrs for a, b, attrs in _EDGE.findall(dot)}


def clusters(dot: str) -> list[str]:
    return [c.strip() for c in _CLUSTER.findall(dot)]


def toggle_variants(toggle) -> list:
    """Values other than the default that a test should flip a toggle to."""
    if toggle.kind == "bool":
        return [not toggle.default]
    if toggle.kind == "choice":
        return [c for c in toggle.choices if c != toggle.default]
    return [v for v in (toggle.min, toggle.max) if v != toggle.default]
