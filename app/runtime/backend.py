"""The embedded AWS of this process: one moto server, shared by every session.

:func:`get_backend` starts a ``ThreadedMotoServer`` on 127.0.0.1 (never another interface) at a
free port drawn at random the first time it is needed (thread-safe) and returns the same one afterwards. Each
session works in its own AWS account on that server (see :mod:`app.runtime.session`),
so there is never a reason to reset it: ``/moto-api/reset`` would wipe every account.

moto cannot run Lambda code without Docker. Where moto would hand an event to a
function (an S3 notification to Lambda, an SNS subscription of protocol ``lambda``)
the server instead drops the event into an :class:`Inbox` for that account, and
where a message or a stream record arrives (an SQS queue, a DynamoDB stream) it
marks the source as having new data. The session that owns the account drains its
inbox right after each of its own calls returns and runs the handlers in-process
(:mod:`app.runtime.routing`). moto also builds S3 event records without the fields
AWS sends (userIdentity, requestParameters, responseElements, sequencer); the
server adds them, so SQS and SNS deliveries carry AWS's shape.

moto also keeps every model object it ever made in its class's ``instances_tracked`` (for its
dashboard and its reset, neither of which this app uses), so a finished session's functions,
objects and items would stay in memory after its account was dropped; the server here does not
track them. moto also caches the region list of each account's service backend on that backend
(an ``lru_cache`` of 128 entries keyed by the backend), which would hold the last 128 dropped
accounts' backends, EC2's with its thousands of default images; here the list is cached by service
name. A few model methods are cached the same way, keyed by the object (``INSTANCE_CACHES``: an
EC2 subnet's address iterator, without any bound, an SNS subscription's signing key, RDS's cluster
options), and each such object leads back to its account's backend; here they are cached on the
object itself, so they go with it. A deployed REST API's stage URLs, which moto registers with its
HTTP mock, are removed with its account. A torn-down account's memory goes with it.

These hooks depend on moto's internals; ``MOTO_VERSION`` is the version they were
written for and :func:`check_hooks` fails loudly when they no longer fit.
"""
from __future__ import annotations

import collections
import functools
import importlib
import importlib.abc
import importlib.machinery
import json
import logging
import os
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from app.runtime import quota

MOTO_VERSION = "5.2.5"
PORT_RANGE = (20_000, 60_999)     # the backend's port is drawn from here at random

_lock = threading.Lock()
_backend: "MotoBackend | None" = None
_local = threading.local()


@dataclass
class Delivery:
    """An event moto would have handed to a Lambda function."""

    source: str               # "s3" or "sns"
    function_arn: str
    event: dict[str, Any]


@dataclass
class _AccountBox:
    # bounded: an account no session drains (a test's plain client, say) cannot grow it without end
    deliveries: collections.deque = field(default_factory=lambda: collections.deque(maxlen=10000))
    dirty_queues: set = field(default_factory=set)    # queue ARNs with new messages
    dirty_tables: set = field(default_factory=set)    # table names (region, name) with new stream records


class Inbox:
    """Per-account notes written by the server thread, read by the owning session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[str, _AccountBox] = {}
        self.counters = collections.Counter()

    def _box(self, account_id: str) -> _AccountBox:
        box = self._boxes.get(account_id)
        if box is None:
            box = self._boxes[account_id] = _AccountBox()
        return box

    def deliver(self, account_id: str, delivery: Delivery) -> None:
        with self._lock:
            self._box(account_id).deliveries.append(delivery)
            self.counters[f"{delivery.source}->lambda"] += 1

    def mark_queue(self, account_id: str, queue_arn: str) -> None:
        with self._lock:
            self._box(account_id).dirty_queues.add(queue_arn)

    def mark_table(self, account_id: str, region: str, table: str) -> None:
        with self._lock:
            self._box(account_id).dirty_tables.add((region, table))

    def pending(self, account_id: str) -> bool:
        box = self._boxes.get(account_id)
        return bool(box and (box.deliveries or box.dirty_queues or box.dirty_tables))

    def take(self, account_id: str) -> tuple[list[Delivery], set, set]:
        """Everything noted for the account since the last call, and clear it."""
        with self._lock:
            box = self._boxes.get(account_id)
            if box is None:
                return [], set(), set()
            out = (list(box.deliveries), set(box.dirty_queues), set(box.dirty_tables))
            box.deliveries.clear()
            box.dirty_queues.clear()
            box.dirty_tables.clear()
            return out

    def forget(self, account_id: str) -> None:
        with self._lock:
            self._boxes.pop(account_id, None)


class MotoBackend:
    """A running moto server: ``endpoint_url``, ``start_ms`` and the shared :class:`Inbox`."""

    kind = "moto"

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.endpoint_url = f"http://{self.host}:{self.port}"
        self.start_ms = 0.0
        self._server = None
        self._sender = None

    def start(self) -> None:
        t0 = time.perf_counter()
        # Buckets are global across accounts; reads across accounts must fail as on AWS.
        os.environ["MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS"] = "false"
        from moto.server import ThreadedMotoServer

        _install_hooks(self.inbox)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)   # no request lines on the console
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.start_ms = (time.perf_counter() - t0) * 1000

    def sender(self):
        """SDK calls to this server answered by its application in-process (app.runtime.transport)."""
        if self._sender is None:
            from app.runtime.transport import InProcessSender

            self._sender = InProcessSender(self._server._server.app, self.endpoint_url, self.host, self.port)
        return self._sender

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def get_backend() -> MotoBackend:
    """The process's moto server, started on first use."""
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                backend = MotoBackend()
                backend.start()
                _backend = backend
    return _backend


