"""Cache hit ratios under Zipf popularity and Poisson arrivals, and a Monte Carlo check.

Requests arrive as a Poisson process of rate ``rate`` (per second); each asks for
one of ``n_keys`` keys, key ``i`` (1-based rank) with probability proportional to
``i ** -skew`` (Zipf), independently of the past (the independent reference model).
Key ``i`` then sees its own Poisson stream of rate ``rate * p_i``.

Two caches are modelled, and their combination:

* TTL cache: an entry lives ``ttl`` seconds from the miss that stored it (hits do
  not extend it, as in DAX, API Gateway and CloudFront). Between two misses a key
  sees ``lambda * ttl`` hits on average, so its hit probability is
  ``lambda*ttl / (1 + lambda*ttl)``: exact under Poisson arrivals.
* LRU cache of ``capacity`` entries: Che's approximation. An entry is evicted when
  it has not been asked for during the characteristic time ``t_c``, the one
  constant for which the expected number of cached keys equals the capacity:
  ``sum_i (1 - exp(-lambda_i * t_c)) = capacity``; key ``i`` hits with probability
  ``1 - exp(-lambda_i * t_c)``.
* LRU with TTL: an entry leaves at ``min(ttl, D)``, where ``D`` is the first moment
  a silent gap of ``t_c`` completes (``E[D] = (exp(lambda*t_c) - 1) / lambda``).
  With ``tau = E[min(ttl, D)]`` the key hits with probability ``lambda*tau /
  (1 + lambda*tau)``, and the same fraction of time it is in the cache, which gives
  the capacity equation for ``t_c``. ``E[min(ttl, D)]`` is approximated by treating
  ``D - t_c`` as zero with probability ``exp(-lambda*t_c)`` and otherwise exponential
  with the right mean; it is exact when either limit is inactive.

Keys are grouped in rank bins (exact for the first 2,000 ranks, then bins 1% wide),
so a model costs well under a millisecond for any number of keys. The Monte Carlo
functions simulate the same caches request by request; the tests hold the models
to within one percentage point of them.
"""
from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

EXACT_RANKS = 2000
BIN_RATIO = 1.01


