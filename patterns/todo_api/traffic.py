"""A traffic mix for the todo API: which todo each request touches, and whether it reads or writes.

Popularity follows a Zipf law: the todo of rank k is requested with probability
proportional to 1 / k**skew. Skew 0 is uniform; around 1 a few todos take most of
the traffic (what caches thrive on). The mix is drawn from a seeded generator so
a run can be repeated exactly; the requests themselves are executed for real.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_REQUESTS = 500
DEFAULT_ITEMS = 40
DEFAULT_SKEW = 1.1
DEFAULT_READ_RATIO = 0.9
SEED = 20261127


@dataclass(frozen=True)
class Workload:
    requests: int = DEFAULT_REQUESTS
    items: int = DEFAULT_ITEMS
    skew: float = DEFAULT_SKEW
    read_ratio: float = DEFAULT_READ_RATIO
    seed: int = SEED

    def __post_init__(self) -> None:
        if not 1 <= self.requests <= 20_000:
            raise ValueError(f"requests={self.requests} is out of range: use 1 to 20000")
        if not 1 <= self.items <= 1_000:
            raise ValueError(f"items={self.items} is out of range: use 1 to 1000")
        if not 0 <= self.skew <= 3:
            raise ValueError(f"skew={self.skew} is out of range: use 0 to 3")
        if not 0 <= self.read_ratio <= 1:
            raise ValueError(f"read_ratio={self.read_ratio} is out of range: use 0 to 1")

    def popularity(self) -> np.ndarray:
        """Probability of each item, most popular first."""
        weights = 1.0 / np.arange(1, self.items + 1) ** self.skew
        return weights / weights.sum()

    def draw(self) -> list[tuple[str, int]]:
        """``requests`` pairs of (``"read"`` or ``"write"``, item index)."""
        rng = np.random.default_rng(self.seed)
        picks = rng.choice(self.items, size=self.requests, p=self.popularity())
        reads = rng.random(self.requests) < self.read_ratio
        return [("read" if r else "write", int(i)) for r, i in zip(reads, picks, strict=True)]

    def describe(self) -> dict:
        return {"requests": self.requests, "items": self.items, "skew": self.skew,
                "read_ratio": self.read_ratio, "seed": self.seed}


def hit_ratio(hits: int, misses: int) -> float | None:
    return round(hits / (hits + misses), 4) if hits + misses else None


def summarize(workload: Workload, *, reads: int, writes: int, statuses: dict[int, int], invocations: int,
              elapsed_ms: float, api_cache: tuple[int, int] | None, dax: tuple[int, int] | None) -> dict:
    """What a traffic run measured: counts, statuses, Lambda invocations and each cache's (hits, misses)."""
    summary: dict = {"workload": workload.describe(), "reads": reads, "writes": writes, "statuses": statuses,
                     "lambda_invocations": invocations, "measured_ms_total": round(elapsed_ms, 1),
                     "measured_ms_per_request": round(elapsed_ms / max(1, reads + writes), 3)}
    for name, counted in (("api_cache", api_cache), ("dax", dax)):
        if counted is not None:
            summary[name] = {"hits": counted[0], "misses": counted[1], "hit_ratio": hit_ratio(*counted)}
    return summary
