"""The memory both emulated caches (DAX nodes, the API Gateway stage cache) are made of.

:class:`ExpiringLru` holds entries with a size in bytes and an expiry time: a lookup
of an expired entry removes it and misses; storing beyond ``capacity_bytes`` evicts
the least recently used entries first; an entry larger than the whole capacity is
not stored. Time comes from an injectable clock. Safe to use from several threads.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


class ExpiringLru:
    def __init__(self, capacity_bytes: int, clock: Callable[[], float],
                 on_remove: Callable[[Hashable], None] | None = None) -> None:
        self.capacity_bytes = capacity_bytes
        self.clock = clock
        self.on_remove = on_remove            # told of every key that leaves, whatever the reason
        self.bytes_used = 0
        self.evictions = 0
        self.expirations = 0
        self.lock = threading.RLock()
        self._entries: OrderedDict[Hashable, tuple[float, int, Any]] = OrderedDict()  # key -> (expires, size, value)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """(True, value) for a live entry, which becomes the most recently used; else (False, None)."""
        with self.lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if entry[0] <= self.clock():
                self.remove(key)
                self.expirations += 1
                return False, None
            self._entries.move_to_end(key)
            return True, entry[2]

    def put(self, key: Hashable, value: Any, size: int, ttl_s: float) -> bool:
        """Store ``value`` for ``ttl_s`` seconds, evicting as needed; False if it exceeds the capacity."""
        with self.lock:
            self.remove(key)
            if size > self.capacity_bytes:
                return False
            self._entries[key] = (self.clock() + ttl_s, size, value)
            self.bytes_used += size
            while self.bytes_used > self.capacity_bytes:
                self.remove(next(iter(self._entries)))
                self.evictions += 1
            return True

    def remove(self, key: Hashable) -> None:
        with self.lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self.bytes_used -= entry[1]
                if self.on_remove is not None:
                    self.on_remove(key)

    def clear(self) -> None:
        with self.lock:
            for key in list(self._entries):
                self.remove(key)
