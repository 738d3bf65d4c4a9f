"""Small building blocks the case models share (workload parameters, cache helpers)."""
from __future__ import annotations

import math

from app.core.params import Param
from app.engine.cache import hit_ratio

USER_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1",
                "ap-southeast-2", "ap-south-1", "sa-east-1")


def requests_param(default: float, label: str = "Requests per month", lo: float = 1e5, hi: float = 1e9) -> Param:
    return Param("requests_per_month", label, "int", int(default),
                 "Requests reaching the application in a month (all kinds).", min=int(lo), max=int(hi),
                 step=100_000, unit="requests/month")


def zipf_param(default: float = 0.9) -> Param:
    return Param("zipf_skew", "Popularity skew (Zipf s)", "float", default,
                 "How concentrated requests are on popular keys: 0.5 spread out, 1.2 a few very hot keys.",
                 min=0.5, max=1.2, step=0.05, unit="")


def ttl_param(key: str, label: str, default: float, help: str, lo: float = 1, hi: float = 3600) -> Param:
    return Param(key, label, "int", int(default), help, min=int(lo), max=int(hi), step=1, unit="s")


def memory_param(default: int = 256) -> Param:
    return Param("lambda_memory_mb", "Lambda memory", "int", default,
                 "Memory of the function; also sets its CPU share (1,769 MB = one vCPU).",
                 min=128, max=1024, step=128, unit="MB")


LAMBDA_RUNTIMES = ("python3.12", "python3.13", "nodejs22.x", "java21", "dotnet8", "go (prov.al2023)",
                   "rust (prov.al2023)")


def runtime_param(default: str = "python3.12") -> Param:
    return Param("lambda_runtime", "Lambda runtime", "choice", default,
                 "Runtime of the function (x86_64, zip); sets its cold-start time (measured by lambda-perf).",
                 choices=LAMBDA_RUNTIMES)


def duration_param(default: float = 20.0) -> Param:
    return Param("lambda_duration_ms", "Lambda handler time", "float", default,
                 "Time the handler spends on its own work, not counting calls it waits for.",
                 min=1.0, max=1000.0, step=1.0, unit="ms")


def users_region_param(default: str = "us-east-1") -> Param:
    return Param("users_region", "Where the users are", "choice", default,
                 "The AWS region nearest to the users; network round trips are measured from there.",
                 choices=USER_REGIONS)


def zipf_cache(rate: float, keys: float, skew: float, ttl: float, capacity: float = math.inf):
    """A closure for Context.cache: the analytic hit ratio of a TTL (and optionally LRU) cache."""
    return lambda: hit_ratio(rate, int(keys), skew, ttl=ttl if ttl > 0 else 1e-9, capacity=capacity)


__all__ = ["runtime_param", "LAMBDA_RUNTIMES", "requests_param", "zipf_param", "ttl_param", "memory_param",
           "duration_param", "users_region_param", "zipf_cache", "USER_REGIONS"]
