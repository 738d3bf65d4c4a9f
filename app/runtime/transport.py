"""SDK calls to the embedded moto server handed to its WSGI application in-process.

A boto3 client pointed at the embedded server would open a TCP connection per call
(the server's HTTP layer closes every connection) and wait for a server thread; on a
small machine that is about 3 ms of a 5 ms call. :class:`InProcessSender` takes the
request botocore has built (serialized, signed, every header set), turns it into the
WSGI environ the server's own request handler would make, calls the server's
application with it and hands botocore the response, so the call is the same request
answered by the same server, without the socket. Anything else (a pre-signed URL
fetched over HTTP, a JWKS download) still goes to the server's port.
"""
from __future__ import annotations

import io
import sys
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSResponse
from moto.core.request import (PRESERVED_HEADER_NAMES_ENVIRON_KEY, environ_key_for_header,
                               should_preserve_original_header_name)
from urllib3 import HTTPHeaderDict

from app.runtime.admission import pause_point


class _Body:
    """The raw response botocore reads: ``stream()`` for parsed bodies, ``read()`` for streaming ones."""

    def __init__(self, data: bytes) -> None:
        self._fp = io.BytesIO(data)

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        return self._fp.read() if amt is None else self._fp.read(amt)

    def stream(self, chunk_size: int = 1024, decode_content: bool = True):
        while True:
            chunk = self._fp.read(chunk_size)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._fp.close()


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in body)


def _latin1(value: str) -> str:
    # WSGI carries the URL as bytes decoded with latin-1 (PEP 3333), as the server does
    return value.encode("utf-8").decode("latin-1")


class InProcessSender:
    """A botocore ``before-send`` handler answering requests to ``endpoint_url`` through ``app``."""

    def __init__(self, app, endpoint_url: str, host: str, port: int) -> None:
        self.app = app
        self.prefix = endpoint_url.rstrip("/")
        self.host, self.port = host, str(port)

    def __call__(self, request, **_: Any) -> AWSResponse | None:
        if not request.url.startswith(self.prefix):
            return None
        pause_point()          # a run's call gives way to pages being drawn (app.runtime.admission)
        return self.send(request)

    def environ(self, request, body: bytes) -> dict[str, Any]:
        url = urlsplit(request.url)
        path = url.path or "/"
        raw_path = path + (f"?{url.query}" if url.query else "")
        env: dict[str, Any] = {
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "SERVER_SOFTWARE": "in-process", "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "", "PATH_INFO": _latin1(unquote(path)), "QUERY_STRING": _latin1(url.query),
            "REQUEST_URI": _latin1(raw_path), "RAW_URI": _latin1(raw_path), "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0, "SERVER_NAME": self.host, "SERVER_PORT": self.port, "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": url.netloc,
        }
        headers = [(name, value.decode("latin-1") if isinstance(value, bytes) else value)
                   for name, value in request.headers.items()]
        for name, value in headers:
            key = environ_key_for_header(name)
            if "_" in name or key == "HTTP_TRANSFER_ENCODING":
                continue   # dropped as the server drops them; the body here is already whole
            if key.startswith("HTTP_") and key in env and key != "HTTP_HOST":
                value = f"{env[key]},{value}"
            env[key] = value.replace("\r\n", "")
        # as the server's request handler does: S3 metadata names keep their underscores
        dashed = {environ_key_for_header(name) for name, _ in headers if "_" not in name}
        names: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for name, value in headers:
            key = environ_key_for_header(name)
            if should_preserve_original_header_name(name) and key not in dashed:
                names.setdefault(key, name)
                values.setdefault(key, []).append(value.replace("\r\n", ""))
        for key, key_values in values.items():
            env[key] = ",".join(key_values)
        env[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
        env["CONTENT_LENGTH"] = str(len(body))
        return env

    def send(self, request) -> AWSResponse:
        body = _body_bytes(request.body)
        status_headers: list = []

        def start_response(status, headers, exc_info=None):
            status_headers[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        result = self.app(self.environ(request, body), start_response)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = status_headers
        data = b"" if request.method == "HEAD" else b"".join(chunks)
        response_headers = HTTPHeaderDict()   # what botocore gets from urllib3: case-insensitive
        for name, value in headers:
            response_headers.add(name, value)
        return AWSResponse(request.url, int(status.split(None, 1)[0]), response_headers, _Body(data))
