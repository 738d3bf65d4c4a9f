"""Deleting a session's resources through the APIs, one table row per kind of resource.

On moto a session owns a whole account, so everything in it goes. On live AWS only
resources carrying the run's tag go (``explorer:run-id`` = the run id), or, for
``cleanup --backend live``, every resource carrying the explorer's tag key.

Each :class:`Kind` says, for one kind of resource, how to list it (pages included),
how to read its tags, and how to delete it (with whatever must go first: objects of
a bucket, mappings of a function, policies of a role). ``wanted(kind, name, tags_fn)``
says whether a resource belongs to the run; ``tags_fn()`` reads its tags only when
needed. :func:`delete_all` deletes what is wanted; :func:`inventory` lists it, and
raises :class:`InventoryIncomplete` when some kind could not be listed, because a
listing that failed says nothing about what is left. Components that create other
kinds of resources add their rows with :func:`register_kind`; the rows of the services the
runtime builds are in :mod:`.rows`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from botocore.exceptions import (ClientError, ConnectTimeoutError, EndpointConnectionError,
                                 ProxyConnectionError)

TAG_KEY = "explorer:run-id"

Wanted = Callable[[str, str, Callable[[], dict]], bool]
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)


class InventoryIncomplete(Exception):
    """Some kinds of resource could not be listed: ``found`` is what was listed, ``errors`` what was not."""

    def __init__(self, found: list[str], errors: list[str]) -> None:
        self.found, self.errors = found, errors
        super().__init__("could not list everything: " + "; ".join(errors))


@dataclass(frozen=True)
class Where:
    """What a row's functions get besides the client and the item."""

    clients: Any
    region: str

    @property
    def account_id(self) -> str:
        return self.clients.account_id


@dataclass(frozen=True)
class Kind:
    """One kind of resource.

    ``items(client, where)`` lists it; ``name(item)`` is what ``wanted`` sees and ``label(item)``
    what is reported (``"<label prefix>:<label>"``); ``tags(client, item, where)`` reads its tags
    (None: the kind takes no tags, and only a filter that takes everything, asked with
    ``kind=<kind>-untagged``, selects it); ``delete(client, item, where)`` deletes it.
    """

    service: str                     # the group ``services=`` filters by (the AWS service)
    client: str                      # boto3 client name
    items: Callable[[Any, Where], Iterable[Any]]
    name: Callable[[Any], str]
    tags: Callable[[Any, Any, Where], dict] | None
    delete: Callable[[Any, Any, Where], None]
    label: Callable[[Any], str] | None = None
    prefix: str = ""                 # label prefix, the service by default
    global_service: bool = False     # listed once, not per region
    region: str | None = None        # the region its client must use (CloudFront: us-east-1)
    # Why the embedded backend cannot delete this kind through the API (moto lacks the call); there it
    # goes when the session's account is released (app.runtime.backend.forget_account), not before.
    embedded_release: str = ""

    def report(self, item: Any) -> str:
        return f"{self.prefix or self.service}:{(self.label or self.name)(item)}"


_KINDS: list[Kind] = []


def register_kind(kind: Kind) -> None:
    """Add a row to the table (once: a second registration of an equal row is ignored)."""
    if kind not in _KINDS:
        _KINDS.append(kind)


def everything(kind: str, name: str, tags_fn) -> bool:
    return True


def tagged(run_id: str | None) -> Wanted:
    """Resources whose explorer tag equals ``run_id`` (any explorer run when None)."""
    def wanted(kind: str, name: str, tags_fn) -> bool:
        try:
            tags = tags_fn() or {}
        except ClientError:
            return False
        if run_id is None:
            return TAG_KEY in tags
        return tags.get(TAG_KEY) == run_id
    return wanted