@lru_cache(maxsize=256)
def zipf_bins(n_keys: int, skew: float) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, p)``: keys per rank bin and the request probability of each key in that bin."""
    n_keys = int(n_keys)
    head = np.arange(1, min(n_keys, EXACT_RANKS) + 1, dtype=np.float64)
    counts = [np.ones_like(head)]
    weights = [head ** -skew]
    if n_keys > EXACT_RANKS:
        starts = [EXACT_RANKS + 1]
        while starts[-1] <= n_keys:
            starts.append(max(starts[-1] + 1, int(starts[-1] * BIN_RATIO)))
        edges = np.array(starts[:-1] + [n_keys + 1], dtype=np.float64)
        lo, hi = edges[:-1], edges[1:]
        # Sum of i^-s for i in [lo, hi): integral with the midpoint correction.
        a, b = lo - 0.5, hi - 0.5
        if abs(skew - 1.0) < 1e-12:
            sums = np.log(b / a)
        else:
            sums = (b ** (1 - skew) - a ** (1 - skew)) / (1 - skew)
        counts.append(hi - lo)
        weights.append(sums / (hi - lo))
    c = np.concatenate(counts)
    w = np.concatenate(weights)
    total = float(np.sum(c * w))
    c.setflags(write=False)
    p = w / total
    p.setflags(write=False)
    return c, p


def _ttl_tau(lam: np.ndarray, ttl: float, t_c: float) -> np.ndarray:
    """E[min(ttl, D)] per key (seconds); see the module docstring."""
    if math.isinf(t_c):
        return np.full_like(lam, ttl)
    a = lam * t_c
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mean_d = np.where(a > 600, np.inf, np.expm1(np.minimum(a, 600)) / lam)
        if math.isinf(ttl):
            return mean_d
        if ttl <= t_c:
            return np.full_like(lam, ttl)
        p_long = -np.expm1(-a)                    # probability the first gap is shorter than t_c
        mu = np.where(p_long > 0, (mean_d - t_c) / p_long, 0.0)
        rest = ttl - t_c
        tail = np.where(np.isinf(mu), rest, p_long * mu * -np.expm1(-rest / np.where(mu > 0, mu, 1.0)))
    return t_c + np.nan_to_num(tail, nan=0.0)


@dataclass(frozen=True)
class HitModel:
    hit_ratio: float
    t_c: float            # characteristic time (s); inf when the capacity is not reached
    occupancy: float      # expected number of cached keys
    model: str

    def describe(self) -> dict:
        return {"hit_ratio": self.hit_ratio, "characteristic_time_s": None if math.isinf(self.t_c) else self.t_c,
                "expected_entries": self.occupancy, "model": self.model}


def _per_key(lam: np.ndarray, ttl: float, t_c: float) -> np.ndarray:
    if math.isinf(ttl):
        if math.isinf(t_c):
            return np.ones_like(lam)
        return -np.expm1(-lam * t_c)
    x = lam * _ttl_tau(lam, ttl, t_c)
    return x / (1.0 + x)


def hit_ratio(rate: float, n_keys: int, skew: float, *, ttl: float = math.inf,
              capacity: float = math.inf) -> HitModel:
    """Modelled hit ratio of a cache in front of ``n_keys`` Zipf-popular keys.

    ``rate`` requests/s, ``ttl`` seconds from insertion (inf: no expiry), ``capacity``
    entries (inf: no limit). Compulsory misses are included: in steady state a key's
    first request after it expired or was evicted is a miss.
    """
    counts, p = zipf_bins(int(n_keys), float(skew))
    lam = rate * p
    if rate <= 0:
        return HitModel(0.0, math.inf, 0.0, "no traffic")
    name = {(False, False): "TTL (exact under Poisson arrivals)", (True, False): "LRU (Che's approximation)",
            (True, True): "LRU with TTL (Che's approximation)", (False, True): "no limit"}[
        (not math.isinf(capacity), not math.isinf(ttl) and not math.isinf(capacity))]
    if math.isinf(ttl) and math.isinf(capacity):
        # Never evicted, never expired: only the first request of each key misses (none in steady state).
        return HitModel(1.0, math.inf, float(n_keys), "unbounded cache")
    occ_free = float(np.sum(counts * _per_key(lam, ttl, math.inf))) if not math.isinf(ttl) else float(n_keys)
    if math.isinf(capacity) or occ_free <= capacity:
        h = _per_key(lam, ttl, math.inf)
        name = "TTL (exact under Poisson arrivals)" if not math.isinf(ttl) else "unbounded cache"
        return HitModel(float(np.sum(counts * p * h)), math.inf, occ_free, name)
    if capacity <= 0:
        return HitModel(0.0, 0.0, 0.0, name)
    lo, hi = -12.0, 12.0   # log10 of t_c in seconds
    if not math.isinf(ttl):
        hi = math.log10(ttl) + 1e-9
    for _ in range(40):
        mid = (lo + hi) / 2
        occ = float(np.sum(counts * _per_key(lam, ttl, 10 ** mid)))
        if occ > capacity:
            hi = mid
        else:
            lo = mid
    t_c = 10 ** ((lo + hi) / 2)
    h = _per_key(lam, ttl, t_c)
    return HitModel(float(np.sum(counts * p * h)), t_c, float(np.sum(counts * h)), name)


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7)."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * \
        np.exp(-x * x)
    return sign * y


def _gamma_cdf(k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(Gamma(k, 1) <= x) for whole k >= 1: exact sums up to k = 8, Wilson-Hilferty above."""
    x = np.maximum(x, 0.0)
    out = np.empty(np.broadcast(k, x).shape)
    k = np.broadcast_to(k, out.shape)
    x = np.broadcast_to(x, out.shape)
    small = k <= 8
    if small.any():
        ks, xs = k[small], x[small]
        term = np.exp(-xs)
        acc = term.copy()
        for j in range(1, 8):
            term = term * xs / j
            acc = acc + np.where(j < ks, term, 0.0)
        out[small] = 1.0 - acc
    big = ~small
    if big.any():
        kb, xb = k[big], x[big]
        z = (np.cbrt(xb / kb) - (1 - 1 / (9 * kb))) / np.sqrt(1 / (9 * kb))
        out[big] = 0.5 * (1 + _erf(z / math.sqrt(2)))
    return np.clip(out, 0.0, 1.0)


