"""ElastiCache's data plane (Redis OSS or Valkey engines): a real Redis-protocol server when ``REDIS_URL`` is set, else an
in-process emulation.

moto creates cache clusters but serves no Redis protocol. :func:`connect` gives a client
with ``get``, ``set(key, value, ex=seconds)``, ``delete`` and ``stats()`` (hits, misses):

- with ``REDIS_URL`` (``redis://host:port/db``) set, :class:`RedisClient` speaks RESP to that
  server over a socket (hits and misses are counted by this client, from the replies);
- otherwise :class:`EmulatedRedis` keeps strings in memory with per-key TTLs judged by the
  run's clock, counting hits, misses and expirations; it is labelled ``emulated``.

Differences from AWS (emulation): one node, no replication or failover, no memory limit or
eviction policy, only the string commands above; no network latency is added.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable
from urllib.parse import urlparse

from app.runtime.trace import Trace


class _Counting:
    label = ""

    def _count(self, hit: bool) -> None:
        self.counters["hits" if hit else "misses"] += 1

    def stats(self) -> dict:
        return {**self.counters, "data_plane": self.label}


class EmulatedRedis(_Counting):
    label = "emulated in-process (strings with TTLs)"

    def __init__(self, *, clock: Callable[[], float] = time.time, trace: Trace | None = None, name: str = "redis"):
        self.clock = clock
        self.trace = trace if trace is not None else Trace()
        self.name = name
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()
        self.counters = {"hits": 0, "misses": 0, "sets": 0, "expirations": 0}

    def get(self, key: str) -> bytes | None:
        with self.trace.span("elasticache", "GET", self.name) as span, self._lock:
            value, expires = self._data.get(key, (None, None))
            if value is not None and expires is not None and self.clock() >= expires:
                del self._data[key]
                self.counters["expirations"] += 1
                value = None
            self._count(value is not None)
            span.cache = "hit" if value is not None else "miss"
            span.payload_bytes = len(value or b"")
            return value

    def set(self, key: str, value: bytes | str, ex: float | None = None) -> bool:
        data = value.encode() if isinstance(value, str) else value
        with self.trace.span("elasticache", "SET", self.name, payload_bytes=len(data)), self._lock:
            self._data[key] = (data, self.clock() + ex if ex else None)
            self.counters["sets"] += 1
        return True

    def delete(self, key: str) -> int:
        with self._lock:
            return 1 if self._data.pop(key, None) is not None else 0


class RedisClient(_Counting):
    """A minimal RESP client (GET, SET EX, DEL) for a real Redis-protocol server."""

    def __init__(self, url: str, *, trace: Trace | None = None, name: str = "redis") -> None:
        u = urlparse(url)
        self.label = f"Redis-protocol server at {u.hostname}:{u.port or 6379}"
        self.trace = trace if trace is not None else Trace()
        self.name = name
        self._sock = socket.create_connection((u.hostname, u.port or 6379), timeout=5)
        self._file = self._sock.makefile("rb")
        self._lock = threading.Lock()
        self.counters = {"hits": 0, "misses": 0, "sets": 0, "expirations": 0}
        db = (u.path or "/0").strip("/") or "0"
        if u.password:
            self._call("AUTH", u.password)
        if db != "0":
            self._call("SELECT", db)

    def _call(self, *args):
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        out = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with self._lock:
            self._sock.sendall(out)
            return self._reply()

    def _reply(self):
        line = self._file.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(f"Redis error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._file.read(n + 2)[:-2]
            return data
        raise RuntimeError(f"unexpected Redis reply {line!r}")

    def get(self, key: str) -> bytes | None:
        with self.trace.span("elasticache", "GET", self.name) as span:
            value = self._call("GET", key)
            self._count(value is not None)
            span.cache = "hit" if value is not None else "miss"
        return value

    def set(self, key: str, value: bytes | str, ex: float | None = None) -> bool:
        with self.trace.span("elasticache", "SET", self.name):
            args = ["SET", key, value] + (["EX", int(ex)] if ex else [])
            self.counters["sets"] += 1
            return self._call(*args) == "OK"

    def delete(self, key: str) -> int:
        return self._call("DEL", key)

    def close(self) -> None:
        self._sock.close()


def connect(*, clock: Callable[[], float] = time.time, trace: Trace | None = None, name: str = "redis"):
    """A real Redis-protocol client when ``REDIS_URL`` is set, else the in-process emulation."""
    url = os.environ.get("REDIS_URL")
    if url:
        return RedisClient(url, trace=trace, name=name)
    return EmulatedRedis(clock=clock, trace=trace, name=name)
