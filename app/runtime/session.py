"""A runtime session: one account, one trace, its functions and event routing.

One :class:`RuntimeSession` per app session or CLI run::

    session = RuntimeSession.moto()              # own 12-digit account on the shared server
    s3 = session.clients.client("s3")
    bucket = session.name("uploads")             # per-session resource name (S3 names are global)
    s3.create_bucket(Bucket=bucket)
    session.lambdas.deploy("thumbs", handler="app.runtime.testpipelines.handlers.on_upload")
    session.routing.s3_to_lambda(bucket, "thumbs")
    s3.put_object(Bucket=bucket, Key="a b.txt", Body=b"x")   # the handler has run when this returns
    session.teardown()                           # deletes this account's resources only

On moto the session assumes a role into its own account (``sts:AssumeRole`` into
``arn:aws:iam::<account>:role/explorer-session``), so it cannot see or change other
sessions' resources; S3 bucket names are global even so, hence :meth:`name`.
In live mode (:mod:`app.runtime.live`) the clients carry the user's credentials,
every resource is tagged with the run id and teardown deletes only what carries it.

:class:`SessionRegistry` keeps the sessions of an app process and tears down those
idle for longer than their limit (checked whenever a session is opened, no timer). The runs
of one key (an app session: each press of Run works in a fresh account) share one count of
what they store, held to the session limits of :mod:`app.runtime.quota`; the count ends with
the key (:meth:`SessionRegistry.end`, or idle as long as the limit).
"""
from __future__ import annotations

import random
import re
import threading
import time
import uuid
from functools import cached_property
from typing import Any, Callable

from app.runtime import teardown as td
from app.runtime.clients import DEFAULT_REGION, MOTO_KEY, Call, Clients
from app.runtime.lambdas import Lambdas
from app.runtime.trace import Trace

_SES_VERIFY = {"VerifyEmailIdentity": "EmailAddress", "VerifyEmailAddress": "EmailAddress",
               "VerifyDomainIdentity": "Domain"}
_accounts_lock = threading.Lock()
_accounts_in_use: set[str] = set()


def new_account_id() -> str:
    """A fresh 12-digit account id not used by another session of this process."""
    with _accounts_lock:
        while True:
            acct = str(random.SystemRandom().randint(10**11, 10**12 - 1))
            if acct != "123456789012" and acct not in _accounts_in_use:
                _accounts_in_use.add(acct)
                return acct


def _release_account(acct: str) -> None:
    """Give a torn-down moto account back: its leftover state in moto is dropped (ids are not reused)."""
    from app.runtime.backend import forget_account

    forget_account(acct)
    with _accounts_lock:
        _accounts_in_use.discard(acct)


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