def stacked_ttl_hit_ratio(rate: float, n_keys: int, skew: float, ttl_front: float, ttl_back: float,
                          write_rate: float = 0.0) -> HitModel:
    """Hit ratio of a TTL cache (``ttl_back``) that only sees the misses of another (``ttl_front``).

    DAX behind the API Gateway stage cache: per key, front misses come every ``ttl_front``
    plus an exponential wait; the back cache, filled at one of them, answers the following
    front misses that arrive before its own entry expires: the k-th one arrives at
    ``k*ttl_front + Gamma(k, lambda)``, so the back cache hits ``sum_k P(k*ttl_front +
    Gamma(k, lambda) < ttl_back)`` times per fill. Neither cache is size-limited here.

    ``write_rate``: writes (same popularity) that go through the back cache and fill it, as DAX's
    write-through fills its item cache. A front miss then also hits when a write of its key came
    within ``ttl_back`` (probability ``1 - exp(-w * ttl_back)`` per key, taken independent of the
    renewal term), so DAX behind a stage cache with the same TTL is not zero.
    """
    counts, p = zipf_bins(int(n_keys), float(skew))
    lam = rate * p
    filled = 1.0 - np.exp(-max(write_rate, 0.0) * p * ttl_back)
    how = "TTL behind a TTL cache (exact sum under Poisson arrivals)" + (", plus write-through fills" if write_rate > 0
                                                                         else "")
    if rate <= 0:
        return HitModel(0.0, math.inf, 0.0, how)
    if ttl_back <= ttl_front:
        lookups = counts * lam / (1.0 + lam * ttl_front)
        total = float(np.sum(lookups))
        return HitModel(float(np.sum(lookups * filled) / total) if total > 0 else 0.0, math.inf,
                        float(np.sum(counts * filled)), how)
    k_max = int(math.ceil(ttl_back / ttl_front)) - 1 if ttl_front > 0 else 0
    if ttl_front <= 0 or k_max <= 0:
        return hit_ratio(rate, n_keys, skew, ttl=ttl_back)
    # Expected front misses within ttl_back of a fill: the renewal function of gaps ttl_front + Exp(lambda).
    mean_gap = ttl_front + 1.0 / lam
    n_eff = ttl_back / mean_gap
    m = np.empty_like(lam)
    many = n_eff > 30
    # Many renewals: the renewal theorem's two-term expansion t/mu + (sigma^2 - mu^2) / (2 mu^2).
    m[many] = (n_eff[many] + ((1.0 / lam[many]) ** 2 - mean_gap[many] ** 2) / (2 * mean_gap[many] ** 2))
    few = ~many
    if few.any():
        top = int(min(k_max, math.ceil(float(n_eff[few].max()) + 8 * math.sqrt(float(n_eff[few].max())) + 10)))
        ks = np.arange(1, top + 1, dtype=np.float64)
        x = lam[few][:, None] * (ttl_back - ks[None, :] * ttl_front)
        m[few] = np.where(x > 0, _gamma_cdf(ks[None, :], x), 0.0).sum(axis=1)
    m = np.maximum(m, 0.0)
    h = 1.0 - (1.0 - m / (1.0 + m)) * (1.0 - filled)
    lookups = counts * lam / (1.0 + lam * ttl_front)
    total = float(np.sum(lookups))
    return HitModel(float(np.sum(lookups * h) / total) if total > 0 else 0.0, math.inf, float(np.sum(counts * h)), how)


def cold_window_hit_ratios(popularity, requests: int, read_share: float = 1.0) -> dict[str, float]:
    """Expected hit ratios over ``requests`` requests that start with empty caches and end before any
    entry expires or is evicted (a run of a few seconds against TTLs of minutes).

    Each request touches key ``k`` with probability ``popularity[k]`` and reads with probability
    ``read_share`` (else it writes). Per key, with ``A = 1 - (1 - r p)^n`` (read at least once)
    and ``B = 1 - (1 - p)^n`` (touched at least once):

    * ``front``: a cache filled by read misses only (the stage cache, a CloudFront edge; writes
      neither fill nor invalidate it): it misses once per key read, ``1 - sum A / (r n)``.
    * ``write_through``: a cache filled by read misses and by writes (the DAX item cache): it misses
      only when a key's first touch is a read, ``1 - sum r B / (r n)``.
    * ``behind_front``: the write-through cache behind the front one sees each key's first read
      and hits when a write came before it, ``sum (A - r B) / sum A``.
    """
    p = np.asarray(popularity, dtype=np.float64)
    n, r = float(requests), float(read_share)
    reads = r * n
    if reads <= 0:
        return {"front": 0.0, "write_through": 0.0, "behind_front": 0.0}
    read_once = 1.0 - (1.0 - r * p) ** n
    touched = 1.0 - (1.0 - p) ** n
    first_reads = float(read_once.sum())
    return {"front": 1.0 - first_reads / reads,
            "write_through": 1.0 - float((r * touched).sum()) / reads,
            "behind_front": float((read_once - r * touched).sum()) / first_reads if first_reads else 0.0}


