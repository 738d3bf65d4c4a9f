"""Diagrams follow the toggles, asserted on the DOT source. The rules every case's diagram keeps (every component
a node, drawn as off in its place when absent, labelled edges, a region, a change for every toggle, nodes that hold
still) are rules of the case contract, checked for every case in tests/test_contract.py."""
from __future__ import annotations

import base64
import re
import subprocess
import xml.etree.ElementTree as ET

from app.core.cases import get_case
from app.core.diagram import cache_info, dot_source, render
from app.core.dot import clusters, edge_attrs, edges, node_classes, nodes, off_clusters


def test_todo_api_dax_sits_between_lambda_and_dynamodb_in_a_vpc():
    case = get_case("todo-api")
    off = dot_source(case, case.resolve({"dax": "off"}))
    on = dot_source(case, case.resolve({"dax": "on"}))
    assert ("lambda", "table") in edges(off) and "dax" not in nodes(off)
    assert {("lambda", "dax"), ("dax", "table")} <= edges(on)
    assert ("lambda", "table") not in edges(on)
    assert "VPC" in clusters(on) and "VPC" not in clusters(off)


def test_highlighted_steps_are_drawn_bold_and_coloured():
    case = get_case("todo-api")
    dot = dot_source(case, case.defaults(), highlight={"lambda"})
    attrs = edge_attrs(dot)
    assert "penwidth" in attrs[("api", "lambda")]
    assert "penwidth" not in attrs[("app", "bucket")]


def test_svg_carries_its_icons_inline():
    rendered = render(get_case("todo-api"), {"dax": True, "api_cache": True})
    root = ET.fromstring(rendered.svg)
    hrefs = [el.get("{http://www.w3.org/1999/xlink}href") or el.get("href")
             for el in root.iter() if el.tag.endswith("image")]
    assert len(hrefs) == len(case_nodes := nodes(rendered.dot)) and case_nodes
    assert all(h.startswith("data:image/png;base64,") for h in hrefs)
    assert "site-packages" not in rendered.svg
    for href in hrefs:
        icon = base64.b64decode(href.split(",", 1)[1])
        assert icon[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_is_a_png_of_reasonable_size():
    rendered = render(get_case("todo-api"))
    assert rendered.png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(rendered.png[16:20], "big")
    height = int.from_bytes(rendered.png[20:24], "big")
    assert 600 < width < 6000 and 300 < height < 6000


def test_renders_are_cached_per_case_and_toggles():
    case = get_case("todo-api")
    first = render(case, {"dax": "on"})
    hits = cache_info().hits
    again = render(case, {"dax": True, "api_cache": False})
    assert again is first and cache_info().hits == hits + 1
    assert render(case, {"dax": "off"}) is not first


def test_graphviz_is_the_one_installed():
    out = subprocess.run(["dot", "-V"], capture_output=True, text=True)
    assert "graphviz" in (out.stdout + out.stderr).lower()


def test_an_option_that_is_off_greys_its_cluster_and_hides_the_route_it_replaces():
    case = get_case("todo-api")
    off = dot_source(case, case.resolve({"dax": "off"}))
    on = dot_source(case, case.resolve({"dax": "on"}))
    assert "VPC" in off_clusters(off) and "VPC" not in off_clusters(on)
    direct = re.search(r"lambda -> table \[(.*?)\]\s*$", on, re.M | re.S).group(1)
    assert "style=invis" in direct and 'class="off' in direct


def test_focus_frames_the_steps_nodes_and_dims_the_rest():
    case = get_case("todo-api")
    rendered = render(case, case.defaults(), highlight={"lambda"}, focus=True)
    classes = node_classes(rendered.dot)
    assert classes["api"] == classes["lambda"] == "on hl"
    assert classes["table"] == "on dim" and classes["dax"] == "off"
    assert rendered.nodes_of({"lambda"}) == {"api", "lambda"}
    root = ET.fromstring(rendered.svg)
    groups = {g.get("id"): g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert groups["node-lambda"] == "node on hl" and groups["node-table"] == "node on dim"


def test_nodes_carry_their_tooltip_and_link_in_the_svg():
    case = get_case("todo-api")
    rendered = render(case, case.defaults(), tooltips={"table": "Todos table: 5.2 ms & 1.0 USD"},
                      link="?case=todo-api&node={node}")
    root = ET.fromstring(rendered.svg)       # well-formed: the & of links and tooltips are escaped
    svg = "{http://www.w3.org/2000/svg}"
    table = next(g for g in root.iter(svg + "g") if g.get("id") == "node-table")
    assert table.find(svg + "title").text == "Todos table: 5.2 ms & 1.0 USD"
    link = next(table.iter(svg + "a"))
    assert link.get("{http://www.w3.org/1999/xlink}href") == "?case=todo-api&node=table"


def test_drawing_writes_no_file(monkeypatch):
    import diagrams

    def refuse(self):
        raise AssertionError("the diagram was rendered to a file")
    monkeypatch.setattr(diagrams.Diagram, "render", refuse)
    case = get_case("global-blog")
    assert dot_source(case, case.resolve({"dax": "on"}), highlight={"api"}, focus=True)
