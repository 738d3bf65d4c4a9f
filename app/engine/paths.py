"""Request paths as hops, simulated for many requests at once.

A request class (``read``, ``write``, a user region...) is a list of stages:

* :class:`Hop`: always taken; its latency is drawn from a :class:`~app.engine.books.Dist`.
* :class:`Cache`: a lookup that answers with probability ``hit_ratio`` (drawing the
  hit latency) and otherwise lets the request go on to the following stages
  (drawing the ``miss`` latency, e.g. the cache node's own pass-through time).
* :class:`Maybe`: taken with probability ``p`` (a Lambda cold start).

:func:`simulate` draws every stage for every request in a few numpy operations, so a
million requests take a fraction of a second; :func:`waterfall` lays out the typical
request of a class stage by stage at each stage's median, and :func:`branches` lays out every
path a class's requests take through its caches (answered by each cache, or missing them all),
each with its share of the class's requests.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from app.engine.books import Dist


@dataclass(frozen=True)
class Hop:
    label: str
    service: str
    dist: Dist


@dataclass(frozen=True)
class Cache:
    label: str
    service: str
    name: str            # key in the hit-ratio report, e.g. "dax_item"
    hit_ratio: float
    hit: Dist            # latency of a hit (the request ends here, or the call it caches: see ``answers``)
    miss: Dist | None = None  # latency added by the lookup on a miss, before the next stage
    # How many of the stages after it a hit answers for: None, all of them (the request ends at the hit);
    # a number, the stages of the call the cache fronts (a hit skips them and the request goes on after them).
    answers: int | None = None


@dataclass(frozen=True)
class Maybe:
    label: str
    service: str
    p: float
    dist: Dist


Stage = Hop | Cache | Maybe


@dataclass
class RequestClass:
    name: str
    share: float
    stages: list[Stage] = field(default_factory=list)
    group: str = ""      # e.g. "read" for every read class of every region

    def add(self, stage: Stage) -> RequestClass:
        self.stages.append(stage)
        return self


# Standard normal quantiles at 65,536 evenly spaced probabilities: a normal draw becomes a table
# lookup indexed by 16 random bits, three times faster than sampling and exact to the table's
# resolution (the extreme entries sit at +-4.3 sigma, far beyond the p99 reported).
_LEVELS = 1 << 16


def _normal_table() -> np.ndarray:
    from statistics import NormalDist
    nd = NormalDist()
    return np.array([nd.inv_cdf((k + 0.5) / _LEVELS) for k in range(_LEVELS)], dtype=np.float32)


_Z = _normal_table()


@lru_cache(maxsize=1024)
def _lognormal_table(mu: float, sigma: float) -> np.ndarray:
    """The distribution's quantiles at the same 65,536 probabilities: a draw is one lookup."""
    t = np.exp(np.float32(mu) + np.float32(sigma) * _Z)
    t.setflags(write=False)
    return t


class _Draw:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.Generator(np.random.SFC64(seed))

    def bits(self, n: int) -> np.ndarray:
        return np.frombuffer(self.rng.bytes(2 * n), dtype=np.uint16)

    def chance(self, p: float, n: int) -> np.ndarray:
        """Boolean draws, true with probability p (to 1/65,536)."""
        return self.bits(n) < np.uint16(min(_LEVELS - 1, int(round(p * _LEVELS)))) if p < 1 else np.ones(n, bool)

    def latency(self, d: Dist, n: int) -> np.ndarray:
        if d.p50 <= 0:
            return np.zeros(n, dtype=np.float32)
        idx = self.bits(n)
        if d.kind == "uniform":
            x = idx.astype(np.float32)
            x *= np.float32(2 * d.p50 / _LEVELS)
            return x
        if d.sigma == 0:
            return np.full(n, d.p50, dtype=np.float32)
        return _lognormal_table(d.mu, d.sigma)[idx]


def _simulate_class(rc: RequestClass, n: int, draw: _Draw) -> np.ndarray:
    total = np.zeros(n, dtype=np.float32)
    alive = None        # the requests still going (None: every one)
    skipping: list[tuple[int, np.ndarray]] = []   # (last stage skipped, the requests a cache answered that call for)
    for j, st in enumerate(rc.stages):
        skipping = [(last, hits) for last, hits in skipping if last >= j]
        active = alive  # the requests this stage sees: going, and not inside a call a cache answered
        for _, hits in skipping:
            active = ~hits if active is None else active & ~hits
        if isinstance(st, Hop):
            x = draw.latency(st.dist, n)
            total += x if active is None else x * active
        elif isinstance(st, Maybe):
            if st.p <= 0:
                continue
            taken = draw.chance(st.p, n)
            if active is not None:
                taken &= active
            total += draw.latency(st.dist, n) * taken
        else:
            h = min(max(st.hit_ratio, 0.0), 1.0)
            if h <= 0:
                if st.miss is not None:
                    x = draw.latency(st.miss, n)
                    total += x if active is None else x * active
                continue
            hit = draw.chance(h, n)
            if active is not None:
                hit &= active
            total += draw.latency(st.hit, n) * hit
            if st.answers is None:
                alive = ~hit if alive is None else alive & ~hit
            else:
                skipping.append((j + st.answers, hit))
            if st.miss is not None:
                total += draw.latency(st.miss, n) * (~hit if active is None else active & ~hit)
    return total


