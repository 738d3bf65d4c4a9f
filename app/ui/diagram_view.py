"""A diagram drawn inline on the page: its SVG in the document, so each node's tooltip shows on hover
and a click on a node tells the page which one (the node's link, ``?...&node=<key>``, still opens it
in a new tab). Also the panel that shows a clicked node's details.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import streamlit as st

from app.core import format as fmt
from app.engine.nodes import NodeFigures

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let box = parentElement.querySelector('.explorer-diagram');
  if (!box) {
    box = document.createElement('div');
    box.className = 'explorer-diagram';
    box.setAttribute('role', 'img');
    parentElement.appendChild(box);
  }
  box.setAttribute('aria-label', data.alt || '');
  if (box.dataset.svg !== data.digest) {
    box.innerHTML = data.svg;
    box.dataset.svg = data.digest;
    const svg = box.querySelector('svg');
    if (svg) {
      svg.removeAttribute('width');
      svg.removeAttribute('height');
      svg.style.width = '100%';
      svg.style.height = 'auto';
      svg.style.display = 'block';
    }
  }
  box.onclick = (event) => {
    const link = event.target.closest('a');
    const node = event.target.closest('g.node');
    if (!link || !node || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    setTriggerValue('node', node.id.replace(/^node-/, ''));
  };
}
"""

_diagram = st.components.v2.component("explorer_diagram", js=_JS, isolate_styles=False)

# Left and right arrow keys press the buttons of these keys (not while the focus is in a field).
_KEYS_JS = """
export default function (component) {
  const { data } = component;
  if (window.__explorerArrows) document.removeEventListener('keydown', window.__explorerArrows);
  window.__explorerArrows = (event) => {
    const field = event.target && event.target.closest &&
      event.target.closest('input, textarea, select, [contenteditable]');
    if (field || event.altKey || event.ctrlKey || event.metaKey) return;
    const key = { ArrowLeft: data.previous, ArrowRight: data.next }[event.key];
    const button = key && document.querySelector('.st-key-' + key + ' button');
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  };
  document.addEventListener('keydown', window.__explorerArrows);
}
"""
_keys = st.components.v2.component("explorer_arrow_keys", js=_KEYS_JS, isolate_styles=False)


def arrow_keys(previous: str, next_: str) -> None:
    """Let the left and right arrow keys press the buttons with keys ``previous`` and ``next_``."""
    _keys(key="arrow-keys", data={"previous": previous, "next": next_})


def node_link(params: dict[str, str]) -> str:
    """A link template to the current view with ``node={node}``: what each node of the SVG links to."""
    query = urlencode({k: v for k, v in params.items() if k != "node"})
    return "?" + (query + "&" if query else "") + "node={node}"


def inline_diagram(svg: str, *, key: str, alt: str) -> str | None:
    """Draw ``svg`` across the page; returns the key of the node just clicked, if one was."""
    import hashlib

    result = _diagram(key=key, data={"svg": svg, "alt": alt, "digest": hashlib.sha1(svg.encode()).hexdigest()},
                      on_node_change=lambda: None)
    return getattr(result, "node", None)


def node_details(node: NodeFigures) -> None:
    """A component's role and what the model says about it."""
    st.markdown(f"**{node.label}** · {node.service}" + ("" if node.present else " · off in this configuration"))
    st.write(node.role)
    if not node.present:
        return
    facts: list[dict[str, Any]] = []
    if node.p50_ms is not None:
        facts.append({"Figure": "p50 latency", "Value": fmt.duration(node.p50_ms),
                      "Basis": f"modelled: {node.hop}" + (" (an assumption)" if node.assumption else "")})
    for line in node.lines:
        facts.append({"Figure": f"{line['service']}: {line['item']}",
                      "Value": f"{fmt.usd(line['monthly_usd'])} a month", "Basis": "modelled"})
    for line in node.shared:
        facts.append({"Figure": f"{line['service']}: {line['item']} (shared with its like components)",
                      "Value": f"{fmt.usd(line['monthly_usd'])} a month", "Basis": "modelled"})
    if facts:
        st.table(facts, hide_index=True)
    else:
        st.caption("The latency and cost model has no figure of its own for this component.")
