"""The pairwise generator behind the combination runs: every pair of values of any two
parameters is in some row, with far fewer rows than the full product."""
from __future__ import annotations

import itertools
import math

import pytest

from app.core.cases import all_cases
from tests.pairwise import pairwise
from tests.pipeline_combos import combinations, toggle_domains


def uncovered(rows: list[dict], domains: dict) -> list[tuple]:
    """The pairs of values no row holds, found by checking every pair against every row."""
    out = []
    for a, b in itertools.combinations(domains, 2):
        for va, vb in itertools.product(domains[a], domains[b]):
            if not any(row[a] == va and row[b] == vb for row in rows):
                out.append((a, va, b, vb))
    return out


def test_the_coverage_check_finds_a_missing_pair():
    domains = {"x": (1, 2), "y": ("a", "b")}
    assert uncovered([{"x": 1, "y": "a"}, {"x": 2, "y": "b"}], domains) == [("x", 1, "y", "b"), ("x", 2, "y", "a")]


@pytest.mark.parametrize("domains", [
    {"a": (False, True), "b": (False, True), "c": (False, True)},
    {"a": (1, 2, 3), "b": ("x", "y"), "c": (False, True), "d": ("p", "q", "r", "s"), "e": (False, True)},
    {f"t{i}": (False, True) for i in range(10)},
    {"mode": ("none", "sns", "sqs"), "region": ("eu", "us", "ap", "sa"), "cache": (0, 60, 300, 3600)},
], ids=["three-bools", "mixed", "ten-bools", "three-choices"])
def test_every_pair_is_covered_with_fewer_rows_than_the_product(domains):
    rows = pairwise(domains)
    assert uncovered(rows, domains) == []
    assert all(set(row) == set(domains) and all(row[k] in domains[k] for k in row) for row in rows)
    biggest = sorted((len(v) for v in domains.values()), reverse=True)
    assert biggest[0] * biggest[1] <= len(rows) <= math.prod(biggest)
    if math.prod(biggest) > 8:
        assert len(rows) < math.prod(biggest) / 2


def test_one_parameter_runs_each_value_and_none_runs_once():
    assert pairwise({"fanout": ("none", "sns", "sqs")}) == [{"fanout": "none"}, {"fanout": "sns"}, {"fanout": "sqs"}]
    assert pairwise({}) == [{}]
    with pytest.raises(ValueError):
        pairwise({"a": (), "b": (1,)})


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.id)
def test_each_case_gets_a_covering_set_of_its_toggles(case):
    domains = toggle_domains(case)
    rows = combinations(case.id)
    assert uncovered(rows, domains) == []
    assert all(row == case.resolve(row) for row in rows)   # valid toggle values, defaults for the rest


def test_myblog_runs_far_fewer_than_its_192_combinations():
    case = next(c for c in all_cases() if c.id == "global-blog")
    assert math.prod(len(v) for v in toggle_domains(case).values()) == 192
    assert len(combinations("global-blog")) <= 16