def simulate(classes: list[RequestClass], n: int = 1_000_000, seed: int = 1) -> dict[str, np.ndarray]:
    """Latency samples (ms) per class; each class gets ``n * share`` requests (at least one).

    Each class draws from its own stream (seeded by the class name), so a class an option does
    not touch gets the very same samples with the option on and off: deltas show only real change.
    """
    total_share = sum(c.share for c in classes) or 1.0
    out: dict[str, np.ndarray] = {}
    for c in classes:
        k = max(1, int(round(n * c.share / total_share)))
        out[c.name] = _simulate_class(c, k, _Draw(seed * 1_000_003 + zlib.crc32(c.name.encode())))
    return out


def percentiles(samples: np.ndarray, qs=(50, 90, 99)) -> dict[str, float]:
    if samples.size == 0:
        return {f"p{q}": 0.0 for q in qs}
    ks = [min(samples.size - 1, int(round(q / 100 * (samples.size - 1)))) for q in qs]
    part = np.partition(samples, ks)
    return {f"p{q}": round(float(part[k]), 3) for q, k in zip(qs, ks, strict=True)}


def waterfall(rc: RequestClass) -> list[dict]:
    """The typical request of ``rc``: at each cache the likelier branch, each stage at its median."""
    rows: list[dict] = []
    t = 0.0

    def row(label, service, d: Dist, note=""):
        nonlocal t
        ms = d.p50
        rows.append({"hop": label, "service": service, "start_ms": round(t, 3), "ms": round(ms, 3),
                     "source": d.source, "url": d.url, "assumption": d.assumption, "note": note})
        t += ms

    skip_to = 0
    for j, st in enumerate(rc.stages):
        if j < skip_to:
            continue
        if isinstance(st, Hop):
            row(st.label, st.service, st.dist)
        elif isinstance(st, Maybe):
            if st.p >= 0.5:
                row(st.label, st.service, st.dist, f"taken by {st.p:.0%} of requests")
        else:
            if st.hit_ratio >= 0.5:
                row(f"{st.label} (hit)", st.service, st.hit, f"hit ratio {st.hit_ratio:.0%}")
                if st.answers is None:
                    break
                skip_to = j + 1 + st.answers
            elif st.miss is not None:
                row(f"{st.label} (miss)", st.service, st.miss, f"hit ratio {st.hit_ratio:.0%}")
    return rows


def branches(rc: RequestClass, min_share: float = 0.01) -> list[dict]:
    """Every path through ``rc``'s caches, each stage at its median: one path per cache that can answer
    (the requests it answers: ending there, or, for a cache of one call, going on after that call) and
    one for the requests that miss every cache, each with its ``share`` of the class's requests. Paths
    taken by fewer than ``min_share`` of the requests are left out. A class without a cache has one
    path, share 1."""
    out: list[dict] = []
    stages = rc.stages
    caches = [st.label for st in stages if isinstance(st, Cache)]

    def row(label, service, d: Dist, t: float, note=""):
        return {"hop": label, "service": service, "start_ms": round(t, 3), "ms": round(d.p50, 3),
                "source": d.source, "url": d.url, "assumption": d.assumption, "note": note}

    def walk(j: int, rows: list[dict], t: float, reach: float, name: str | None) -> None:
        for k in range(j, len(stages)):
            st = stages[k]
            if isinstance(st, Hop):
                rows.append(row(st.label, st.service, st.dist, t))
                t += st.dist.p50
            elif isinstance(st, Maybe):
                if st.p >= 0.5:
                    rows.append(row(st.label, st.service, st.dist, t, f"taken by {st.p:.0%} of requests"))
                    t += st.dist.p50
            else:
                h = min(max(st.hit_ratio, 0.0), 1.0)
                if h > 0 and reach * h >= min_share:
                    hit_name = f"{st.label} hit" if name is None else f"{name}, {st.label} hit"
                    hit = rows + [row(f"{st.label} (hit)", st.service, st.hit, t, f"hit ratio {h:.0%}")]
                    if st.answers is None:
                        out.append({"path": hit_name, "share": reach * h, "hops": hit})
                    else:
                        walk(k + 1 + st.answers, hit, t + st.hit.p50, reach * h, hit_name)
                reach *= 1 - h
                if st.miss is not None:
                    rows.append(row(f"{st.label} (miss)", st.service, st.miss, t, f"hit ratio {h:.0%}"))
                    t += st.miss.p50
                if reach < min_share:
                    return
        if reach >= min_share:
            default = ("every cache missed" if len(caches) > 1 else f"{caches[0]} miss" if caches
                       else "every request")
            out.append({"path": name or default, "share": reach, "hops": rows})

    walk(0, [], 0.0, 1.0, None)
    return out


__all__ = ["Hop", "Cache", "Maybe", "RequestClass", "simulate", "percentiles", "waterfall", "branches"]