def forget_account(account_id: str) -> int:
    """Drop a torn-down account's (now empty) state from every moto service, so a long-running
    app does not keep a little of each finished session; returns how many services held it."""
    from moto.core.base_backend import BackendDict, backend_lock

    dropped = 0
    with backend_lock:
        for service in list(BackendDict._instances):
            if account_id in service.keys():
                dict.__delitem__(service, account_id)
                dropped += 1
    _drop_mocked_stages(account_id)
    if _backend is not None:
        _backend.inbox.forget(account_id)
    quota.forget(account_id)
    return dropped


def _drop_mocked_stages(account_id: str) -> None:
    """moto registers the URLs of every deployed REST API stage with its in-process HTTP mock (used
    only inside ``mock_aws``, not by a server), each holding its API, and never takes them back: a
    dropped account's are removed."""
    if "moto.apigateway.models" not in sys.modules:       # no API was ever made
        return
    from moto.apigateway.models import RestAPI
    from moto.core.models import responses_mock

    def dropped(response) -> bool:
        api = getattr(getattr(response, "callback", None), "__self__", None)
        return isinstance(api, RestAPI) and api.account_id == account_id

    for registered in list(responses_mock.get_registry()._registered.values()):
        registered[:] = [r for r in registered if not dropped(r)]


def in_process_sender(endpoint_url: str | None):
    """The in-process sender when ``endpoint_url`` is this process's running server, else None."""
    if _backend is None or _backend._server is None or endpoint_url is None \
            or endpoint_url.rstrip("/") != _backend.endpoint_url:
        return None
    return _backend.sender()


def backend_started() -> bool:
    return _backend is not None


def _free_port() -> int:
    """A free port on 127.0.0.1 drawn at random from a wide range (not the next one the system would
    hand out), so another local process cannot guess where the unauthenticated backend listens."""
    rng = random.SystemRandom()
    for _ in range(100):
        port = rng.randint(PORT_RANGE[0], PORT_RANGE[1])
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {PORT_RANGE[0]} and {PORT_RANGE[1]}")


# -- hooks into moto ------------------------------------------------------------------
_hooks_installed = False
# moto's methods cached in a cache of the class, keyed by the object: (module, class, method)
INSTANCE_CACHES = (("moto.ec2.models.subnets", "Subnet", "_base_avail_ip_iterator"),
                   ("moto.sns.models", "Subscription", "private_key"),
                   ("moto.rds.models", "RDSBackend", "db_cluster_options"))


def _install_quota() -> None:
    """Hold every write of a session's account to its limits (:mod:`app.runtime.quota`)."""
    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.models import table as ddb_table
    from moto.s3 import models as s3_models
    from moto.s3.exceptions import S3ClientError

    original_put_object = s3_models.S3Backend.put_object
    original_put_item = ddb_table.Table.put_item

    def put_object(self, bucket_name, key_name, value, *args, **kwargs):
        refused = quota.charge_object(self.account_id, len(value or b""), f"object {bucket_name}/{key_name}")
        if refused:
            raise S3ClientError(quota.CODE, refused)
        return original_put_object(self, bucket_name, key_name, value, *args, **kwargs)

    def put_item(self, item_attrs, *args, **kwargs):
        refused = quota.charge_item(self.account_id, f"an item of table {self.name}")
        if refused:
            raise DynamodbException(quota.CODE, refused)
        return original_put_item(self, item_attrs, *args, **kwargs)

    s3_models.S3Backend.put_object = put_object
    ddb_table.Table.put_item = put_item


