"""The command line, through its real entry point (`python -m app`)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.cli import main
from app.core.cases import all_cases, case_ids
from app.core.dot import nodes
from tests.conftest import ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, timeout=120)


def test_list_json_describes_every_case_with_its_toggles():
    out = run_cli("list", "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [c["id"] for c in listed] == case_ids()
    for case in listed:
        assert case["title"] and case["story"] and case["takeaways"]
        for toggle in case["toggles"]:
            assert toggle["help"] and toggle["exam_point"] and "default" in toggle


def test_list_text_names_every_case(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for case in all_cases():
        assert case.id in text and case.title in text


def test_diagram_dot_to_stdout_follows_the_toggles():
    on = run_cli("diagram", "todo-api", "--set", "dax=on", "--format", "dot", "-o", "-")
    off = run_cli("diagram", "todo-api", "--set", "dax=off", "--format", "dot", "-o", "-")
    assert on.returncode == 0 and off.returncode == 0
    assert "dax" in nodes(on.stdout.decode()) and "dax" not in nodes(off.stdout.decode())


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<svg"), ("dot", b"digraph")])
def test_diagram_writes_each_format_to_a_file(tmp_path, fmt, magic):
    target = tmp_path / f"d.{fmt}"
    assert main(["diagram", "todo-api", "--format", fmt, "-o", str(target)]) == 0
    assert magic in target.read_bytes()[:400]


@pytest.mark.parametrize("args,needle", [
    (["diagram", "no-such-case", "-o", "-"], "valid cases are todo-api"),
    (["diagram", "todo-api", "--set", "cdn=on", "-o", "-"], "valid names are dax, api_cache"),
    (["diagram", "todo-api", "--set", "dax=maybe", "-o", "-"], "use on or off"),
    (["diagram", "todo-api", "--set", "dax", "-o", "-"], "is not KEY=VALUE"),
])
def test_bad_input_exits_non_zero_and_names_the_valid_ones(args, needle):
    out = run_cli(*args)
    assert out.returncode != 0
    assert needle in out.stderr.decode()
    assert out.stdout == b""


def test_unknown_format_is_refused_by_the_parser():
    out = run_cli("diagram", "todo-api", "--format", "gif", "-o", "-")
    assert out.returncode != 0 and b"png" in out.stderr