class RuntimeSession:
    """See the module docstring. Build with :meth:`moto` or :func:`app.runtime.live.live_session`."""

    def __init__(self, *, clients: Clients, backend: str, run_id: str, local_lambdas: bool,
                 teardown_filter: td.Wanted, inbox=None) -> None:
        self.clients = clients
        self.backend = backend
        self.run_id = run_id
        self.account_id = clients.account_id
        self.region = clients.region
        self.prefix = f"sx{run_id[:8]}"
        self.tags = {td.TAG_KEY: run_id}
        if not clients.tags:
            clients.tags = dict(self.tags)     # every create call of the session is tagged with the run id
        self.trace = Trace()
        self.artifacts: dict[str, Any] = {}
        self.created = time.time()
        self.last_used = time.time()
        self.closed = False
        self._base_filter = teardown_filter
        self._services_used: set[str] = set()
        self._owned_identities: set[str] = set()   # SES identities carry no tags: remembered instead
        self._regions: set[str] = {clients.region}
        self._inbox = inbox
        self.faults = None      # the injected faults of the run in progress (app.runtime.faults.FaultRegistry)
        self.lambdas = Lambdas(clients=clients, trace=self.trace, name=self.name, tags=self.tags,
                               local=local_lambdas)
        from app.runtime.routing import Router

        self.routing = Router(self)
        clients.observe(self._on_call)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def moto(cls, region: str = DEFAULT_REGION, account_id: str | None = None,
             run_id: str | None = None) -> "RuntimeSession":
        """A session in a fresh account on the process's moto server."""
        from app.runtime.backend import get_backend

        backend = get_backend()
        acct = account_id or new_account_id()
        run_id = run_id or new_run_id()
        sts = _moto_sts(backend.endpoint_url, region)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/explorer-session",
                                RoleSessionName=f"run-{run_id}")["Credentials"]
        clients = Clients(account_id=acct, region=region, access_key=creds["AccessKeyId"],
                          secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"],
                          endpoint_url=backend.endpoint_url, pin_account=True)
        return cls(clients=clients, backend="moto", run_id=run_id, local_lambdas=True,
                   teardown_filter=td.everything, inbox=backend.inbox)

    # -- injected faults --------------------------------------------------------------
    def install_faults(self, registry) -> None:
        """Let ``registry`` fail this session's Lambda invocations and API calls (until :meth:`remove_faults`)."""
        if self.backend != "moto":
            raise ValueError("faults are injected on the embedded backend only")
        self.faults = registry
        self.lambdas.faults = registry
        self.clients.add_fault_hook(registry.call_fault)

    def remove_faults(self) -> None:
        if self.faults is not None:
            self.clients.remove_fault_hook(self.faults.call_fault)
        self.faults = None
        self.lambdas.faults = None

    # -- names ----------------------------------------------------------------------
    def name(self, base: str) -> str:
        """``base`` as this session's resource name: lower case, prefixed, at most 63 characters."""
        clean = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-") or "r"
        return f"{self.prefix}-{clean}"[:63].rstrip("-")

    def touch(self) -> None:
        self.last_used = time.time()

    def use_region(self, region: str) -> Clients:
        """Clients for another region of the same account (its resources are torn down too)."""
        self._regions.add(region)
        return self.clients.derive(region)

    def lambdas_in(self, region: str) -> Lambdas:
        """Functions deployed in another region of this account, named apart from the home region's."""
        return Lambdas(clients=self.use_region(region), trace=self.trace, tags=self.tags,
                       name=lambda base: self.name(f"{region}-{base}"))

    @cached_property
    def streaming(self):
        """Kinesis, Firehose, IoT rules, global tables and Athena emulations for this session
        (:class:`app.runtime.streaming.wiring.StreamingServices`)."""
        from app.runtime.streaming.wiring import StreamingServices

        return StreamingServices(self)

    @cached_property
    def dataplanes(self):
        """DAX, API Gateway invocation, CloudFront edge and Cognito identity pool emulations for this
        session (:class:`app.runtime.dataplanes.wiring.DataPlanes`)."""
        from app.runtime.dataplanes.wiring import DataPlanes

        return DataPlanes(self)

    # -- call observer: spans and event routing ---------------------------------------
    def _teardown_filter(self, kind: str, name: str, tags_fn) -> bool:
        if kind == "ses" and name in self._owned_identities:
            return True
        return self._base_filter(kind, name, tags_fn)

    def _on_call(self, call: Call) -> None:
        if call.service == "ses" and not call.error and call.operation in _SES_VERIFY:
            self._owned_identities.add(call.params.get(_SES_VERIFY[call.operation], ""))
        self._regions.add(call.region)
        self._services_used.add(call.service)
        self.last_used = time.time()
        if not call.answered_locally:      # an in-process Invoke records its own, richer span
            self.trace.add(_call_span(self.trace, call))
        self.routing.after_call(call)

    # -- inventory and teardown ---------------------------------------------------------
    @property
    def regions(self) -> list[str]:
        return sorted(self._regions)

    @property
    def services_used(self) -> set[str]:
        """Services this session has called (only they can hold its resources)."""
        used = set(self._services_used)
        if "lambda" in used:
            used |= {"logs", "iam"}
        return used

    def inventory(self, services=None, everywhere: bool = False) -> list[str]:
        """What this session's account (or, live, its run tag) still holds, read from the backend:
        in the services it used, or in every service the teardown knows when ``everywhere``."""
        if services is None and not everywhere:
            services = self.services_used
        return td.inventory(self.clients, self.regions, self._teardown_filter, services)

    def teardown(self) -> dict[str, list[str]]:
        """Delete this session's resources through the APIs; returns ``{"deleted", "errors"}``."""
        self.routing.stop()
        try:
            self.lambdas.flush_logs()
        except Exception:  # noqa: BLE001 - logs of a broken run must not stop its teardown
            pass
        if "streaming" in self.__dict__:
            self.streaming.stop()
        with self.trace.in_step(self.trace.current_step or "teardown"):
            deleted, errors = td.delete_all(self.clients, self.regions, self._teardown_filter,
                                            self.services_used)
        if self._inbox is not None:
            self._inbox.forget(self.account_id)
        self.closed = True
        return {"deleted": deleted, "errors": errors}

    def close(self) -> dict[str, list[str]]:
        """Tear down (unless already done) and give the account id back."""
        report = {"deleted": [], "errors": []} if self.closed else self.teardown()
        if self.backend == "moto":
            _release_account(self.account_id)
        return report

    def __enter__(self) -> "RuntimeSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RuntimeSession(backend={self.backend!r}, account_id={self.account_id!r}, run_id={self.run_id!r})"


