"""The price book and the latency book: numbers with their sources.

Both live as JSON under ``assets/``. A price is ``usd`` per ``per`` ``unit``
(0.2 USD per 1,000,000 requests), with how AWS bills it, its pricing page and
the evidence it was read from. A latency is a lognormal distribution fitted to
a p50 and a p90 in milliseconds; entries without a published figure carry
``assumption: true`` and are shown as such.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parents[2] / "assets"
PRICES_DIR = ASSETS / "prices"
LATENCY_FILE = ASSETS / "latency.json"
Z90 = 1.2815515655446004  # standard normal quantile of 0.9
Z99 = 2.3263478740408408


class BookError(KeyError):
    """A price or latency the books do not hold; the message lists close names."""

    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0]) if self.args else ""


def _unit_label(per: float, unit: str) -> str:
    if per == 1:
        return unit
    if per >= 1e6 and per % 1e6 == 0:
        return f"{int(per / 1e6)}M {unit}"
    if per >= 1e3 and per % 1e3 == 0:
        return f"{int(per / 1e3)}K {unit}"
    return f"{per:g} {unit}"


@dataclass(frozen=True)
class Price:
    key: str
    service: str
    item: str
    usd: float
    per: float
    unit: str
    billing: str
    source_url: str
    evidence: str
    as_of: str
    assumption: bool = False
    tiers: tuple = ()
    conflict: str = ""
    note: str = ""
    free_tier: str = ""
    plan: dict | None = None     # a flat-rate plan: name, allowances, what it includes and excludes

    @property
    def unit_label(self) -> str:
        """The unit a line item counts in, e.g. ``1M requests`` or ``GB-month``."""
        return _unit_label(self.per, self.unit)

    @property
    def source(self) -> str:
        return self.source_url

    def describe(self) -> dict:
        out = {"key": self.key, "service": self.service, "item": self.item, "usd": self.usd,
               "unit": self.unit_label, "billing": self.billing, "source_url": self.source_url,
               "evidence": self.evidence, "as_of": self.as_of, "assumption": self.assumption}
        if self.tiers:
            out["tiers"] = [dict(t) for t in self.tiers]
        if self.conflict:
            out["conflict"] = self.conflict
        if self.plan:
            out["plan"] = dict(self.plan)
        return out


@dataclass
class PriceBook:
    region: str
    prices: dict[str, Price]
    compiled: str = ""
    disagreements: list[str] = field(default_factory=list)
    path: str = ""

    def __getitem__(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            near = [k for k in self.prices if k.split(".")[0] == key.split(".")[0]] or list(self.prices)[:10]
            raise BookError(f"no price {key!r} in the {self.region} price book; known: {', '.join(near)}") from None

    def usd(self, key: str) -> float:
        return self[key].usd

    def keys(self) -> list[str]:
        return list(self.prices)

    def plans(self, prefix: str = "cloudfront.plan.") -> list[Price]:
        """The flat-rate plans under ``prefix``, cheapest first."""
        return sorted((p for k, p in self.prices.items() if k.startswith(prefix) and p.plan), key=lambda p: p.usd)


def _price_from(key: str, e: dict) -> Price:
    return Price(key=key, service=e["service"], item=e["item"], usd=float(e["usd"]), per=float(e["per"]),
                 unit=e["unit"], billing=e.get("billing", ""), source_url=e.get("source_url", ""),
                 evidence=e.get("evidence", ""), as_of=e.get("as_of", ""), assumption=bool(e.get("assumption")),
                 tiers=tuple(e.get("tiers", ())), conflict=e.get("conflict", ""), note=e.get("note", ""),
                 free_tier=e.get("free_tier_not_applied", ""), plan=e.get("plan"))


def available_regions() -> list[str]:
    return sorted(p.stem for p in PRICES_DIR.glob("*.json") if not p.stem.count("_"))


@lru_cache(maxsize=8)
def load_price_book(region: str = "us-east-1", path: str | None = None) -> PriceBook:
    """The price book of ``region``; keys it lacks fall back to us-east-1."""
    file = Path(path) if path else PRICES_DIR / f"{region}.json"
    if not file.exists():
        raise BookError(f"no price book for region {region!r}; available: {', '.join(available_regions())}")
    data = json.loads(file.read_text())
    prices = {k: _price_from(k, e) for k, e in data["prices"].items()}
    if region != "us-east-1" and path is None:
        base = load_price_book("us-east-1")
        prices = {**base.prices, **prices}
    return PriceBook(region=data.get("region", region), prices=prices, compiled=data.get("compiled", ""),
                     disagreements=list(data.get("disagreements", [])), path=str(file))


# -- latency ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dist:
    """A latency distribution in ms: lognormal from p50 and p90, or a constant when p90 == p50."""

    p50: float
    p90: float
    source: str = ""
    url: str = ""
    assumption: bool = False
    label: str = ""
    kind: str = "lognormal"   # or "uniform": uniform on [0, 2 * p50]

    @cached_property
    def mu(self) -> float:
        return math.log(self.p50) if self.p50 > 0 else -math.inf

    @cached_property
    def sigma(self) -> float:
        if self.p50 <= 0 or self.p90 <= self.p50:
            return 0.0
        return (math.log(self.p90) - math.log(self.p50)) / Z90

    def quantile(self, q: float) -> float:
        from statistics import NormalDist
        if self.kind == "uniform":
            return 2 * self.p50 * q
        if self.p50 <= 0:
            return 0.0
        return math.exp(self.mu + self.sigma * NormalDist().inv_cdf(q))

    @cached_property
    def mean(self) -> float:
        if self.kind == "uniform":
            return self.p50
        return 0.0 if self.p50 <= 0 else math.exp(self.mu + self.sigma ** 2 / 2)

    def scaled(self, factor: float, label: str | None = None) -> Dist:
        return Dist(self.p50 * factor, self.p90 * factor, self.source, self.url, self.assumption, label or self.label,
                    self.kind)

    def plus(self, ms: float, label: str | None = None) -> Dist:
        """Shifted by a constant (approximately: both quantiles move by ``ms``)."""
        return Dist(self.p50 + ms, self.p90 + ms, self.source, self.url, self.assumption, label or self.label)

    def sample(self, rng, n: int):
        import numpy as np
        if self.p50 <= 0:
            return np.zeros(n, dtype=np.float32)
        if self.kind == "uniform":
            x = rng.random(n, dtype=np.float32)
            x *= np.float32(2 * self.p50)
            return x
        if self.sigma == 0:
            return np.full(n, self.p50, dtype=np.float32)
        z = rng.standard_normal(n, dtype=np.float32)
        z *= np.float32(self.sigma)
        z += np.float32(self.mu)
        return np.exp(z, out=z)

    def describe(self) -> dict:
        return {"p50": round(self.p50, 3), "p90": round(self.p90, 3), "source": self.source, "url": self.url,
                "assumption": self.assumption}


def uniform(upper_ms: float, source: str, *, url: str = "", assumption: bool = False, label: str = "") -> Dist:
    """Uniform on [0, upper_ms]: a record waiting for a buffer that flushes every ``upper_ms``."""
    return Dist(upper_ms / 2, upper_ms * 0.9, source, url, assumption, label, "uniform")


def const(ms: float, source: str, *, url: str = "", assumption: bool = False, label: str = "") -> Dist:
    return Dist(ms, ms, source, url, assumption, label)


@dataclass
class LatencyBook:
    data: dict[str, Any]
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def op(self, key: str) -> Dist:
        hit = self._memo.get(("op", key))
        if hit is not None:
            return hit
        ops = self.data["operations"]
        if key not in ops:
            raise BookError(f"no latency for {key!r}; known: {', '.join(ops)}")
        e = ops[key]
        d = Dist(float(e["p50"]), float(e["p90"]), e.get("source", ""), e.get("url", ""),
                 bool(e.get("assumption")), key)
        self._memo[("op", key)] = d
        return d

    @property
    def regions(self) -> list[str]:
        return list(self.data["inter_region_rtt"]["p50"])

    @property
    def users(self) -> dict[str, dict]:
        return self.data["users"]

    def rtt(self, a: str, b: str) -> Dist:
        """Round trip between two AWS regions (cloudping p50/p90)."""
        m = self.data["inter_region_rtt"]
        try:
            p50, p90 = m["p50"][a][b], m["p90"][a][b]
        except KeyError:
            raise BookError(f"no round trip between {a!r} and {b!r}; regions: {', '.join(self.regions)}") from None
        return Dist(float(p50), max(float(p90), float(p50)), m["source"], m["url"], False, f"RTT {a} - {b}")

    def user_to_edge(self) -> Dist:
        e = self.data["user_to_edge"]
        return Dist(float(e["p50"]), float(e["p90"]), e["source"], "", True, "user - edge")

    def user_to_region(self, user_region: str, region: str) -> Dist:
        """A user near ``user_region`` reaching ``region``: the last mile plus the inter-region round trip.

        Percentiles of a sum are not sums of percentiles; the p90s are combined as the square root
        of the sum of squared excesses over the p50s, which is exact for independent normal parts and
        close for these mildly skewed ones.
        """
        edge = self.user_to_edge()
        if user_region == region:
            inside = self.rtt(region, region)
            return Dist(edge.p50 + inside.p50, edge.p90 + inside.p90 - inside.p50,
                        f"{edge.source}; plus the round trip inside {region} ({inside.source})", inside.url, True,
                        f"user {user_region} - {region}")
        net = self.rtt(user_region, region)
        p50 = edge.p50 + net.p50
        p90 = p50 + math.hypot(edge.p90 - edge.p50, net.p90 - net.p50)
        return Dist(p50, p90, f"{net.source}; plus the last-mile assumption (no published figure) from the user to "
                    f"the AWS network near {user_region}", net.url, False, f"user {user_region} - {region}")

    def cold_start(self, runtime: str = "python3.12", arch: str = "x86_64", memory_mb: int = 256,
                   package: str = "zip") -> Dist:
        memo_key = ("cold", runtime, arch, memory_mb, package)
        if memo_key in self._memo:
            return self._memo[memo_key]
        table = self.data["lambda_cold_start"]
        runtimes = table["runtimes"]
        sizes = sorted({int(k.split("|")[3]) for k in runtimes if k.startswith(f"{runtime}|{arch}|{package}|")})
        if not sizes:
            names = sorted({k.split("|")[0] for k in runtimes})
            raise BookError(f"no cold-start data for {runtime} {arch} {package}; runtimes: {', '.join(names)}")
        size = min(sizes, key=lambda s: (abs(s - memory_mb), s))
        e = runtimes[f"{runtime}|{arch}|{package}|{size}"]
        d = Dist(float(e["p50"]), float(e["p90"]), f"{table['source']} ({runtime}, {arch}, {size} MB, "
                 f"{table['as_of']})", table["url"], False, "cold start")
        self._memo[memo_key] = d
        return d

    @property
    def cold_start_model(self) -> dict:
        return self.data["cold_start_model"]

    def value(self, key: str) -> dict:
        return self.data[key]


@lru_cache(maxsize=2)
def load_latency_book(path: str | None = None) -> LatencyBook:
    return LatencyBook(json.loads(Path(path or LATENCY_FILE).read_text()))


__all__ = ["Price", "PriceBook", "Dist", "LatencyBook", "BookError", "load_price_book", "load_latency_book",
           "const", "uniform", "available_regions"]