def ignore_missing(fn, *args, **kwargs):
    """Call ``fn``; a resource that is already gone is not an error."""
    try:
        return fn(*args, **kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "NotFound" in code or "NoSuch" in code or code in ("ResourceNotFoundException",
                                                              "AWS.SimpleQueueService.NonExistentQueue"):
            return None
        raise


# -- building blocks of the rows --------------------------------------------------------------
def paged(operation: str, key: str, **params) -> Callable[[Any, Where], Iterable[Any]]:
    """Items under ``key`` of every page of a paginated list call."""
    def items(client, where):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key) or []
    return items


def listed(operation: str, *path: str) -> Callable[[Any, Where], Iterable[Any]]:
    """Items at ``path`` of the answer of a list call that has no paginator."""
    def items(client, where):
        got: Any = getattr(client, operation)()
        for step in path:
            got = (got or {}).get(step)
        return got or []
    return items


def key_values(pairs, key: str = "Key", value: str = "Value") -> dict:
    return {p[key]: p[value] for p in pairs or []}


# -- running the table ---------------------------------------------------------------------------
def _error_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code')}: {err.get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"


def _kinds(services) -> list[Kind]:
    return [k for k in list(_KINDS) if services is None or k.service in services]


def _pass(clients, regions, wanted: Wanted, dry_run: bool, services) -> tuple[list[str], list[str]]:
    """One pass over the table: (what was deleted or would be, what could not be listed or deleted)."""
    found, errors = [], []
    done_global: set[int] = set()
    for region in regions:
        unreachable: str | None = None
        for index, kind in enumerate(_kinds(services)):
            if kind.global_service:
                if index in done_global:
                    continue
                done_global.add(index)
            where_region = kind.region or region
            if unreachable is not None:
                errors.append(f"{kind.service} in {where_region}: not listed, {unreachable}")
                continue
            if kind.embedded_release and clients.endpoint_url:
                continue      # dropped with the account when the session is released
            client = clients.client(kind.client, where_region)
            where = Where(clients, where_region)
            try:
                items = list(kind.items(client, where))
            except _UNREACHABLE as exc:
                unreachable = f"the endpoint cannot be reached ({exc})"
                errors.append(f"{kind.service} in {where_region}: could not list: {_error_text(exc)}")
                continue
            except Exception as exc:  # noqa: BLE001 - list the other kinds
                errors.append(f"{kind.service} in {where_region}: could not list: {_error_text(exc)}")
                continue
            for item in items:
                name = kind.name(item)
                if kind.tags is None:
                    if not wanted(f"{kind.service}-untagged", "*", lambda: {}):
                        continue
                elif not wanted(kind.service, name, lambda kind=kind, item=item: kind.tags(client, item, where)):
                    continue
                if not dry_run:
                    try:
                        kind.delete(client, item, where)
                    except Exception as exc:  # noqa: BLE001 - keep deleting the rest
                        errors.append(f"{kind.service} in {where_region}: could not delete {kind.report(item)}: "
                                      f"{_error_text(exc)}")
                        continue
                found.append(kind.report(item))
    return found, errors


def delete_all(clients, regions, wanted: Wanted = everything, services=None) -> tuple[list[str], list[str]]:
    """Delete what ``wanted`` selects in ``regions``; returns (deleted, errors)."""
    deleted: list[str] = []
    errors: list[str] = []
    # Two passes: a resource may only be deletable once another is gone.
    for _ in range(2):
        done, errors = _pass(clients, regions, wanted, False, services)
        deleted.extend(done)
        if not errors:
            break
    return deleted, errors


def inventory(clients, regions, wanted: Wanted = everything, services=None) -> list[str]:
    """What ``wanted`` selects in ``regions`` (nothing is deleted).

    Raises :class:`InventoryIncomplete` (with what was listed and what was not) when a kind
    could not be listed."""
    found, errors = _pass(clients, regions, wanted, True, services)
    found = sorted(set(found))
    if errors:
        raise InventoryIncomplete(found, errors)
    return found


def policy_json(doc: dict) -> str:
    return json.dumps(doc)


# The rows of the table register when the package is imported (after what they are built from).
from app.runtime.teardown import rows as _rows  # noqa: E402,F401
