"""The latency book and the numbers built from it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.engine.books import BookError, Dist, load_latency_book, load_price_book
from app.engine.paths import Cache, Hop, Maybe, RequestClass, branches, percentiles, simulate, waterfall
from app.engine.services import cold_start_probability


def test_every_operation_has_a_source_or_is_an_assumption():
    book = load_latency_book()
    for key, e in book.data["operations"].items():
        assert e["p90"] >= e["p50"] > 0, key
        assert e["source"], key
        assert isinstance(e["assumption"], bool), key
    assert book.data["user_to_edge"]["assumption"] is True


def test_a_users_first_hop_into_aws_states_a_basis_true_for_any_endpoint():
    """The last-mile assumption serves hops to CloudFront, API Gateway, an ALB and IoT Core alike:
    its stated basis names no one service, and a round trip to a region says what it adds up."""
    book = load_latency_book()
    last_mile = book.user_to_edge()
    assert last_mile.assumption and "No published figure" in last_mile.source
    assert "CloudFront edge in their metro area" not in last_mile.source
    same = book.user_to_region("us-east-1", "us-east-1")
    assert same.assumption and same.source.startswith(last_mile.source)
    assert "inside us-east-1" in same.source and "cloudping" in same.source
    far = book.user_to_region("eu-west-1", "us-east-1")
    assert not far.assumption and "cloudping" in far.source
    assert "last-mile assumption" in far.source and "near eu-west-1" in far.source


def test_round_trips_come_from_cloudping_and_are_nearly_symmetric():
    book = load_latency_book()
    assert book.rtt("us-east-1", "ap-southeast-2").p50 == pytest.approx(199.7, abs=1.0)
    for a in ("us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"):
        for b in ("us-east-1", "eu-west-1", "ap-northeast-1"):
            ab, ba = book.rtt(a, b), book.rtt(b, a)
            assert ab.p90 >= ab.p50
            assert abs(ab.p50 - ba.p50) < 0.1 * max(ab.p50, 5)
    with pytest.raises(BookError, match="regions:"):
        book.rtt("us-east-1", "mars-north-1")


def test_cold_starts_are_the_measured_init_durations():
    book = load_latency_book()
    py = book.cold_start("python3.12", "x86_64", 128)
    assert 60 < py.p50 < 110 and "lambda-perf" in py.source
    assert book.cold_start("java21", "x86_64", 512).p50 > py.p50
    with pytest.raises(BookError, match="runtimes:"):
        book.cold_start("cobol")


def test_cold_start_probability_falls_with_traffic():
    book = load_latency_book()
    quiet = cold_start_probability(1 / 3600, 50, book)     # one request an hour: nearly always cold
    busy = cold_start_probability(100.0, 50, book)
    assert quiet > 0.8
    assert busy < 0.001
    assert cold_start_probability(1.0, 50, book) < quiet


def test_sampled_percentiles_match_the_lognormal_fit():
    d = Dist(10.0, 25.0)
    rc = RequestClass("x", 1.0, [Hop("h", "s", d)])
    p = percentiles(simulate([rc], 400_000, 3)["x"])
    assert p["p50"] == pytest.approx(10.0, rel=0.02)
    assert p["p90"] == pytest.approx(25.0, rel=0.02)
    assert p["p99"] == pytest.approx(d.quantile(0.99), rel=0.03)


def test_a_cache_stage_ends_the_request_on_a_hit():
    fast, slow = Dist(1.0, 1.0), Dist(100.0, 100.0)
    rc = RequestClass("x", 1.0, [Cache("c", "s", "c", 0.8, fast), Hop("db", "s", slow)])
    x = simulate([rc], 100_000, 1)["x"]
    assert np.mean(x < 50) == pytest.approx(0.8, abs=0.01)
    rows = waterfall(rc)
    assert [r["hop"] for r in rows] == ["c (hit)"]
    rc2 = RequestClass("y", 1.0, [Maybe("cold", "s", 0.1, slow), Cache("c", "s", "c", 0.3, fast, fast),
                                  Hop("db", "s", slow)])
    assert [r["hop"] for r in waterfall(rc2)] == ["c (miss)", "db"]
    assert waterfall(rc2)[1]["start_ms"] == pytest.approx(1.0)


def test_unknown_price_names_the_known_ones():
    with pytest.raises(BookError, match="dynamodb.rru"):
        load_price_book()["dynamodb.nope"]
    assert math.isclose(load_price_book()["lambda.requests"].per, 1e6)


def test_branches_show_the_hit_and_the_miss_path_with_their_shares():
    fast, slow = Dist(1.0, 1.0), Dist(100.0, 100.0)
    rc = RequestClass("x", 1.0, [Hop("edge", "s", fast), Cache("c", "s", "c", 0.3, fast, fast), Hop("db", "s", slow)])
    hit, miss = branches(rc)
    assert (hit["path"], miss["path"]) == ("c hit", "c miss")
    assert hit["share"] == pytest.approx(0.3) and miss["share"] == pytest.approx(0.7)
    assert [h["hop"] for h in hit["hops"]] == ["edge", "c (hit)"]
    assert [h["hop"] for h in miss["hops"]] == ["edge", "c (miss)", "db"]
    end = lambda path: path["hops"][-1]["start_ms"] + path["hops"][-1]["ms"]
    assert end(hit) < end(miss)                      # the cache's hit path is the fast one
    # Two caches in a row: three paths whose shares add up to all the requests; a rare path is left out.
    two = RequestClass("y", 1.0, [Cache("a", "s", "a", 0.5, fast), Cache("b", "s", "b", 0.5, fast), Hop("db", "s", slow)])
    assert [(p["path"], p["share"]) for p in branches(two)] == [("a hit", 0.5), ("b hit", 0.25),
                                                                   ("every cache missed", 0.25)]
    almost = RequestClass("z", 1.0, [Cache("a", "s", "a", 0.999, fast), Hop("db", "s", slow)])
    assert [p["path"] for p in branches(almost)] == ["a hit"]
    assert [p["path"] for p in branches(RequestClass("w", 1.0, [Hop("db", "s", slow)]))] == ["every request"]


def test_a_cache_of_one_call_skips_that_call_on_a_hit_and_the_request_goes_on():
    # A stage cache in front of a catalog call made in the middle of an order: a hit answers the call
    # (its function), and the order still publishes its event afterwards.
    edge, hit, fn, publish = Dist(1.0, 1.0), Dist(0.5, 0.5), Dist(40.0, 40.0), Dist(5.0, 5.0)

    def order(h: float) -> RequestClass:
        return RequestClass(f"order {h}", 1.0, [Hop("edge", "s", edge), Cache("c", "s", "c", h, hit, answers=1),
                                                Hop("fn", "s", fn), Hop("publish", "s", publish)])
    every_hit = simulate([order(1.0)], 20_000, 1)["order 1.0"]
    assert np.median(every_hit) == pytest.approx(1.0 + 0.5 + 5.0, rel=0.02)      # edge, hit, publish: no fn
    some = simulate([order(0.6)], 100_000, 1)["order 0.6"]
    assert np.mean(some < 20) == pytest.approx(0.6, abs=0.01)                    # the hits skip fn only
    assert np.mean(some > 3.0) > 0.99                                            # ... and every one publishes
    assert [r["hop"] for r in waterfall(order(0.6))] == ["edge", "c (hit)", "publish"]
    assert [r["hop"] for r in waterfall(order(0.4))] == ["edge", "fn", "publish"]
    hit_path, miss_path = branches(order(0.6))
    assert (hit_path["path"], hit_path["share"]) == ("c hit", pytest.approx(0.6))
    assert [h["hop"] for h in hit_path["hops"]] == ["edge", "c (hit)", "publish"]
    assert hit_path["hops"][-1]["start_ms"] == pytest.approx(1.5)
    assert [h["hop"] for h in miss_path["hops"]] == ["edge", "fn", "publish"]
