"""What each session's account has stored in the embedded backend, held to the limits of
:mod:`app.core.limits`.

The counts are kept where every write lands, inside moto (S3's PutObject, which copies and
completed multipart uploads go through as well, and DynamoDB's item writes: PutItem, UpdateItem of a
new item, batch and transaction writes), so a write is counted however it arrives: an SDK call, a
pre-signed PUT over HTTP, an emulated data plane or a Lambda handler. A write that would pass a limit
is refused with ``SessionLimitExceeded`` and a message that names the limit; nothing of it is stored.
Only accounts of runtime sessions are held to limits. Objects and item writes are counted as written
(an overwrite counts again), an upper bound of what is held at one time.

The counts belong to a session: every press of Run works in a fresh account, and the app's session
registry binds each of them to the visitor's session (:func:`bind`), so the runs of one session share
one count, kept until the session ends (:func:`end`). An account bound to nothing (a command-line run)
counts for itself, and its count goes when the account is dropped (:func:`forget`). Each account also
keeps how many of its writes were refused and the last refusal (:func:`refused`), so a run can say in
the step where it happened which limit stopped it, even when the refusal was met inside a function.
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
_usage: dict[str, Usage] = {}          # by session (or by account, for an account bound to none)
_session_of: dict[str, str] = {}       # account -> the session whose count it adds to
_refused: dict[str, tuple[int, str]] = {}   # account -> writes refused, the last refusal's message


def _limited(account_id: str) -> bool:
    from app.runtime.session import _accounts_in_use

    return account_id in _accounts_in_use


def bind(account_id: str, session: str) -> None:
    """Count the writes of ``account_id`` (one run) in the count of ``session``, shared by its runs."""
    with _lock:
        _session_of[account_id] = f"session:{session}"


def usage(account_id: str) -> Usage:
    """What the session of ``account_id`` (all its runs) has stored so far."""
    with _lock:
        found = _usage.get(_session_of.get(account_id, account_id))
        return Usage(**vars(found)) if found else Usage()


def refused(account_id: str) -> tuple[int, str | None]:
    """How many writes of ``account_id`` were refused, and the last refusal's message."""
    with _lock:
        count, message = _refused.get(account_id, (0, None))
        return count, message


def forget(account_id: str) -> None:
    """The account is dropped: so are its refusals, its binding and, bound to no session, its count."""
    with _lock:
        _refused.pop(account_id, None)
        if _session_of.pop(account_id, None) is None:
            _usage.pop(account_id, None)


def end(session: str) -> None:
    """The session has ended: its count goes."""
    with _lock:
        _usage.pop(f"session:{session}", None)


def _refusal(what: str, limit: limits.Limit, used: int) -> str:
    return (f"The session's limit of {limit.value:,} {limit.says} ({limit.env}) was reached: {what} was "
            f"refused and not stored ({used:,} used by this session's runs in the embedded backend; the "
            "count starts again when the session ends).")


def _charge(account_id: str, what: str, *, objects: int = 0, size: int = 0, items: int = 0) -> str | None:
    """Count a write; the refusal's message instead (nothing counted) when it would pass a limit."""
    if not _limited(account_id):
        return None
    with _lock:
        used = _usage.setdefault(_session_of.get(account_id, account_id), Usage())
        for limit, before, added in ((limits.SESSION_MAX_OBJECTS, used.objects, objects),
                                     (limits.SESSION_MAX_BYTES, used.bytes, size),
                                     (limits.SESSION_MAX_ITEMS, used.items, items)):
            if added and before + added > limit.value:
                message = _refusal(what, limit, before)
                _refused[account_id] = (_refused.get(account_id, (0, ""))[0] + 1, message)
                return message
        used.objects, used.bytes, used.items = used.objects + objects, used.bytes + size, used.items + items
    return None


def charge_object(account_id: str, size: int, what: str) -> str | None:
    """Count one S3 object of ``size`` bytes; the refusal's message instead when a limit would be passed."""
    return _charge(account_id, what, objects=1, size=size)


def charge_item(account_id: str, what: str) -> str | None:
    """Count one DynamoDB item write; the refusal's message instead when the limit would be passed."""
    return _charge(account_id, what, items=1)
