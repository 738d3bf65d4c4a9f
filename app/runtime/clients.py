"""The one place boto3 clients are made.

A :class:`Clients` is bound to one account: explicit credentials, an explicit
region and (on moto, or a stand-in for AWS) an explicit endpoint. ``client(service,
region=None)`` returns a cached client per service and region. Every client it makes
reports each call to the observers the session attached (the trace records a span,
the router drains event sources that the call fed), so a pipeline never has to
remember to do either.

Handlers get clients bound to the invoking session's account through
:func:`aws_client` / :func:`handler_clients`, which read a context variable set
for the duration of an invocation (safe with concurrent sessions in threads; no
process-wide environment is touched). Outside an invocation they fall back to
plain boto3 with its default configuration, which is what a handler gets on AWS.
A handler that must also deploy to AWS without this package imports it like this::

    try:
        from app.runtime.clients import aws_client
    except ImportError:          # running on AWS Lambda
        import boto3
        def aws_client(service):
            return boto3.client(service)

Credentials are held in a private attribute, never printed, logged or exported.
"""
from __future__ import annotations

import contextvars
import json
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Protocol

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"
MOTO_KEY = "testing"   # moto's answer to any key pair outside an assumed role
S3_CONFIG = Config(signature_version="s3v4")

_create_lock = threading.Lock()
_boto_session: boto3.session.Session | None = None
_current: contextvars.ContextVar["Clients | None"] = contextvars.ContextVar("aws_clients", default=None)


class CallObserver(Protocol):
    def __call__(self, call: "Call") -> None: ...


class Call:
    """One finished API call, as observers see it."""

    __slots__ = ("service", "operation", "params", "parsed", "status_code", "measured_ms", "start", "error",
                 "request_bytes", "response_bytes", "region", "answered_locally")

    def __init__(self, service: str, operation: str, params: dict, region: str) -> None:
        self.service, self.operation, self.params, self.region = service, operation, params, region
        self.parsed: dict = {}
        self.status_code = 0
        self.measured_ms = 0.0
        self.start = time.perf_counter()
        self.error: str | None = None
        self.request_bytes = 0
        self.response_bytes = 0
        self.answered_locally = False   # an interceptor answered (e.g. Lambda Invoke run in-process)

    @property
    def resource(self) -> str:
        p = self.params
        for key in ("TableName", "Bucket", "FunctionName", "QueueUrl", "TopicArn", "StreamArn", "QueueName", "logGroupName",
                    "Name", "RoleName", "StreamName", "DeliveryStreamName"):
            if key in p and isinstance(p[key], str):
                value = p[key]
                if key == "Bucket" and "Key" in p:
                    return f"{value}/{p['Key']}"
                return value.rsplit("/", 1)[-1] if key == "QueueUrl" else value.rsplit(":", 1)[-1] \
                    if key in ("TopicArn", "StreamArn") else value
        if "RequestItems" in p and isinstance(p["RequestItems"], dict):
            return ",".join(p["RequestItems"])
        return ""


def _session() -> boto3.session.Session:
    global _boto_session
    if _boto_session is None:
        _boto_session = boto3.session.Session()
    return _boto_session


def _request_size(params: dict) -> int:
    body = params.get("Body")
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    if isinstance(body, str):
        return len(body.encode())
    try:
        return len(json.dumps(params, default=str))
    except (TypeError, ValueError):
        return 0


