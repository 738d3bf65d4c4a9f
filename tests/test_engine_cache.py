"""The analytic hit-ratio models against a Monte Carlo simulation of the same cache.

Grid points cover the ends of the workload sliders: request rates from 1e5 to 1e10
requests a month (0.04 to 3,800 requests/s), 1,000 to 1,000,000 keys, Zipf skew 0.5 to
1.2, TTLs from 1 s to an hour, and caches from a few hundred entries to unbounded. The
model must stay within one percentage point of the simulation everywhere.
"""
from __future__ import annotations

import math

import pytest

from app.engine.cache import (
    hit_ratio,
    monte_carlo_lru,
    monte_carlo_stacked,
    monte_carlo_ttl,
    stacked_ttl_hit_ratio,
    zipf_bins,
)

MONTH = 730 * 3600
LOW, HIGH = 1e5 / MONTH, 1e10 / MONTH

TTL_GRID = [
    # rate/s, keys, skew, ttl s
    (LOW, 1_000, 1.2, 3600),
    (LOW, 1_000, 0.5, 3600),
    (0.5, 10_000, 0.9, 300),
    (5.0, 100_000, 0.9, 300),
    (5.0, 1_000_000, 0.5, 3600),
    (50.0, 1_000_000, 1.2, 60),
    (200.0, 100_000, 0.7, 600),
    (HIGH, 1_000_000, 0.9, 120),
    (HIGH, 1_000, 0.5, 1),
    (20.0, 1_000, 1.0, 1),
]


def _requests_for(rate: float, ttl: float) -> int:
    return int(min(6_000_000, max(400_000, 10 * rate * ttl)))


@pytest.mark.parametrize("rate,keys,skew,ttl", TTL_GRID)
def test_ttl_formula_matches_monte_carlo(rate, keys, skew, ttl):
    model = hit_ratio(rate, keys, skew, ttl=ttl)
    n = _requests_for(rate, ttl)
    simulated = monte_carlo_ttl(rate, keys, skew, ttl, n, seed=11)
    assert abs(model.hit_ratio - simulated) < 0.01, (model.hit_ratio, simulated)


LRU_GRID = [
    # rate/s, keys, skew, capacity, ttl
    (10.0, 10_000, 0.9, 1_000, math.inf),
    (10.0, 100_000, 0.5, 5_000, math.inf),
    (10.0, 1_000_000, 1.2, 300, math.inf),
    (50.0, 100_000, 0.9, 300, 60),
    (200.0, 100_000, 0.6, 5_000, 600),
    (HIGH, 1_000_000, 0.9, 2_000, 3600),
]


@pytest.mark.slow
@pytest.mark.parametrize("rate,keys,skew,capacity,ttl", LRU_GRID)
def test_che_approximation_matches_monte_carlo(rate, keys, skew, capacity, ttl):
    model = hit_ratio(rate, keys, skew, ttl=ttl, capacity=capacity)
    assert not math.isinf(model.t_c), "the grid point must exercise the capacity limit"
    simulated = monte_carlo_lru(rate, keys, skew, capacity, 300_000, ttl=ttl, seed=5)
    assert abs(model.hit_ratio - simulated) < 0.01, (model.hit_ratio, simulated)


def test_zipf_bins_cover_every_key_and_sum_to_one():
    for n, s in ((1_000, 0.9), (123_457, 0.5), (1_000_000, 1.2)):
        counts, p = zipf_bins(n, s)
        assert counts.sum() == n
        assert abs(float((counts * p).sum()) - 1.0) < 1e-9
        assert (p[:-1] >= p[1:]).all()  # popularity falls with rank


def test_hit_ratio_moves_the_right_way():
    base = hit_ratio(5.0, 100_000, 0.9, ttl=300).hit_ratio
    assert hit_ratio(5.0, 100_000, 0.9, ttl=3600).hit_ratio > base       # longer TTL
    assert hit_ratio(50.0, 100_000, 0.9, ttl=300).hit_ratio > base       # more traffic
    assert hit_ratio(5.0, 100_000, 1.2, ttl=300).hit_ratio > base        # more skew
    assert hit_ratio(5.0, 1_000_000, 0.9, ttl=300).hit_ratio < base      # more keys
    small = hit_ratio(5.0, 100_000, 0.9, ttl=300, capacity=100)
    assert small.hit_ratio < base and small.occupancy <= 100.5           # a full cache holds its capacity


STACKED_GRID = [
    # rate/s, keys, skew, stage-cache TTL, DAX TTL
    (10.0, 10_000, 0.9, 60, 300),
    (10.0, 10_000, 0.9, 300, 3600),
    (2.0, 1_000, 1.1, 30, 300),
    (20.0, 100_000, 0.9, 1, 3600),
    (LOW * 20, 1_000, 1.2, 5, 3600),
    (300.0, 1_000_000, 0.9, 30, 600),
]


@pytest.mark.slow
@pytest.mark.parametrize("rate,keys,skew,ttl_front,ttl_back", STACKED_GRID)
def test_dax_behind_the_stage_cache_matches_monte_carlo(rate, keys, skew, ttl_front, ttl_back):
    model = stacked_ttl_hit_ratio(rate, keys, skew, ttl_front, ttl_back)
    n = int(min(1_500_000, max(300_000, 4 * rate * ttl_back)))
    front, back = monte_carlo_stacked(rate, keys, skew, ttl_front, ttl_back, n, seed=3)
    assert abs(model.hit_ratio - back) < 0.01, (model.hit_ratio, back)
    assert abs(hit_ratio(rate, keys, skew, ttl=ttl_front).hit_ratio - front) < 0.01


def test_dax_behind_a_longer_lived_stage_cache_never_hits():
    assert stacked_ttl_hit_ratio(10.0, 10_000, 0.9, 600, 300).hit_ratio == 0.0