def monte_carlo_stacked(rate: float, n_keys: int, skew: float, ttl_front: float, ttl_back: float,
                        n_requests: int, *, warmup: float = 0.3, seed: int = 7) -> tuple[float, float]:
    """Simulated hit ratios (front, back) of two TTL caches in series, request by request."""
    rng = np.random.default_rng(seed)
    times, keys = _requests(rate, n_keys, skew, n_requests, rng)
    front: dict[int, float] = {}
    back: dict[int, float] = {}
    skip = int(warmup * n_requests)
    f_hits = b_hits = b_lookups = 0
    for i, (now, key) in enumerate(zip(times.tolist(), keys.tolist(), strict=True)):
        stamp = front.get(key)
        if stamp is not None and now - stamp < ttl_front:
            f_hits += i >= skip
            continue
        front[key] = now
        stamp = back.get(key)
        b_lookups += i >= skip
        if stamp is not None and now - stamp < ttl_back:
            b_hits += i >= skip
        else:
            back[key] = now
    return f_hits / (n_requests - skip), (b_hits / b_lookups if b_lookups else 0.0)


# -- Monte Carlo ---------------------------------------------------------------------------------
def _requests(rate: float, n_keys: int, skew: float, n: int, rng: np.random.Generator):
    ranks = np.arange(1, n_keys + 1, dtype=np.float64)
    cdf = np.cumsum(ranks ** -skew)
    cdf /= cdf[-1]
    keys = np.searchsorted(cdf, rng.random(n), side="right").astype(np.int64)
    keys = np.minimum(keys, n_keys - 1)
    times = np.cumsum(rng.exponential(1.0 / rate, n))
    return times, keys


def monte_carlo_ttl(rate: float, n_keys: int, skew: float, ttl: float, n_requests: int, *,
                    warmup_s: float | None = None, seed: int = 7) -> float:
    """Simulated hit ratio of a TTL cache without a size limit (vectorised, exact semantics)."""
    rng = np.random.default_rng(seed)
    times, keys = _requests(rate, n_keys, skew, n_requests, rng)
    order = np.lexsort((times, keys))
    t, k = times[order], keys[order]
    width = float(times[-1]) + 2 * ttl + 1.0
    combined = k * width + t
    nxt = np.searchsorted(combined, combined + ttl, side="left")
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    miss = np.zeros(len(t), dtype=bool)
    frontier = starts
    while frontier.size:
        miss[frontier] = True
        cand = nxt[frontier]
        ok = cand < len(t)
        cand, src = cand[ok], frontier[ok]
        frontier = cand[k[cand] == k[src]]
    warm = t > (warmup_s if warmup_s is not None else min(2 * ttl, 0.3 * float(times[-1])))
    return float(1.0 - miss[warm].mean())


def monte_carlo_lru(rate: float, n_keys: int, skew: float, capacity: int, n_requests: int, *,
                    ttl: float = math.inf, warmup: float = 0.3, seed: int = 7) -> float:
    """Simulated hit ratio of an LRU cache of ``capacity`` entries whose entries expire ``ttl`` s after insertion."""
    rng = np.random.default_rng(seed)
    times, keys = _requests(rate, n_keys, skew, n_requests, rng)
    cache: OrderedDict[int, float] = OrderedDict()
    expiries: list[tuple[float, int, float]] = []
    finite = not math.isinf(ttl)
    skip = int(warmup * n_requests)
    hits = 0
    tl, kl = times.tolist(), keys.tolist()
    for i in range(n_requests):
        now, key = tl[i], kl[i]
        if finite:
            while expiries and expiries[0][0] <= now:
                _, old, stamp = heapq.heappop(expiries)
                if cache.get(old) == stamp:
                    del cache[old]
        if key in cache:
            cache.move_to_end(key)
            if i >= skip:
                hits += 1
            continue
        cache[key] = now
        if finite:
            heapq.heappush(expiries, (now + ttl, key, now))
        if len(cache) > capacity:
            cache.popitem(last=False)
    return hits / (n_requests - skip)


__all__ = ["zipf_bins", "hit_ratio", "HitModel", "stacked_ttl_hit_ratio", "monte_carlo_ttl", "monte_carlo_lru",
           "monte_carlo_stacked"]
