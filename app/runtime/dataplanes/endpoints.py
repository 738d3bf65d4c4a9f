"""Emulated data planes that a Lambda handler reaches by endpoint, as it would on AWS.

A handler that uses DAX on AWS is configured with the cluster's endpoint (an
environment variable) and builds a DAX client for it. Here the cluster is a
:class:`~app.runtime.dataplanes.dax.DaxClient` owned by one runtime session, so the
endpoint must resolve to *that session's* object: :func:`bind` registers it for the
session's :class:`~app.runtime.clients.Clients`, and :func:`lookup`, called inside an
invocation, finds it through the clients bound to the invocation. Another session's
handler asking for the same endpoint string gets nothing: endpoints never leak
across accounts.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any

from app.runtime.clients import Clients, current_clients

_lock = threading.Lock()
_bound: "weakref.WeakKeyDictionary[Clients, dict[str, Any]]" = weakref.WeakKeyDictionary()


def bind(clients: Clients, endpoint: str, component: Any) -> None:
    """Make ``component`` the data plane behind ``endpoint`` for handlers running with ``clients``."""
    with _lock:
        _bound.setdefault(clients, {})[endpoint] = component


def unbind(clients: Clients, endpoint: str | None = None) -> None:
    """Forget one endpoint (or all of them) of these clients."""
    with _lock:
        found = _bound.get(clients)
        if found is None:
            return
        if endpoint is None:
            found.clear()
        else:
            found.pop(endpoint, None)


def lookup(endpoint: str) -> Any:
    """The component bound to ``endpoint`` for the invocation running now; LookupError if none."""
    clients = current_clients()
    with _lock:
        found = _bound.get(clients, {}).get(endpoint) if clients is not None else None
    if found is None:
        raise LookupError(f"no emulated data plane at {endpoint!r} for this run: "
                          "bind it to the run's clients with app.runtime.dataplanes.endpoints.bind")
    return found