class Clients:
    """Clients for one account. ``endpoint_url`` None means AWS's own endpoints."""

    def __init__(self, *, account_id: str, region: str = DEFAULT_REGION, access_key: str | None = None,
                 secret_key: str | None = None, session_token: str | None = None,
                 endpoint_url: str | None = None, default_chain: bool = False, max_attempts: int = 2,
                 tags: dict[str, str] | None = None, pin_account: bool = False) -> None:
        self.account_id = account_id
        # On moto, name the account on every request as well: moto otherwise finds the account
        # from the access key, and forgets that mapping once a finished account is dropped.
        self.pin_account = pin_account and bool(account_id)
        self.region = region
        self.endpoint_url = endpoint_url
        self._secret = (access_key, secret_key, session_token)
        self._default_chain = default_chain
        self._cache: dict[tuple[str, str], Any] = {}
        self._observers: list[CallObserver] = []
        self._interceptors: dict[tuple[str, str], Callable[[dict], "tuple[int, dict] | None"]] = {}
        # Injected faults: ``hook(service, operation, params, region)`` returns an error answer or None.
        self._fault_hooks: list[Callable[[str, str, dict, str], "tuple[int, dict] | None"]] = []
        self.tags = dict(tags or {})
        self._config = Config(retries={"max_attempts": max_attempts, "mode": "standard"},
                              connect_timeout=5, read_timeout=60, account_id_endpoint_mode="disabled")

    def __repr__(self) -> str:   # never the credentials
        where = self.endpoint_url or "aws"
        return f"Clients(account_id={self.account_id!r}, region={self.region!r}, endpoint={where!r})"

    # -- construction -----------------------------------------------------------
    @classmethod
    def default(cls, region: str | None = None) -> "Clients":
        """Plain boto3 default configuration (profile, environment, instance role)."""
        return cls(account_id="", region=region or _session().region_name or DEFAULT_REGION, default_chain=True)

    def observe(self, observer: CallObserver) -> None:
        """Call ``observer(call)`` after each API call made by this object's clients."""
        self._observers.append(observer)

    def intercept(self, service: str, operation: str, fn: Callable[[dict], "tuple[int, dict] | None"]) -> None:
        """Answer ``service.operation`` calls locally: ``fn(params)`` returns ``(status, parsed)``, or None to
        let the call go to the backend. Used to run Lambda's Invoke in-process on moto."""
        self._interceptors[(service, operation)] = fn

    def add_fault_hook(self, hook: Callable[[str, str, dict, str], "tuple[int, dict] | None"]) -> None:
        """Ask ``hook(service, operation, params, region)`` before every call of these clients (and of those
        derived from them): an ``(status, parsed)`` answer fails the call as AWS would, None lets it through."""
        self._fault_hooks.append(hook)

    def remove_fault_hook(self, hook) -> None:
        if hook in self._fault_hooks:
            self._fault_hooks.remove(hook)

    def client(self, service: str, region: str | None = None):
        region = region or self.region
        key = (service, region)
        found = self._cache.get(key)
        if found is not None:
            return found
        with _create_lock:
            found = self._cache.get(key)
            if found is not None:
                return found
            # S3 pre-signed URLs are signed with Signature Version 4 (botocore still presigns with the
            # deprecated version 2 in us-east-1 unless told otherwise).
            config = self._config.merge(S3_CONFIG) if service == "s3" else self._config
            kwargs: dict[str, Any] = {"region_name": region, "config": config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            if not self._default_chain:
                access, secret, token = self._secret
                kwargs.update(aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token)
            made = _session().client(service, **kwargs)
            self._attach(made, service, region)
            self._cache[key] = made
            return made

    def resource(self, service: str, region: str | None = None):
        """A boto3 resource sharing this object's credentials and endpoint."""
        region = region or self.region
        kwargs: dict[str, Any] = {"region_name": region, "config": self._config}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if not self._default_chain:
            access, secret, token = self._secret
            kwargs.update(aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token)
        with _create_lock:
            res = _session().resource(service, **kwargs)
        self._attach(res.meta.client, service, region)
        return res

    def derive(self, region: str) -> "Clients":
        """The same account and credentials in another default region (shares observers)."""
        access, secret, token = self._secret
        other = Clients(account_id=self.account_id, region=region, access_key=access, secret_key=secret,
                        session_token=token, endpoint_url=self.endpoint_url, default_chain=self._default_chain,
                        tags=self.tags, pin_account=self.pin_account)
        other._observers = self._observers
        other._fault_hooks = self._fault_hooks
        return other

    # -- observation ------------------------------------------------------------
    def _attach(self, client, service: str, region: str) -> None:
        events = client.meta.events

        def before(params, model, context, **_):
            if self.tags:
                _add_tags(model, params, self.tags)
            context["_call"] = Call(service, model.name, params, region)

        def after(http_response, parsed, model, context, **_):
            if self.tags and model.name == "CreateBucket" and getattr(http_response, "status_code", 500) < 300:
                self._tag_bucket(client, context.get("_call"))
            call: Call | None = context.get("_call")
            if call is None or not self._observers:
                return
            call.measured_ms = (time.perf_counter() - call.start) * 1000
            call.parsed = parsed or {}
            call.status_code = getattr(http_response, "status_code", 0)
            if call.status_code >= 400:
                call.error = (parsed or {}).get("Error", {}).get("Code", str(call.status_code))
            call.request_bytes = _request_size(call.params)
            try:
                call.response_bytes = len(http_response.content or b"") if not parsed.get("Body") else \
                    int(parsed.get("ContentLength") or 0)
            except Exception:  # a streaming body has no content yet
                call.response_bytes = int((parsed or {}).get("ContentLength") or 0)
            for observer in list(self._observers):
                observer(call)

        def local_answer(model, context, **_):
            call: Call | None = context.get("_call")
            for hook in list(self._fault_hooks):
                if call is not None:
                    failed = hook(service, model.name, call.params, region)
                    if failed is not None:
                        call.answered_locally = True
                        return _LocalResponse(failed[0]), failed[1]
            fn = self._interceptors.get((service, model.name))
            if fn is None or call is None:
                return None
            answer = fn(call.params)
            if answer is None:
                return None
            status, parsed = answer
            call.answered_locally = True
            return _LocalResponse(status), parsed

        def pin(request, **_):
            request.headers["x-moto-account-id"] = self.account_id

        events.register("before-parameter-build", before)
        events.register("before-call", local_answer)
        events.register("after-call", after)
        if self.pin_account:
            events.register("before-send", pin)
        from app.runtime.backend import in_process_sender

        sender = in_process_sender(self.endpoint_url)
        if sender is not None:      # the embedded server, answered without a socket
            events.register("before-send", sender)


    def _tag_bucket(self, client, call: "Call | None") -> None:
        # CreateBucket takes no tags: the bucket is tagged right after it exists.
        if call is None or "Bucket" not in call.params:
            return
        client.put_bucket_tagging(Bucket=call.params["Bucket"], Tagging={
            "TagSet": [{"Key": k, "Value": v} for k, v in self.tags.items()]})


class _LocalResponse:
    """The HTTP side of a locally answered call."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.content = b""
        self.headers: dict[str, str] = {}


def _add_tags(model, params: dict, tags: dict[str, str]) -> None:
    """Add ``tags`` to a create call whose input takes tags (list of Key/Value, or a map)."""
    if not model.name.startswith("Create"):
        return
    members = model.input_shape.members if model.input_shape is not None else {}
    for name in ("Tags", "tags", "UserPoolTags", "IdentityPoolTags"):
        shape = members.get(name)
        if shape is None:
            continue
        if shape.type_name == "map":
            current = dict(params.get(name) or {})
            for k, v in tags.items():
                current.setdefault(k, v)
            params[name] = current
        elif shape.type_name == "list":
            current = list(params.get(name) or [])
            have = {t.get("Key") for t in current if isinstance(t, dict)}
            member = shape.member.members if hasattr(shape.member, "members") else {}
            key_name = next((n for n in ("Key", "key") if n in member), "TagKey")
            value_name = next((n for n in ("Value", "value") if n in member), "TagValue")
            current += [{key_name: k, value_name: v} for k, v in tags.items() if k not in have]
            params[name] = current
        return


# -- handler side -------------------------------------------------------------------
@contextmanager
def bound(clients: Clients) -> Iterator[None]:
    """Within this block (this thread/context), handlers' clients are ``clients``."""
    token = _current.set(clients)
    try:
        yield
    finally:
        _current.reset(token)


def handler_clients() -> Clients:
    """The clients of the invocation running in this context, or boto3 defaults outside one."""
    found = _current.get()
    if found is not None:
        return found
    return _default_clients()


_defaults: dict[str, Clients] = {}


def _default_clients() -> Clients:
    key = "default"
    if key not in _defaults:
        _defaults[key] = Clients.default()
    return _defaults[key]


def aws_client(service: str, region: str | None = None):
    """A client for ``service`` bound to the invoking session's account (plain boto3 on AWS)."""
    return handler_clients().client(service, region)


def current_clients() -> Clients | None:
    return _current.get()


def call_in_context(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` in a copy of the current context (for worker threads a handler starts)."""
    return contextvars.copy_context().run(fn, *args)
