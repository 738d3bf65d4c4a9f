"""A small pairwise (all-pairs) generator: rows in which every pair of values of any two
parameters appears together at least once, far fewer rows than the full product.

Greedy and deterministic: each new row starts from the first pair not yet covered, then
gives every other parameter the value that covers the most pairs still missing with the
values already chosen (ties go to the value listed first). Every row covers at least the
pair it started from, so the loop ends.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any


def all_pairs(domains: Mapping[str, Sequence[Any]]) -> set[tuple[str, Any, str, Any]]:
    """Every (parameter, value, other parameter, other value) pair, parameters in the given order."""
    keys = list(domains)
    return {(a, va, b, vb) for i, a in enumerate(keys) for b in keys[i + 1:]
            for va in domains[a] for vb in domains[b]}


def pairs_of(row: Mapping[str, Any], keys: Sequence[str]) -> set[tuple[str, Any, str, Any]]:
    return {(a, row[a], b, row[b]) for a, b in itertools.combinations(keys, 2)}


def pairwise(domains: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows (dicts of parameter -> value) covering every pair of values of ``domains``."""
    keys = [k for k in domains]
    for k in keys:
        if not domains[k]:
            raise ValueError(f"parameter {k!r} has no values")
    if len(keys) < 2:   # no pairs: every single value once
        return [{keys[0]: v} for v in domains[keys[0]]] if keys else [{}]
    missing = all_pairs(domains)
    rows: list[dict[str, Any]] = []
    while missing:
        a, va, b, vb = min(missing, key=lambda p: (keys.index(p[0]), keys.index(p[2]),
                                                   list(domains[p[0]]).index(p[1]),
                                                   list(domains[p[2]]).index(p[3])))
        row: dict[str, Any] = {a: va, b: vb}
        for k in keys:
            if k in row:
                continue
            row[k] = max(domains[k], key=lambda v: (sum(
                (x, row[x], k, v) in missing if keys.index(x) < keys.index(k) else (k, v, x, row[x]) in missing
                for x in row), -list(domains[k]).index(v)))
        row = {k: row[k] for k in keys}
        missing -= pairs_of(row, keys)
        rows.append(row)
    return rows