_sts_clients: dict[tuple[str, str], Any] = {}


def _moto_sts(endpoint_url: str, region: str):
    """The STS client sessions use to assume a role into their account (made once)."""
    key = (endpoint_url, region)
    if key not in _sts_clients:
        _sts_clients[key] = Clients(account_id="", region=region, access_key=MOTO_KEY, secret_key=MOTO_KEY,
                                    endpoint_url=endpoint_url).client("sts")
    return _sts_clients[key]


def _call_span(trace: Trace, call: Call):
    from app.runtime.trace import Span

    from app.runtime.units import call_units

    units, basis = call_units(call)
    span = Span(service=call.service, operation=call.operation, resource=call.resource, step=trace.current_step,
                start_ms=(call.start - trace._t0) * 1000, measured_ms=call.measured_ms,
                status="error" if call.error else "ok",
                payload_bytes=call.request_bytes + call.response_bytes, request_units=units)
    if basis:
        span.detail["units_basis"] = basis
    if call.error:
        span.detail["error"] = call.error
    if call.region:
        span.detail["region"] = call.region
    return span


class SessionRegistry:
    """The sessions of one app process, by key; idle ones are torn down."""

    def __init__(self, idle_s: float | None = None, factory: Callable[[], RuntimeSession] | None = None) -> None:
        from app.core.limits import SESSION_IDLE_S

        self.idle_s = SESSION_IDLE_S.value if idle_s is None else idle_s
        self._factory = factory or RuntimeSession.moto
        self._sessions: dict[str, RuntimeSession] = {}
        self._lock = threading.Lock()
        self._runs: dict[str, threading.Lock] = {}     # one run in flight per key
        self._counted: dict[str, float] = {}           # keys whose runs share a quota count -> last opened

    # -- one run at a time per key: a second press of Run must not share the first one's account --
    def _run_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._runs.setdefault(key, threading.Lock())

    def claim_run(self, key: str) -> bool:
        """True when no run of ``key`` is in flight (the caller now holds it until :meth:`release_run`)."""
        with self._lock:
            return self._runs.setdefault(key, threading.Lock()).acquire(blocking=False)

    def release_run(self, key: str) -> None:
        """End the run of ``key``; a session its run closed is dropped (its memory goes with it), and so
        is the key's run lock (a process serving many visitors keeps none of theirs)."""
        with self._lock:
            session = self._sessions.get(key)
            if session is not None and session.closed:
                del self._sessions[key]
                if key in self._counted:
                    self._counted[key] = max(self._counted[key], session.last_used)
            self._runs.pop(key).release()

    def wait_run(self, key: str, timeout: float) -> bool:
        """Wait until the run of ``key`` in flight ends; False when it is still running after ``timeout``."""
        lock = self._run_lock(key)
        if not lock.acquire(timeout=timeout):
            return False
        lock.release()
        return True

    def get(self, key: str) -> RuntimeSession:
        """The session for ``key`` (a new one when there is none); reaps idle sessions first."""
        from app.runtime import quota

        self.reap_idle()
        with self._lock:
            found = self._sessions.get(key)
            if found is None or found.closed:
                found = self._sessions[key] = self._factory()
                quota.bind(found.account_id, key)       # this key's runs share one count
            self._counted[key] = time.time()
        found.touch()
        return found

    def end(self, key: str) -> dict | None:
        from app.runtime import quota

        with self._lock:
            session = self._sessions.pop(key, None)
            self._counted.pop(key, None)
        report = session.close() if session else None
        quota.end(key)
        return report

    def reap_idle(self, now: float | None = None) -> list[str]:
        from app.runtime import quota

        now = time.time() if now is None else now
        with self._lock:
            for k, s in self._sessions.items():       # a key is active while its session makes calls
                self._counted[k] = max(self._counted.get(k, 0.0), s.last_used)
            idle = [k for k, s in self._sessions.items() if s.closed or now - s.last_used > self.idle_s]
            sessions = [self._sessions.pop(k) for k in idle]
            gone = [k for k, at in self._counted.items()
                    if k not in self._sessions and k not in self._runs and now - at > self.idle_s]
            for k in gone:
                del self._counted[k]
        for s in sessions:
            s.close()
        for k in gone:
            quota.end(k)
        return idle

    def __len__(self) -> int:
        return len(self._sessions)


_registry: SessionRegistry | None = None


def registry() -> SessionRegistry:
    """The process-wide registry the UI uses."""
    global _registry
    if _registry is None:
        _registry = SessionRegistry()
    return _registry
