"""The app's own limits for a demo that many strangers share, in one place (not AWS's: those are in
:mod:`app.core.facts`). Each can be set for a deployment through its environment variable.

- what one session's runs may store in the embedded backend, together: objects, bytes and DynamoDB
  item writes (a Run press works in a fresh account; the count covers all the session's runs);
- how long a session may stay idle before its account is dropped.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    key: str
    env: str
    default: int
    unit: str
    says: str          # what is counted, in words

    @property
    def value(self) -> int:
        """The deployment's value (its environment variable, a whole number above 0) or the default."""
        raw = os.environ.get(self.env, "").strip()
        try:
            value = int(raw) if raw else self.default
        except ValueError:
            raise ValueError(f"{self.env} must be a whole number of {self.unit}, not {raw[:40]!r}") from None
        if value < 1:
            raise ValueError(f"{self.env} must be at least 1, not {value}")
        return value


# Sized from the largest runs the pages allow (IoT analytics with 20 devices at 12 messages a minute for
# 20 minutes a day, MyTodoList's 2,000-request traffic run, a 5 MB upload) with room to spare.
SESSION_MAX_OBJECTS = Limit("session_max_objects", "EXPLORER_SESSION_MAX_OBJECTS", 2_000, "objects",
                            "S3 objects")
SESSION_MAX_BYTES = Limit("session_max_bytes", "EXPLORER_SESSION_MAX_BYTES", 256 * 1024 * 1024, "bytes",
                          "bytes of S3 objects")
SESSION_MAX_ITEMS = Limit("session_max_items", "EXPLORER_SESSION_MAX_ITEMS", 20_000, "items",
                          "DynamoDB item writes")
SESSION_IDLE_S = Limit("session_idle_s", "EXPLORER_SESSION_IDLE_S", 1_800, "s",
                       "seconds idle before a session's account is dropped")


def all_limits() -> list[Limit]:
    return [SESSION_MAX_OBJECTS, SESSION_MAX_BYTES, SESSION_MAX_ITEMS, SESSION_IDLE_S]
