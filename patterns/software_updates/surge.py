"""Release day for the update server: how many clients start a download in each minute.

A new version ships and every installed copy checks for it within the hour: arrivals
rise to a peak a few minutes after the release and tail off. The ramp is a fixed
shape (a triangle peaking at a fifth of the window), scaled so that ``clients``
downloads start in ``minutes`` simulated minutes; the downloads themselves are real
requests. Each client asks the manifest which version is current, then fetches the
package it names.
"""
from __future__ import annotations

from dataclasses import dataclass

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1")


@dataclass(frozen=True)
class Surge:
    clients: int = 2000
    file_mb: float = 20.0
    minutes: int = 20

    def __post_init__(self) -> None:
        if not 50 <= self.clients <= 20_000:
            raise ValueError(f"clients={self.clients} is out of range: use 50 to 20000")
        if not 0.1 <= self.file_mb <= 500:
            raise ValueError(f"file_mb={self.file_mb} is out of range: use 0.1 to 500")
        if not 5 <= self.minutes <= 120:
            raise ValueError(f"minutes={self.minutes} is out of range: use 5 to 120")

    def arrivals(self) -> list[int]:
        """Downloads started in each simulated minute (they add up to ``clients``)."""
        peak = max(1, self.minutes // 5)
        weights = [(m + 1) / (peak + 1) if m < peak else max(0.0, (self.minutes - m) / (self.minutes - peak))
                   for m in range(self.minutes)]
        total = sum(weights)
        counts = [int(self.clients * w / total) for w in weights]
        counts[peak] += self.clients - sum(counts)
        return counts

    def describe(self) -> dict:
        return {"clients": self.clients, "file_mb": self.file_mb, "minutes": self.minutes}