def _install_hooks(inbox: Inbox) -> None:
    """Route moto's would-be Lambda invocations to the inbox and complete S3 events."""
    global _hooks_installed
    if _hooks_installed:
        return
    import moto
    from moto import backends as moto_backends
    from moto.awslambda import models as lambda_models
    from moto.cognitoidp import models as cognito_models
    from moto.core import common_models
    from moto.dynamodb.models import table as ddb_table
    from moto.s3 import notifications
    from moto.sns import models as sns_models
    from moto.sqs import models as sqs_models

    from app.runtime import events

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"the runtime's hooks were written for moto {MOTO_VERSION}, found {moto.__version__}; "
                           "check app/runtime/backend.py against the new moto and update MOTO_VERSION")

    original_get_s3_event = notifications._get_s3_event

    def get_s3_event(event_name, bucket, key, notification_id):
        body = original_get_s3_event(event_name, bucket, key, notification_id)
        for record in body["Records"]:
            events.complete_s3_record(record, key_name=key.name, account_id=bucket.account_id,
                                      version_id=getattr(key, "version_id", None)
                                      if getattr(bucket, "is_versioned", False) else None)
        return body

    def invoke_awslambda(account_id, event_body, fn_arn, region_name):
        inbox.deliver(account_id, Delivery("s3", fn_arn, event_body))

    original_sub_publish = sns_models.Subscription.publish

    def sub_publish(self, message, message_id, subject=None, message_attributes=None, *args, **kwargs):
        _local.sns = (self, message_id, message_attributes)
        try:
            return original_sub_publish(self, message, message_id, subject, message_attributes, *args, **kwargs)
        finally:
            _local.sns = None

    def send_sns_message(self, function_name, message, subject=None, qualifier=None):
        sub, message_id, attributes = getattr(_local, "sns", None) or (None, None, None)
        if sub is None:
            raise RuntimeError("SNS -> Lambda delivery outside a subscription publish")
        event = events.sns_event(topic_arn=sub.topic.arn, subscription_arn=sub.arn, message=message,
                                 message_id=message_id, subject=subject, attributes=attributes or {},
                                 region=sub.topic.arn.split(":")[3])
        inbox.deliver(self.account_id, Delivery("sns", sub.endpoint, event))

    original_add_message = sqs_models.Queue.add_message

    def add_message(self, message):
        original_add_message(self, message)
        inbox.mark_queue(self.account_id, self.queue_arn)

    original_shard_add = ddb_table.StreamShard.add

    def shard_add(self, old, new):
        original_shard_add(self, old, new)
        inbox.mark_table(self.account_id, self.table.region_name, self.table.name)

    # The server looks a request's host up in moto's package folder listing, read from disk on
    # every request; the folder does not change while the process runs.
    modules = tuple(moto_backends.list_of_moto_modules())

    def list_of_moto_modules():
        return modules

    moto_backends.list_of_moto_modules = list_of_moto_modules
    # Every user pool imports the same signing key shipped with moto, checking the RSA key each
    # time (about 100 ms); it is imported once and shared, as its content already is.
    cognito_models.jwk = _SharedKeys(cognito_models.jwk)
    def untracked_new(cls, *args, **kwargs):
        return object.__new__(cls)

    common_models.BaseModel.__new__ = untracked_new
    _install_region_lists()
    _install_instance_caches()
    from moto.core.model_instances import reset_model_data

    reset_model_data()                   # what was made before the hooks is not held either
    _install_quota()
    notifications._get_s3_event = get_s3_event
    notifications._invoke_awslambda = invoke_awslambda
    sns_models.Subscription.publish = sub_publish
    lambda_models.LambdaBackend.send_sns_message = send_sns_message
    sqs_models.Queue.add_message = add_message
    ddb_table.StreamShard.add = shard_add
    _hooks_installed = True


