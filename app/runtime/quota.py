"""What each session's account has stored in the embedded backend, held to the limits of
:mod:`app.core.limits`.

The counts are kept where every write lands, inside moto (S3's PutObject, which copies and
completed multipart uploads go through as well, and DynamoDB's item writes: PutItem, UpdateItem of a
new item, batch and transaction writes), so a write is counted however it arrives: an SDK call, a
pre-signed PUT over HTTP, an emulated data plane or a Lambda handler. A write that would pass a limit
is refused with ``SessionLimitExceeded`` and a message that names the limit; nothing of it is stored.
Only accounts of runtime sessions are held to limits, and an account's counts go when it is dropped.
Objects and item writes are counted as written (an overwrite counts again), an upper bound of what is
held at one time.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from app.core import limits

CODE = "SessionLimitExceeded"


@dataclass
class Usage:
    objects: int = 0
    bytes: int = 0
    items: int = 0


_lock = threading.Lock()
_usage: dict[str, Usage] = {}


def _limited(account_id: str) -> bool:
    from app.runtime.session import _accounts_in_use

    return account_id in _accounts_in_use


def usage(account_id: str) -> Usage:
    with _lock:
        found = _usage.get(account_id)
        return Usage(**vars(found)) if found else Usage()


def forget(account_id: str) -> None:
    with _lock:
        _usage.pop(account_id, None)


def _refusal(what: str, limit: limits.Limit, used: int) -> str:
    return (f"This session has reached its limit of {limit.value:,} {limit.says} in the embedded backend "
            f"({used:,} used): {what} was refused and not stored. Each press of Run starts in a fresh "
            f"account; a deployment sets the limit with {limit.env}.")


def _charge(account_id: str, what: str, *, objects: int = 0, size: int = 0, items: int = 0) -> str | None:
    """Count a write; the refusal's message instead (nothing counted) when it would pass a limit."""
    if not _limited(account_id):
        return None
    with _lock:
        used = _usage.setdefault(account_id, Usage())
        for limit, before, added in ((limits.SESSION_MAX_OBJECTS, used.objects, objects),
                                     (limits.SESSION_MAX_BYTES, used.bytes, size),
                                     (limits.SESSION_MAX_ITEMS, used.items, items)):
            if added and before + added > limit.value:
                return _refusal(what, limit, before)
        used.objects, used.bytes, used.items = used.objects + objects, used.bytes + size, used.items + items
    return None


def charge_object(account_id: str, size: int, what: str) -> str | None:
    """Count one S3 object of ``size`` bytes; the refusal's message instead when a limit would be passed."""
    return _charge(account_id, what, objects=1, size=size)


def charge_item(account_id: str, what: str) -> str | None:
    """Count one DynamoDB item write; the refusal's message instead when the limit would be passed."""
    return _charge(account_id, what, items=1)
