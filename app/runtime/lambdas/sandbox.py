"""The sandbox of an in-process invocation: its own environment variables, its own output, its context.

An invocation's variables are an overlay of ``os.environ`` bound to the invoking context, so concurrent
sessions never see each other's values; what it prints or logs goes to its own log buffer."""
from __future__ import annotations

import contextvars
import io
import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.runtime.lambdas.invocation import Function


_env_overlay: contextvars.ContextVar[dict | None] = contextvars.ContextVar("lambda_env", default=None)
_log_sink: contextvars.ContextVar[list | None] = contextvars.ContextVar("lambda_log", default=None)
_install_lock = threading.Lock()
_installed = False


class _OverlayEnviron(os._Environ):  # type: ignore[name-defined]
    """``os.environ`` that shows an invocation's variables to that invocation only."""

    def __getitem__(self, key):
        overlay = _env_overlay.get()
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is None:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        overlay = _env_overlay.get()
        if overlay is not None:
            overlay[key] = str(value)
        else:
            super().__setitem__(key, value)

    def __delitem__(self, key):
        overlay = _env_overlay.get()
        if overlay is not None:
            if key not in overlay and key not in self._data and self.encodekey(key) not in self._data:
                raise KeyError(key)
            overlay[key] = None
        else:
            super().__delitem__(key)

    def __iter__(self):
        overlay = _env_overlay.get()
        base = list(super().__iter__())
        if overlay is None:
            yield from base
            return
        for key in base:
            if key not in overlay:
                yield key
        for key, value in overlay.items():
            if value is not None:
                yield key

    def __len__(self):
        return sum(1 for _ in self)

    def __contains__(self, key):
        try:
            self[key]
            return True
        except KeyError:
            return False

    def copy(self):
        return dict(self)


class _SinkStream(io.TextIOBase):
    """stdout that writes to the invocation's log buffer when inside one."""

    def __init__(self, original) -> None:
        self._original = original

    def write(self, text: str) -> int:
        sink = _log_sink.get()
        if sink is not None:
            sink.append(text)
            return len(text)
        return self._original.write(text)

    def flush(self) -> None:
        if _log_sink.get() is None:
            self._original.flush()

    def __getattr__(self, name):
        return getattr(self._original, name)


class _SinkHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sink = _log_sink.get()
        if sink is not None:
            sink.append(f"[{record.levelname}]\t{self.formatTime(record)}\t{record.getMessage()}\n")


def _install() -> None:
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        original = os.environ
        if not isinstance(original, _OverlayEnviron):
            overlay = _OverlayEnviron(original._data, original.encodekey, original.decodekey,
                                      original.encodevalue, original.decodevalue)
            os.environ = overlay
        logging.getLogger().addHandler(_SinkHandler())
        _installed = True
    _wrap_std_streams()


def _wrap_std_streams() -> None:
    """What a handler prints goes to its invocation's log (checked per invocation: others may swap sys.stdout)."""
    if not isinstance(sys.stdout, _SinkStream):
        sys.stdout = _SinkStream(sys.stdout)
    if not isinstance(sys.stderr, _SinkStream):
        sys.stderr = _SinkStream(sys.stderr)


def in_invocation() -> bool:
    """Whether the calling code runs inside a Lambda invocation of this process."""
    return _env_overlay.get() is not None


class LambdaContext:
    """The context object the Lambda Python runtime passes to a handler."""

    def __init__(self, fn: "Function", request_id: str, deadline: float) -> None:
        self.function_name = fn.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.arn
        self.memory_limit_in_mb = str(fn.memory_mb)
        self.aws_request_id = request_id
        self.log_group_name = fn.log_group
        self.log_stream_name = fn.log_stream
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
