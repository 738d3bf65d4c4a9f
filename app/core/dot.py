"""Small readers of Graphviz DOT source: what a diagram draws, read from its text rather than its image
(the case contract and the tests read diagrams this way). Pure Python; :func:`positions` runs Graphviz."""
from __future__ import annotations

import re

_NODE = re.compile(r'^\s*"?([A-Za-z0-9_.:-]+)"?\s*\[label=', re.M)
# An edge statement, its attributes included (labels may span lines).
_EDGE = re.compile(r'^\s*"?([A-Za-z0-9_.:-]+)"?\s*->\s*"?([A-Za-z0-9_.:-]+)"?\s*(\[.*?\])?\s*$', re.M | re.S)
_CLUSTER = re.compile(r'subgraph\s+"?cluster_([^"{]+?)"?\s*\{')


def all_nodes(dot: str) -> set[str]:
    """Every node of the diagram, those drawn as turned off included."""
    return set(_NODE.findall(dot))


def nodes(dot: str) -> set[str]:
    """The nodes of this configuration: drawn as on (a component the options turn off keeps its place,
    drawn as off: see :func:`off_nodes`)."""
    return all_nodes(dot) - off_nodes(dot)


def _on(attrs: str) -> bool:
    m = _EDGE_CLASS.search(attrs or "")
    return m is None or m.group(1).split()[0] == "on"


def edges(dot: str) -> set[tuple[str, str]]:
    """The edges of this configuration (drawn as on)."""
    return {(a, b) for a, b, attrs in _EDGE.findall(dot) if _on(attrs)}


def edge_attrs(dot: str) -> dict[tuple[str, str], str]:
    """The attributes of the edges of this configuration (drawn as on)."""
    return {(a, b): attrs for a, b, attrs in _EDGE.findall(dot) if _on(attrs)}


def clusters(dot: str) -> list[str]:
    """The clusters of this configuration (those drawn as turned off left out)."""
    off = off_clusters(dot)
    return [c.strip() for c in _CLUSTER.findall(dot) if c.strip() not in off]


def toggle_variants(toggle) -> list:
    """Values other than the default that a test should flip a toggle to."""
    if toggle.kind == "bool":
        return [not toggle.default]
    if toggle.kind == "choice":
        return [c for c in toggle.choices if c != toggle.default]
    return [v for v in (toggle.min, toggle.max) if v != toggle.default]


_REDECLARED = re.compile(r'^\s*"([A-Za-z0-9_.:-]+)"\s*\[id="node-[^"]*" class="([^"]*)"', re.M)
_EDGE_CLASS = re.compile(r'class="([^"]*)"')


def node_classes(dot: str) -> dict[str, str]:
    """Each component's class as drawn: "on", "off", "on hl" or "on dim"."""
    return dict(_REDECLARED.findall(dot))


def off_nodes(dot: str) -> set[str]:
    """Components drawn as turned off (dashed and grey, in their place)."""
    return {k for k, c in node_classes(dot).items() if c.split()[0] == "off"}


def off_clusters(dot: str) -> set[str]:
    """Clusters drawn as turned off (dashed, grey frame)."""
    out = set()
    for m in _CLUSTER.finditer(dot):
        header = dot[m.end():dot.find("\n", dot.find("graph [", m.end()))]
        if 'pencolor="#adb5bd"' in header and "dashed" in header:
            out.add(m.group(1).strip())
    return out


def positions(dot: str) -> dict[str, tuple[float, float]]:
    """Node centres (inches) as Graphviz lays the diagram out."""
    import subprocess

    out = subprocess.run(["dot", "-Tplain"], input=dot.encode(), capture_output=True, check=True).stdout.decode()
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            found[parts[1].strip('"')] = (float(parts[2]), float(parts[3]))
    return found