def _install_region_lists() -> None:
    """Cache the regions of a service by its name, not by the account's backend that asked for them."""
    from moto.core.base_backend import AccountSpecificBackend

    original = AccountSpecificBackend._generate_regions
    by_service: dict[str, list[str]] = {}
    lock = threading.Lock()

    def generate_regions(self, service_name: str) -> list[str]:
        with lock:
            if service_name not in by_service:
                by_service[service_name] = list(original.__wrapped__(self, service_name))
            return list(by_service[service_name])

    original.cache_clear()              # the backends it already holds are let go
    AccountSpecificBackend._generate_regions = generate_regions


def _cached_on_instance(cls, name: str) -> None:
    """Replace ``cls.name``, cached in a cache of the class keyed by the object, with the same method
    cached on the object (one result per object and arguments, as before)."""
    cached = cls.__dict__[name]
    plain, slot = cached.__wrapped__, f"_cached_{name}"

    @functools.wraps(plain)
    def method(self, *args):
        memo = self.__dict__.setdefault(slot, {})
        if args not in memo:
            memo[args] = plain(self, *args)
        return memo[args]

    method.__module__ = __name__
    cached.cache_clear()
    setattr(cls, name, method)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Calls ``patch(module)`` right after one of ``names`` is imported, before any of its objects is made."""

    def __init__(self, patches: dict[str, Any]) -> None:
        self.patches = patches

    def find_spec(self, name, path, target=None):
        patch = self.patches.pop(name, None)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            patch(module)
        spec.loader.exec_module = exec_module
        if not self.patches:
            sys.meta_path.remove(self)
        return spec


def _install_instance_caches() -> None:
    """Cache ``INSTANCE_CACHES`` on their objects: at once for a module already imported, else when it is."""
    later: dict[str, Any] = {}
    for module_name, cls_name, name in INSTANCE_CACHES:
        def patch(module, cls_name=cls_name, name=name):
            _cached_on_instance(getattr(module, cls_name), name)
        if module_name in sys.modules:
            patch(sys.modules[module_name])
        else:
            later[module_name] = patch
    if later:
        sys.meta_path.insert(0, _PatchOnImport(later))


def _instance_cached(module_name: str, cls_name: str, name: str) -> bool:
    """True when ``cls_name.name`` is cached on its objects (importing its module, as a run would)."""
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls.__dict__[name].__module__ == __name__


class _SharedKeys:
    """joserfc's ``jwk`` module, with ``RSAKey.import_key`` remembering keys it imported from a dict."""

    def __init__(self, module) -> None:
        self._module = module
        imported: dict[str, Any] = {}
        lock = threading.Lock()

        class RSAKey(module.RSAKey):
            @classmethod
            def import_key(cls, value, *args, **kwargs):
                if args or kwargs or not isinstance(value, dict):
                    return module.RSAKey.import_key(value, *args, **kwargs)
                key = json.dumps(value, sort_keys=True)
                with lock:
                    if key not in imported:
                        imported[key] = module.RSAKey.import_key(value)
                    return imported[key]

        self.RSAKey = RSAKey

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def check_hooks() -> dict[str, bool]:
    """Which hooks are in place (a test asserts all are, so a moto upgrade fails loudly)."""
    from moto import backends as moto_backends
    from moto.awslambda import models as lambda_models
    from moto.cognitoidp import models as cognito_models
    from moto.core import common_models
    from moto.core.base_backend import AccountSpecificBackend
    from moto.dynamodb.models import table as ddb_table
    from moto.s3 import notifications
    from moto.sns import models as sns_models
    from moto.sqs import models as sqs_models

    return {
        "cognito_key": isinstance(cognito_models.jwk, _SharedKeys),
        "moto_modules": moto_backends.list_of_moto_modules.__module__ == __name__,
        "untracked_models": common_models.BaseModel.__new__.__module__ == __name__,
        "region_lists": AccountSpecificBackend._generate_regions.__module__ == __name__,
        **{f"cached_on_{cls}": _instance_cached(module, cls, name) for module, cls, name in INSTANCE_CACHES},
        "s3_event": notifications._get_s3_event.__module__ == __name__,
        "s3_lambda": notifications._invoke_awslambda.__module__ == __name__,
        "sns_lambda": lambda_models.LambdaBackend.send_sns_message.__module__ == __name__,
        "sns_publish": sns_models.Subscription.publish.__module__ == __name__,
        "sqs_add": sqs_models.Queue.add_message.__module__ == __name__,
        "stream_add": ddb_table.StreamShard.add.__module__ == __name__,
    }
